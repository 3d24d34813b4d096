// wuye-gateway over real HTTP (issue #23): the gateway, the directory and the duty desk as
// processes on a Redis of their own, driven with libcurl as a browser or curl would —
// JSON and binary bodies, GET reads, every error as Connect specifies it, field violations
// in `details`, a stream delivering a task as it happens, deadlines, limits, CORS, trace
// headers, gRPC-Web, a drain on SIGTERM — and with the official Connect-ES client from
// Node (web/clients/test/connect_smoke.mjs) for one unary and one streaming call.
#include <curl/curl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "google/rpc/error_details.pb.h"
#include "services/gateway/connect.h"
#include "shared/ids.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/duty/v1/duty.pb.h"

namespace wuye {
namespace {

namespace dir = ::wuye::directory::v1;
namespace dut = ::wuye::duty::v1;
namespace pb = google::protobuf;
using ::wuye::testing::ServiceProcess;
using ::wuye::testing::TestToken;
using ::wuye::testing::WaitFor;

constexpr size_t kBodyLimit = 64 << 10;
constexpr char kOrigin[] = "https://desk.example.com";

// ---- an HTTP client --------------------------------------------------------------------

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t KeepHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    (*static_cast<std::map<std::string, std::string>*>(out))[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

struct ChunkedBody {
  std::string data;
  size_t at = 0;
};

Reply Http(const std::string& url, const std::string& method, const std::vector<std::string>& headers,
           const std::string& body = "", bool chunked = false) {
  Reply r;
  CURL* c = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  ChunkedBody upload{body};
  if (chunked) list = curl_slist_append(list, "Transfer-Encoding: chunked");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (chunked) {
      curl_easy_setopt(c, CURLOPT_READFUNCTION, +[](char* buf, size_t size, size_t n, void* u) -> size_t {
        auto* b = static_cast<ChunkedBody*>(u);
        size_t k = std::min(size * n, std::min<size_t>(b->data.size() - b->at, 1000));
        std::memcpy(buf, b->data.data() + b->at, k);
        b->at += k;
        return k;
      });
      curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &KeepHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

// A response body read as it arrives, split into envelopes.
class StreamReader {
 public:
  StreamReader(std::string url, std::vector<std::string> headers, std::string body)
      : thread_([this, url = std::move(url), headers = std::move(headers), body = std::move(body)] {
          CURL* c = curl_easy_init();
          curl_slist* list = nullptr;
          for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
          curl_easy_setopt(c, CURLOPT_URL, url.c_str());
          curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
          curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
          curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
          curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t size, size_t n, void* u) -> size_t {
            auto* self = static_cast<StreamReader*>(u);
            std::lock_guard<std::mutex> lock(self->mu_);
            self->raw_.append(d, size * n);
            return size * n;
          });
          curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
          curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
          curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
                           +[](void* u, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
                             return static_cast<StreamReader*>(u)->stop_.load() ? 1 : 0;
                           });
          curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
          curl_easy_perform(c);
          curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status_);
          curl_slist_free_all(list);
          curl_easy_cleanup(c);
          done_ = true;
        }) {}
  ~StreamReader() {
    stop_ = true;
    thread_.join();
  }
  // The whole envelopes received so far.
  std::vector<gateway::Frame> Frames() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<gateway::Frame> out;
    absl::string_view rest = raw_;
    while (rest.size() >= 5) {
      const auto* p = reinterpret_cast<const unsigned char*>(rest.data());
      size_t n = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
      if (rest.size() < 5 + n) break;
      out.push_back({p[0], std::string(rest.substr(5, n))});
      rest.remove_prefix(5 + n);
    }
    return out;
  }
  bool done() const { return done_.load(); }
  void Stop() { stop_ = true; }

 private:
  std::mutex mu_;
  std::string raw_;
  std::atomic<bool> stop_{false}, done_{false};
  long status_ = 0;
  std::thread thread_;
};

