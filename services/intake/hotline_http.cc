#include "services/intake/hotline_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/intake/hotline_format.h"
#include "shared/status.h"

namespace wuye::intake {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Slist = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

struct Sink {
  std::string body;
  std::string cursor;
  bool too_long = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->body.size() + len > kMaxHotlineFileBytes) {
    sink->too_long = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, len);
  return len;
}

size_t Header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  absl::string_view line(data, size * n);
  constexpr absl::string_view kName = "x-hotline-cursor:";
  if (line.size() > kName.size() && absl::StartsWithIgnoreCase(line, kName)) {
    sink->cursor = std::string(absl::StripAsciiWhitespace(line.substr(kName.size())));
    if (sink->cursor.size() > 500) sink->cursor.clear();
  }
  return size * n;
}

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
      return "TLS: the platform's certificate did not verify";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS: handshake failed";
    default:
      // curl's own generic words for the code, never the URL or the data.
      return absl::StrCat("curl: ", curl_easy_strerror(code));
  }
}

// The host part of an http(s) URL already checked by CheckHotlineBaseUrl.
absl::string_view HostOf(absl::string_view url) {
  size_t start = url.find("://");
  if (start == absl::string_view::npos) return "";
  url.remove_prefix(start + 3);
  size_t end = url.find('/');
  absl::string_view authority = url.substr(0, end);
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    return close == absl::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool IsLoopback(absl::string_view host) {
  return host == "127.0.0.1" || host == "[::1]" || absl::EqualsIgnoreCase(host, "localhost");
}

}  // namespace

absl::Duration HotlineRetryAfter(absl::Duration poll, int failures) {
  absl::Duration wait = absl::Minutes(1);
  for (int i = 1; i < failures && wait < poll; ++i) wait *= 2;
  return std::min(wait, poll);
}

absl::Status CheckHotlineBaseUrl(absl::string_view url, absl::string_view field) {
  if (url.empty()) return FieldError(field, "required");
  if (url.size() > 500) return FieldError(field, "at most 500 characters");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return FieldError(field, "printable ASCII without spaces");
    }
  }
  bool https = absl::StartsWith(url, "https://");
  bool http = absl::StartsWith(url, "http://");
  if (!https && !http) return FieldError(field, "must be an https:// URL");
  if (url.find_first_of("?#") != absl::string_view::npos) {
    return FieldError(field, "no query or fragment");
  }
  absl::string_view rest = url.substr(url.find("://") + 3);
  absl::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != absl::string_view::npos) return FieldError(field, "no user info");
  absl::string_view host = HostOf(url);
  if (host.empty() || host == "[]") return FieldError(field, "no host");
  if (authority.size() > host.size()) {
    absl::string_view port = authority.substr(host.size());
    if (port.size() < 2 || port[0] != ':' || port.size() > 6) {
      return FieldError(field, "port: 1..65535");
    }
    for (char c : port.substr(1)) {
      if (!absl::ascii_isdigit(c)) return FieldError(field, "port: 1..65535");
    }
  }
  if (http && !IsLoopback(host)) {
    return FieldError(field, "must be https:// (http:// only to a loopback address)");
  }
  return absl::OkStatus();
}

absl::Status CheckHotlineToken(absl::string_view token, absl::string_view field) {
  if (token.size() < 16 || token.size() > 4096) {
    return FieldError(field, "16 to 4096 characters");
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return FieldError(field, "printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

std::string HotlineHttpAnswer::Reason() const {
  if (!error.empty()) return error;
  if (http_status < 200 || http_status >= 300) return absl::StrCat("HTTP ", http_status);
  return "";
}

HotlineHttp::HotlineHttp(HotlineHttpOptions options) : options_(std::move(options)) {
  GlobalInit();
}

HotlineHttpAnswer HotlineHttp::Get(const std::string& url, const std::string& token,
                                   const std::string& cursor) const {
  std::string full = url;
  if (!cursor.empty()) {
    char* escaped = curl_escape(cursor.c_str(), static_cast<int>(cursor.size()));
    if (escaped != nullptr) {
      absl::StrAppend(&full, "?cursor=", escaped);
      curl_free(escaped);
    }
  }
  return Perform(full, token, nullptr, "");
}

HotlineHttpAnswer HotlineHttp::Post(const std::string& url, const std::string& token,
                                    const std::string& idempotency_key,
                                    const std::string& body) const {
  return Perform(url, token, &body, idempotency_key);
}

HotlineHttpAnswer HotlineHttp::Perform(const std::string& url, const std::string& token,
                                       const std::string* post_body, const std::string& key) const {
  HotlineHttpAnswer answer;
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
  add(absl::StrCat("Authorization: Bearer ", token));
  add("Accept: text/csv");
  add("Expect:");
  if (post_body != nullptr) {
    add("Content-Type: text/csv; charset=utf-8");
    if (!key.empty()) add(absl::StrCat("Idempotency-Key: ", key));
  }
  Sink sink;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  // http only where the endpoint's check let it through: a loopback host.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, IsLoopback(HostOf(url)) ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
  if (post_body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "wuye-intake/1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  CURLcode code = curl_easy_perform(c);
  if (sink.too_long) {
    answer.error = "body too long";
    return answer;
  }
  if (code != CURLE_OK) {
    answer.error = Reason(code);
    return answer;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  answer.http_status = static_cast<int>(status);
  answer.body = std::move(sink.body);
  answer.cursor = std::move(sink.cursor);
  return answer;
}

}  // namespace wuye::intake
