#include "services/duty/gateway_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace wuye::duty {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Slist = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

std::string Reason(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "host not found";
    case CURLE_COULDNT_CONNECT:
      return "connect failed";
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "scheme not allowed";
    case CURLE_PEER_FAILED_VERIFICATION:
      return "TLS: the gateway's certificate did not verify";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS: handshake failed";
    default:
      // curl's own words for the code: generic, never the URL or the data.
      return absl::StrCat("curl: ", curl_easy_strerror(code));
  }
}

}  // namespace

GatewayClient::GatewayClient(GatewayClientOptions options) : options_(std::move(options)) {
  GlobalInit();
}

GatewayAnswer GatewayClient::Post(const std::string& url,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& body) const {
  GatewayAnswer answer;
  Easy easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) {
    answer.error = "curl: cannot start";
    return answer;
  }
  CURL* c = easy.get();
  Slist list(nullptr, &curl_slist_free_all);
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next != nullptr) {
      (void)list.release();
      list.reset(next);
    }
  };
  add("Content-Type: application/json");
  add("Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : headers) add(absl::StrCat(name, ": ", value));

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, options_.allow_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "wuye-duty/1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(1 << 20));

  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    answer.error = Reason(code);
    return answer;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  answer.http_status = static_cast<int>(status);
  return answer;
}

}  // namespace wuye::duty
