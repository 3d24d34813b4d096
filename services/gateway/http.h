// What passes between the HTTP server (http_server.h) and what answers its requests
// (gateway.h): plain values, so that the gateway is tested and fuzzed without sockets.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace wuye::gateway {

struct HttpRequest {
  std::string method;                          // "POST"
  std::string path;                            // "/wuye.duty.v1.DutyService/WatchTasks"
  std::map<std::string, std::string> headers;  // names in lower case
  std::map<std::string, std::string> query;    // unescaped
  std::string body;
  // True once the client has closed its end of the connection; always false when unset.
  std::function<bool()> client_gone;

  std::string Header(absl::string_view name) const {
    auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string() : it->second;
  }
};

// A body produced as it goes (a server stream): Next blocks until the next piece is ready
// and returns false after the last one. Destroyed on the connection's thread when the
// response ends or the client goes.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual bool Next(std::string* chunk) = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<BodyStream> stream;  // set: the body is this, sent chunked
};

// The answer to a request's head, before its body is read: either refuse it now (the body
// is never read), or read a body of at most max_body bytes.
struct HeadVerdict {
  std::optional<HttpResponse> refuse;
  size_t max_body = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HeadVerdict OnHead(const HttpRequest& head) = 0;
  virtual HttpResponse OnRequest(HttpRequest request) = 0;
  // The server has stopped taking connections and is letting requests finish.
  virtual void Drain() {}
  // The drain's grace is over: cancel what still runs.
  virtual void Abort() {}
};

}  // namespace wuye::gateway
