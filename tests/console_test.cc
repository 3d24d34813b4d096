// The web console in a real browser against the real suite (issue #24): every service built
// here as a process on a Redis of the test's own, the demo group loaded and its day replayed
// by wuye-demo (as make demo does), and wuye-gateway serving the built console
// (--console_dir=web/console/dist) with its local sign-in for the demo group
// (--local_sign_in_file). Then Playwright (web/console/tests, `npx playwright test`, headless
// Debian chromium) drives the console through the gateway's URL (WUYE_CONSOLE_URL) and this test
// asserts that it passed.
//
// The group's OpenID Connect sign-in too: a test provider (web/console/tests/oidc-issuer.mjs,
// not a part of the product) with an ES256 key made for this run, whose public key every
// service takes beside the local HS256 secret (as outside --production they may), and the
// gateway names it to the console (--oidc_issuer, --oidc_client_id). Its access tokens carry
// iss "wuye", what the services here expect of the local tokens as well. tests/oidc.spec.ts
// signs in through it (WUYE_OIDC_ISSUER).
//
//   ConsoleTest.PlaywrightScenarios   every scenario of web/console/tests/*.spec.ts
//
// Needs `make deps` (npm's web/node_modules with Playwright; Debian's chromium) and the
// console built (web/console/dist, by the build's console_build step); without them it
// fails and says which. WUYE_CONSOLE_SCREENSHOTS=1 makes the scenarios write their zh-CN
// screenshots into docs/console/ (docs/console.md shows them). WUYE_CONSOLE_HOLD=<seconds>
// keeps the suite up that long after the scenarios, printing the URL, for working on the
// console by hand (`npx vite` with WUYE_GATEWAY_URL=<it>).
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "shared/auth.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

