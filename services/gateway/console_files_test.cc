// The console's files as the gateway serves them (console_files.h).
#include "services/gateway/console_files.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/gateway/console_config.h"
#include "services/gateway/gateway.h"

namespace wuye::gateway {
namespace {

namespace fs = std::filesystem;

class ConsoleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/console-", getpid(), "-", reinterpret_cast<uintptr_t>(this));
    fs::create_directories(dir_ + "/assets");
    Write("/index.html", "<!doctype html><title>物业</title><div id=app></div>");
    Write("/assets/index-3f9a1c.js", std::string(4000, 'a'));  // compresses well
    Write("/favicon.ico", "icon");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& body) { std::ofstream(dir_ + rel, std::ios::binary) << body; }
  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  static HttpRequest Get(std::string path, std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.headers = std::move(headers);
    return r;
  }
  std::string dir_;
};

TEST_F(ConsoleFilesTest, ServesFilesAndTheConsolesOwnRoutes) {
  auto c = ConsoleFiles::Load(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  HttpResponse index = (*c)->Get(Get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(Header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(Header(index, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  // a page of the console's router: index.html
  HttpResponse route = (*c)->Get(Get("/tickets/01a2"));
  EXPECT_EQ(route.status, 200);
  EXPECT_EQ(route.body, index.body);
  // a missing file is not index.html
  EXPECT_EQ((*c)->Get(Get("/assets/missing.js")).status, 404);
  // hashed assets are cached for good, and gzipped for clients that take it
  HttpResponse js = (*c)->Get(Get("/assets/index-3f9a1c.js", {{"accept-encoding", "gzip, br"}}));
  EXPECT_EQ(Header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(js, "Content-Encoding"), "gzip");
  EXPECT_LT(js.body.size(), 200u);
  std::string plain(5000, '\0');
  uLongf n = plain.size();
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(js.body.data());
  z.avail_in = static_cast<uInt>(js.body.size());
  z.next_out = reinterpret_cast<Bytef*>(plain.data());
  z.avail_out = static_cast<uInt>(n);
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  plain.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(plain, std::string(4000, 'a'));
  EXPECT_EQ((*c)->Get(Get("/assets/index-3f9a1c.js")).body.size(), 4000u);  // no gzip asked
  // revalidation
  HttpResponse again = (*c)->Get(Get("/", {{"if-none-match", Header(index, "ETag")}}));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST_F(ConsoleFilesTest, ARebuildIsServedWithoutARestart) {
  auto c = ConsoleFiles::Load(dir_);
  ASSERT_TRUE(c.ok());
  Write("/assets/index-77aa00.js", "new");
  absl::SleepFor(absl::Milliseconds(20));
  Write("/index.html", "<!doctype html><title>新</title>");  // a build writes index.html last
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ((*c)->Get(Get("/assets/index-77aa00.js")).body, "new");
  EXPECT_NE((*c)->Get(Get("/")).body.find("新"), std::string::npos);
}

TEST_F(ConsoleFilesTest, AFolderWithoutIndexIsRefused) {
  fs::remove(dir_ + "/index.html");
  EXPECT_EQ(ConsoleFiles::Load(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ConsoleFiles::Load(dir_ + "/nope").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ConsoleFilesTest, ThePolicyLetsTheConsoleConnectToTheProviderOnly) {
  auto plain = ConsoleFiles::Load(dir_);
  ASSERT_TRUE(plain.ok());
  const std::string own = Header((*plain)->Get(Get("/")), "Content-Security-Policy");
  EXPECT_NE(own.find("connect-src 'self';"), std::string::npos) << own;
  auto with = ConsoleFiles::Load(dir_, {"https://sso.example.com"});
  ASSERT_TRUE(with.ok());
  for (const char* path : {"/", "/sign-in/callback", "/assets/index-3f9a1c.js"}) {
    const std::string csp = Header((*with)->Get(Get(path)), "Content-Security-Policy");
    EXPECT_NE(csp.find("connect-src 'self' https://sso.example.com;"), std::string::npos) << path << ": " << csp;
    // Still no foreign script, frame or form target.
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("form-action 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  }
}

ConsoleOidc Oidc(std::string issuer, std::string client = "wuye-console", std::string scopes = "openid") {
  ConsoleOidc o;
  o.issuer = std::move(issuer);
  o.client_id = std::move(client);
  o.scopes = std::move(scopes);
  return o;
}

TEST(ConsoleOidcTest, TheProviderIsAnHttpsIssuerWithAClientAndTheOpenidScope) {
  EXPECT_TRUE(ValidateConsoleOidc(ConsoleOidc{}).ok());  // none: fine
  EXPECT_TRUE(ValidateConsoleOidc(Oidc("https://sso.example.com/realms/g1")).ok());
  EXPECT_TRUE(ValidateConsoleOidc(Oidc("https://sso.example.com:8443", "c", "openid profile wuye")).ok());
  EXPECT_TRUE(ValidateConsoleOidc(Oidc("http://127.0.0.1:5556")).ok());  // a test's own provider
  EXPECT_TRUE(ValidateConsoleOidc(Oidc("http://localhost:5556/x")).ok());
  struct Bad {
    ConsoleOidc oidc;
    const char* field;
  } bad[] = {
      {Oidc("http://sso.example.com"), "oidc_issuer"},  // plain http off the loopback
      {Oidc("sso.example.com"), "oidc_issuer"},
      {Oidc("https://sso.example.com/?tenant=1"), "oidc_issuer"},
      {Oidc("https://sso.example.com/#x"), "oidc_issuer"},
      {Oidc("https://sso.example.com; script-src *"), "oidc_issuer"},  // never into the CSP
      {Oidc("https:///realms"), "oidc_issuer"},
      {Oidc("https://sso.example.com", ""), "oidc_client_id"},
      {Oidc("", "wuye-console"), "oidc_client_id"},
      {Oidc("https://sso.example.com", "c", "profile"), "oidc_scopes"},
      {Oidc("https://sso.example.com", "c", ""), "oidc_scopes"},
  };
  for (const auto& b : bad) {
    absl::Status st = ValidateConsoleOidc(b.oidc);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << b.oidc.issuer;
    EXPECT_NE(st.ToString().find(b.field), std::string::npos) << b.oidc.issuer << ": " << st;
  }
  EXPECT_EQ(OriginOf("https://sso.example.com/realms/g1"), "https://sso.example.com");
  EXPECT_EQ(OriginOf("http://127.0.0.1:5556"), "http://127.0.0.1:5556");
}

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(ConsoleOidcTest, TheGatewayTellsTheConsoleItsProvider) {
  GatewayOptions options;
  options.oidc = Oidc("https://sso.example.com/realms/g1", "wuye-console", "openid wuye");
  auto gateway = Gateway::Create(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  HttpResponse r = (*gateway)->OnRequest(Request("GET", "/console/config"));
  EXPECT_EQ(r.status, 200);
  auto json = nlohmann::json::parse(r.body);
  EXPECT_EQ(json["oidc"]["issuer"], "https://sso.example.com/realms/g1");
  EXPECT_EQ(json["oidc"]["clientId"], "wuye-console");
  EXPECT_EQ(json["oidc"]["scopes"], "openid wuye");
  bool no_store = false;
  for (const auto& [k, v] : r.headers) no_store = no_store || (k == "Cache-Control" && v == "no-store");
  EXPECT_TRUE(no_store);
  EXPECT_EQ((*gateway)->OnRequest(Request("POST", "/console/config")).status, 405);

  // Without a provider: an empty object (the console offers no OpenID Connect sign-in).
  auto none = Gateway::Create(GatewayOptions{});
  ASSERT_TRUE(none.ok());
  HttpResponse empty = (*none)->OnRequest(Request("GET", "/console/config"));
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "{}");

  // A bad provider stops the start, naming the flag.
  GatewayOptions bad;
  bad.oidc = Oidc("http://sso.example.com");
  absl::Status st = Gateway::Create(bad).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.ToString().find("oidc_issuer"), std::string::npos) << st;
}

TEST_F(ConsoleFilesTest, TheGatewaysConsoleAllowsItsProvidersOrigin) {
  GatewayOptions options;
  options.console_dir = dir_;
  options.oidc = Oidc("https://sso.example.com/realms/g1");
  auto gateway = Gateway::Create(options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  HttpResponse index = (*gateway)->OnRequest(Get("/sign-in/callback"));
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(Header(index, "Content-Security-Policy").find("connect-src 'self' https://sso.example.com;"),
            std::string::npos);
  // /console/config is the gateway's, not a page of the console.
  EXPECT_NE((*gateway)->OnRequest(Get("/console/config")).body.find("sso.example.com"), std::string::npos);
}

TEST(RpcPathTest, MethodsAreNeverConsolePaths) {
  EXPECT_TRUE(IsRpcPath("/wuye.intake.v1.IntakeService/GetTicket"));
  EXPECT_TRUE(IsRpcPath("/wuye.intake.v1.IntakeService/Nope"));
  EXPECT_FALSE(IsRpcPath("/"));
  EXPECT_FALSE(IsRpcPath("/desk"));
  EXPECT_FALSE(IsRpcPath("/favicon.ico"));
  EXPECT_FALSE(IsRpcPath("/assets/index-3f9a1c.js"));
  EXPECT_FALSE(IsRpcPath("/tickets/01a2.b/x"));
}

}  // namespace
}  // namespace wuye::gateway
