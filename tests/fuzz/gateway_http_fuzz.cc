// The gateway's HTTP edge (issue 23): any request an HTTP parser could hand over — method,
// path (often a real route's, from the compiled-in descriptors), headers (content-type,
// timeouts, origin, encodings, …), GET query, body (raw, enveloped, base64) — goes through
// Gateway::OnHead and, when that does not refuse it, Gateway::OnRequest, exactly as
// http_server.cc drives them. Every service's address is a closed port (127.0.0.1:1), so
// a call that gets that far fails fast with UNAVAILABLE and nothing is ever changed.
// Some inputs instead go straight to the pure pieces with arbitrary bytes: the Connect
// error JSON of any google.rpc.Status details, the streaming end, gRPC-Web trailers, a
// service's answer in the client's codec.
//
// Never: a crash, a hang (a stream that does not end), an answer that is not HTTP
// (status outside 100..599, a header with CR, LF or NUL in it), a Connect error that is
// not a JSON object with a "code", an answer that says the call succeeded (no service is
// reachable: Connect unary must be a 4xx/5xx JSON error, Connect streaming an end-stream
// envelope with "error", gRPC-Web a trailer frame with a grpc-status other than 0), or a
// body read beyond the limit OnHead named.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/gateway/connect.h"
#include "services/gateway/gateway.h"
#include "services/gateway/http.h"
#include "tests/fuzz/fuzz.h"
#include "wuye/service_list.h"