pb::Struct JsonOf(const std::string& json) {
  pb::Struct s;
  EXPECT_TRUE(pb::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

std::string Str(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

template <typename M>
M ParseJson(const std::string& json) {
  M m;
  EXPECT_TRUE(pb::util::JsonStringToMessage(json, &m).ok()) << json;
  return m;
}

std::string Env(const std::string& message, uint8_t flags = 0) { return gateway::Envelope(flags, message); }

bool GatewayReady(int port) {
  return Http(absl::StrCat("http://127.0.0.1:", port, "/"), "GET", {}).status == 501;
}

// ---- the processes -----------------------------------------------------------------------

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_ALL);
    servers_ = new ::wuye::testing::PrivateServers();
    directory_db_ = new ::wuye::testing::TestDatabase();
    duty_db_ = new ::wuye::testing::TestDatabase();
    directory_ = new ServiceProcess({.name = "directory",
                                     .binary = Binary("directory"),
                                     .pg_url = directory_db_->url(),
                                     .redis_addr = servers_->RedisAddr(),
                                     .env = ::wuye::testing::ServiceTestEnv("directory"),
                                     .args = {}});
    duty_ = new ServiceProcess({.name = "duty",
                                .binary = Binary("duty"),
                                .pg_url = duty_db_->url(),
                                .redis_addr = servers_->RedisAddr(),
                                .env = ::wuye::testing::ServiceTestEnv("duty"),
                                .args = {}});
    // No assertion here: a fatal failure in SetUpTestSuite makes gtest print its tests as
    // SKIPPED, which ctest counts as skipped, not failed. Each test asserts in SetUp instead.
    if (servers_->Run("up redis") == 0 && directory_->Start() && duty_->Start())
      gateway_ = StartGateway();
  }
  void SetUp() override {
    ASSERT_NE(gateway_, nullptr) << "the suite did not start: Redis, the directory, duty or the gateway";
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete duty_;
    delete directory_;
    delete duty_db_;
    delete directory_db_;
    delete servers_;
  }

  static std::string Binary(const std::string& name) {
    for (const auto& [n, path] : ::wuye::testing::BuiltServices()) {
      if (n == name) return path;
    }
    return "";
  }

  // A gateway process, not started, with `args`: every service is at a port where nothing
  // listens unless an --upstreams among them names it.
  static std::unique_ptr<ServiceProcess> NewGateway(std::vector<std::string> args,
                                                    std::function<bool(int)> ready = &GatewayReady) {
    args.insert(args.begin(), "--upstream=127.0.0.1:1");
    return std::make_unique<ServiceProcess>(::wuye::testing::ServiceProcessOptions{.name = "gateway",
                                                                                  .binary = WUYE_GATEWAY_BINARY,
                                                                                  .pg_url = "",
                                                                                  .redis_addr = "",
                                                                                  .env = {},
                                                                                  .args = std::move(args),
                                                                                  .ready = std::move(ready)});
  }
  static std::string ToDirectory() { return absl::StrCat("--upstreams=directory=127.0.0.1:", directory_->port()); }

  // A gateway in front of this test's directory and duty, started.
  static ServiceProcess* StartGateway() {
    auto g = NewGateway({absl::StrCat("--upstreams=directory=127.0.0.1:", directory_->port(),
                                      ",duty=127.0.0.1:", duty_->port()),
                         absl::StrCat("--max_body_bytes=", kBodyLimit), absl::StrCat("--cors_origins=", kOrigin)});
    return g->Start() ? g.release() : nullptr;
  }

  static std::string Url(const std::string& path, ServiceProcess* g = nullptr) {
    return absl::StrCat("http://127.0.0.1:", (g ? g : gateway_)->port(), path);
  }
  static std::string Bearer(const std::string& token) { return "Authorization: Bearer " + token; }
  static std::string Root() { return TestToken("", {"*"}, {"platform_admin"}, "gw-root"); }
  static std::string Rid(const std::string& what) { return absl::StrCat(what, "-", NewId(absl::Now())); }

  // POST application/json
  static Reply Json(const std::string& method, const std::string& token, const std::string& body,
                    std::vector<std::string> extra = {}) {
    extra.push_back("Content-Type: application/json");
    if (!token.empty()) extra.push_back(Bearer(token));
    return Http(Url(method), "POST", extra, body);
  }

  static dir::Group CreateGroup(const std::string& name) {
    Reply r = Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(),
                   absl::Substitute(R"({"requestId":"$0","group":{"name":"$1"}})", Rid("g"), name));
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson<dir::Group>(r.body);
  }

  static ::wuye::testing::PrivateServers* servers_;
  static ::wuye::testing::TestDatabase *directory_db_, *duty_db_;
  static ServiceProcess *directory_, *duty_, *gateway_;
};

::wuye::testing::PrivateServers* GatewayTest::servers_ = nullptr;
::wuye::testing::TestDatabase* GatewayTest::directory_db_ = nullptr;
::wuye::testing::TestDatabase* GatewayTest::duty_db_ = nullptr;
ServiceProcess* GatewayTest::directory_ = nullptr;
ServiceProcess* GatewayTest::duty_ = nullptr;
ServiceProcess* GatewayTest::gateway_ = nullptr;

// ---- unary -------------------------------------------------------------------------------

TEST_F(GatewayTest, JsonCreateHonoursItsRequestId) {
  const std::string body = absl::Substitute(R"({"requestId":"$0","group":{"name":"翠湖物业"}})", Rid("g"));
  Reply first = Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(), body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("content-type"), "application/json");
  Reply again = Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(), body);
  ASSERT_EQ(again.status, 200) << again.body;
  dir::Group a = ParseJson<dir::Group>(first.body), b = ParseJson<dir::Group>(again.body);
  EXPECT_FALSE(a.id().empty());
  EXPECT_EQ(a.id(), b.id());  // one group, not two
  EXPECT_EQ(a.name(), "翠湖物业");
}

TEST_F(GatewayTest, BinaryBodiesAndGetReads) {
  dir::Group g = CreateGroup("二进制物业");
  dir::GetGroupRequest req;
  req.set_id(g.id());
  // application/proto both ways
  Reply bin = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "POST",
                   {"Content-Type: application/proto", Bearer(Root())}, req.SerializeAsString());
  ASSERT_EQ(bin.status, 200);
  EXPECT_EQ(bin.Header("content-type"), "application/proto");
  dir::Group got;
  ASSERT_TRUE(got.ParseFromString(bin.body));
  EXPECT_EQ(got.name(), "二进制物业");
  // Connect's GET form, JSON and base64 binary (a read: idempotency_level NO_SIDE_EFFECTS)
  CURL* c = curl_easy_init();
  char* escaped = curl_easy_escape(c, absl::Substitute(R"({"id":"$0"})", g.id()).c_str(), 0);
  Reply get = Http(Url(absl::StrCat("/wuye.directory.v1.DirectoryService/GetGroup?connect=v1&encoding=json&message=",
                                    escaped)),
                   "GET", {Bearer(Root())});
  curl_free(escaped);
  curl_easy_cleanup(c);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(ParseJson<dir::Group>(get.body).id(), g.id());
  std::string b64 = absl::WebSafeBase64Escape(req.SerializeAsString());
  Reply get_bin = Http(Url(absl::StrCat("/wuye.directory.v1.DirectoryService/GetGroup?connect=v1&encoding=proto&base64=1&message=",
                                        b64)),
                       "GET", {Bearer(Root())});
  ASSERT_EQ(get_bin.status, 200);
  ASSERT_TRUE(got.ParseFromString(get_bin.body));
  EXPECT_EQ(got.id(), g.id());
  // A method that changes something is never a GET.
  Reply get_create = Http(Url("/wuye.directory.v1.DirectoryService/CreateGroup?encoding=json&message=%7B%7D"),
                          "GET", {Bearer(Root())});
  EXPECT_EQ(get_create.status, 405);
  EXPECT_EQ(Str(JsonOf(get_create.body), "code"), "unimplemented");
}

