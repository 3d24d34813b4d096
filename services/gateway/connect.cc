#include "services/gateway/connect.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <memory>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/rpc/status.pb.h"
#include "shared/text.h"

namespace wuye::gateway {
namespace {

namespace pb = google::protobuf;

struct CodeRow {
  grpc::StatusCode code;
  absl::string_view name;
  int http;
};

// connectrpc.com/docs/protocol#error-codes (after RFC 003: canceled 499, deadline 504,
// failed_precondition 400, unimplemented 501).
constexpr CodeRow kCodes[] = {
    {grpc::StatusCode::CANCELLED, "canceled", 499},
    {grpc::StatusCode::UNKNOWN, "unknown", 500},
    {grpc::StatusCode::INVALID_ARGUMENT, "invalid_argument", 400},
    {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline_exceeded", 504},
    {grpc::StatusCode::NOT_FOUND, "not_found", 404},
    {grpc::StatusCode::ALREADY_EXISTS, "already_exists", 409},
    {grpc::StatusCode::PERMISSION_DENIED, "permission_denied", 403},
    {grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted", 429},
    {grpc::StatusCode::FAILED_PRECONDITION, "failed_precondition", 400},
    {grpc::StatusCode::ABORTED, "aborted", 409},
    {grpc::StatusCode::OUT_OF_RANGE, "out_of_range", 400},
    {grpc::StatusCode::UNIMPLEMENTED, "unimplemented", 501},
    {grpc::StatusCode::INTERNAL, "internal", 500},
    {grpc::StatusCode::UNAVAILABLE, "unavailable", 503},
    {grpc::StatusCode::DATA_LOSS, "data_loss", 500},
    {grpc::StatusCode::UNAUTHENTICATED, "unauthenticated", 401},
};

const CodeRow* RowOf(grpc::StatusCode code) {
  for (const auto& row : kCodes) {
    if (row.code == code) return &row;
  }
  return nullptr;
}

std::string Unpadded(std::string base64) {
  while (!base64.empty() && base64.back() == '=') base64.pop_back();
  return base64;
}

// `text` as valid UTF-8: a byte that starts no valid sequence becomes U+FFFD. protobuf's
// JSON writer passes some invalid sequences through (overlong forms such as E0 97 9A),
// and a message may quote what a client sent (the path of "no method …").
std::string ValidUtf8(absl::string_view text) {
  if (Utf8Chars(text) >= 0) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    for (size_t k = 1; k <= 4 && i + k <= text.size() && len == 0; ++k) {
      if (Utf8Chars(text.substr(i, k)) == 1) len = k;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

// `text` as a JSON string, quoted and escaped.
std::string Quoted(absl::string_view text) {
  pb::Value v;
  v.set_string_value(ValidUtf8(text));
  std::string json;
  (void)pb::util::MessageToJsonString(v, &json);
  return json;
}

// A detail in JSON, when its type is in the compiled-in descriptors; else "".
std::string DebugOf(absl::string_view type, const pb::Any& any) {
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(type));
  if (d == nullptr) return "";
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(d);
  if (prototype == nullptr) return "";
  std::unique_ptr<pb::Message> detail(prototype->New());
  std::string json;
  if (!detail->ParseFromString(any.value()) || !pb::util::MessageToJsonString(*detail, &json).ok()) return "";
  return json;
}

// {"code":…,"message":…,"details":[…]}, in that order (people read it with curl).
std::string ErrorObject(grpc::StatusCode code, absl::string_view message, absl::string_view details) {
  std::string out = absl::StrCat("{\"code\":", Quoted(ConnectCodeName(code)));
  if (!message.empty()) absl::StrAppend(&out, ",\"message\":", Quoted(message));
  google::rpc::Status rich;
  if (!details.empty() && rich.ParseFromArray(details.data(), static_cast<int>(details.size())) &&
      !rich.details().empty()) {
    absl::StrAppend(&out, ",\"details\":[");
    for (int i = 0; i < rich.details_size(); ++i) {
      const pb::Any& any = rich.details(i);
      absl::string_view type = any.type_url();
      if (size_t slash = type.rfind('/'); slash != absl::string_view::npos) type.remove_prefix(slash + 1);
      absl::StrAppend(&out, i > 0 ? "," : "", "{\"type\":", Quoted(type), ",\"value\":\"",
                      Unpadded(absl::Base64Escape(any.value())), "\"");
      if (std::string debug = DebugOf(type, any); !debug.empty()) absl::StrAppend(&out, ",\"debug\":", debug);
      absl::StrAppend(&out, "}");
    }
    absl::StrAppend(&out, "]");
  }
  absl::StrAppend(&out, "}");
  return out;
}

// gRPC's percent-encoding of grpc-message: everything outside 0x20..0x7E, and '%'.
std::string PercentEncoded(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::AsciiStrToUpper(absl::StrCat(absl::Hex(c, absl::kZeroPad2))));
    }
  }
  return out;
}

bool IsForwardedTrailer(absl::string_view key) {
  return !absl::StartsWith(key, "grpc-") && !absl::EndsWith(key, "-bin");
}

}  // namespace

std::optional<WireFormat> FormatOfContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  std::string lower = absl::AsciiStrToLower(type);
  struct Row {
    absl::string_view type;
    WireFormat format;
  };
  static constexpr Row kTypes[] = {
      {"application/json", {Protocol::kConnect, Codec::kJson}},
      {"application/proto", {Protocol::kConnect, Codec::kProto}},
      {"application/connect+json", {Protocol::kConnectStream, Codec::kJson}},
      {"application/connect+proto", {Protocol::kConnectStream, Codec::kProto}},
      {"application/grpc-web", {Protocol::kGrpcWeb, Codec::kProto}},
      {"application/grpc-web+proto", {Protocol::kGrpcWeb, Codec::kProto}},
      {"application/grpc-web+json", {Protocol::kGrpcWeb, Codec::kJson}},
      {"application/grpc-web-text", {Protocol::kGrpcWebText, Codec::kProto}},
      {"application/grpc-web-text+proto", {Protocol::kGrpcWebText, Codec::kProto}},
  };
  for (const auto& row : kTypes) {
    if (lower == row.type) return row.format;
  }
  return std::nullopt;
}

