#include "services/gateway/gateway.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <variant>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "shared/metrics.h"
#include "shared/server.h"
#include "shared/secret.h"
#include "shared/status.h"
#include "wuye/service_list.h"

namespace wuye::gateway {
namespace {

namespace pb = google::protobuf;

// Request headers that travel to the service as metadata; nothing else does.
constexpr absl::string_view kForwardedHeaders[] = {"authorization", "x-trace-id", "traceparent",
                                                    "tracestate"};
constexpr absl::string_view kAllowedRequestHeaders =
    "Authorization, Content-Type, Connect-Protocol-Version, Connect-Timeout-Ms, "
    "Connect-Accept-Encoding, Connect-Content-Encoding, Grpc-Timeout, X-Grpc-Web, "
    "X-User-Agent, X-Trace-Id, Traceparent, Tracestate";
constexpr absl::string_view kExposedHeaders =
    "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin, X-Trace-Id, Connect-Content-Encoding";

std::string ToText(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  out.reserve(buffer.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::multimap<std::string, std::string> Copy(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::multimap<std::string, std::string> out;
  for (const auto& [k, v] : metadata) out.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return out;
}

bool IsForwardedMetadata(absl::string_view key, absl::string_view value) {
  return !absl::StartsWith(key, "grpc-") && !absl::EndsWith(key, "-bin") && IsMetadataValue(value);
}

grpc::Status GrpcOf(const absl::Status& status) { return ToGrpcStatus(status); }

void Count(absl::string_view path, Protocol protocol, grpc::StatusCode code) {
  Metrics::Global().Add(absl::StrCat("wuye_gateway_requests_total{method=\"", path, "\",protocol=\"",
                                     ProtocolName(protocol), "\",code=\"", ConnectCodeName(code), "\"}"));
}

// An error in the client's protocol. Connect unary: the JSON error with its HTTP status;
// Connect streaming: HTTP 200 and an end-stream envelope; gRPC-Web: HTTP 200 and a trailer
// frame.
HttpResponse ErrorIn(const WireFormat& format, const grpc::Status& status,
                     const std::multimap<std::string, std::string>& trailers = {}) {
  HttpResponse r;
  const grpc::StatusCode code = status.error_code();
  switch (format.protocol) {
    case Protocol::kConnect:
      r.status = HttpStatusOf(code);
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = ConnectErrorJson(code, status.error_message(), status.error_details());
      for (const auto& [k, v] : trailers) {
        if (IsForwardedMetadata(k, v)) r.headers.emplace_back(absl::StrCat("trailer-", k), v);
      }
      break;
    case Protocol::kConnectStream:
      r.headers.emplace_back("Content-Type", ContentTypeOf(format));
      r.body = Envelope(kFlagEndStream,
                        ConnectEndStreamJson(code, status.error_message(), status.error_details(), trailers));
      break;
    case Protocol::kGrpcWeb:
    case Protocol::kGrpcWebText:
      r.headers.emplace_back("Content-Type", ContentTypeOf(format));
      r.body = Envelope(kFlagGrpcWebTrailer,
                        GrpcWebTrailers(code, status.error_message(), status.error_details(), trailers));
      if (format.protocol == Protocol::kGrpcWebText) r.body = absl::Base64Escape(r.body);
      break;
  }
  return r;
}

HttpResponse ConnectError(int http_status, grpc::StatusCode code, absl::string_view message) {
  HttpResponse r;
  r.status = http_status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = ConnectErrorJson(code, message, "");
  return r;
}

// What a request asks for, from its head alone.
struct Target {
  const Route* route = nullptr;
  WireFormat format;
  bool get = false;
};


void SetDeadline(grpc::ClientContext& ctx, absl::Duration timeout) {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

void Forward(const HttpRequest& request, grpc::ClientContext& ctx) {
  for (absl::string_view name : kForwardedHeaders) {
    auto it = request.headers.find(std::string(name));
    if (it != request.headers.end()) ctx.AddMetadata(std::string(name), it->second);
  }
}

std::atomic<int> streams_open{0};

// A server stream from the service, read as the HTTP body asks for it. The gRPC call runs
// on a completion queue of its own, waited on in slices of a second so that a client that
// has gone, or a gateway that drains, cancels it.
class UpstreamStream : public BodyStream {
 public:
  UpstreamStream(const Route& route, grpc::GenericStub* stub, const WireFormat& format,
                 const HttpRequest& request, std::string binary,
                 std::optional<absl::Duration> timeout, std::shared_ptr<std::atomic<bool>> draining)
      : route_(route), format_(format), client_gone_(request.client_gone), draining_(std::move(draining)) {
    Metrics::Global().Set("wuye_gateway_streams_open", ++streams_open);
    Forward(request, ctx_);
    if (timeout) SetDeadline(ctx_, *timeout);
    call_ = stub->PrepareCall(&ctx_, route.path, &cq_);
    call_->StartCall(Tag(kStart));
    ok_ = Await(kStart);
    if (ok_) {
      call_->Write(ToBuffer(binary), Tag(kWrite));
      ok_ = Await(kWrite);
    }
    if (ok_) {
      call_->WritesDone(Tag(kWritesDone));
      ok_ = Await(kWritesDone);
    }
  }

  ~UpstreamStream() override {
    if (!finished_) {
      ctx_.TryCancel();
      grpc::Status ignored;
      call_->Finish(&ignored, Tag(kFinish));
      (void)Await(kFinish);
    }
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
    if (!counted_) Count(route_.path, format_.protocol, grpc::StatusCode::CANCELLED);
    Metrics::Global().Set("wuye_gateway_streams_open", --streams_open);
  }

  bool Next(std::string* chunk) override {
    if (finished_) return false;
    if (ok_) {
      grpc::ByteBuffer message;
      call_->Read(&message, Tag(kRead));
      if (Await(kRead)) {
        auto encoded = EncodeResponse(route_, format_.codec, ToText(message));
        if (encoded.ok()) {
          *chunk = Envelope(0, *encoded);
          if (format_.protocol == Protocol::kGrpcWebText) *chunk = absl::Base64Escape(*chunk);
          return true;
        }
        ctx_.TryCancel();
      }
      ok_ = false;
    }
    grpc::Status status;
    call_->Finish(&status, Tag(kFinish));
    (void)Await(kFinish);
    finished_ = true;
    if (cancelled_for_drain_) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is shutting down; reconnect");
    }
    auto trailers = Copy(ctx_.GetServerTrailingMetadata());
    if (format_.grpc_web()) {
      *chunk = Envelope(kFlagGrpcWebTrailer, GrpcWebTrailers(status.error_code(), status.error_message(),
                                                             status.error_details(), trailers));
      if (format_.protocol == Protocol::kGrpcWebText) *chunk = absl::Base64Escape(*chunk);
    } else {
      *chunk = Envelope(kFlagEndStream, ConnectEndStreamJson(status.error_code(), status.error_message(),
                                                             status.error_details(), trailers));
    }
    Count(route_.path, format_.protocol, status.error_code());
    counted_ = true;
    return true;
  }

 private:
  enum Op : intptr_t { kStart = 1, kWrite, kWritesDone, kRead, kFinish };
  static void* Tag(Op op) { return reinterpret_cast<void*>(op); }

  // Waits for `op` to complete, cancelling the call meanwhile if the client has gone or
  // the gateway drains. Whether the operation succeeded.
  bool Await(Op op) {
    for (;;) {
      void* tag = nullptr;
      bool ok = false;
      auto r = cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(1));
      if (r == grpc::CompletionQueue::GOT_EVENT) {
        if (tag == Tag(op)) return ok;
        continue;
      }
      if (r == grpc::CompletionQueue::SHUTDOWN) return false;
      if (draining_->load() && !cancelled_for_drain_) {
        cancelled_for_drain_ = true;
        ctx_.TryCancel();
      } else if (client_gone_ && client_gone_()) {
        ctx_.TryCancel();
      }
    }
  }

  const Route& route_;
  WireFormat format_;
  std::function<bool()> client_gone_;
  std::shared_ptr<std::atomic<bool>> draining_;
  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool ok_ = false;
  bool finished_ = false;
  bool counted_ = false;
  bool cancelled_for_drain_ = false;
};

}  // namespace

namespace {

// JSON is converted straight to and from the binary form by the descriptors, with no
// message object between (protobuf's JsonStringToMessage takes the same way, then parses).
// protobuf 3.21 asks the resolver for every message type of a conversion at each
// conversion, and its own resolver builds each type anew from the descriptor each time;
// this one builds each once and hands out copies.
class CachingResolver : public pb::util::TypeResolver {
 public:
  CachingResolver()
      : inner_(pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                          pb::DescriptorPool::generated_pool())) {}
  pb::util::Status ResolveMessageType(const std::string& type_url, pb::Type* type) override {
    return Cached(types_, type_url, type, &pb::util::TypeResolver::ResolveMessageType);
  }
  pb::util::Status ResolveEnumType(const std::string& type_url, pb::Enum* enum_type) override {
    return Cached(enums_, type_url, enum_type, &pb::util::TypeResolver::ResolveEnumType);
  }