TEST_F(GatewayTest, GrpcWebUnary) {
  dir::Group g = CreateGroup("网页物业");
  dir::GetGroupRequest req;
  req.set_id(g.id());
  Reply r = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "POST",
                 {"Content-Type: application/grpc-web+proto", "X-Grpc-Web: 1", Bearer(Root())},
                 Env(req.SerializeAsString()));
  ASSERT_EQ(r.status, 200);
  auto frames = gateway::SplitEnvelopes(r.body, 1 << 20);
  ASSERT_TRUE(frames.ok());
  ASSERT_EQ(frames->size(), 2u);
  dir::Group got;
  ASSERT_TRUE(got.ParseFromString((*frames)[0].payload));
  EXPECT_EQ(got.name(), "网页物业");
  EXPECT_EQ((*frames)[1].flags, gateway::kFlagGrpcWebTrailer);
  EXPECT_NE((*frames)[1].payload.find("grpc-status: 0"), std::string::npos);
  // the same refused: status in the trailer frame
  Reply no = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "POST",
                  {"Content-Type: application/grpc-web+proto"}, Env(req.SerializeAsString()));
  EXPECT_NE(no.body.find("grpc-status: 16"), std::string::npos);
}

// ---- errors, as connectrpc.com/docs/protocol#error-codes maps them -----------------------

TEST_F(GatewayTest, NoTokenIsRefusedByTheServiceNotTheGateway) {
  Reply r = Json("/wuye.directory.v1.DirectoryService/GetGroup", "", R"({"id":"x"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Str(JsonOf(r.body), "code"), "unauthenticated");
  // The service's own trailer came back: the refusal is the service's.
  EXPECT_FALSE(r.Header("trailer-x-trace-id").empty());
}

TEST_F(GatewayTest, FieldViolationTravelsInDetails) {
  Reply r = Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(),
                 absl::Substitute(R"({"requestId":"$0","group":{}})", Rid("g")));
  ASSERT_EQ(r.status, 400);
  pb::Struct e = JsonOf(r.body);
  EXPECT_EQ(Str(e, "code"), "invalid_argument");
  const auto& details = e.fields().at("details").list_value();
  ASSERT_GE(details.values_size(), 1);
  const auto& d = details.values(0).struct_value();
  EXPECT_EQ(Str(d, "type"), "google.rpc.BadRequest");
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(Str(d, "value"), &bytes));
  google::rpc::BadRequest bad;
  ASSERT_TRUE(bad.ParseFromString(bytes));
  EXPECT_EQ(bad.field_violations(0).field(), "group.name");
  // A JSON field that does not exist is the gateway's refusal, naming the body.
  Reply unknown = Json("/wuye.directory.v1.DirectoryService/GetGroup", Root(), R"({"idd":"x"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find(R"("field":"body")"), std::string::npos) << unknown.body;
}

TEST_F(GatewayTest, EveryReachableCodeHasItsHttpStatus) {
  dir::Group g = CreateGroup("错误物业");
  struct Case {
    std::string what, path, token, body;
    long http;
    std::string code;
  };
  const std::string agent = TestToken(g.id(), {"*"}, {"agent"}, "gw-agent");
  const std::vector<Case> cases = {
      {"not found", "/wuye.directory.v1.DirectoryService/GetGroup", Root(),
       absl::Substitute(R"({"id":"$0"})", NewId(absl::Now())), 404, "not_found"},
      {"permission denied", "/wuye.directory.v1.DirectoryService/CreateGroup", agent,
       absl::Substitute(R"({"requestId":"$0","group":{"name":"x"}})", Rid("g")), 403, "permission_denied"},
      {"unauthenticated", "/wuye.directory.v1.DirectoryService/GetGroup", "not-a-token", R"({"id":"x"})", 401,
       "unauthenticated"},
      {"invalid argument", "/wuye.directory.v1.DirectoryService/GetGroup", Root(), "{", 400, "invalid_argument"},
      {"unimplemented", "/wuye.directory.v1.DirectoryService/Nope", Root(), "{}", 501, "unimplemented"},
      {"unavailable (billing is not running)", "/wuye.billing.v1.BillingService/GetBillingSettings",
       TestToken(g.id(), {"*"}, {"group_admin"}), "{}", 503, "unavailable"},
  };
  for (const Case& c : cases) {
    Reply r = Json(c.path, c.token, c.body);
    EXPECT_EQ(r.status, c.http) << c.what << ": " << r.body;
    EXPECT_EQ(Str(JsonOf(r.body), "code"), c.code) << c.what;
  }
  // The same request_id for a different request: the service's refusal, whichever code
  // it chose, arrives with the status Connect gives that code.
  const std::string rid = Rid("g");
  ASSERT_EQ(Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(),
                 absl::Substitute(R"({"requestId":"$0","group":{"name":"a"}})", rid))
                .status,
            200);
  Reply reused = Json("/wuye.directory.v1.DirectoryService/CreateGroup", Root(),
                      absl::Substitute(R"({"requestId":"$0","group":{"name":"b"}})", rid));
  const std::string code = Str(JsonOf(reused.body), "code");
  EXPECT_NE(code, "");
  for (int i = 0; i <= 16; ++i) {
    auto sc = static_cast<grpc::StatusCode>(i);
    if (gateway::ConnectCodeName(sc) == code) {
      EXPECT_EQ(reused.status, gateway::HttpStatusOf(sc));
    }
  }
}