std::string ContentTypeOf(const WireFormat& format) {
  const bool json = format.codec == Codec::kJson;
  switch (format.protocol) {
    case Protocol::kConnect:
      return json ? "application/json" : "application/proto";
    case Protocol::kConnectStream:
      return json ? "application/connect+json" : "application/connect+proto";
    case Protocol::kGrpcWeb:
      return json ? "application/grpc-web+json" : "application/grpc-web+proto";
    case Protocol::kGrpcWebText:
      return "application/grpc-web-text+proto";
  }
  return "application/json";
}

absl::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kConnect:
      return "connect";
    case Protocol::kConnectStream:
      return "connect_stream";
    case Protocol::kGrpcWeb:
      return "grpc_web";
    case Protocol::kGrpcWebText:
      return "grpc_web_text";
  }
  return "connect";
}

absl::string_view ConnectCodeName(grpc::StatusCode code) {
  const CodeRow* row = RowOf(code);
  return row != nullptr ? row->name : "unknown";
}

int HttpStatusOf(grpc::StatusCode code) {
  const CodeRow* row = RowOf(code);
  return row != nullptr ? row->http : 500;
}

std::string ConnectErrorJson(grpc::StatusCode code, absl::string_view message,
                             absl::string_view details) {
  return ErrorObject(code, message, details);
}

std::string ConnectEndStreamJson(grpc::StatusCode code, absl::string_view message,
                                 absl::string_view details,
                                 const std::multimap<std::string, std::string>& trailers) {
  std::string out = "{";
  if (code != grpc::StatusCode::OK) absl::StrAppend(&out, "\"error\":", ErrorObject(code, message, details), ",");
  absl::StrAppend(&out, "\"metadata\":{");
  bool first = true;
  for (auto it = trailers.begin(); it != trailers.end();) {
    const std::string& key = it->first;
    auto range = trailers.equal_range(key);
    if (IsForwardedTrailer(key)) {  // text only, as GrpcWebTrailers
      std::vector<std::string> values;
      for (auto v = range.first; v != range.second; ++v) {
        if (IsMetadataValue(v->second)) values.push_back(Quoted(v->second));
      }
      if (!values.empty()) {
        absl::StrAppend(&out, first ? "" : ",", Quoted(key), ":[", absl::StrJoin(values, ","), "]");
        first = false;
      }
    }
    it = range.second;
  }
  absl::StrAppend(&out, "}}");
  return out;
}

