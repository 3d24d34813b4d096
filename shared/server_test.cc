// ServiceHost over real gRPC: request sizes measured before decoding, calls their caller
// gave up on not worked on, TLS and mutual TLS. The service is the directory's generated
// one with a few methods answered through RpcRunner, so that the token check is the real
// one. (Security review, issue 20, items 1, 10 and 12.)
#include "shared/server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "shared/metrics.h"
#include "shared/rpc.h"
#include "shared/status.h"
#include "shared/testing/test_env.h"
#include "wuye/directory/v1/directory.grpc.pb.h"

namespace wuye {
namespace {

namespace v1 = ::wuye::directory::v1;
using Stub = v1::DirectoryService::Stub;

class FakeDirectory : public v1::DirectoryService::Service {
 public:
  explicit FakeDirectory(const TokenVerifier& verifier)
      : rpc_("directory", verifier, SystemClock()) {}

  grpc::Status CreateUnit(grpc::ServerContext* ctx, const v1::CreateUnitRequest* req,
                          v1::Unit* resp) override {
    ++handler_calls;
    return rpc_.Run(ctx, "CreateUnit", req->request_id(), [&](RequestContext&) {
      resp->set_number(req->unit().number().substr(0, 16));
      return absl::OkStatus();
    });
  }

  grpc::Status ImportUnits(grpc::ServerContext* ctx, const v1::ImportUnitsRequest* req,
                           v1::ImportUnitsResponse* resp) override {
    ++handler_calls;
    return rpc_.Run(ctx, "ImportUnits", req->request_id(), [&](RequestContext&) {
      resp->set_created(req->units_size());
      return absl::OkStatus();
    });
  }

  // Waits until the test lets it go, then asks whether the call is still wanted before its
  // work, as a group commit's writer does for a call that waited for its turn while its
  // caller gave up.
  grpc::Status GetUnit(grpc::ServerContext* ctx, const v1::GetUnitRequest* req,
                       v1::Unit* resp) override {
    grpc::Status st = rpc_.Run(ctx, "GetUnit", "", [&](RequestContext& rc) -> absl::Status {
      entered.Notify();
      release.WaitForNotification();
      // The server learns of a cancellation (or a passed deadline) asynchronously: let it.
      testing::WaitFor([ctx] { return ctx->IsCancelled(); }, absl::Seconds(30));
      absl::SleepFor(RequestContext::kAskCancelledAfter);  // old enough to be asked
      WUYE_RETURN_IF_ERROR(rc.StillWanted());
      body_ran = true;
      resp->set_id(req->id());
      return absl::OkStatus();
    });
    last_code = st.error_code();
    finished.Notify();
    return st;
  }

  // Holds its thread until `gate` opens: calls that occupy the server's threads or a
  // connection's streams. Counts how many are inside at once.
  grpc::Status GetEstate(grpc::ServerContext*, const v1::GetEstateRequest* req,
                         v1::Estate* resp) override {
    int now = ++inside;
    for (int seen = most_inside.load();
         now > seen && !most_inside.compare_exchange_weak(seen, now);) {
    }
    ++entered_gate;
    gate.WaitForNotification();
    --inside;
    resp->set_id(req->id());
    return grpc::Status::OK;
  }

  std::atomic<int> handler_calls{0};
  absl::Notification entered, release, finished;
  absl::Notification gate;
  std::atomic<int> inside{0}, most_inside{0}, entered_gate{0};
  std::atomic<bool> body_ran{false};
  std::atomic<int> last_code{-1};

 private:
  RpcRunner rpc_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier_ = std::move(*TokenVerifier::Create(testing::TestAuthConfig()));
    service_ = std::make_unique<FakeDirectory>(*verifier_);
    token_ = testing::TestToken("g1", {"*"}, {"group_admin"});
  }

  void StartHost(ServerOptions options) {
    host_ = std::make_unique<ServiceHost>(std::move(options), nullptr);
    host_->AddService(service_.get(), "wuye.directory.v1.DirectoryService");
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::DirectoryService::NewStub(channel_);
  }