TEST_F(GatewayTest, BodyOverTheLimitIsRefusedUnread) {
  std::string big = absl::Substitute(R"({"id":"$0"})", std::string(kBodyLimit + 100, 'x'));
  Reply r = Json("/wuye.directory.v1.DirectoryService/GetGroup", Root(), big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Str(JsonOf(r.body), "code"), "resource_exhausted");
  // without a Content-Length, counted as it arrives
  Reply chunked = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "POST",
                       {"Content-Type: application/json", Bearer(Root())}, big, /*chunked=*/true);
  EXPECT_EQ(chunked.status, 413);
  // and a stream's envelope naming a message over the limit
  Reply env = Http(Url("/wuye.duty.v1.DutyService/WatchTasks"), "POST",
                   {"Content-Type: application/connect+json", Bearer(Root())}, Env(big));
  EXPECT_EQ(env.status, 413);
}

TEST_F(GatewayTest, DeadlineFromTheClientIsHonoured) {
  dir::Group g = CreateGroup("时限物业");
  // A stream that would run until the client leaves ends at the client's deadline.
  const std::string admin = TestToken(g.id(), {"*"}, {"group_admin"});
  StreamReader s(Url("/wuye.duty.v1.DutyService/WatchTasks"),
                 {"Content-Type: application/connect+json", "Connect-Timeout-Ms: 1500", Bearer(admin)},
                 Env(absl::Substitute(R"({"estateId":"$0"})", NewId(absl::Now()))));
  ASSERT_TRUE(WaitFor([&] { return s.done(); }, absl::Seconds(30)));
  auto frames = s.Frames();
  ASSERT_FALSE(frames.empty());
  const gateway::Frame& end = frames.back();
  EXPECT_EQ(end.flags, gateway::kFlagEndStream);
  pb::Struct e = JsonOf(end.payload);
  // The service may refuse the unknown estate first; if it waited, the deadline ended it.
  const std::string code = Str(e.fields().at("error").struct_value(), "code");
  EXPECT_TRUE(code == "deadline_exceeded" || code == "not_found" || code == "permission_denied") << code;
  // A malformed deadline is the client's error.
  Reply bad = Json("/wuye.directory.v1.DirectoryService/GetGroup", Root(), "{}", {"Connect-Timeout-Ms: soon"});
  EXPECT_EQ(bad.status, 400);
}

// ---- the stream ----------------------------------------------------------------------------

TEST_F(GatewayTest, WatchTasksDeliversATaskAsItHappens) {
  dir::Group g = CreateGroup("值班物业");
  const std::string admin = TestToken(g.id(), {"*"}, {"group_admin"}, "gw-admin");
  Reply estate = Json("/wuye.directory.v1.DirectoryService/CreateEstate", admin,
                      absl::Substitute(R"({"requestId":"$0","estate":{"name":"翠苑","managementFeeFenPerM2":150}})",
                                       Rid("e")));
  ASSERT_EQ(estate.status, 200) << estate.body;
  const std::string estate_id = ParseJson<dir::Estate>(estate.body).id();
  Reply staff = Json("/wuye.directory.v1.DirectoryService/CreateStaff", admin,
                     absl::Substitute(R"({"requestId":"$0","staff":{"name":"小林","phone":"13800000001",)"
                                      R"("roles":["STAFF_ROLE_AGENT"],"homeEstateIds":["$1"],)"
                                      R"("startDate":{"year":2024,"month":1,"day":1}}})",
                                      Rid("s"), estate_id));
  ASSERT_EQ(staff.status, 200) << staff.body;
  const std::string agent_id = ParseJson<dir::Staff>(staff.body).id();

  StreamReader s(Url("/wuye.duty.v1.DutyService/WatchTasks"),
                 {"Content-Type: application/connect+json", Bearer(admin)},
                 Env(absl::Substitute(R"({"estateId":"$0"})", estate_id)));
  // The 24-hour desk of the new estate has nobody on it: the desk-gap task (000_… 二.5).
  std::string task_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& f : s.Frames()) {
          if (f.flags != 0) continue;
          auto u = ParseJson<dut::TaskUpdate>(f.payload);
          if (u.task().kind() == ::wuye::events::v1::TASK_KIND_DESK_GAP) task_id = u.task().id();
        }
        return !task_id.empty() || s.done();
      },
      absl::Seconds(90)))
      << "no desk-gap task on the stream";
  ASSERT_FALSE(task_id.empty()) << (s.Frames().empty() ? "" : s.Frames().back().payload);
  const size_t before = s.Frames().size();
  // An agent checks in: the gap closes, and the screen hears it while the stream is open.
  Reply in = Json("/wuye.duty.v1.DutyService/CheckIn", TestToken(g.id(), {estate_id}, {"agent"}, agent_id),
                  absl::Substitute(R"({"requestId":"$0","estateId":"$1","role":"STAFF_ROLE_AGENT"})",
                                   Rid("in"), estate_id));
  ASSERT_EQ(in.status, 200) << in.body;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto frames = s.Frames();
        for (size_t i = before; i < frames.size(); ++i) {
          auto u = ParseJson<dut::TaskUpdate>(frames[i].payload);
          if (u.task().id() == task_id && !u.initial()) return true;
        }
        return false;
      },
      absl::Seconds(60)))
      << "the closing of the task never reached the stream";
  EXPECT_FALSE(s.done());  // still open: it ends when the client leaves
}

