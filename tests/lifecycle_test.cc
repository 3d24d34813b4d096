// A service as operators see it: health that follows its PostgreSQL, and a graceful stop.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "services/directory/directory_service.h"
#include "shared/ids.h"
#include "shared/server.h"
#include "shared/service_main.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"

namespace wuye {
namespace {

namespace v1 = ::wuye::directory::v1;
using ::wuye::testing::HealthStatus;
using ::wuye::testing::TestToken;
using ::wuye::testing::WaitFor;

using ::wuye::testing::PrivateServers;

TEST(Lifecycle, HealthFollowsPostgresAndCallsWorkAgainWithoutRestart) {
  PrivateServers pg;
  ASSERT_EQ(pg.Run("up pg"), 0);
  {
    pqxx::connection admin(pg.PgUrl("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE directory");
  }
  DbOptions options;
  options.url = pg.PgUrl("directory");
  options.connect_timeout = absl::Seconds(1);
  auto db = OpenServiceDatabase(options, directory_migrations(), absl::Seconds(10));
  ASSERT_TRUE(db.ok()) << db.status();
  auto verifier = TokenVerifier::Create(::wuye::testing::TestAuthConfig());
  directory::DirectoryServiceImpl service(**db, **verifier, SystemClock());
  ServerOptions server;
  server.db_unhealthy_after = absl::Seconds(1);
  server.db_probe_interval = absl::Milliseconds(200);
  ServiceHost host(server, db->get());
  host.AddService(&service, "wuye.directory.v1.DirectoryService");
  ASSERT_TRUE(host.Start().ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host.port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::DirectoryService::NewStub(channel);
  auto create_group = [&](const std::string& request_id) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + TestToken("", {}, {"platform_admin"}));
    v1::CreateGroupRequest req;
    req.set_request_id(request_id);
    req.mutable_group()->set_name("Acme");
    v1::Group group;
    return stub->CreateGroup(&ctx, req, &group);
  };
  EXPECT_EQ(HealthStatus(channel), 1);
  ASSERT_TRUE(create_group("before").ok());

  ASSERT_EQ(pg.Run("stop pg"), 0);
  EXPECT_TRUE(WaitFor([&] { return HealthStatus(channel) == 2; }, absl::Seconds(30)))
      << "health should turn NOT_SERVING once PostgreSQL is gone past the grace period";
  EXPECT_EQ(create_group("during").error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_EQ(pg.Run("start pg"), 0);
  EXPECT_TRUE(WaitFor([&] { return HealthStatus(channel) == 1; }, absl::Seconds(30)));
  grpc::Status after = create_group("after");
  EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST(Lifecycle, ARedisOffTheHostWithoutAPasswordIsRefusedAtStart) {
  // Whoever reaches an open Redis can forge events (docs/operations.md, Redis ACL users).
  ::wuye::testing::TestDatabase tdb;
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 2);
    close(out[0]);
    setenv("WUYE_PG_URL", tdb.url().c_str(), 1);
    setenv("WUYE_JWT_SECRET", ::wuye::testing::kTestSecret, 1);
    // The phone-hash key the directory needs to start (its resident events hash numbers).
    setenv("WUYE_INTAKE_PHONE_KEY", "test-phone-key-for-wuye-tests-0123456789", 1);
    setenv("WUYE_REDIS_ADDR", "redis.data.svc.cluster.local:6379", 1);
    unsetenv("WUYE_REDIS_PASSWORD");
    execl(WUYE_DIRECTORY_BINARY, WUYE_DIRECTORY_BINARY, "--listen=127.0.0.1:0",
          "--metrics_listen=off", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) err.append(buf, n);
  close(out[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << err;
  EXPECT_NE(err.find("WUYE_REDIS_PASSWORD"), std::string::npos) << err;
}

TEST(Lifecycle, SigtermLetsTheCallInFlightFinishAndExitsZero) {
  ::wuye::testing::TestDatabase tdb;
  const std::vector<int> ports = ::wuye::testing::DistinctFreePorts(2);
  const int port = ports[0];
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("WUYE_PG_URL", tdb.url().c_str(), 1);
    setenv("WUYE_JWT_SECRET", ::wuye::testing::kTestSecret, 1);
    // The phone-hash key the directory needs to start (its resident events hash numbers).
    setenv("WUYE_INTAKE_PHONE_KEY", "test-phone-key-for-wuye-tests-0123456789", 1);
    std::string listen = absl::StrCat("--listen=127.0.0.1:", port);
    std::string metrics = absl::StrCat("--metrics_listen=127.0.0.1:", ports[1]);
    // A grace far beyond the import's time on any machine, loaded or sanitized: the test is
    // that the call in flight finishes and the process then exits, not how fast.
    const char* grace = "--shutdown_grace=300s";
    execl(WUYE_DIRECTORY_BINARY, WUYE_DIRECTORY_BINARY, listen.c_str(),
          metrics.c_str(), "--log_level=warn", grace, static_cast<char*>(nullptr));
    _exit(127);
  }
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(WaitFor([&] { return HealthStatus(channel) == 1; }, absl::Seconds(60)));
  auto stub = v1::DirectoryService::NewStub(channel);
  auto call = [&](auto method, const std::string& token, const auto& req, auto* resp) {
    return ::wuye::testing::CallWithToken(*stub, method, token, req, resp);
  };
  v1::CreateGroupRequest cg;
  cg.set_request_id("g");
  cg.mutable_group()->set_name("Acme");
  v1::Group group;
  ASSERT_TRUE(call(&v1::DirectoryService::Stub::CreateGroup, TestToken("", {}, {"platform_admin"}),
                   cg, &group)
                  .ok());
  std::string admin = TestToken(group.id(), {"*"}, {"group_admin"});
  v1::CreateEstateRequest ce;
  ce.set_request_id("e");
  ce.mutable_estate()->set_name("Big Estate");
  ce.mutable_estate()->set_management_fee_fen_per_m2(150);
  v1::Estate estate;
  ASSERT_TRUE(call(&v1::DirectoryService::Stub::CreateEstate, admin, ce, &estate).ok());

  // A slow call: a large import, which SIGTERM must not cut short.
  v1::ImportUnitsRequest import;
  import.set_request_id("big-import");
  import.set_estate_id(estate.id());
  for (int i = 0; i < 100000; ++i) {
    auto* u = import.add_units();
    u->set_building_name(absl::StrCat("B", i / 2000));
    u->set_number(absl::StrCat(i % 2000));
    u->set_building_area_m2("88.8");
  }
  grpc::Status import_status;
  v1::ImportUnitsResponse imported;
  std::thread importer([&] {
    import_status = call(&v1::DirectoryService::Stub::ImportUnits, admin, import, &imported);
  });
  // SIGTERM once the server is inside the call: its INSERT of the units is running.
  pqxx::connection watcher(::wuye::testing::PgAdminUrl());
  ASSERT_TRUE(WaitFor(
      [&] {
        pqxx::nontransaction tx(watcher);
        return tx.exec_params1(
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                     "AND state = 'active' AND query LIKE 'INSERT INTO units%'",
                     tdb.name())[0]
                   .as<int>() > 0;
      },
      absl::Seconds(120)));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  importer.join();
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(import_status.ok()) << import_status.error_message();
  EXPECT_EQ(imported.created(), 100000);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
}

}  // namespace
}  // namespace wuye
