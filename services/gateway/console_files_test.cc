// The console's files as the gateway serves them (console_files.h).
#include "services/gateway/console_files.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
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