// ---- the edge --------------------------------------------------------------------------------

TEST_F(GatewayTest, CorsForTheConfiguredOriginOnly) {
  Reply pre = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "OPTIONS",
                   {absl::StrCat("Origin: ", kOrigin), "Access-Control-Request-Method: POST",
                    "Access-Control-Request-Headers: content-type,authorization"});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.Header("access-control-allow-origin"), kOrigin);
  EXPECT_NE(pre.Header("access-control-allow-headers").find("Authorization"), std::string::npos);
  Reply evil = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup"), "OPTIONS",
                    {"Origin: https://evil.example.com", "Access-Control-Request-Method: POST"});
  EXPECT_EQ(evil.status, 403);
  EXPECT_EQ(evil.Header("access-control-allow-origin"), "");
  Reply call = Json("/wuye.directory.v1.DirectoryService/GetGroup", "", "{}", {absl::StrCat("Origin: ", kOrigin)});
  EXPECT_EQ(call.Header("access-control-allow-origin"), kOrigin);
  EXPECT_NE(call.Header("access-control-expose-headers").find("Grpc-Status"), std::string::npos);
}

TEST_F(GatewayTest, TraceHeadersPassThrough) {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  Reply r = Json("/wuye.directory.v1.DirectoryService/GetGroup", "", "{}",
                 {absl::StrCat("traceparent: 00-", trace, "-00f067aa0ba902b7-01")});
  EXPECT_EQ(r.Header("trailer-x-trace-id"), trace);
  Reply x = Json("/wuye.directory.v1.DirectoryService/GetGroup", "", "{}", {"X-Trace-Id: my-trace-1"});
  EXPECT_EQ(x.Header("trailer-x-trace-id"), "my-trace-1");
}

TEST_F(GatewayTest, SigtermEndsStreamsWithUnavailableAndExitsZero) {
  std::unique_ptr<ServiceProcess> g(StartGateway());
  ASSERT_NE(g, nullptr);
  dir::Group group = CreateGroup("停机物业");
  const std::string admin = TestToken(group.id(), {"*"}, {"group_admin"});
  Reply estate = Json("/wuye.directory.v1.DirectoryService/CreateEstate", admin,
                      absl::Substitute(R"({"requestId":"$0","estate":{"name":"停机苑","managementFeeFenPerM2":150}})",
                                       Rid("e")));
  ASSERT_EQ(estate.status, 200) << estate.body;
  const std::string estate_id = ParseJson<dir::Estate>(estate.body).id();
  // The estate reaches duty by its event; until then WatchTasks refuses it.
  std::unique_ptr<StreamReader> s;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = std::make_unique<StreamReader>(Url("/wuye.duty.v1.DutyService/WatchTasks", g.get()),
                                           std::vector<std::string>{"Content-Type: application/connect+json",
                                                                    Bearer(admin)},
                                           Env(absl::Substitute(R"({"estateId":"$0"})", estate_id)));
        absl::SleepFor(absl::Milliseconds(500));
        return !s->done();
      },
      absl::Seconds(60)));
  g->Kill(SIGTERM);
  ASSERT_TRUE(WaitFor([&] { return s->done(); }, absl::Seconds(20)));
  auto frames = s->Frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().flags, gateway::kFlagEndStream);
  pb::Struct end = JsonOf(frames.back().payload);
  EXPECT_EQ(Str(end.fields().at("error").struct_value(), "code"), "unavailable");
  int status = g->Wait(absl::Seconds(20));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(GatewayTest, HeadOverTheLimitAndSilentClientsAreCut) {
  // A request head over --max_header_bytes (16 KiB) is refused, never parsed.
  Reply big = Json("/wuye.directory.v1.DirectoryService/GetGroup", Root(), "{}",
                   {absl::StrCat("X-Padding: ", std::string(40 << 10, 'p'))});
  EXPECT_GE(big.status, 400);
  EXPECT_LT(big.status, 500);
  // A client that opens a connection, starts a request and goes silent is cut after
  // --idle_timeout, and does not hold the gateway meanwhile.
  auto g = NewGateway({"--idle_timeout=2s"});
  ASSERT_TRUE(g->Start());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(g->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string partial = "POST /wuye.directory.v1.DirectoryService/GetGroup HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  EXPECT_EQ(Http(Url("/", g.get()), "GET", {}).status, 501);  // others are served meanwhile
  const absl::Time start = absl::Now();
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);  // blocks until the gateway closes
  EXPECT_LE(n, 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  close(fd);
}

TEST_F(GatewayTest, KeepAliveHealthAndMetrics) {
  const int metrics_port = ::wuye::testing::FreePort();
  auto g = NewGateway({ToDirectory(), absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port)});
  ASSERT_TRUE(g->Start());
  // Two calls on one handle use one connection.
  CURL* c = curl_easy_init();
  std::string sink;
  curl_easy_setopt(c, CURLOPT_URL, Url("/wuye.directory.v1.DirectoryService/GetGroup", g.get()).c_str());
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  long connects = -1;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
  EXPECT_EQ(connects, 0);  // the second call reused the first one's connection
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  const std::string base = absl::StrCat("http://127.0.0.1:", metrics_port);
  EXPECT_EQ(Http(base + "/healthz", "GET", {}).status, 200);
  EXPECT_EQ(Http(base + "/readyz", "GET", {}).status, 200);
  Reply m = Http(base + "/metrics", "GET", {});
  EXPECT_NE(m.body.find(R"(wuye_gateway_requests_total{method="/wuye.directory.v1.DirectoryService/GetGroup",)"
                        R"(protocol="connect",code="unauthenticated"} 2)"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("wuye_gateway_open_connections"), std::string::npos);
}

TEST_F(GatewayTest, ServesHttpsFromCertificateFiles) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/gw-cert.pem", key = dir + "/gw-key.pem";
  const std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1 -keyout ", key, " -out ", cert, " 2>/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto https_ready = [cert](int port) {
    CURL* c = curl_easy_init();
    std::string sink;
    curl_easy_setopt(c, CURLOPT_URL, absl::StrCat("https://127.0.0.1:", port, "/").c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, cert.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status == 501;
  };
  auto g = NewGateway(
      {ToDirectory(), "--tls_cert_file=" + cert, "--tls_key_file=" + key, "--tls_reload_interval=1s"}, https_ready);
  ASSERT_TRUE(g->Start());
  // A call over TLS, verified against the certificate, reaches the directory.
  CURL* c = curl_easy_init();
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL,
                   absl::StrCat("https://127.0.0.1:", g->port(), "/wuye.directory.v1.DirectoryService/GetGroup").c_str());
  curl_easy_setopt(c, CURLOPT_CAINFO, cert.c_str());
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  EXPECT_EQ(status, 401);  // the directory's refusal of a call without a token
  EXPECT_EQ(Str(JsonOf(body), "code"), "unauthenticated");
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  // Plain HTTP to the TLS port is not served.
  EXPECT_NE(Http(Url("/", g.get()), "GET", {}).status, 501);
  // A renewed pair (a Secret's volume swaps both files) is served without a restart.
  const std::string cert2 = dir + "/gw-cert2.pem", key2 = dir + "/gw-key2.pem";
  ASSERT_EQ(std::system(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=renewed "
                                     "-addext subjectAltName=IP:127.0.0.1 -keyout ", key2, " -out ", cert2,
                                     " 2>/dev/null && cp ", cert2, " ", cert, ".new && cp ", key2, " ", key,
                                     ".new && mv ", key, ".new ", key, " && mv ", cert, ".new ", cert)
                             .c_str()),
            0);
  auto trusts = [&](const std::string& ca) {
    CURL* h = curl_easy_init();
    std::string sink;
    curl_easy_setopt(h, CURLOPT_URL, absl::StrCat("https://127.0.0.1:", g->port(), "/").c_str());
    curl_easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    const bool ok = curl_easy_perform(h) == CURLE_OK;
    curl_easy_cleanup(h);
    return ok;
  };
  EXPECT_TRUE(WaitFor([&] { return trusts(cert2); }, absl::Seconds(30))) << "the renewed certificate is not served";
  EXPECT_TRUE(g->running());
  // A pair that does not match is refused, and the last good one stays.
  ASSERT_EQ(std::system(absl::StrCat("cp ", key2, " ", key, ".keep && openssl genrsa -out ", key,
                                     ".new 2048 2>/dev/null && mv ", key, ".new ", key)
                            .c_str()),
            0);
  absl::SleepFor(absl::Seconds(3));
  EXPECT_TRUE(trusts(cert2));
}

