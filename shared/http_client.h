// The one outgoing HTTP request of the services that talk to a third party over HTTP (duty's
// notification gateway, intake's 12345 platforms), through libcurl: timeouts on connecting
// and on the whole exchange; redirects never followed (a 3xx is an answer, not a 2xx);
// https peers and host names verified against the system's CA store (or `ca_file`); only
// https spoken, http too where the request allows it; no signals (threads). A failure is
// told in generic words ("timeout", "connect failed", "TLS: …"), never the URL nor anything
// sent, so the reason is safe for logs, metrics and stored errors.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye {

struct HttpRequest {
  std::string url;
  bool allow_http = false;  // http:// as well as https://
  // POSTed when set; a GET otherwise.
  const std::string* post_body = nullptr;
  std::vector<std::string> headers;  // "Name: value", sent as given
  std::string user_agent;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(20);
  std::string ca_file;  // a CA bundle file instead of the system's; "" for the system's
  // The answer's body: kept up to `max_body` bytes (a longer one is the error "body too
  // long"), or, when not kept, read and dropped (one longer than `max_body` ends the
  // exchange; 0: any length).
  bool keep_body = false;
  size_t max_body = 0;
  // The value of this answer header ("x-hotline-cursor", matched ignoring case), at most
  // 500 characters (a longer one is dropped); "" for none.
  std::string header_to_keep;
  // Whose certificate a failed verification names: "the gateway's", "the platform's".
  std::string peer_words = "the peer's";
};

struct HttpAnswer {
  int http_status = 0;  // 0 when no answer came (connect failed, timeout, TLS)
  // "" when an answer came; else a short reason without the URL or anything sent.
  std::string error;
  std::string body;          // when kept
  std::string header_value;  // HttpRequest::header_to_keep's, "" when absent
};

HttpAnswer HttpPerform(const HttpRequest& request);

// `text` escaped for a URL's query (RFC 3986 unreserved characters kept).
std::string UrlEscape(absl::string_view text);

}  // namespace wuye
