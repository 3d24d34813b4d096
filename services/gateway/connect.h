// The wire protocols the gateway speaks to HTTP clients, as pure functions: no sockets, no
// gRPC calls. Two protocols, each with a JSON and a binary codec:
//
//   Connect (connectrpc.com/docs/protocol)
//     unary      POST, Content-Type application/json | application/proto, the bare message;
//                or GET ?encoding=json|proto&message=…[&base64=1] for a method whose
//                idempotency_level is NO_SIDE_EFFECTS. An error is a JSON body
//                {"code","message","details"} with the HTTP status of its code.
//     streaming  POST, Content-Type application/connect+json | application/connect+proto,
//                enveloped messages (1 flag byte, 4 length bytes big-endian, the message);
//                the last envelope (flag 0x02) is {"error"?,"metadata"} in JSON.
//   gRPC-Web     POST, Content-Type application/grpc-web[+proto|+json] (or -text, base64),
//                enveloped messages, then a trailer frame (flag 0x80) of "key: value\r\n"
//                lines with grpc-status, grpc-message and grpc-status-details-bin.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye::gateway {

enum class Protocol { kConnect, kConnectStream, kGrpcWeb, kGrpcWebText };
enum class Codec { kProto, kJson };

struct WireFormat {
  Protocol protocol = Protocol::kConnect;
  Codec codec = Codec::kJson;
  bool enveloped() const { return protocol != Protocol::kConnect; }
  bool grpc_web() const {
    return protocol == Protocol::kGrpcWeb || protocol == Protocol::kGrpcWebText;
  }
};

// The format of a POST from its Content-Type (parameters such as "; charset=utf-8" are
// ignored); nullopt for one the gateway does not speak (HTTP 415).
std::optional<WireFormat> FormatOfContentType(absl::string_view content_type);
// The Content-Type of the answer in `format`.
std::string ContentTypeOf(const WireFormat& format);
// Short name of a protocol, for metrics: "connect", "connect_stream", "grpc_web".
absl::string_view ProtocolName(Protocol protocol);

// Connect's name of a code ("invalid_argument") and the HTTP status that carries it in a
// unary answer (400).
absl::string_view ConnectCodeName(grpc::StatusCode code);
int HttpStatusOf(grpc::StatusCode code);

// The JSON error of Connect: {"code":…,"message":…,"details":[{"type","value","debug"}]}.
// `details` is the serialized google.rpc.Status the service sent (grpc-status-details-bin),
// or empty; each of its details becomes one entry (value: base64 without padding; debug:
// the detail in JSON when its type is known).
std::string ConnectErrorJson(grpc::StatusCode code, absl::string_view message,
                             absl::string_view details);

// The Connect streaming end: {"error":…?, "metadata":{key:[values]}}.
std::string ConnectEndStreamJson(grpc::StatusCode code, absl::string_view message,
                                 absl::string_view details,
                                 const std::multimap<std::string, std::string>& trailers);

// gRPC-Web's trailer block: "grpc-status: 3\r\ngrpc-message: …\r\n…" (the message
// percent-encoded, details base64).
std::string GrpcWebTrailers(grpc::StatusCode code, absl::string_view message,
                            absl::string_view details,
                            const std::multimap<std::string, std::string>& trailers);

inline constexpr uint8_t kFlagCompressed = 0x01;
inline constexpr uint8_t kFlagEndStream = 0x02;      // Connect
inline constexpr uint8_t kFlagGrpcWebTrailer = 0x80;  // gRPC-Web

// One envelope: flags, 4-byte big-endian length, payload.
std::string Envelope(uint8_t flags, absl::string_view payload);

struct Frame {
  uint8_t flags = 0;
  std::string payload;
};
// The envelopes of a whole request body, each at most `max_message` bytes. INVALID_ARGUMENT
// for a body that is not a whole number of envelopes, RESOURCE_EXHAUSTED for a message over
// the limit.
absl::StatusOr<std::vector<Frame>> SplitEnvelopes(absl::string_view body, size_t max_message);

// Connect-Timeout-Ms: up to 10 digits of milliseconds. nullopt when absent.
absl::StatusOr<std::optional<absl::Duration>> ParseConnectTimeout(absl::string_view value);
// grpc-timeout: up to 8 digits and a unit of H M S m u n. nullopt when absent.
absl::StatusOr<std::optional<absl::Duration>> ParseGrpcTimeout(absl::string_view value);

// The query of Connect's GET form, already split and unescaped by the HTTP layer.
struct GetQuery {
  Codec codec = Codec::kJson;
  std::string message;  // the request, decoded from base64 when base64=1
};
absl::StatusOr<GetQuery> ParseGetQuery(const std::map<std::string, std::string>& args);

// Whether an HTTP header value may travel as gRPC metadata (printable ASCII).
bool IsMetadataValue(absl::string_view value);

}  // namespace wuye::gateway