namespace wuye {
namespace {

namespace fs = std::filesystem;
namespace dir = ::wuye::directory::v1;
namespace itk = ::wuye::intake::v1;
using ::wuye::testing::kTestSecret;
using ::wuye::testing::PrivateServers;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::ServiceProcessOptions;
using ::wuye::testing::TestDatabase;
using ::wuye::testing::TestToken;
using ::wuye::testing::WaitFor;

const fs::path kConsole = fs::path(WUYE_SOURCE_DIR) / "web" / "console";
constexpr char kChromium[] = "/usr/bin/chromium";

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// The HTTP status of GET url, or 0 when nothing answered.
long HttpGetStatus(const std::string& url) {
  CURL* c = curl_easy_init();
  long status = 0;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

// The gateway is up when it serves the console's index.html.
bool ConsoleServed(int port) {
  return HttpGetStatus(absl::StrCat("http://127.0.0.1:", port, "/")) == 200;
}

std::string Binary(const std::string& name) {
  for (const auto& [n, path] : testing::BuiltServices()) {
    if (n == name) return path;
  }
  return "";
}

// Runs a shell command; its exit code, with its output echoed to stderr as it comes.
int RunEchoed(const std::string& cmd) {
  FILE* pipe = popen(absl::StrCat(cmd, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) std::cerr.write(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_global_init(CURL_GLOBAL_ALL);
    // What the browser side needs, named, rather than a failure deep in Playwright.
    ASSERT_TRUE(fs::exists(kConsole / "dist" / "index.html"))
        << "web/console/dist is not built: run `make deps` then `make build` (the console_build "
           "step)";
    ASSERT_TRUE(
        fs::exists(fs::path(WUYE_SOURCE_DIR) / "web" / "node_modules" / ".bin" / "playwright"))
        << "Playwright is not installed: run `make deps` (npm ci of web/)";
    ASSERT_TRUE(fs::exists(kChromium))
        << kChromium << " is missing: run `make deps` (Debian's chromium)";

    ASSERT_EQ(servers_.Run("up redis"), 0) << "the private redis-server did not start";
    // The test provider's signing key, made for this run; the services take its public half.
    absl::StatusOr<Es256KeyPair> keys = GenerateEs256KeyPair();
    ASSERT_TRUE(keys.ok()) << keys.status();
    const std::string stem = absl::StrCat(::testing::TempDir(), "console-oidc-", getpid());
    oidc_key_file_ = stem + ".key";
    oidc_public_file_ = stem + ".pub";
    oidc_config_file_ = stem + ".json";
    std::ofstream(oidc_key_file_) << keys->private_pem;
    chmod(oidc_key_file_.c_str(), 0600);
    std::ofstream(oidc_public_file_) << keys->public_pem;
    // Every service built here, as make demo runs them, so that the day the demo replays
    // fills the console's pages as it fills a manager's morning.
    for (const auto& [name, binary] : testing::BuiltServices()) {
      dbs_.push_back(std::make_unique<TestDatabase>());
      std::map<std::string, std::string> env = testing::ServiceTestEnv(name);
      env["WUYE_JWT_ES256_PUBLIC_KEY_FILE"] = oidc_public_file_;
      auto p = std::make_unique<ServiceProcess>(
          ServiceProcessOptions{.name = name,
                                .binary = binary,
                                .pg_url = dbs_.back()->url(),
                                .redis_addr = servers_.RedisAddr(),
                                .env = std::move(env),
                                .args = {}});
      ASSERT_TRUE(p->Start()) << name << " did not start";
      procs_[name] = std::move(p);
    }
    ASSERT_TRUE(procs_.count("directory") && procs_.count("intake"))
        << "the directory and intake are needed";
    group_ = LoadDemoGroup();
    ASSERT_FALSE(group_.empty());
    WaitUntilIntakeKnowsTheEstates();

    sign_in_file_ = absl::StrCat(::testing::TempDir(), "console-sign-in-", getpid());
    std::ofstream(sign_in_file_) << "# the demo group (console_test)\n" << group_ << "\n";
    // The provider first: the gateway names it. It reads its config (the console's
    // registration, whom it lists) at each request: written once the gateway's port is known.
    issuer_ = std::make_unique<ServiceProcess>(ServiceProcessOptions{
        .name = "oidc-issuer",
        .binary = (kConsole / "tests" / "oidc-issuer.mjs").string(),
        .pg_url = "",
        .redis_addr = "",
        .env = {},
        .args = {"--key_file=" + oidc_key_file_, "--config=" + oidc_config_file_, "--token_issuer=wuye",
                 "--audience=wuye"},
        .ready = [](int port) {
          return HttpGetStatus(absl::StrCat("http://127.0.0.1:", port, "/.well-known/openid-configuration")) == 200;
        }});
    ASSERT_TRUE(issuer_->Start()) << "the test OpenID provider (node web/console/tests/oidc-issuer.mjs) did not start";
    std::string upstreams;
    for (const auto& [name, p] : procs_)
      absl::StrAppend(&upstreams, upstreams.empty() ? "" : ",", name, "=127.0.0.1:", p->port());
    gateway_ = std::make_unique<ServiceProcess>(
        ServiceProcessOptions{.name = "gateway",
                              .binary = WUYE_GATEWAY_BINARY,
                              .pg_url = "",
                              .redis_addr = "",
                              .env = {},
                              .args = {"--upstream=127.0.0.1:1", "--upstreams=" + upstreams,
                                       "--console_dir=" + (kConsole / "dist").string(),
                                       "--local_sign_in_file=" + sign_in_file_,
                                       "--oidc_issuer=" + IssuerUrl(), "--oidc_client_id=wuye-console"},
                              .ready = &ConsoleServed});
    ASSERT_TRUE(gateway_->Start()) << "the gateway did not start";
    // The console as the provider's public client, exact redirect URIs; the demo's staff
    // (the gateway's local list, with their roles and estates) and one person without a
    // group or roles, whose token the console must refuse.
    const std::string console = absl::StrCat("http://127.0.0.1:", gateway_->port());
    std::ofstream(oidc_config_file_) << R"({"clients":[{"client_id":"wuye-console","redirect_uris":[")" << console
                                     << R"(/sign-in/callback"],"post_logout_redirect_uris":[")" << console
                                     << R"(/sign-in"]}],"people_url":")" << console
                                     << R"(/local/people","people":[{"sub":"oidc-no-claims","name":"无集团无岗位"}]})";
  }

  std::string IssuerUrl() const { return absl::StrCat("http://127.0.0.1:", issuer_->port()); }

  std::string Target(const std::string& name) {
    return absl::StrCat("127.0.0.1:", procs_.at(name)->port());
  }

  // wuye-demo loading the directory only; the group id it printed.
  std::string LoadDemoGroup() {
    std::string secret_file = absl::StrCat(::testing::TempDir(), "console-secret-", getpid());
    std::ofstream(secret_file) << kTestSecret << "\n";
    // The demo group, then yesterday's traffic across every service that runs (the day of
    // make demo: tickets, work orders, callbacks, bills, payments, ...).
    std::string cmd = absl::StrCat(WUYE_DEMO_BINARY, " --directory=", Target("directory"),
                                   " --jwt_secret_file=", secret_file, " --settle_timeout=90s");
    for (const auto& [name, p] : procs_) {
      if (name != "directory") absl::StrAppend(&cmd, " --", name, "=", Target(name));
    }
    absl::StrAppend(&cmd, " 2>&1");
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return "";
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    EXPECT_EQ(pclose(pipe), 0) << out;
    std::cerr << "console_test: wuye-demo said:\n" << out;
    // Its printed summary, for the manager's dashboard to be compared with
    // (web/console/tests/manager.spec.ts, WUYE_DEMO_OUTPUT).
    demo_output_ = absl::StrCat(::testing::TempDir(), "console-demo-", getpid(), ".txt");
    std::ofstream(demo_output_) << out;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::ConsumePrefix(&line, "  group id"))
        return std::string(absl::StripAsciiWhitespace(line));
    }
    ADD_FAILURE() << "no group id in wuye-demo's output:\n" << out;
    return "";
  }

  // A ticket names an estate intake has heard of from the directory's events: wait for every
  // demo estate (its household count arrives with it) before a browser records one.
  void WaitUntilIntakeKnowsTheEstates() {
    const std::string token = TestToken(group_, {"*"}, {"group_admin"}, "console-test");
    auto directory = dir::DirectoryService::NewStub(procs_.at("directory")->channel());
    auto intake = itk::IntakeService::NewStub(procs_.at("intake")->channel());
    dir::ListEstatesResponse estates;
    {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      dir::ListEstatesRequest req;
      req.set_page_size(100);
      ASSERT_TRUE(directory->ListEstates(&ctx, req, &estates).ok());
    }
    ASSERT_GE(estates.estates_size(), 1);
    for (const auto& e : estates.estates()) {
      ASSERT_TRUE(WaitFor(
          [&] {
            grpc::ClientContext ctx;
            ctx.AddMetadata("authorization", "Bearer " + token);
            itk::GetCallbackCoverageRequest req;
            req.set_estate_id(e.id());
            const absl::CivilMonth month = absl::ToCivilMonth(absl::Now(), absl::UTCTimeZone());
            req.mutable_month()->set_year(static_cast<int32_t>(month.year()));
            req.mutable_month()->set_month(month.month());
            itk::CallbackCoverage cov;
            return intake->GetCallbackCoverage(&ctx, req, &cov).ok() && cov.estate_households() > 0;
          },
          absl::Seconds(90)))
          << "intake never heard of estate " << e.name();
    }
  }

  PrivateServers servers_;
  std::vector<std::unique_ptr<TestDatabase>> dbs_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> procs_;
  std::unique_ptr<ServiceProcess> gateway_, issuer_;
  std::string group_, sign_in_file_, demo_output_;
  std::string oidc_key_file_, oidc_public_file_, oidc_config_file_;
};

