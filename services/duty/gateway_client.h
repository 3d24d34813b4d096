// The one HTTP client of the duty desk: a POST to a group's notification gateway, through
// shared/http_client.h (libcurl). Timeouts on connecting and on the whole exchange; redirects are
// never followed (a 3xx is an answer, not a 2xx); https peers and host names are verified against
// the system's CA store; only http(s) is spoken (http only when the options allow it). The answer's
// body is read and dropped.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace wuye::duty {

struct GatewayClientOptions {
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration total_timeout = absl::Seconds(10);
  bool allow_http = false;
  // A CA bundle file instead of the system's (tests, private CAs); "" for the system's.
  std::string ca_file;
};

struct GatewayAnswer {
  int http_status = 0;  // 0 when no answer came (connect failed, timeout, TLS)
  // "" on an answer; else a short reason without the URL or anything sent: "timeout",
  // "connect failed", "TLS: ...". Safe for logs and the notification's last_error.
  std::string error;
  bool ok() const { return http_status >= 200 && http_status < 300; }
};

class GatewayClient {
 public:
  explicit GatewayClient(GatewayClientOptions options);

  // POSTs `body` as application/json with `headers` ("Name", "value") to `url`.
  GatewayAnswer Post(const std::string& url,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body) const;

 private:
  GatewayClientOptions options_;
};

}  // namespace wuye::duty
