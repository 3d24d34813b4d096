// The HTTP form of the 12345 port (issue 27 §3; docs/api/intake.md "12345 over HTTP"): the
// check of a city platform's endpoint as a group admin gives it, and the one HTTP client
// that talks to it (shared/http_client.h, libcurl). The bodies are the endpoint's format
// (HotlineFormat).
//
// The token goes only into the Authorization header; the URL, the token and the bodies are
// never in an error, a log line or a metric label: a failure is told in generic words
// ("timeout", "HTTP 503").
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye::intake {

inline constexpr absl::Duration kDefaultHotlinePoll = absl::Minutes(5);
inline constexpr absl::Duration kMinHotlinePoll = absl::Minutes(1);
inline constexpr absl::Duration kMaxHotlinePoll = absl::Hours(24);
inline constexpr absl::Duration kDefaultHotlineAlertAfter = absl::Hours(1);
inline constexpr absl::Duration kMinHotlineAlertAfter = absl::Minutes(10);
inline constexpr absl::Duration kMaxHotlineAlertAfter = absl::Hours(24);
// A failing endpoint is tried again after min(poll, 1 min × 2^(failures−1)) — never later
// than its poll interval, so backing off never delays it beyond its ordinary pace.
absl::Duration HotlineRetryAfter(absl::Duration poll, int failures);

// https://host[:port][/path], or http:// to a loopback host (127.0.0.1, [::1], localhost)
// for tests; no user info, query nor fragment; at most 500 characters. Errors name `field`
// and never quote the URL.
absl::Status CheckHotlineBaseUrl(absl::string_view url, absl::string_view field);
// 16..4096 printable ASCII characters without spaces. Errors name `field`, never the token.
absl::Status CheckHotlineToken(absl::string_view token, absl::string_view field);

// An exchange's lease on its endpoint (next_at pushed this far ahead when it is claimed):
// longer than the three requests of an exchange at their timeouts and the imports, so no
// other replica takes the endpoint while it is out; a replica that dies mid-exchange leaves
// it to be taken again when the lease ends. No transaction is open while a request is out.
inline constexpr absl::Duration kHotlineLease = absl::Minutes(5);

struct HotlineHttpOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(20);
  // A CA bundle file instead of the system's; "" for the system's.
  std::string ca_file;
};

struct HotlineHttpAnswer {
  int http_status = 0;  // 0 when no answer came
  // "" when an answer came; else a short reason without the URL or anything sent.
  std::string error;
  std::string body;    // at most kMaxHotlineFileBytes (a longer one is an error)
  std::string cursor;  // the X-Hotline-Cursor header of the answer, "" when none
  bool ok() const { return error.empty() && http_status >= 200 && http_status < 300; }
  // "timeout", "HTTP 503", …: safe for logs, metrics and the endpoint's last_error.
  std::string Reason() const;
};

class HotlineHttp {
 public:
  explicit HotlineHttp(HotlineHttpOptions options = {});
  // GET <url>?cursor=<cursor> (cursor left out when empty), Accept: text/csv.
  HotlineHttpAnswer Get(const std::string& url, const std::string& token,
                        const std::string& cursor) const;
  // POST `body` as text/csv with an Idempotency-Key.
  HotlineHttpAnswer Post(const std::string& url, const std::string& token,
                         const std::string& idempotency_key, const std::string& body) const;

 private:
  HotlineHttpAnswer Perform(const std::string& url, const std::string& token,
                            const std::string* post_body, const std::string& key) const;
  HotlineHttpOptions options_;
};

}  // namespace wuye::intake