std::string GrpcWebTrailers(grpc::StatusCode code, absl::string_view message,
                            absl::string_view details,
                            const std::multimap<std::string, std::string>& trailers) {
  std::string out = absl::StrCat("grpc-status: ", static_cast<int>(code), "\r\n");
  if (!message.empty()) absl::StrAppend(&out, "grpc-message: ", PercentEncoded(message), "\r\n");
  if (!details.empty()) {
    absl::StrAppend(&out, "grpc-status-details-bin: ", Unpadded(absl::Base64Escape(details)), "\r\n");
  }
  for (const auto& [key, value] : trailers) {
    if (IsForwardedTrailer(key) && IsMetadataValue(value)) absl::StrAppend(&out, key, ": ", value, "\r\n");
  }
  return out;
}

std::string Envelope(uint8_t flags, absl::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  const auto size = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(size >> 24));
  out.push_back(static_cast<char>(size >> 16));
  out.push_back(static_cast<char>(size >> 8));
  out.push_back(static_cast<char>(size));
  out.append(payload.data(), payload.size());
  return out;
}

absl::StatusOr<std::vector<Frame>> SplitEnvelopes(absl::string_view body, size_t max_message) {
  std::vector<Frame> frames;
  while (!body.empty()) {
    if (body.size() < 5) return absl::InvalidArgumentError("body: a truncated envelope");
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    const uint64_t size = (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | p[4];
    if (size > max_message) {
      return absl::ResourceExhaustedError(
          absl::StrCat("body: a message of ", size, " bytes, over the limit of ", max_message));
    }
    if (body.size() - 5 < size) return absl::InvalidArgumentError("body: a truncated envelope");
    frames.push_back({p[0], std::string(body.substr(5, size))});
    body.remove_prefix(5 + size);
  }
  return frames;
}

absl::StatusOr<std::optional<absl::Duration>> ParseConnectTimeout(absl::string_view value) {
  if (value.empty()) return std::nullopt;
  uint64_t ms = 0;
  if (value.size() > 10 || !absl::c_all_of(value, absl::ascii_isdigit) || !absl::SimpleAtoi(value, &ms)) {
    return absl::InvalidArgumentError("connect-timeout-ms: want up to 10 digits of milliseconds");
  }
  return absl::Milliseconds(ms);
}

absl::StatusOr<std::optional<absl::Duration>> ParseGrpcTimeout(absl::string_view value) {
  if (value.empty()) return std::nullopt;
  absl::string_view digits = value.substr(0, value.size() - 1);
  uint64_t n = 0;
  if (digits.empty() || digits.size() > 8 || !absl::c_all_of(digits, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &n)) {
    return absl::InvalidArgumentError("grpc-timeout: want up to 8 digits and a unit (H M S m u n)");
  }
  switch (value.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
    default:
      return absl::InvalidArgumentError("grpc-timeout: want up to 8 digits and a unit (H M S m u n)");
  }
}

absl::StatusOr<GetQuery> ParseGetQuery(const std::map<std::string, std::string>& args) {
  auto arg = [&args](const char* key) -> absl::string_view {
    auto it = args.find(key);
    return it == args.end() ? absl::string_view() : absl::string_view(it->second);
  };
  if (absl::string_view v = arg("connect"); !v.empty() && v != "v1") {
    return absl::InvalidArgumentError("connect: only v1 is spoken");
  }
  GetQuery query;
  absl::string_view encoding = arg("encoding");
  if (encoding == "json") {
    query.codec = Codec::kJson;
  } else if (encoding == "proto") {
    query.codec = Codec::kProto;
  } else {
    return absl::InvalidArgumentError("encoding: want json or proto");
  }
  if (absl::string_view c = arg("compression"); !c.empty() && c != "identity") {
    return absl::UnimplementedError(absl::StrCat("compression: ", c, " is not supported; use identity"));
  }
  absl::string_view message = arg("message");
  if (arg("base64") == "1") {
    // Connect sends URL-safe base64, with or without padding; accept the standard alphabet too.
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(message, &decoded) && !absl::Base64Unescape(message, &decoded)) {
      return absl::InvalidArgumentError("message: not base64");
    }
    query.message = std::move(decoded);
  } else {
    query.message = std::string(message);
  }
  return query;
}

bool IsMetadataValue(absl::string_view value) {
  return absl::c_all_of(value, [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace wuye::gateway
