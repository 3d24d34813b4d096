#include "services/duty/gateway_client.h"

#include "absl/strings/str_cat.h"
#include "shared/http_client.h"

namespace wuye::duty {

GatewayClient::GatewayClient(GatewayClientOptions options) : options_(std::move(options)) {}

GatewayAnswer GatewayClient::Post(const std::string& url,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& body) const {
  HttpRequest request;
  request.url = url;
  request.allow_http = options_.allow_http;
  request.post_body = &body;
  request.headers = {"Content-Type: application/json", "Expect:"};  // no 100-continue
  for (const auto& [name, value] : headers)
    request.headers.push_back(absl::StrCat(name, ": ", value));
  request.user_agent = "wuye-duty/1";
  request.connect_timeout = options_.connect_timeout;
  request.total_timeout = options_.total_timeout;
  request.ca_file = options_.ca_file;
  request.max_body = 1 << 20;  // read and dropped
  request.peer_words = "the gateway's";
  HttpAnswer got = HttpPerform(request);
  GatewayAnswer answer;
  answer.http_status = got.http_status;
  answer.error = std::move(got.error);
  return answer;
}

}  // namespace wuye::duty
