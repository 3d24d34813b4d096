// LoadServiceConfig reads the process's flags and environment once, so each case runs in a
// child process of its own (gtest's EXPECT_EXIT).
#include "shared/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wuye {
namespace {

constexpr char kSecret[] = "config-test-secret-0123456789abcdefghijkl";

// Loads the config from `args` and the environment set before; exits 0 when it loads,
// 3 with the message on stderr when it does not.
[[noreturn]] void LoadAndExit(std::vector<std::string> args) {
  setenv("WUYE_PG_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
  std::vector<char*> argv;
  std::string program = "wuye-test";
  argv.push_back(program.data());
  for (std::string& a : args) argv.push_back(a.data());
  auto config = LoadServiceConfig(static_cast<int>(argv.size()), argv.data(), "test", 50999);
  if (config.ok()) std::_Exit(0);
  std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
  std::_Exit(3);
}

std::string PublicKeyFile() {
  auto keys = GenerateEs256KeyPair();
  std::string path = absl::StrCat(::testing::TempDir(), "config-test-es256.pub");
  std::ofstream(path) << keys->public_pem;
  return path;
}

// Issue 20, item 4: with --production, a configured HS256 secret stops the start.
TEST(ConfigDeathTest, ProductionRefusesAnHs256Secret) {
  std::string pub = PublicKeyFile();
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        setenv("WUYE_PRODUCTION", "true", 1);
        LoadAndExit({"--jwt_es256_public_key_file=" + pub});
      },
      ::testing::ExitedWithCode(3), "HS256 secret .*refused with --production");
  std::string secret_file = absl::StrCat(::testing::TempDir(), "config-test-secret");
  std::ofstream(secret_file) << kSecret;
  EXPECT_EXIT(LoadAndExit({"--production", "--jwt_secret_file=" + secret_file,
                           "--jwt_es256_public_key_file=" + pub}),
              ::testing::ExitedWithCode(3), "refused with --production");
  EXPECT_EXIT(LoadAndExit({"--production"}), ::testing::ExitedWithCode(3),
              "--production needs --jwt_es256_public_key_file");
  EXPECT_EXIT(LoadAndExit({"--production", "--jwt_es256_public_key_file=" + pub}),
              ::testing::ExitedWithCode(0), "");
}

TEST(ConfigDeathTest, LocalUseKeepsHs256) {
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({});
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ConfigDeathTest, MaxLifetimeMustBePositive) {
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--jwt_max_lifetime=0s"});
      },
      ::testing::ExitedWithCode(3), "jwt_max_lifetime: must be > 0");
}