bool Listening(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

TEST_F(GatewayTest, PresentsItsClientCertificateToServicesThatRequireOne) {
  // A CA, a directory serving mutual TLS with a certificate for 127.0.0.1, and a client
  // certificate for the gateway, all signed by that CA (the prod overlay's shape).
  const std::string d = ::testing::TempDir() + "/gw-mtls-" + NewId(absl::Now());
  const std::string script = absl::StrCat(
      "set -e; mkdir -p ", d, "; cd ", d, "; ",
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=wuye-test-ca -keyout ca.key -out ca.crt; ",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=wuye-directory -keyout srv.key -out srv.csr; ",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:wuye-directory' > srv.ext; ",
      "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile srv.ext -out srv.crt; ",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=wuye-gateway -keyout cli.key -out cli.csr; ",
      "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out cli.crt");
  ASSERT_EQ(std::system(absl::StrCat("bash -c \"", script, "\" >/dev/null 2>&1").c_str()), 0);
  ::wuye::testing::TestDatabase db;
  ServiceProcess tls_directory({.name = "directory",
                                .binary = Binary("directory"),
                                .pg_url = db.url(),
                                .redis_addr = "",
                                .env = ::wuye::testing::ServiceTestEnv("directory"),
                                .args = {"--tls_cert_file=" + d + "/srv.crt", "--tls_key_file=" + d + "/srv.key",
                                         "--tls_client_ca_file=" + d + "/ca.crt"},
                                .ready = &Listening});
  ASSERT_TRUE(tls_directory.Start());
  auto gateway_with = [&](std::vector<std::string> extra) {
    extra.push_back(absl::StrCat("--upstreams=directory=127.0.0.1:", tls_directory.port()));
    extra.push_back("--upstream_ca_file=" + d + "/ca.crt");
    auto g = NewGateway(std::move(extra));
    EXPECT_TRUE(g->Start());
    return g;
  };
  auto with_cert = gateway_with({"--upstream_cert_file=" + d + "/cli.crt", "--upstream_key_file=" + d + "/cli.key"});
  Reply ok = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup", with_cert.get()), "POST",
                  {"Content-Type: application/json"}, "{}");
  EXPECT_EQ(ok.status, 401) << ok.body;  // through the handshake: the directory's own refusal
  EXPECT_EQ(Str(JsonOf(ok.body), "code"), "unauthenticated");
  auto without = gateway_with({});
  Reply no = Http(Url("/wuye.directory.v1.DirectoryService/GetGroup", without.get()), "POST",
                  {"Content-Type: application/json"}, "{}");
  EXPECT_EQ(no.status, 503) << no.body;  // the service refused the handshake
  EXPECT_EQ(Str(JsonOf(no.body), "code"), "unavailable");
}

