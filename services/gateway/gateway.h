// The gateway's core: Connect and gRPC-Web requests in, the services' gRPC out. It learns
// every method from the compiled-in descriptors of the services of services.txt, so a new
// RPC needs no change here. It authenticates nobody and adds nothing: the caller's bearer
// token and trace headers travel to the service unchanged, and the service's answer —
// refusals included — comes back in the caller's protocol.
//
// HTTP-agnostic: http_server.h feeds it requests and sends what it answers.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/cells.h"
#include "services/gateway/connect.h"
#include "services/gateway/console_config.h"
#include "services/gateway/console_files.h"
#include "services/gateway/http.h"
#include "services/gateway/local_sign_in.h"

namespace wuye::gateway {

struct GatewayOptions {
  // Address of a service: "{name}" and "{port}" are replaced from services.txt.
  std::string upstream = "127.0.0.1:{port}";
  // Addresses of single services, over the template: name → host:port.
  std::map<std::string, std::string> upstreams;
  // CA bundle that the services' TLS certificates chain to; empty: plaintext to them.
  std::string upstream_ca_file;
  // The gateway's client certificate and key for services that require one (mutual TLS).
  std::string upstream_cert_file;
  std::string upstream_key_file;
  // Browser origins allowed by CORS ("https://desk.example.com"); empty: none.
  std::vector<std::string> cors_origins;
  // Largest request body of an ordinary method, and of a bulk one (shared/server.h
  // kBulkMethods); a larger one is refused before it is read (HTTP 413).
  size_t max_body_bytes = 1 << 20;
  size_t max_bulk_body_bytes = 16 << 20;
  // Deadline of a unary call whose client names none, and the cap of any named deadline.
  // A stream without a named deadline lasts until the client leaves.
  absl::Duration default_timeout = absl::Seconds(30);
  absl::Duration max_timeout = absl::Minutes(5);
  // The web console's built files, served at "/" (console_files.h); empty: none.
  std::string console_dir;
  // Where groups live when this gateway fronts several cells (cells.h); empty: one cell.
  std::string cells_file;
  // The console's local sign-in (local_sign_in.h); groups_file empty: none.
  LocalSignInOptions local_sign_in;
  // The group's OpenID Connect provider, told to the console at GET /console/config
  // (console_config.h); issuer empty: none.
  ConsoleOidc oidc;
};

// Whether `path` has the shape of a method's, "/<package>.<Service>/<Method>": such a path
// is never one of the console's.
bool IsRpcPath(absl::string_view path);

// One method of one service, as the gateway serves it.
struct Route {
  std::string path;     // "/wuye.duty.v1.DutyService/WatchTasks"
  std::string service;  // "duty", the services.txt name (metrics label)
  const google::protobuf::MethodDescriptor* method = nullptr;
  const google::protobuf::Message* request = nullptr;  // prototypes
  const google::protobuf::Message* response = nullptr;
  grpc::GenericStub* stub = nullptr;
  size_t max_body = 0;
  bool server_streaming = false;
  bool no_side_effects = false;  // idempotency_level NO_SIDE_EFFECTS: GET allowed
};

// The request in protobuf binary, from the client's codec: JSON is parsed by the canonical
// mapping (an unknown field is refused, naming it); binary passes unparsed — the service
// measures and parses it.
absl::StatusOr<std::string> DecodeRequest(const Route& route, Codec codec, std::string body);
// The response in the client's codec, from protobuf binary.
absl::StatusOr<std::string> EncodeResponse(const Route& route, Codec codec, std::string binary);

class Gateway : public HttpHandler {
 public:
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(GatewayOptions options);
  ~Gateway() override;

  const Route* Find(absl::string_view path) const;
  size_t route_count() const { return routes_.size(); }

  HeadVerdict OnHead(const HttpRequest& head) override;
  HttpResponse OnRequest(HttpRequest request) override;
  // Streams still open end with UNAVAILABLE ("the gateway is shutting down"), so that
  // clients reconnect to another replica; new streams are refused the same way.
  void Drain() override;
  // Unary calls still running are cancelled.
  void Abort() override;

 private:
  explicit Gateway(GatewayOptions options) : options_(std::move(options)) {}
  absl::Status Bind();
  std::vector<std::pair<std::string, std::string>> CorsHeaders(const HttpRequest& request) const;
  HttpResponse Preflight(const HttpRequest& request) const;
  HttpResponse Unary(const Route& route, grpc::GenericStub* stub, const WireFormat& format,
                     HttpRequest& request, std::string binary, absl::Duration timeout);
  HttpResponse Stream(const Route& route, grpc::GenericStub* stub, const WireFormat& format,
                      HttpRequest& request, std::string binary,
                      std::optional<absl::Duration> timeout);

  GatewayOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  absl::flat_hash_map<std::string, Route> routes_;
  std::shared_ptr<std::atomic<bool>> draining_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> aborting_{false};
  std::unique_ptr<ConsoleFiles> console_;
  std::unique_ptr<LocalSignIn> local_;
  std::unique_ptr<ConsoleConfig> console_config_;
  std::unique_ptr<CellRouter> cells_;
};

}  // namespace wuye::gateway