  // Sends `bytes` as the request of `method`, without a token.
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::Status result;
    absl::Notification done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status st) {
      result = st;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<FakeDirectory> service_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
  std::string token_;
};

v1::ImportUnitsRequest UnitsOfBytes(size_t bytes) {
  v1::ImportUnitsRequest req;
  req.set_request_id("import-1");
  req.set_estate_id("estate-1");
  size_t size = req.ByteSizeLong();
  while (size < bytes) {
    auto* unit = req.add_units();
    unit->set_building_name("Building 12 of the north court");
    unit->set_number(absl::StrCat(req.units_size()));
    unit->set_building_area_m2("89.50");
    size += unit->ByteSizeLong() + 2;
  }
  return req;
}

TEST_F(ServerTest, AnOversizeRequestWithoutATokenIsRefusedUndecodedAndTheServerServesOn) {
  StartHost(ServerOptions{});
  v1::CreateUnitRequest big;
  big.mutable_unit()->set_number(std::string(2u << 20, 'x'));
  grpc::ClientContext ctx;  // no token
  v1::Unit unit;
  grpc::Status st = stub_->CreateUnit(&ctx, big, &unit);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_EQ(service_->handler_calls.load(), 0) << "the request reached the handler";

  // The server is still there and answers the next call (without a token: refused as such).
  grpc::ClientContext ctx2;
  v1::CreateUnitRequest small;
  small.mutable_unit()->set_number("101");
  st = stub_->CreateUnit(&ctx2, small, &unit);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_EQ(testing::HealthStatus(channel_), 1);
}

TEST_F(ServerTest, ABulkMethodTakesItsLargerPayloadUpToItsOwnLimit) {
  ServerOptions options;
  options.bulk_message_bytes = 8 << 20;
  StartHost(options);
  v1::ImportUnitsRequest req = UnitsOfBytes(4u << 20);  // over the 1 MiB of others
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    v1::ImportUnitsResponse resp;
    grpc::Status st = stub_->ImportUnits(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.created(), req.units_size());
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    v1::ImportUnitsResponse resp;
    grpc::Status st = stub_->ImportUnits(&ctx, UnitsOfBytes(9u << 20), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  }
  // An ordinary method with the same 4 MiB is refused.
  v1::CreateUnitRequest big;
  big.mutable_unit()->set_number(std::string(4u << 20, 'x'));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  v1::Unit unit;
  EXPECT_EQ(stub_->CreateUnit(&ctx, big, &unit).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(service_->handler_calls.load(), 1);
}

TEST_F(ServerTest, AnOversizeBombOfEmptySubMessagesIsRefusedOnTheBulkMethodToo) {
  ServerOptions options;
  options.bulk_message_bytes = 2 << 20;
  StartHost(options);
  // 3 MiB of empty `units` entries: the shape that decodes to forty times its size.
  std::string bomb;
  while (bomb.size() < (3u << 20)) bomb += std::string("\x1a\x00", 2);
  EXPECT_EQ(RawCall("/wuye.directory.v1.DirectoryService/ImportUnits", bomb).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(service_->handler_calls.load(), 0);
}

TEST_F(ServerTest, ARepeatedFieldWithTooManyEntriesIsInvalidAndNamed) {
  StartHost(ServerOptions{});
  v1::UpdateUnitRequest req;
  for (int i = 0; i < 1001; ++i) req.mutable_update_mask()->add_paths("floor");
  grpc::ClientContext ctx;
  v1::Unit unit;
  grpc::Status st = stub_->UpdateUnit(&ctx, req, &unit);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorField(FromGrpcStatus(st)), "update_mask.paths") << st.error_message();
  // Within the bound it reaches the service (which does not implement it here).
  req.mutable_update_mask()->mutable_paths()->DeleteSubrange(3, 998);
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->UpdateUnit(&ctx2, req, &unit).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ServerTest, AMalformedRequestIsInvalidAndNotUnknown) {
  StartHost(ServerOptions{});
  grpc::Status st = RawCall("/wuye.directory.v1.DirectoryService/CreateUnit", "\xff\xff\xff\xff");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(service_->handler_calls.load(), 0);
}

TEST_F(ServerTest, ACallWhoseDeadlinePassedWhileWaitingIsNotWorkedOn) {
  StartHost(ServerOptions{});
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  v1::GetUnitRequest req;
  req.set_id("u1");
  v1::Unit unit;
  grpc::Status st = stub_->GetUnit(&ctx, req, &unit);  // returns when the deadline passes
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  service_->release.Notify();
  service_->finished.WaitForNotification();
  EXPECT_FALSE(service_->body_ran.load());
  EXPECT_TRUE(service_->last_code == grpc::StatusCode::DEADLINE_EXCEEDED ||
              service_->last_code == grpc::StatusCode::CANCELLED)
      << service_->last_code;
}

TEST_F(ServerTest, ACallItsCallerCancelledIsNotWorkedOn) {
  StartHost(ServerOptions{});
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  v1::GetUnitRequest req;
  req.set_id("u1");
  v1::Unit unit;
  std::thread canceller([&] {
    service_->entered.WaitForNotification();
    ctx.TryCancel();
  });
  grpc::Status st = stub_->GetUnit(&ctx, req, &unit);
  canceller.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  service_->release.Notify();
  service_->finished.WaitForNotification();
  EXPECT_FALSE(service_->body_ran.load());
  EXPECT_EQ(service_->last_code, grpc::StatusCode::CANCELLED);
}

// ---- Reflection ---------------------------------------------------------------------------

// One request on the reflection stream, as bytes: the stream's status and the answer's bytes
// (empty when there was none).
std::pair<grpc::Status, std::string> Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                             const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](auto op) {
    void* tag;
    bool ok = false;
    op();
    cq.Next(&tag, &ok);
    return ok;
  };
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1), in;
  bool read = step([&] { call->StartCall(reinterpret_cast<void*>(1)); }) &&
              step([&] { call->Write(out, reinterpret_cast<void*>(2)); }) &&
              step([&] { call->WritesDone(reinterpret_cast<void*>(3)); }) &&
              step([&] { call->Read(&in, reinterpret_cast<void*>(4)); });
  grpc::Status status;
  step([&] { call->Finish(&status, reinterpret_cast<void*>(5)); });
  std::string answer;
  if (read) {
    std::vector<grpc::Slice> slices;
    (void)in.Dump(&slices);
    for (const auto& s : slices) answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return {status, answer};
}