TEST_F(GatewayTest, LocalSignInListsTheGroupsStaffAndMintsTheirTokens) {
  dir::Group g = CreateGroup("登录物业");
  const std::string admin = TestToken(g.id(), {"*"}, {"group_admin"}, "gw-local-admin");
  Reply estate = Json("/wuye.directory.v1.DirectoryService/CreateEstate", admin,
                      absl::Substitute(R"({"requestId":"$0","estate":{"name":"登录苑","managementFeeFenPerM2":150}})",
                                       Rid("e")));
  ASSERT_EQ(estate.status, 200);
  const std::string estate_id = ParseJson<dir::Estate>(estate.body).id();
  Reply staff = Json("/wuye.directory.v1.DirectoryService/CreateStaff", admin,
                     absl::Substitute(R"({"requestId":"$0","staff":{"name":"王芳","phone":"13800000002",)"
                                      R"("roles":["STAFF_ROLE_AGENT"],"homeEstateIds":["$1"],)"
                                      R"("startDate":{"year":2024,"month":1,"day":1}}})",
                                      Rid("s"), estate_id));
  ASSERT_EQ(staff.status, 200);
  const std::string agent_id = ParseJson<dir::Staff>(staff.body).id();
  const std::string file = ::testing::TempDir() + "/gw-local-groups-" + NewId(absl::Now());
  std::ofstream(file) << "# the demo's groups\n" << g.id() << "\n";
  auto g1 = NewGateway({ToDirectory(), "--local_sign_in_file=" + file});
  ASSERT_TRUE(g1->Start());
  Reply people = Http(Url("/local/people", g1.get()), "GET", {});
  ASSERT_EQ(people.status, 200) << people.body;
  EXPECT_NE(people.body.find("王芳"), std::string::npos);
  EXPECT_NE(people.body.find("登录苑"), std::string::npos);
  EXPECT_EQ(people.body.find("13800000002"), std::string::npos);  // never a phone number
  Reply in = Http(Url("/local/sign-in", g1.get()), "POST", {"Content-Type: application/json"},
                  absl::Substitute(R"({"staffId":"$0"})", agent_id));
  ASSERT_EQ(in.status, 200) << in.body;
  pb::Struct session = JsonOf(in.body);
  EXPECT_EQ(Str(session, "staffId"), agent_id);
  EXPECT_EQ(session.fields().at("roles").list_value().values(0).string_value(), "agent");
  // The token is the person's: it reads their estate, and may not create a group.
  const std::string token = Str(session, "token");
  Reply read = Http(Url("/wuye.directory.v1.DirectoryService/GetEstate", g1.get()), "POST",
                    {"Content-Type: application/json", Bearer(token)}, absl::Substitute(R"({"id":"$0"})", estate_id));
  EXPECT_EQ(read.status, 200) << read.body;
  Reply create = Http(Url("/wuye.directory.v1.DirectoryService/CreateGroup", g1.get()), "POST",
                      {"Content-Type: application/json", Bearer(token)},
                      absl::Substitute(R"({"requestId":"$0","group":{"name":"x"}})", Rid("g")));
  EXPECT_EQ(create.status, 403);
  // Someone not in the file's groups, or no one: refused.
  EXPECT_EQ(Http(Url("/local/sign-in", g1.get()), "POST", {"Content-Type: application/json"},
                 absl::Substitute(R"({"staffId":"$0"})", NewId(absl::Now())))
                .status,
            404);
  EXPECT_EQ(Http(Url("/local/sign-in", g1.get()), "POST", {"Content-Type: application/json"}, "{}").status, 400);
  // Without the flag there is no local sign-in at all.
  EXPECT_EQ(Http(Url("/local/people"), "GET", {}).status, 404);
  // And it is refused in production.
  auto prod = NewGateway({ToDirectory(), "--local_sign_in_file=" + file, "--production"});
  EXPECT_FALSE(prod->Start(absl::Seconds(10)));
}

// ---- cells -------------------------------------------------------------------------------