 private:
  template <typename T>
  pb::util::Status Cached(absl::flat_hash_map<std::string, T>& cache, const std::string& url, T* out,
                          pb::util::Status (pb::util::TypeResolver::*resolve)(const std::string&, T*)) {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = cache.find(url); it != cache.end()) {
        *out = it->second;
        return pb::util::Status();
      }
    }
    pb::util::Status st = ((*inner_).*resolve)(url, out);
    if (st.ok()) {
      absl::MutexLock lock(&mu_);
      cache.emplace(url, *out);
    }
    return st;
  }

  std::unique_ptr<pb::util::TypeResolver> inner_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, pb::Type> types_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, pb::Enum> enums_ ABSL_GUARDED_BY(mu_);
};

pb::util::TypeResolver& Resolver() {
  static CachingResolver* resolver = new CachingResolver();
  return *resolver;
}

std::string TypeUrl(const pb::Message& prototype) {
  return absl::StrCat("type.googleapis.com/", prototype.GetDescriptor()->full_name());
}

}  // namespace

absl::StatusOr<std::string> DecodeRequest(const Route& route, Codec codec, std::string body) {
  if (codec == Codec::kProto) return body;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (body.empty()) body = "{}";
  std::string binary;
  if (auto st = pb::util::JsonToBinaryString(&Resolver(), TypeUrl(*route.request), body, &binary, options);
      !st.ok()) {
    return FieldError("body", std::string(st.message()));
  }
  return binary;
}