// Issue 26 §4: the health ping's bound is a flag (and WUYE_PG_PING_TIMEOUT); too small a
// one would call every server unreachable.
TEST(ConfigDeathTest, PingTimeoutIsReadAndBounded) {
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--pg_ping_timeout=10ms"});
      },
      ::testing::ExitedWithCode(3), "pg_ping_timeout: must be >= 100ms");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        setenv("WUYE_PG_PING_TIMEOUT", "3s", 1);
        std::vector<char*> argv = {const_cast<char*>("wuye-test")};
        setenv("WUYE_PG_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
        auto config = LoadServiceConfig(1, argv.data(), "test", 50999);
        std::_Exit(config.ok() && config->db.ping_timeout == absl::Seconds(3) ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
// Issue 26 §5: the outbox's and the request ids' retentions are settings; a request id kept no
// longer than the stream keeps its entries would let a redelivery apply twice.
TEST(ConfigDeathTest, PruningRetentionsAreReadAndBounded) {
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--bus_keep_keys=100h", "--bus_retention=168h"});
      },
      ::testing::ExitedWithCode(3), "bus_keep_keys: must exceed bus_retention");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--bus_keep_sent=0s"});
      },
      ::testing::ExitedWithCode(3), "bus_keep_sent: must be > 0");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        setenv("WUYE_BUS_KEEP_SENT", "6h", 1);
        setenv("WUYE_BUS_KEEP_KEYS", "2160h", 1);
        std::vector<char*> argv = {const_cast<char*>("wuye-test")};
        setenv("WUYE_PG_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
        auto config = LoadServiceConfig(1, argv.data(), "test", 50999);
        std::_Exit(config.ok() && config->bus.keep_sent == absl::Hours(6) &&
                           config->bus.keep_keys == absl::Hours(2160)
                       ? 0
                       : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

// Issue 26 §4: the relay leader's lease is a setting. One shorter than a working leader's
// longest idle time (a back-off and a pass of Redis calls) would move leadership for nothing:
// it is raised to that, which depends on the other settings.
TEST(ConfigDeathTest, TheRelayLeaseIsReadBoundedAndRaisedToWhatAPassMayTake) {
  auto lease_is = [](std::vector<std::string> args, absl::Duration want) {
    setenv("WUYE_JWT_SECRET", kSecret, 1);
    setenv("WUYE_PG_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
    std::vector<char*> argv = {const_cast<char*>("wuye-test")};
    for (std::string& a : args) argv.push_back(a.data());
    auto config = LoadServiceConfig(static_cast<int>(argv.size()), argv.data(), "test", 50999);
    std::_Exit(config.ok() && config->bus.relay_lease == want ? 0 : 3);
  };
  EXPECT_EXIT(lease_is({}, absl::Seconds(30)), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(lease_is({"--bus_relay_lease=0s"}, absl::ZeroDuration()),
              ::testing::ExitedWithCode(0), "");
  // 5 s back-off + 1 s connect + 3 commands of 2 s + 2 s.
  EXPECT_EXIT(lease_is({"--bus_relay_lease=5s"}, absl::Seconds(14)), ::testing::ExitedWithCode(0),
              "bus.relay_lease_raised");
  // Each command also waits for the replicas.
  EXPECT_EXIT(lease_is({"--bus_relay_lease=15s", "--bus_min_replicas=1"}, absl::Seconds(17)),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(lease_is({"--bus_relay_lease=45s"}, absl::Seconds(45)), ::testing::ExitedWithCode(0),
              "");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--bus_relay_lease=-1s"});
      },
      ::testing::ExitedWithCode(3), "bus_relay_lease: must be 0 \\(no lease\\) to 576h");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--bus_relay_lease=600h"});
      },
      ::testing::ExitedWithCode(3), "bus_relay_lease: must be 0");
}

// Issue 28: the adaptive limit and the kept pollers are read, bounded, and read from the
// environment as every flag is.
TEST(ConfigDeathTest, TheAdaptiveLimitAndThePollersAreReadAndBounded) {
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--adaptive_limit_min=0"});
      },
      ::testing::ExitedWithCode(3), "adaptive_limit_min: must be 1..grpc_max_threads");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--grpc_max_threads=16", "--adaptive_limit_min=17"});
      },
      ::testing::ExitedWithCode(3), "adaptive_limit_min: must be 1..grpc_max_threads");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--adaptive_limit_tolerance=0.5"});
      },
      ::testing::ExitedWithCode(3), "adaptive_limit_tolerance: must be 1..100");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        LoadAndExit({"--grpc_max_pollers=-1"});
      },
      ::testing::ExitedWithCode(3), "grpc_max_pollers: must be 0..grpc_max_threads");
  EXPECT_EXIT(
      {
        setenv("WUYE_JWT_SECRET", kSecret, 1);
        setenv("WUYE_ADAPTIVE_LIMIT", "false", 1);
        setenv("WUYE_ADAPTIVE_LIMIT_MIN", "4", 1);
        std::vector<char*> argv = {const_cast<char*>("wuye-test")};
        setenv("WUYE_PG_URL", "postgresql://nobody@127.0.0.1:1/none", 1);
        auto config = LoadServiceConfig(1, argv.data(), "test", 50999);
        std::_Exit(config.ok() && !config->server.concurrency.enabled &&
                           config->server.concurrency.min == 4 &&
                           config->server.concurrency.tolerance == 3.0 &&
                           config->server.sync_max_pollers == 8
                       ? 0
                       : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace wuye