// docs/scaling.md: a group lives in one cell, and the gateway sends its calls there. A second
// directory stands for another cell's; the group is created there by a platform call naming
// the cell, and its own token then reaches it without naming anything.
TEST_F(GatewayTest, AGroupsCallsReachItsCell) {
  ::wuye::testing::TestDatabase east_db;
  ServiceProcess east({.name = "directory",
                       .binary = Binary("directory"),
                       .pg_url = east_db.url(),
                       .redis_addr = "",
                       .env = ::wuye::testing::ServiceTestEnv("directory"),
                       .args = {}});
  ASSERT_TRUE(east.Start());
  const std::string file = ::testing::TempDir() + "/gw-cells-" + NewId(absl::Now());
  std::ofstream(file) << "cell east 127.0.0.1:" << east.port() << "\n";
  auto g = NewGateway({ToDirectory(), "--cells_file=" + file});
  ASSERT_TRUE(g->Start());
  const std::string create = "/wuye.directory.v1.DirectoryService/CreateGroup";
  const std::string get = "/wuye.directory.v1.DirectoryService/GetGroup";
  Reply made = Http(Url(create, g.get()), "POST",
                    {"Content-Type: application/json", Bearer(Root()), "x-wuye-cell: east"},
                    absl::Substitute(R"({"requestId":"$0","group":{"name":"东区物业"}})", Rid("g")));
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string id = ParseJson<dir::Group>(made.body).id();
  const std::string body = absl::Substitute(R"({"id":"$0"})", id);
  const std::string admin = TestToken(id, {"*"}, {"group_admin"}, "gw-east-admin");
  // Not placed yet: the group's calls stay home, where it is not.
  EXPECT_EQ(Http(Url(get, g.get()), "POST", {"Content-Type: application/json", Bearer(admin)}, body).status,
            404);
  // Placed (the file is read again when it changes): its calls reach the east cell.
  sleep(1);
  std::ofstream(file) << "cell east 127.0.0.1:" << east.port() << "\ngroup " << id << " east\n";
  EXPECT_TRUE(WaitFor(
      [&] {
        return Http(Url(get, g.get()), "POST", {"Content-Type: application/json", Bearer(admin)}, body)
                   .status == 200;
      },
      absl::Seconds(10)));
  // The home cell does not hold it; a cell the file lacks is refused, naming the header.
  EXPECT_EQ(Http(Url(get, g.get()), "POST",
                 {"Content-Type: application/json", Bearer(Root()), "x-wuye-cell: home"}, body)
                .status,
            404);
  Reply unknown = Http(Url(get, g.get()), "POST",
                       {"Content-Type: application/json", Bearer(Root()), "x-wuye-cell: west"}, body);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("x-wuye-cell"), std::string::npos) << unknown.body;
  // A bad cells file stops the gateway at start.
  const std::string bad = file + "-bad";
  std::ofstream(bad) << "group " << id << " nowhere\n";
  auto refused = NewGateway({ToDirectory(), "--cells_file=" + bad});
  EXPECT_FALSE(refused->Start(absl::Seconds(10)));
}

// ---- the official Connect-ES client ------------------------------------------------------------

// Runs web/clients/test/connect_smoke.mjs with `env`; its stdout lines, parsed.
std::vector<pb::Struct> RunSmoke(const std::map<std::string, std::string>& env, int* exit_code) {
  std::string cmd = absl::StrCat("cd ", WUYE_SOURCE_DIR, " && env");
  for (const auto& [k, v] : env) absl::StrAppend(&cmd, " ", k, "='", v, "'");
  absl::StrAppend(&cmd, " node web/clients/test/connect_smoke.mjs");
  std::vector<pb::Struct> lines;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return lines;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    pb::Struct s;
    if (pb::util::JsonStringToMessage(std::string(line), &s).ok()) lines.push_back(s);
  }
  return lines;
}

TEST_F(GatewayTest, ConnectEsClientFromNode) {
  // The official client, independent of this code: @connectrpc/connect-node over HTTP/1.1
  // with the clients generated from protos/ (web/clients), from the npm registry.
  dir::Group g = CreateGroup("节点物业");
  const std::string admin = TestToken(g.id(), {"*"}, {"group_admin"}, "gw-node-admin");
  Reply estate = Json("/wuye.directory.v1.DirectoryService/CreateEstate", admin,
                      absl::Substitute(R"({"requestId":"$0","estate":{"name":"节点苑","managementFeeFenPerM2":150}})",
                                       Rid("e")));
  ASSERT_EQ(estate.status, 200) << estate.body;
  const std::string estate_id = ParseJson<dir::Estate>(estate.body).id();
  // Duty knows the estate once the directory's event has reached it.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Json("/wuye.duty.v1.DutyService/ListOnDuty", admin,
                    absl::Substitute(R"({"estateId":"$0"})", estate_id))
                   .status == 200;
      },
      absl::Seconds(60)));
  const std::map<std::string, std::string> base = {{"WUYE_GATEWAY_URL", Url("")},
                                                   {"WUYE_TOKEN", admin},
                                                   {"WUYE_ESTATE_ID", estate_id},
                                                   {"WUYE_TIMEOUT_MS", "90000"}};
  for (const auto& mode : std::vector<std::map<std::string, std::string>>{
           {}, {{"WUYE_BINARY", "1"}}, {{"WUYE_HTTP_GET", "1"}}}) {
    auto env = base;
    env.insert(mode.begin(), mode.end());
    int code = -1;
    std::vector<pb::Struct> lines = RunSmoke(env, &code);
    ASSERT_EQ(code, 0) << (lines.empty() ? "no output" : lines.back().DebugString());
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(Str(lines[0], "call"), "unary");
    EXPECT_TRUE(lines[0].fields().at("ok").bool_value());
    if (mode.contains("WUYE_HTTP_GET")) {
      EXPECT_TRUE(lines[0].fields().at("httpGet").bool_value());
    }
    // The stream's first message: the desk's gap task of the new estate (000_… 二.5).
    EXPECT_EQ(Str(lines[1], "call"), "stream");
    const auto& task = lines[1].fields().at("message").struct_value().fields().at("task").struct_value();
    EXPECT_EQ(Str(task, "kind"), "TASK_KIND_DESK_GAP");
    EXPECT_TRUE(lines.back().fields().at("done").bool_value());
  }
  // A refusal with its field violation, decoded by the client from `details`.
  auto env = base;
  env["WUYE_EXPECT_ERROR"] = "1";
  int code = -1;
  std::vector<pb::Struct> lines = RunSmoke(env, &code);
  ASSERT_EQ(code, 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(Str(lines[0], "code"), "invalid_argument");
  const auto& violations = lines[0].fields().at("fieldViolations").list_value();
  ASSERT_GE(violations.values_size(), 1);
  EXPECT_EQ(Str(violations.values(0).struct_value(), "field"), "estate_id");
}

}  // namespace
}  // namespace wuye
