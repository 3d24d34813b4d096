-- The HTTP form of the 12345 port (issue 27 §3, docs/api/intake.md "12345 over HTTP"): a
-- city platform's endpoint per group and city, its token sealed (shared/sealing.h, the
-- "intake" ring), and how the exchange goes. The exchange job takes due rows with
-- FOR UPDATE SKIP LOCKED and holds the row while it talks to the platform, so two replicas
-- never fetch the same cursor twice.
CREATE TABLE hotline_endpoints (
  group_id          uuid        NOT NULL,
  city              text        NOT NULL,
  id                uuid        NOT NULL,  -- the row the sealed token is bound to
  body              bytea       NOT NULL,  -- HotlineEndpoint: the settings, never the token
  token_key_id      text        NOT NULL,
  token_sealed      bytea       NOT NULL,
  orders_cursor     text        NOT NULL DEFAULT '',
  callbacks_cursor  text        NOT NULL DEFAULT '',
  next_at           timestamptz NOT NULL,
  last_success_at   timestamptz,
  failing_since     timestamptz,
  failures          integer     NOT NULL DEFAULT 0,
  last_error        text        NOT NULL DEFAULT '',
  alert_published   boolean     NOT NULL DEFAULT false,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (group_id, city)
);
CREATE INDEX hotline_endpoints_due ON hotline_endpoints (next_at);