// A ServerReflectionRequest with field `field` (a string) set to `value`, by hand.
std::string ReflectionRequest(int field, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>(field << 3 | 2));
  for (size_t n = value.size();; n >>= 7) {  // varint length
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  return out + value;
}

// Issue 20, finding 1: reflection is behind the same request limit as every ordinary method,
// also in a server whose transport takes a bulk method's 16 MiB (this one serves
// ImportUnits).
TEST_F(ServerTest, AHugeReflectionRequestIsRefusedUndecodedAndReflectionServesOn) {
  StartHost(ServerOptions{});
  constexpr int kListServices = 7, kFileContainingSymbol = 4;
  auto [listed, services] = Reflect(channel_, ReflectionRequest(kListServices, "*"));
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_NE(services.find("wuye.directory.v1.DirectoryService"), std::string::npos);
  EXPECT_NE(services.find("grpc.health.v1.Health"), std::string::npos);

  // 2 MiB of empty unknown fields (a decoding bomb) and a 2 MiB symbol name: refused before
  // decoding, RESOURCE_EXHAUSTED, without a token.
  std::string bomb;
  for (size_t i = 0; bomb.size() < (2u << 20); ++i) bomb.append("\x42\x00", 2);  // field 8, ""
  for (const std::string& huge :
       {bomb, ReflectionRequest(kFileContainingSymbol, std::string(2u << 20, 'x'))}) {
    auto [st, answer] = Reflect(channel_, huge);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    EXPECT_TRUE(answer.empty());
  }
  // Not a message at all: INVALID_ARGUMENT, not UNKNOWN.
  EXPECT_EQ(Reflect(channel_, "\xff\xff\xff\xff").first.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The server serves on: reflection answers, with the file that defines the service.
  auto [found, file] = Reflect(
      channel_, ReflectionRequest(kFileContainingSymbol, "wuye.directory.v1.DirectoryService"));
  ASSERT_TRUE(found.ok()) << found.error_message();
  EXPECT_NE(file.find("wuye/directory/v1/directory.proto"), std::string::npos);
  auto [missing, error] =
      Reflect(channel_, ReflectionRequest(kFileContainingSymbol, "no.such.Symbol"));
  EXPECT_TRUE(missing.ok());
  EXPECT_NE(error.find("Symbol not found."), std::string::npos);
  EXPECT_EQ(Reflect(channel_, ReflectionRequest(kListServices, "*")).first.error_code(),
            grpc::StatusCode::OK);
}

TEST_F(ServerTest, ReflectionIsOffWhenTurnedOff) {
  ServerOptions options;
  options.reflection = false;
  StartHost(options);
  EXPECT_EQ(Reflect(channel_, ReflectionRequest(7, "*")).first.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// ---- Resource quota ----------------------------------------------------------------------

// Calls of GetEstate issued all at once on `stub`, their outcomes counted as they end.
struct Burst {
  explicit Burst(int n) : contexts(n), requests(n), responses(n) {}
  void Issue(Stub& stub) {
    for (size_t i = 0; i < contexts.size(); ++i) {
      requests[i].set_id(absl::StrCat("e", i));
      stub.async()->GetEstate(&contexts[i], &requests[i], &responses[i], [this](grpc::Status st) {
        std::lock_guard lock(mu);
        ++codes[st.error_code()];
        ++ended;
      });
    }
  }
  int Count(grpc::StatusCode code) {
    std::lock_guard lock(mu);
    return codes[code];
  }
  std::vector<grpc::ClientContext> contexts;
  std::vector<v1::GetEstateRequest> requests;
  std::vector<v1::Estate> responses;
  std::mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::atomic<int> ended{0};
};

// Issue 20, findings 1 and 10: the thread quota refuses what it cannot serve, at once,
// RESOURCE_EXHAUSTED; the calls it took finish, and the server serves again afterwards.
TEST_F(ServerTest, CallsBeyondTheThreadQuotaAreRefusedAndTheServerServesAgain) {
  ServerOptions options;
  options.max_threads = 4;  // the lowest the configuration allows
  StartHost(options);
  constexpr int kCalls = 24;
  Burst burst(kCalls);
  burst.Issue(*stub_);
  // Every call either holds a thread or was refused: none is left waiting.
  ASSERT_TRUE(
      testing::WaitFor([&] { return service_->entered_gate.load() + burst.ended.load() == kCalls; },
                       absl::Seconds(30)))
      << service_->entered_gate.load() << " inside, " << burst.ended.load() << " ended";
  const int held = service_->entered_gate.load();
  EXPECT_GE(held, 1);
  EXPECT_LE(held, options.max_threads) << "no more calls at work than threads";
  EXPECT_EQ(burst.Count(grpc::StatusCode::RESOURCE_EXHAUSTED), kCalls - held)
      << "everything else refused, RESOURCE_EXHAUSTED";
  service_->gate.Notify();
  ASSERT_TRUE(testing::WaitFor([&] { return burst.ended.load() == kCalls; }, absl::Seconds(30)));
  EXPECT_EQ(burst.Count(grpc::StatusCode::OK), held) << "the calls it took finish";
  // Serving again, a burst as large as the quota included.
  Burst after(2);
  after.Issue(*stub_);
  ASSERT_TRUE(testing::WaitFor([&] { return after.ended.load() == 2; }, absl::Seconds(30)));
  EXPECT_EQ(after.Count(grpc::StatusCode::OK), 2);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  v1::CreateUnitRequest req;
  req.set_request_id("after-the-burst");
  req.mutable_unit()->set_number("101");
  v1::Unit unit;
  EXPECT_NE(stub_->CreateUnit(&ctx, req, &unit).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// The stream cap: a connection has at most max_concurrent_streams calls at the server; the
// others queue at the client (HTTP/2), are not refused, and run once those end.
TEST_F(ServerTest, CallsBeyondAConnectionsStreamCapQueueAndAllRun) {
  ServerOptions options;
  options.max_concurrent_streams = 2;
  StartHost(options);
  constexpr int kCalls = 8;
  Burst burst(kCalls);
  burst.Issue(*stub_);
  ASSERT_TRUE(
      testing::WaitFor([&] { return service_->entered_gate.load() == 2; }, absl::Seconds(30)));
  service_->gate.Notify();
  ASSERT_TRUE(testing::WaitFor([&] { return burst.ended.load() == kCalls; }, absl::Seconds(30)));
  EXPECT_EQ(burst.Count(grpc::StatusCode::OK), kCalls) << "queued, not refused";
  EXPECT_EQ(service_->entered_gate.load(), kCalls);
  EXPECT_LE(service_->most_inside.load(), 2) << "never more than the cap at once";
}

// Issue 28 (offered twice the capacity): calls beyond a method's adaptive concurrency limit
// are refused at once, RESOURCE_EXHAUSTED saying the server is busy, before the method runs;
// the calls it took finish, and it serves again.
TEST_F(ServerTest, CallsBeyondAMethodsAdaptiveLimitAreRefusedBeforeTheMethodRuns) {
  ServerOptions options;
  options.concurrency.initial = options.concurrency.min = 2;
  StartHost(options);
  const std::string shed = "wuye_rpc_shed_total{method=\"directory.GetEstate\"}";
  const int64_t shed_before = Metrics::Global().Counter(shed);
  constexpr int kCalls = 6;
  Burst burst(kCalls);
  burst.Issue(*stub_);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return service_->entered_gate.load() == 2 && burst.ended.load() == kCalls - 2; },
      absl::Seconds(30)))
      << service_->entered_gate.load() << " inside, " << burst.ended.load() << " ended";
  EXPECT_EQ(burst.Count(grpc::StatusCode::RESOURCE_EXHAUSTED), kCalls - 2);
  EXPECT_EQ(Metrics::Global().Counter(shed) - shed_before, kCalls - 2);
  grpc::ClientContext refused_ctx;
  v1::GetEstateRequest one;
  v1::Estate estate;
  grpc::Status refused = stub_->GetEstate(&refused_ctx, one, &estate);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("server busy"));
  EXPECT_EQ(ErrorReason(FromGrpcStatus(refused)), "SERVER_BUSY");
  EXPECT_EQ(service_->entered_gate.load(), 2) << "a refused call never reaches the method";
  service_->gate.Notify();
  ASSERT_TRUE(testing::WaitFor([&] { return burst.ended.load() == kCalls; }, absl::Seconds(30)));
  EXPECT_EQ(burst.Count(grpc::StatusCode::OK), 2) << "the calls it took finish";
  Burst after(2);
  after.Issue(*stub_);
  ASSERT_TRUE(testing::WaitFor([&] { return after.ended.load() == 2; }, absl::Seconds(30)));
  EXPECT_EQ(after.Count(grpc::StatusCode::OK), 2) << "serving again";
}

TEST_F(ServerTest, WithTheAdaptiveLimitOffOnlyTheThreadsBoundTheCalls) {
  ServerOptions options;
  options.concurrency.enabled = false;
  options.concurrency.initial = options.concurrency.min = 2;
  StartHost(options);
  constexpr int kCalls = 6;
  Burst burst(kCalls);
  burst.Issue(*stub_);
  ASSERT_TRUE(testing::WaitFor([&] { return service_->entered_gate.load() == kCalls; },
                               absl::Seconds(30)));
  service_->gate.Notify();
  ASSERT_TRUE(testing::WaitFor([&] { return burst.ended.load() == kCalls; }, absl::Seconds(30)));
  EXPECT_EQ(burst.Count(grpc::StatusCode::OK), kCalls);
}

// ---- TLS -------------------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    char tmpl[] = "/tmp/wuye-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(MakeCertificate(dir_ + "/key.pem", dir_ + "/cert.pem"));
    cert_ = ReadFile(dir_ + "/cert.pem");
    key_ = ReadFile(dir_ + "/key.pem");
    ASSERT_FALSE(cert_.empty());
  }
  // A self-signed certificate for "localhost" (its own CA), made with the openssl CLI.
  static bool MakeCertificate(const std::string& key, const std::string& cert) {
    std::string cmd = absl::StrCat(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 ",
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout ", key, " -out ", cert,
        " 2>/dev/null");
    return std::system(cmd.c_str()) == 0;
  }

  void TearDown() override {
    host_.reset();
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  ServerOptions TlsOptions(bool mutual) {
    ServerOptions options;
    options.tls.cert_file = dir_ + "/cert.pem";
    options.tls.key_file = dir_ + "/key.pem";
    if (mutual) options.tls.client_ca_file = dir_ + "/cert.pem";
    return options;
  }

  // Health over TLS trusting the test's certificate, presenting it when `with_cert`.
  int TlsHealth(bool with_cert) { return TlsHealthTrusting(cert_, with_cert); }
  int TlsHealthTrusting(const std::string& root, bool with_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = root;
    if (with_cert) {
      ssl.pem_cert_chain = cert_;
      ssl.pem_private_key = key_;
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                             grpc::SslCredentials(ssl), args);
    return testing::HealthStatus(channel);
  }

  std::string dir_, cert_, key_;
};