namespace {

namespace gw = wuye::gateway;
namespace pb = google::protobuf;

// Reads the fuzzer's bytes front to back; past the end every read is zero or empty.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t Short() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  // Up to `max` bytes, the length from one byte.
  std::string Text(size_t max) {
    size_t n = std::min<size_t>(Byte(), max);
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string Rest() {
    std::string out(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// What an HTTP parser may hand over: no NUL anywhere, and no CR or LF in a header value.
std::string Clean(std::string s, bool header) {
  s.erase(std::remove_if(s.begin(), s.end(),
                         [header](char c) { return c == '\0' || (header && (c == '\r' || c == '\n')); }),
          s.end());
  return s;
}

const std::vector<std::string>& RoutePaths() {
  static const auto* paths = [] {
    auto* out = new std::vector<std::string>;
    for (const auto& listed : wuye::kListedServices) {
      for (absl::string_view name : absl::StrSplit(listed.grpc_services, ',', absl::SkipEmpty())) {
        const pb::ServiceDescriptor* s = pb::DescriptorPool::generated_pool()->FindServiceByName(std::string(name));
        if (s == nullptr) continue;
        for (int i = 0; i < s->method_count(); ++i) out->push_back(absl::StrCat("/", s->full_name(), "/", s->method(i)->name()));
      }
    }
    std::sort(out->begin(), out->end());
    return out;
  }();
  return *paths;
}

gw::Gateway& TheGateway() {
  static gw::Gateway* gateway = [] {
    gw::GatewayOptions o;
    o.upstream = "127.0.0.1:1";  // nothing listens: every call fails fast, UNAVAILABLE
    o.cors_origins = {"https://desk.example.com"};
    o.max_body_bytes = 64 << 10;
    o.max_bulk_body_bytes = 256 << 10;
    o.default_timeout = absl::Seconds(2);
    o.max_timeout = absl::Seconds(2);
    auto created = gw::Gateway::Create(o);
    if (!created.ok()) std::abort();
    return created->release();
  }();
  return *gateway;
}

constexpr const char* kMethods[] = {"POST", "GET", "OPTIONS", "PUT", "HEAD", "post"};
constexpr const char* kContentTypes[] = {
    "application/json", "application/proto", "application/connect+json", "application/connect+proto",
    "application/grpc-web", "application/grpc-web+proto", "application/grpc-web+json",
    "application/grpc-web-text", "application/grpc-web-text+proto", "Application/JSON; charset=utf-8",
    "application/json;", " application/proto ", "text/plain", ""};
constexpr const char* kHeaderNames[] = {
    "content-type", "connect-timeout-ms", "grpc-timeout", "origin", "content-encoding",
    "connect-content-encoding", "grpc-encoding", "authorization", "x-trace-id", "traceparent",
    "access-control-request-method", "connect-protocol-version", "content-length", "x-grpc-web"};
constexpr const char* kHeaderValues[] = {
    "https://desk.example.com", "https://evil.example.com", "0", "1", "9999999999", "99999999999", "-1",
    "1S", "99999999H", "5m", "100n", "1x", "H", "identity", "gzip", "POST", "GET", "Bearer x", ""};
constexpr const char* kQueryKeys[] = {"encoding", "message", "base64", "compression", "connect", "x"};
constexpr const char* kQueryValues[] = {"json", "proto", "1", "0", "identity", "gzip", "v1", "v2", "{}", ""};

void Trap() { __builtin_trap(); }

void CheckConnectErrorBody(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("code") || !j["code"].is_string()) Trap();
}

// An answer the HTTP server could send, and that says the call failed.
void CheckResponse(gw::HttpResponse& r, bool refused_at_head) {
  if (r.status < 100 || r.status > 599) Trap();
  std::string content_type;
  for (const auto& [name, value] : r.headers) {
    if (name.empty()) Trap();
    for (char c : name + value) {
      if (c == '\r' || c == '\n' || c == '\0') Trap();
    }
    if (name == "Content-Type") content_type = value;
  }
  if (r.status == 204) return;  // a CORS preflight
  // Connect unary (and every refusal at the head): the JSON error with a 4xx/5xx status.
  if (content_type == "application/json" || (refused_at_head && r.status != 200)) {
    if (r.status < 400) Trap();
    CheckConnectErrorBody(r.body);
    return;
  }
  std::string body = std::move(r.body);
  if (r.stream) {
    // The stream of a failed call: a few chunks at most, then the end.
    std::string chunk;
    int chunks = 0;
    while (r.stream->Next(&chunk)) {
      if (++chunks > 4) Trap();
      body += chunk;
      chunk.clear();
    }
    r.stream.reset();
  }
  // Enveloped: HTTP 200, and the last envelope says the call failed.
  if (r.status != 200) Trap();
  if (content_type == "application/grpc-web-text+proto") {
    std::string decoded;  // never in place: absl's unescape writes its output over its input
    if (!absl::Base64Unescape(body, &decoded)) Trap();
    body = std::move(decoded);
  }
  auto frames = gw::SplitEnvelopes(body, body.size());
  if (!frames.ok() || frames->empty()) Trap();
  const gw::Frame& last = frames->back();
  if (absl::StartsWith(content_type, "application/grpc-web")) {
    if (last.flags != gw::kFlagGrpcWebTrailer || !absl::StartsWith(last.payload, "grpc-status: ") ||
        absl::StartsWith(last.payload, "grpc-status: 0\r\n")) {
      Trap();
    }
  } else if (absl::StartsWith(content_type, "application/connect+")) {
    auto end = nlohmann::json::parse(last.payload, nullptr, false);
    if (last.flags != gw::kFlagEndStream || end.is_discarded() || !end.contains("error")) Trap();
  } else {
    Trap();  // application/proto, or no content-type: a unary success
  }
}

void FuzzPieces(Bytes& in) {
  const auto code = static_cast<grpc::StatusCode>(in.Byte() % 20);
  std::string message = in.Text(64);
  std::string details = in.Rest();
  CheckConnectErrorBody(gw::ConnectErrorJson(code, message, details));
  std::multimap<std::string, std::string> trailers = {{"x-trace-id", message}, {"grpc-status", "3"}};
  auto end = nlohmann::json::parse(gw::ConnectEndStreamJson(code, message, details, trailers), nullptr, false);
  if (end.is_discarded() || !end.is_object()) Trap();
  for (absl::string_view line : absl::StrSplit(gw::GrpcWebTrailers(code, message, details, trailers), "\r\n")) {
    for (char c : line) {
      if (c == '\r' || c == '\n' || c == '\0') Trap();
    }
  }
  // A service's answer in either codec, for a route picked by the message's length.
  const auto& paths = RoutePaths();
  const gw::Route* route = TheGateway().Find(paths[message.size() % paths.size()]);
  if (route == nullptr) Trap();
  (void)gw::EncodeResponse(*route, gw::Codec::kJson, details);
  auto decoded = gw::DecodeRequest(*route, gw::Codec::kJson, details);
  if (decoded.ok()) {
    std::unique_ptr<pb::Message> m(route->request->New());
    if (!m->ParseFromString(*decoded)) Trap();  // what the gateway sends parses
  }
  (void)gw::SplitEnvelopes(details, 1 << 10);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t mode = in.Byte();
  if (mode % 8 == 7) {
    FuzzPieces(in);
    return 0;
  }
  gw::Gateway& gateway = TheGateway();
  const auto& paths = RoutePaths();
  gw::HttpRequest req;

  const uint8_t m = in.Byte();
  req.method = m < 160 ? "POST" : m < 220 ? "GET" : m < 240 ? kMethods[m % std::size(kMethods)] : Clean(in.Text(8), true);

  const uint8_t p = in.Byte();
  const std::string& route_path = paths[in.Short() % paths.size()];
  if (p < 180) {
    req.path = route_path;
  } else if (p < 220) {
    req.path = Clean(route_path + in.Text(16), false);
  } else if (p < 240) {
    req.path = Clean(route_path.substr(0, in.Byte() % (route_path.size() + 1)), false);
  } else {
    req.path = Clean(in.Text(255), false);
  }

  const uint8_t ct = in.Byte();
  if (ct < 230) {
    req.headers["content-type"] = kContentTypes[ct % std::size(kContentTypes)];
  } else if (ct < 250) {
    req.headers["content-type"] = Clean(in.Text(40), true);
  }
  for (int n = in.Byte() % 6; n > 0; --n) {
    const uint8_t h = in.Byte();
    const std::string name = kHeaderNames[h % std::size(kHeaderNames)];
    const uint8_t v = in.Byte();
    req.headers[name] = v < 128 ? kHeaderValues[v % std::size(kHeaderValues)] : Clean(in.Text(40), true);
  }
  if (req.method == "GET") {
    for (int n = in.Byte() % 6; n > 0; --n) {
      const std::string key = kQueryKeys[in.Byte() % std::size(kQueryKeys)];
      const uint8_t v = in.Byte();
      req.query[key] = v < 100 ? kQueryValues[v % std::size(kQueryValues)] : Clean(in.Text(255), false);
    }
  }

  // The body: as it comes, in one envelope (flag byte from the input), or base64 of that.
  const uint8_t b = in.Byte();
  std::string body = in.Rest();
  if (b % 4 == 1) {
    body = gw::Envelope(b >> 4, body);
  } else if (b % 4 == 2) {
    body = absl::Base64Escape(gw::Envelope(b >> 4, body));
  } else if (b % 4 == 3 && req.method == "GET") {
    req.query["message"] = Clean(body, false);
    body.clear();
  }

  gw::HeadVerdict verdict = gateway.OnHead(req);
  if (verdict.refuse) {
    CheckResponse(*verdict.refuse, /*refused_at_head=*/true);
    return 0;
  }
  // http_server.cc answers 413 and never hands over a body over the limit.
  if (body.size() > verdict.max_body) return 0;
  req.body = std::move(body);
  gw::HttpResponse r = gateway.OnRequest(std::move(req));
  CheckResponse(r, /*refused_at_head=*/false);
  return 0;
}
