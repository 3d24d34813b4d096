-- Development only: a database per service of services.txt, made on the dev PostgreSQL's
-- first start (ConfigMap postgres-init of kustomization.yaml).
-- BEGIN services.txt (scripts/gen-deploy.py)
CREATE DATABASE wuye_directory;
CREATE DATABASE wuye_intake;
CREATE DATABASE wuye_dispatch;
CREATE DATABASE wuye_billing;
CREATE DATABASE wuye_performance;
CREATE DATABASE wuye_eldercare;
CREATE DATABASE wuye_duty;
CREATE DATABASE wuye_counter;
-- END services.txt