absl::StatusOr<std::string> EncodeResponse(const Route& route, Codec codec, std::string binary) {
  if (codec == Codec::kProto) return binary;
  std::string json;
  if (auto st = pb::util::BinaryToJsonString(&Resolver(), TypeUrl(*route.response), binary, &json); !st.ok()) {
    return absl::InternalError(absl::StrCat("the service's answer does not read as ",
                                            route.response->GetDescriptor()->full_name(), ": ", std::string(st.message())));
  }
  return json;
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(GatewayOptions options) {
  if (options.max_body_bytes == 0 || options.max_bulk_body_bytes < options.max_body_bytes) {
    return FieldError("max_body_bytes", "must be > 0 and at most max_bulk_body_bytes");
  }
  if (options.default_timeout <= absl::ZeroDuration() || options.max_timeout < options.default_timeout) {
    return FieldError("default_timeout", "must be > 0 and at most max_timeout");
  }
  for (const auto& origin : options.cors_origins) {
    if (!absl::StartsWith(origin, "http://") && !absl::StartsWith(origin, "https://")) {
      return FieldError("cors_origins", absl::StrCat("\"", origin, "\": want scheme://host[:port]"));
    }
  }
  if (options.upstream_cert_file.empty() != options.upstream_key_file.empty()) {
    return FieldError("upstream_key_file", "give both --upstream_cert_file and --upstream_key_file, or neither");
  }
  if (!options.upstream_cert_file.empty() && options.upstream_ca_file.empty()) {
    return FieldError("upstream_cert_file", "a client certificate needs TLS to the services (--upstream_ca_file)");
  }
  if (!options.local_sign_in.groups_file.empty() && options.local_sign_in.jwt_secret.size() < 32) {
    return FieldError("local_sign_in_file", "local sign-in mints HS256 tokens: set WUYE_JWT_SECRET (>= 32 bytes)");
  }
  WUYE_RETURN_IF_ERROR(ValidateConsoleOidc(options.oidc));
  std::unique_ptr<Gateway> gateway(new Gateway(std::move(options)));
  WUYE_RETURN_IF_ERROR(gateway->Bind());
  const ConsoleOidc& oidc = gateway->options_.oidc;
  if (!gateway->options_.console_dir.empty()) {
    std::vector<std::string> connect;
    if (oidc.configured()) connect.push_back(OriginOf(oidc.issuer));
    WUYE_ASSIGN_OR_RETURN(gateway->console_, ConsoleFiles::Load(gateway->options_.console_dir, connect));
  }
  gateway->console_config_ = std::make_unique<ConsoleConfig>(oidc);
  return gateway;
}

Gateway::~Gateway() = default;

absl::Status Gateway::Bind() {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!options_.upstream_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    WUYE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadSecretFile("upstream_ca_file", options_.upstream_ca_file));
    if (!options_.upstream_cert_file.empty()) {
      WUYE_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadSecretFile("upstream_cert_file", options_.upstream_cert_file));
      WUYE_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadSecretFile("upstream_key_file", options_.upstream_key_file));
    }
    creds = grpc::SslCredentials(ssl);
  }
  auto make_channel = [this, creds](const std::string& address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(static_cast<int>(options_.max_bulk_body_bytes) + (1 << 20));
    // Each service its own connection, kept warm (a restarted service is found again).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    return grpc::CreateCustomChannel(address, creds, args);
  };
  // The other cells' services, made when a call first needs one (the same credentials).
  cells_ = std::make_unique<CellRouter>(
      options_.cells_file, [make_channel](const std::string& service, const std::string& address) {
        const ListedService* listed = nullptr;
        for (const auto& l : kListedServices) {
          if (service == l.name) listed = &l;
        }
        return std::make_unique<grpc::GenericStub>(make_channel(absl::StrReplaceAll(
            address, {{"{name}", service}, {"{port}", absl::StrCat(listed ? listed->port : 0)}})));
      });
  WUYE_RETURN_IF_ERROR(cells_->Load());
  for (const auto& upstream : options_.upstreams) {
    const std::string& name = upstream.first;  // not a structured binding: clang 14 (make fuzz) cannot capture one
    if (!absl::c_any_of(kListedServices, [&](const ListedService& s) { return name == s.name; })) {
      return FieldError("upstreams", absl::StrCat("\"", name, "\" is not a service of services.txt"));
    }
  }
  for (const auto& listed : kListedServices) {
    auto it = options_.upstreams.find(listed.name);
    const std::string address =
        it != options_.upstreams.end()
            ? it->second
            : absl::StrReplaceAll(options_.upstream,
                                  {{"{name}", listed.name}, {"{port}", absl::StrCat(listed.port)}});
    channels_.push_back(make_channel(address));
    if (absl::string_view(listed.name) == "directory" && !options_.local_sign_in.groups_file.empty()) {
      local_ = std::make_unique<LocalSignIn>(options_.local_sign_in, channels_.back());
    }
    stubs_.push_back(std::make_unique<grpc::GenericStub>(channels_.back()));
    for (absl::string_view name : absl::StrSplit(listed.grpc_services, ',', absl::SkipEmpty())) {
      const pb::ServiceDescriptor* service =
          pb::DescriptorPool::generated_pool()->FindServiceByName(std::string(name));
      if (service == nullptr) {
        return absl::InternalError(absl::StrCat(name, ": no descriptor compiled in"));
      }
      for (int i = 0; i < service->method_count(); ++i) {
        const pb::MethodDescriptor* m = service->method(i);
        if (m->client_streaming()) continue;  // none today; HTTP/1.1 cannot carry them
        Route route;
        route.path = absl::StrCat("/", service->full_name(), "/", m->name());
        route.service = listed.name;
        route.method = m;
        route.request = pb::MessageFactory::generated_factory()->GetPrototype(m->input_type());
        route.response = pb::MessageFactory::generated_factory()->GetPrototype(m->output_type());
        route.stub = stubs_.back().get();
        route.server_streaming = m->server_streaming();
        route.no_side_effects =
            m->options().idempotency_level() == pb::MethodOptions::NO_SIDE_EFFECTS;
        const bool bulk = absl::c_any_of(kBulkMethods, [&](const char* p) { return route.path == p; });
        route.max_body = bulk ? options_.max_bulk_body_bytes : options_.max_body_bytes;
        routes_.emplace(route.path, std::move(route));
      }
    }
  }
  return absl::OkStatus();
}

