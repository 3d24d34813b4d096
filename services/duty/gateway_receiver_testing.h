// Test support for duty's notification outlet: a group's gateway as a real HTTP server
// (libmicrohttpd, on a free port of the test's own) that checks each POST's signature on
// its own (OpenSSL, not the code under test), records deliveries and their
// Idempotency-Keys, and can answer 5xx, redirect, or answer slowly. Header-only, for
// notifier_test and the process test (tests/duty_notify_process_test.cc).
#pragma once

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "shared/testing/test_env.h"

namespace wuye::duty::testing {

using ::wuye::testing::FreePort;

// Lowercase hex of HMAC-SHA256(key, data), computed with OpenSSL directly.
inline std::string HexHmac(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len));
}

// A group's gateway: a real HTTP server that checks signatures with its group's key.
class Receiver {
 public:
  struct Delivery {
    std::string key;  // Idempotency-Key
    std::string body;
    bool signed_ok = false;
    int answered = 0;
  };

  explicit Receiver(std::string group_key) : key_(std::move(group_key)) {
    port_ = FreePort();
    daemon_ =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                         static_cast<uint16_t>(port_), nullptr, nullptr, &Receiver::Access, this,
                         MHD_OPTION_NOTIFY_COMPLETED, &Receiver::Completed, this, MHD_OPTION_END);
    EXPECT_NE(daemon_, nullptr) << "the receiver did not start on port " << port_;
  }
  // The same over TLS with a certificate and its key (PEM).
  Receiver(std::string group_key, const std::string& cert, const std::string& key)
      : key_(std::move(group_key)), tls_(true), cert_(cert), tls_key_(key) {
    port_ = FreePort();
    daemon_ = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS,
        static_cast<uint16_t>(port_), nullptr, nullptr, &Receiver::Access, this,
        MHD_OPTION_NOTIFY_COMPLETED, &Receiver::Completed, this, MHD_OPTION_HTTPS_MEM_KEY,
        tls_key_.c_str(), MHD_OPTION_HTTPS_MEM_CERT, cert_.c_str(), MHD_OPTION_END);
    EXPECT_NE(daemon_, nullptr) << "the TLS receiver did not start on port " << port_;
  }
  ~Receiver() {
    release_.Notify();
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }

  std::string Url(absl::string_view path = "/notify") const {
    return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_, path);
  }

  // Knobs: answer 503 to the first `n` requests; answer after `d` (or when the receiver
  // goes); answer every request with `status` (e.g. a 302 to Url("/elsewhere")).
  void FailFirst(int n) { fail_first_ = n; }
  void AnswerAfter(absl::Duration d) {
    absl::MutexLock l(&mu_);
    delay_ = d;
  }
  void AlwaysAnswer(int status) { always_ = status; }

  std::vector<Delivery> Deliveries() const {
    absl::MutexLock l(&mu_);
    return deliveries_;
  }
  // Deliveries whose key it had not seen: what a receiver that drops repeats acts on.
  int Unique() const {
    absl::MutexLock l(&mu_);
    std::set<std::string> keys;
    for (const Delivery& d : deliveries_) keys.insert(d.key);
    return static_cast<int>(keys.size());
  }
  int Count() const {
    absl::MutexLock l(&mu_);
    return static_cast<int>(deliveries_.size());
  }
  int CountAt(absl::string_view path) const {
    absl::MutexLock l(&mu_);
    int n = 0;
    for (const std::string& p : paths_) n += p == path;
    return n;
  }

 private:
  static std::string Header(MHD_Connection* c, const char* name) {
    const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v == nullptr ? "" : v;
  }

  static MHD_Result Access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char*, const char* upload, size_t* upload_size, void** state) {
    auto* self = static_cast<Receiver*>(cls);
    if (*state == nullptr) {
      *state = new std::string;
      return MHD_YES;
    }
    auto* body = static_cast<std::string*>(*state);
    if (*upload_size > 0) {
      body->append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    Delivery d;
    d.key = Header(c, "Idempotency-Key");
    d.body = *body;
    std::string ts = Header(c, "X-Wuye-Timestamp");
    d.signed_ok = std::string(method) == "POST" &&
                  Header(c, "Content-Type") == "application/json" && !ts.empty() &&
                  Header(c, "X-Wuye-Signature") ==
                      absl::StrCat("v1=", HexHmac(self->key_, absl::StrCat(ts, ".", *body)));
    int status = 200;
    absl::Duration delay;
    {
      absl::MutexLock l(&self->mu_);
      self->paths_.push_back(url);
      int n = self->seen_++;
      if (n < self->fail_first_) status = 503;
      if (self->always_ != 0) status = self->always_;
      delay = self->delay_;
      d.answered = status;
      self->deliveries_.push_back(d);
    }
    if (delay > absl::ZeroDuration()) self->release_.WaitForNotificationWithTimeout(delay);
    MHD_Response* r =
        MHD_create_response_from_buffer(2, const_cast<char*>("ok"), MHD_RESPMEM_PERSISTENT);
    if (status / 100 == 3) MHD_add_response_header(r, "Location", self->Url("/elsewhere").c_str());
    MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(status), r);
    MHD_destroy_response(r);
    return ret;
  }

  static void Completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    delete static_cast<std::string*>(*state);
    *state = nullptr;
  }

  std::string key_;
  bool tls_ = false;
  std::string cert_, tls_key_;
  int port_ = 0;
  MHD_Daemon* daemon_ = nullptr;
  absl::Notification release_;
  std::atomic<int> fail_first_{0};
  std::atomic<int> always_{0};
  mutable absl::Mutex mu_;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  int seen_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Delivery> deliveries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mu_);
};

// What a group's gateway is given: the key derived for its group (docs/api/duty.md).
inline std::string GatewayKeyOf(absl::string_view secret, absl::string_view group) {
  return HexHmac(secret, absl::StrCat("wuye.duty.gateway.v1/", group));
}

}  // namespace wuye::duty::testing