TEST_F(ConsoleTest, PlaywrightScenarios) {
  const std::string url = absl::StrCat("http://127.0.0.1:", gateway_->port());
  std::string cmd =
      absl::StrCat("cd ", kConsole.string(), " && env WUYE_CONSOLE_URL=", url,
                   " WUYE_OIDC_ISSUER=", IssuerUrl(), " WUYE_CHROMIUM=", kChromium,
                   " WUYE_DEMO_OUTPUT=", demo_output_, " ../node_modules/.bin/playwright test");
  // A developer's run of some scenarios only: WUYE_CONSOLE_GREP=<Playwright --grep pattern>.
  if (const char* grep = std::getenv("WUYE_CONSOLE_GREP"); grep != nullptr && *grep != '\0') {
    absl::StrAppend(&cmd, " --grep '", grep, "'");
  }
  const int code = RunEchoed(cmd);
  EXPECT_EQ(code, 0) << "Playwright's scenarios failed (above; traces in web/console/test-results)";
  int hold = 0;
  if (const char* h = std::getenv("WUYE_CONSOLE_HOLD");
      h != nullptr && absl::SimpleAtoi(h, &hold) && hold > 0) {
    std::cerr << "console_test: the suite stays up " << hold << " s: " << url << " (group "
              << group_ << "; OpenID provider " << IssuerUrl() << ")\n";
    absl::SleepFor(absl::Seconds(hold));
  }
}

}  // namespace
}  // namespace wuye