const Route* Gateway::Find(absl::string_view path) const {
  auto it = routes_.find(path);
  return it == routes_.end() ? nullptr : &it->second;
}

void Gateway::Drain() { draining_->store(true); }

void Gateway::Abort() { aborting_.store(true); }

std::vector<std::pair<std::string, std::string>> Gateway::CorsHeaders(const HttpRequest& request) const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string origin = request.Header("origin");
  if (origin.empty() || !absl::c_linear_search(options_.cors_origins, origin)) return out;
  out.emplace_back("Access-Control-Allow-Origin", origin);
  out.emplace_back("Vary", "Origin");
  out.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  return out;
}

HttpResponse Gateway::Preflight(const HttpRequest& request) const {
  auto cors = CorsHeaders(request);
  const std::string method = request.Header("access-control-request-method");
  if (cors.empty() || (method != "POST" && method != "GET")) {
    return ConnectError(403, grpc::StatusCode::PERMISSION_DENIED,
                        "origin not allowed (the gateway's --cors_origins)");
  }
  HttpResponse r;
  r.status = 204;
  r.headers = std::move(cors);
  r.headers.emplace_back("Access-Control-Allow-Methods", "POST, GET");
  r.headers.emplace_back("Access-Control-Allow-Headers", std::string(kAllowedRequestHeaders));
  r.headers.emplace_back("Access-Control-Max-Age", "7200");
  return r;
}

