#include "services/intake/hotline_http.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/intake/hotline_format.h"
#include "shared/http_client.h"
#include "shared/status.h"

namespace wuye::intake {
namespace {

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

HotlineHttp::HotlineHttp(HotlineHttpOptions options) : options_(std::move(options)) {}

HotlineHttpAnswer HotlineHttp::Get(const std::string& url, const std::string& token,
                                   const std::string& cursor) const {
  std::string full = url;
  if (!cursor.empty()) {
    std::string escaped = UrlEscape(cursor);
    if (!escaped.empty()) absl::StrAppend(&full, "?cursor=", escaped);
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
  HttpRequest request;
  request.url = url;
  // http only where the endpoint's check let it through: a loopback host.
  request.allow_http = IsLoopback(HostOf(url));
  request.post_body = post_body;
  request.headers = {absl::StrCat("Authorization: Bearer ", token), "Accept: text/csv", "Expect:"};
  if (post_body != nullptr) {
    request.headers.push_back("Content-Type: text/csv; charset=utf-8");
    if (!key.empty()) request.headers.push_back(absl::StrCat("Idempotency-Key: ", key));
  }
  request.user_agent = "wuye-intake/1";
  request.connect_timeout = options_.connect_timeout;
  request.total_timeout = options_.total_timeout;
  request.ca_file = options_.ca_file;
  request.keep_body = true;
  request.max_body = kMaxHotlineFileBytes;
  request.header_to_keep = "x-hotline-cursor";
  request.peer_words = "the platform's";
  HttpAnswer got = HttpPerform(request);
  HotlineHttpAnswer answer;
  answer.http_status = got.http_status;
  answer.error = std::move(got.error);
  answer.body = std::move(got.body);
  answer.cursor = std::move(got.header_value);
  return answer;
}

}  // namespace wuye::intake
