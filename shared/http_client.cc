#include "shared/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wuye {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Slist = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

struct Sink {
  const HttpRequest* request = nullptr;
  std::string body;
  std::string header_value;
  bool too_long = false;
};

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

size_t Keep(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->request->max_body > 0 && sink->body.size() + len > sink->request->max_body) {
    sink->too_long = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, len);
  return len;
}

size_t Header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  absl::string_view line(data, size * n);
  const std::string& name = sink->request->header_to_keep;
  if (line.size() > name.size() + 1 && absl::StartsWithIgnoreCase(line, name) &&
      line[name.size()] == ':') {
    sink->header_value = std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    if (sink->header_value.size() > 500) sink->header_value.clear();
  }
  return size * n;
}

std::string Reason(CURLcode code, const std::string& peer_words) {
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
      return absl::StrCat("TLS: ", peer_words, " certificate did not verify");
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS: handshake failed";
    default:
      // curl's own generic words for the code, never the URL or the data.
      return absl::StrCat("curl: ", curl_easy_strerror(code));
  }
}

}  // namespace

HttpAnswer HttpPerform(const HttpRequest& request) {
  GlobalInit();
  HttpAnswer answer;
  Easy easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) {
    answer.error = "curl: cannot start";
    return answer;
  }
  CURL* c = easy.get();
  Slist list(nullptr, &curl_slist_free_all);
  for (const std::string& line : request.headers) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next != nullptr) {
      (void)list.release();
      list.reset(next);
    }
  }
  Sink sink;
  sink.request = &request;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, request.allow_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.total_timeout)));
  if (request.post_body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.post_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.post_body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (!request.user_agent.empty()) {
    curl_easy_setopt(c, CURLOPT_USERAGENT, request.user_agent.c_str());
  }
  if (request.keep_body) {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  } else {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
    if (request.max_body > 0) {
      curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body));
    }
  }
  if (!request.header_to_keep.empty()) {
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  }
  CURLcode code = curl_easy_perform(c);
  if (sink.too_long) {
    answer.error = "body too long";
    return answer;
  }
  if (code != CURLE_OK) {
    answer.error = Reason(code, request.peer_words);
    return answer;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  answer.http_status = static_cast<int>(status);
  answer.body = std::move(sink.body);
  answer.header_value = std::move(sink.header_value);
  return answer;
}

std::string UrlEscape(absl::string_view text) {
  GlobalInit();
  char* escaped = curl_escape(text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return "";
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

}  // namespace wuye