namespace {

// Route and protocol of a request from its head, or the answer that refuses it.
std::variant<Target, HttpResponse> Classify(const Gateway& gateway, const HttpRequest& head) {
  Target t;
  if (head.method == "GET") {
    t.get = true;
    t.format = {Protocol::kConnect, Codec::kJson};
  } else if (head.method == "POST") {
    auto format = FormatOfContentType(head.Header("content-type"));
    if (!format) {
      HttpResponse r = ConnectError(415, grpc::StatusCode::INTERNAL,
                                    "content-type: want application/json, application/proto, "
                                    "application/connect+json|proto or application/grpc-web[+proto|+json]");
      r.headers.emplace_back("Accept-Post",
                             "application/json, application/proto, application/connect+json, "
                             "application/connect+proto, application/grpc-web+proto, "
                             "application/grpc-web+json, application/grpc-web-text");
      return r;
    }
    t.format = *format;
  } else {
    HttpResponse r = ConnectError(405, grpc::StatusCode::UNIMPLEMENTED, "method: want POST (or GET for reads)");
    r.headers.emplace_back("Allow", "POST, GET, OPTIONS");
    return r;
  }
  if (std::string v = head.Header("connect-protocol-version"); !v.empty() && v != "1") {
    return ErrorIn(t.format, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "connect-protocol-version: only 1 is spoken"));
  }
  t.route = gateway.Find(head.path);
  if (t.route == nullptr) {
    return ErrorIn(t.format, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                          absl::StrCat("no method ", head.path.substr(0, 200))));
  }
  if (t.get && (!t.route->no_side_effects || t.route->server_streaming)) {
    HttpResponse r = ConnectError(405, grpc::StatusCode::UNIMPLEMENTED,
                                  "GET is only for reads (idempotency_level NO_SIDE_EFFECTS); use POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  if (t.format.protocol == Protocol::kConnect && t.route->server_streaming) {
    return ConnectError(415, grpc::StatusCode::UNIMPLEMENTED,
                        "a streaming method: content-type application/connect+json or +proto");
  }
  if (t.format.protocol == Protocol::kConnectStream && !t.route->server_streaming) {
    return ErrorIn(t.format, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                          "a unary method: content-type application/json or application/proto"));
  }
  const char* encoding_header = t.format.protocol == Protocol::kConnect       ? "content-encoding"
                                : t.format.protocol == Protocol::kConnectStream ? "connect-content-encoding"
                                                                                : "grpc-encoding";
  if (std::string e = head.Header(encoding_header); !e.empty() && e != "identity") {
    return ErrorIn(t.format, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                          absl::StrCat(encoding_header, ": only identity is supported")));
  }
  // The headers that travel as gRPC metadata must be legal metadata: gRPC aborts the whole
  // process on a value with a byte outside 0x20..0x7E (found by tests/fuzz/gateway_http_fuzz).
  for (absl::string_view name : kForwardedHeaders) {
    if (!IsMetadataValue(head.Header(name))) {
      return ErrorIn(t.format, GrpcOf(FieldError(name, "want printable ASCII")));
    }
  }
  return t;
}

}  // namespace