TEST_F(TlsTest, ServesOverTlsAndNotInPlaintext) {
  StartHost(TlsOptions(false));
  EXPECT_EQ(TlsHealth(false), 1);
  EXPECT_EQ(testing::HealthStatus(channel_), -1) << "a plaintext call was answered";
  // A real call over TLS reaches the handler with its token.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cert_;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = v1::DirectoryService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", host_->port()), grpc::SslCredentials(ssl), args));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  v1::CreateUnitRequest req;
  req.mutable_unit()->set_number("101");
  v1::Unit unit;
  grpc::Status st = stub->CreateUnit(&ctx, req, &unit);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(unit.number(), "101");
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificate) {
  StartHost(TlsOptions(true));
  EXPECT_EQ(TlsHealth(true), 1);
  EXPECT_EQ(TlsHealth(false), -1) << "a client without a certificate was served";
}

TEST_F(TlsTest, ARenewedCertificateIsServedWithoutARestart) {
  ServerOptions options = TlsOptions(false);
  options.tls.reload_interval = absl::Seconds(1);
  StartHost(options);
  ASSERT_EQ(TlsHealth(false), 1);
  // The Secret is renewed: a new key and certificate replace the files (as the kubelet
  // swaps a mounted Secret's directory).
  ASSERT_TRUE(MakeCertificate(dir_ + "/key.new", dir_ + "/cert.new"));
  std::string renewed = ReadFile(dir_ + "/cert.new");
  ASSERT_EQ(std::rename((dir_ + "/key.new").c_str(), (dir_ + "/key.pem").c_str()), 0);
  ASSERT_EQ(std::rename((dir_ + "/cert.new").c_str(), (dir_ + "/cert.pem").c_str()), 0);
  EXPECT_TRUE(
      testing::WaitFor([&] { return TlsHealthTrusting(renewed, false) == 1; }, absl::Seconds(60)))
      << "the renewed certificate was never served";
  EXPECT_EQ(TlsHealth(false), -1) << "the old certificate is still served";
}

TEST_F(TlsTest, AMissingFileIsAClearError) {
  ServerOptions options = TlsOptions(false);
  options.tls.key_file = dir_ + "/nope.pem";
  ServiceHost host(options, nullptr);
  host.AddService(service_.get(), "wuye.directory.v1.DirectoryService");
  absl::Status st = host.Start();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("tls_key_file"), std::string::npos) << st;
}

}  // namespace
}  // namespace wuye