bool IsRpcPath(absl::string_view path) {
  if (!absl::ConsumePrefix(&path, "/")) return false;
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return false;
  absl::string_view service = path.substr(0, slash), method = path.substr(slash + 1);
  return absl::StrContains(service, '.') && !method.empty() && !absl::StrContains(method, '/');
}

HeadVerdict Gateway::OnHead(const HttpRequest& head) {
  HeadVerdict v;
  if (head.method == "OPTIONS") return v;
  if (LocalSignIn::Owns(head.path)) {
    v.max_body = 4096;
    return v;
  }
  if (ConsoleConfig::Owns(head.path)) return v;
  if (console_ && (head.method == "GET" || head.method == "HEAD") && !IsRpcPath(head.path)) return v;
  auto classified = Classify(*this, head);
  if (auto* refused = std::get_if<HttpResponse>(&classified)) {
    Metrics::Global().Add(absl::StrCat("wuye_gateway_refused_total{status=\"", refused->status, "\"}"));
    for (auto& h : CorsHeaders(head)) refused->headers.push_back(std::move(h));
    v.refuse = std::move(*refused);
    return v;
  }
  const Target& t = std::get<Target>(classified);
  // Enveloped and base64 bodies carry a few bytes more than the message they hold.
  v.max_body = t.get ? 0 : t.route->max_body + (t.format.protocol == Protocol::kGrpcWebText ? t.route->max_body / 3 + 8 : 5);
  return v;
}

HttpResponse Gateway::OnRequest(HttpRequest request) {
  if (request.method == "OPTIONS") return Preflight(request);
  if (LocalSignIn::Owns(request.path)) {
    // Off: not found, so that the console offers only the production sign-in.
    return local_ ? local_->Answer(request)
                  : ConnectError(404, grpc::StatusCode::NOT_FOUND, "local sign-in is off on this gateway");
  }
  if (ConsoleConfig::Owns(request.path)) return console_config_->Answer(request);
  if (console_ && (request.method == "GET" || request.method == "HEAD") && !IsRpcPath(request.path)) {
    return console_->Get(request);
  }
  auto cors = CorsHeaders(request);
  auto classified = Classify(*this, request);
  HttpResponse r;
  if (auto* refused = std::get_if<HttpResponse>(&classified)) {
    r = std::move(*refused);
  } else {
    Target t = std::get<Target>(classified);
    auto refuse = [&](const absl::Status& st) {
      Count(t.route->path, t.format.protocol, static_cast<grpc::StatusCode>(st.code()));
      return ErrorIn(t.format, GrpcOf(st));
    };
    // The deadline the client names (capped), else the default for a unary call.
    absl::StatusOr<std::optional<absl::Duration>> named =
        t.format.grpc_web() ? ParseGrpcTimeout(request.Header("grpc-timeout"))
                            : ParseConnectTimeout(request.Header("connect-timeout-ms"));
    std::string body;
    absl::Status st = named.status();
    if (st.ok() && t.get) {
      auto query = ParseGetQuery(request.query);
      st = query.status();
      if (query.ok()) {
        body = std::move(query->message);
        t.format.codec = query->codec;
        if (body.size() > t.route->max_body) {
          st = absl::ResourceExhaustedError("message: over the gateway's limit");
        }
      }
    } else if (st.ok() && t.format.enveloped()) {
      std::string raw = std::move(request.body);
      if (t.format.protocol == Protocol::kGrpcWebText) {
        // Into a string of its own: absl::Base64Unescape(raw, &raw) shrinks its output over
        // its input first, and so refused every gRPC-Web-text body.
        std::string decoded;
        if (absl::Base64Unescape(raw, &decoded)) {
          raw = std::move(decoded);
        } else {
          st = absl::InvalidArgumentError("body: not base64");
        }
      }
      if (st.ok()) {
        auto frames = SplitEnvelopes(raw, t.route->max_body);
        st = frames.status();
        if (frames.ok() && (frames->size() != 1 || (*frames)[0].flags != 0)) {
          st = absl::InvalidArgumentError("body: want exactly one uncompressed message envelope");
        } else if (frames.ok()) {
          body = std::move((*frames)[0].payload);
        }
      }
    } else if (st.ok()) {
      body = std::move(request.body);
    }
    absl::StatusOr<std::string> binary = st.ok() ? DecodeRequest(*t.route, t.format.codec, std::move(body)) : st;
    // The cell of the caller's group (cells.h); the home cell's stub otherwise.
    absl::StatusOr<grpc::GenericStub*> stub =
        cells_->Pick(t.route->service, request.Header("authorization"), request.Header("x-wuye-cell"),
                     t.route->stub);
    if (!binary.ok()) {
      r = refuse(binary.status());
    } else if (!stub.ok()) {
      r = refuse(stub.status());
    } else if (t.route->server_streaming) {
      if (draining_->load()) {
        r = refuse(absl::UnavailableError("the gateway is shutting down; reconnect"));
      } else {
        std::optional<absl::Duration> timeout = *named;
        if (timeout) timeout = std::min(*timeout, options_.max_timeout);
        r = Stream(*t.route, *stub, t.format, request, *std::move(binary), timeout);
      }
    } else {
      absl::Duration timeout = named->value_or(options_.default_timeout);
      r = Unary(*t.route, *stub, t.format, request, *std::move(binary), std::min(timeout, options_.max_timeout));
    }
  }
  for (auto& h : cors) r.headers.push_back(std::move(h));
  return r;
}

HttpResponse Gateway::Unary(const Route& route, grpc::GenericStub* stub, const WireFormat& format,
                            HttpRequest& request, std::string binary, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  grpc::ClientContext ctx;
  Forward(request, ctx);
  SetDeadline(ctx, timeout);
  grpc::ByteBuffer in = ToBuffer(binary), out;
  grpc::Status status;
  absl::Notification done;
  stub->UnaryCall(&ctx, route.path, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  while (!done.WaitForNotificationWithTimeout(absl::Seconds(1))) {
    if (aborting_.load()) ctx.TryCancel();
  }
  Metrics::Global().Observe("wuye_gateway_request_seconds", "method", route.path, absl::Now() - start);
  auto trailers = Copy(ctx.GetServerTrailingMetadata());
  HttpResponse r;
  absl::StatusOr<std::string> encoded = status.ok() ? EncodeResponse(route, format.codec, ToText(out))
                                                    : absl::StatusOr<std::string>(absl::UnknownError(""));
  if (status.ok() && !encoded.ok()) status = GrpcOf(encoded.status());
  Count(route.path, format.protocol, status.error_code());
  if (!status.ok()) return ErrorIn(format, status, trailers);
  r.headers.emplace_back("Content-Type", ContentTypeOf(format));
  for (const auto& [k, v] : Copy(ctx.GetServerInitialMetadata())) {
    if (IsForwardedMetadata(k, v)) r.headers.emplace_back(k, v);
  }
  if (format.protocol == Protocol::kConnect) {
    r.body = *std::move(encoded);
    for (const auto& [k, v] : trailers) {
      if (IsForwardedMetadata(k, v)) r.headers.emplace_back(absl::StrCat("trailer-", k), v);
    }
    return r;
  }
  r.body = Envelope(0, *encoded);
  r.body += Envelope(kFlagGrpcWebTrailer, GrpcWebTrailers(grpc::StatusCode::OK, "", "", trailers));
  if (format.protocol == Protocol::kGrpcWebText) r.body = absl::Base64Escape(r.body);
  return r;
}

HttpResponse Gateway::Stream(const Route& route, grpc::GenericStub* stub, const WireFormat& format,
                             HttpRequest& request, std::string binary,
                             std::optional<absl::Duration> timeout) {
  HttpResponse r;
  r.headers.emplace_back("Content-Type", ContentTypeOf(format));
  r.stream = std::make_unique<UpstreamStream>(route, stub, format, request, std::move(binary), timeout, draining_);
  return r;
}

}  // namespace wuye::gateway
