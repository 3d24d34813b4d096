#include "services/gateway/http_server.h"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "absl/synchronization/notification.h"
#include "shared/secret.h"
#include "shared/status.h"

namespace wuye::gateway {

// The HTTPS certificate chain and key, loaded from their PEM files and loaded again when
// either changes. The library asks for the pair at each handshake (its certificate
// callback has no argument of ours, hence one identity per process: the gateway has one
// server). A pair once served stays allocated until the process ends, so a handshake that
// began with it never sees it freed; renewals come every few weeks.
class TlsIdentity {
 public:
  TlsIdentity(std::string cert_file, std::string key_file, absl::Duration interval)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), interval_(interval) {}
  ~TlsIdentity() {
    stop_.Notify();
    if (watcher_.joinable()) watcher_.join();
    std::lock_guard<std::mutex> lock(mu_);
    if (current_.load() == this) current_ = nullptr;
    for (auto& pair : pairs_) {
      for (unsigned i = 0; i < pair->count; ++i) gnutls_pcert_deinit(&pair->certs[i]);
      gnutls_privkey_deinit(pair->key);
    }
  }

  absl::Status Load() {
    WUYE_ASSIGN_OR_RETURN(std::string cert, ReadSecretFile("tls_cert_file", cert_file_));
    WUYE_ASSIGN_OR_RETURN(std::string key, ReadSecretFile("tls_key_file", key_file_));
    auto pair = std::make_unique<Pair>();
    gnutls_datum_t cert_datum{reinterpret_cast<unsigned char*>(cert.data()), static_cast<unsigned>(cert.size())};
    pair->count = kMaxChain;
    if (gnutls_pcert_list_import_x509_raw(pair->certs, &pair->count, &cert_datum, GNUTLS_X509_FMT_PEM, 0) < 0 ||
        pair->count == 0) {
      return FieldError("tls_cert_file", "not a PEM certificate chain (at most 8 certificates)");
    }
    gnutls_datum_t key_datum{reinterpret_cast<unsigned char*>(key.data()), static_cast<unsigned>(key.size())};
    if (gnutls_privkey_init(&pair->key) < 0 ||
        gnutls_privkey_import_x509_raw(pair->key, &key_datum, GNUTLS_X509_FMT_PEM, nullptr, 0) < 0) {
      for (unsigned i = 0; i < pair->count; ++i) gnutls_pcert_deinit(&pair->certs[i]);
      if (pair->key != nullptr) gnutls_privkey_deinit(pair->key);
      return FieldError("tls_key_file", "not a PEM private key");
    }
    if (!Matches(pair->certs[0], pair->key)) {
      for (unsigned i = 0; i < pair->count; ++i) gnutls_pcert_deinit(&pair->certs[i]);
      gnutls_privkey_deinit(pair->key);
      return FieldError("tls_key_file", "is not the key of the first certificate of tls_cert_file");
    }
    std::lock_guard<std::mutex> lock(mu_);
    pairs_.push_back(std::move(pair));
    served_ = pairs_.back().get();
    stamp_ = Stamp();
    return absl::OkStatus();
  }

  // Serves this identity from now on and watches its files.
  void Serve() {
    current_ = this;
    watcher_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(interval_)) {
        if (Stamp() == stamp_) continue;
        if (absl::Status st = Load(); st.ok()) {
          LogInfo("tls.reloaded").Str("cert_file", cert_file_);
        } else {
          LogWarn("tls.reload_failed").Str("error", st.ToString());  // keeps serving the last pair
          stamp_ = Stamp();
        }
      }
    });
  }

  static int Retrieve(gnutls_session_t, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*, int,
                      gnutls_pcert_st** certs, unsigned int* count, gnutls_privkey_t* key) {
    TlsIdentity* self = current_.load();
    if (self == nullptr) return -1;
    std::lock_guard<std::mutex> lock(self->mu_);
    *certs = self->served_->certs;
    *count = self->served_->count;
    *key = self->served_->key;
    return 0;
  }

 private:
  static constexpr unsigned kMaxChain = 8;
  struct Pair {
    gnutls_pcert_st certs[kMaxChain];
    unsigned count = 0;
    gnutls_privkey_t key = nullptr;
  };
  // Whether `key` is the private key of `cert`'s public key.
  static bool Matches(const gnutls_pcert_st& cert, gnutls_privkey_t key) {
    gnutls_pubkey_t pub = nullptr;
    gnutls_datum_t a{}, b{};
    bool same = gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
                gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) >= 0 &&
                gnutls_pubkey_export2(cert.pubkey, GNUTLS_X509_FMT_DER, &b) >= 0 && a.size == b.size &&
                std::memcmp(a.data, b.data, a.size) == 0;
    gnutls_free(a.data);
    gnutls_free(b.data);
    if (pub != nullptr) gnutls_pubkey_deinit(pub);
    return same;
  }

  // What identifies the files' contents: their change times and sizes (a Secret's
  // volume swaps a symlink, which changes them).
  std::string Stamp() const {
    std::string out;
    for (const std::string& f : {cert_file_, key_file_}) {
      struct stat st {};
      if (stat(f.c_str(), &st) == 0) {
        absl::StrAppend(&out, st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, ";");
      }
    }
    return out;
  }

  static inline std::atomic<TlsIdentity*> current_{nullptr};
  const std::string cert_file_, key_file_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Pair>> pairs_;  // every pair loaded; the last is served
  Pair* served_ = nullptr;
  std::string stamp_;
  absl::Notification stop_;
  std::thread watcher_;
};

// One request on a connection, from its head to the end of its answer.
struct HttpServer::Exchange {
  HttpServer* server = nullptr;
  HttpRequest request;
  size_t max_body = 0;
  bool responded = false;
  bool too_large = false;  // the body grew past max_body; the rest is dropped
  size_t dropped = 0;
  std::unique_ptr<BodyStream> stream;
  std::string pending;  // the stream's chunk being sent
  size_t sent = 0;      // of pending
};

namespace {

MHD_Result Queue(MHD_Connection* connection, HttpServer::Exchange* x, HttpResponse response) {
  x->responded = true;
  MHD_Response* r = nullptr;
  if (response.stream) {
    x->stream = std::move(response.stream);
    r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16 << 10,
        [](void* cls, uint64_t, char* buf, size_t max) -> ssize_t {
          auto* x = static_cast<HttpServer::Exchange*>(cls);
          while (x->sent == x->pending.size()) {
            x->pending.clear();
            x->sent = 0;
            if (!x->stream->Next(&x->pending)) return MHD_CONTENT_READER_END_OF_STREAM;
          }
          const size_t n = std::min(max, x->pending.size() - x->sent);
          std::memcpy(buf, x->pending.data() + x->sent, n);
          x->sent += n;
          return static_cast<ssize_t>(n);
        },
        x, nullptr);
  } else {
    r = MHD_create_response_from_buffer(response.body.size(), response.body.data(),
                                        MHD_RESPMEM_MUST_COPY);
  }
  if (r == nullptr) return MHD_NO;
  for (const auto& [name, value] : response.headers) {
    MHD_add_response_header(r, name.c_str(), value.c_str());
  }
  // While draining, clients are told to take their next request elsewhere.
  if (!x->server->serving()) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned int>(response.status), r);
  MHD_destroy_response(r);
  return queued;
}

HttpResponse TooLarge(size_t limit) {
  HttpResponse r;
  r.status = 413;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = absl::StrCat(R"({"code":"resource_exhausted","message":"body: over the limit of )", limit,
                        R"( bytes"})");
  return r;
}

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                  void** con_cls) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* x = static_cast<HttpServer::Exchange*>(*con_cls);
  if (x == nullptr) {
    x = new HttpServer::Exchange;
    *con_cls = x;
    server->in_flight()++;
    x->server = server;
    HttpRequest& req = x->request;
    req.method = method;
    req.path = url;
    MHD_get_connection_values(
        connection, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
          (*headers)[absl::AsciiStrToLower(key)] = value == nullptr ? "" : value;
          return MHD_YES;
        },
        &req.headers);
    MHD_get_connection_values(
        connection, MHD_GET_ARGUMENT_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          (*static_cast<std::map<std::string, std::string>*>(cls))[key] = value == nullptr ? "" : value;
          return MHD_YES;
        },
        &req.query);
    // A client that closes its end while its stream waits for the next message.
    req.client_gone = [connection] {
      const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info == nullptr) return true;
      pollfd p{info->connect_fd, POLLRDHUP, 0};
      return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    };
    HeadVerdict verdict = server->handler()->OnHead(req);
    if (verdict.refuse) return Queue(connection, x, std::move(*verdict.refuse));
    x->max_body = verdict.max_body;
    size_t declared = 0;
    if (absl::SimpleAtoi(req.Header("content-length"), &declared) && declared > x->max_body) {
      return Queue(connection, x, TooLarge(x->max_body));
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    // The library takes an answer only before the body or after all of it: a body without
    // a length that grows past the limit is read on and dropped, up to as much again, and
    // answered 413 at its end; past that the connection is closed.
    if (!x->responded && !x->too_large && x->request.body.size() + *upload_data_size > x->max_body) {
      x->too_large = true;
      std::string().swap(x->request.body);
    }
    if (x->too_large) {
      x->dropped += *upload_data_size;
      if (x->dropped > std::max<size_t>(x->max_body, 1 << 20)) return MHD_NO;
    } else if (!x->responded) {
      x->request.body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (x->responded) return MHD_YES;
  if (x->too_large) return Queue(connection, x, TooLarge(x->max_body));
  return Queue(connection, x, server->handler()->OnRequest(std::move(x->request)));
}

void Completed(void* cls, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  auto* x = static_cast<HttpServer::Exchange*>(*con_cls);
  if (x == nullptr) return;
  delete x;
  *con_cls = nullptr;
  static_cast<HttpServer*>(cls)->in_flight()--;
}

void Connected(void* cls, MHD_Connection*, void**, MHD_ConnectionNotificationCode code) {
  auto* server = static_cast<HttpServer*>(cls);
  const int open = code == MHD_CONNECTION_NOTIFY_STARTED ? ++server->connections() : --server->connections();
  Metrics::Global().Set("wuye_gateway_open_connections", open);
}

void LibraryLog(void*, const char* format, va_list args) {
  char text[512];
  std::vsnprintf(text, sizeof text, format, args);
  LogWarn("http.library").Str("error", absl::StripAsciiWhitespace(text));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpHandler* handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options), handler));
  const HttpServerOptions& o = server->options_;
  // host:port, [v6]:port
  absl::string_view listen = o.listen;
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return FieldError("listen", "want host:port");
  }
  absl::string_view host = listen.substr(0, colon);
  sockaddr_storage addr{};
  unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC |
                       MHD_USE_ERROR_LOG;
  if (absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]")) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6->sin6_addr) != 1) {
      return FieldError("listen", "not an IPv6 address");
    }
    flags |= MHD_USE_IPv6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, std::string(host).c_str(), &a4->sin_addr) != 1) {
      return FieldError("listen", "want an IPv4 address (or [IPv6]) and a port");
    }
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return FieldError("tls_key_file", "give both --tls_cert_file and --tls_key_file, or neither");
  }
  if (!o.tls_cert_file.empty()) {
    server->tls_ = std::make_unique<TlsIdentity>(o.tls_cert_file, o.tls_key_file,
                                                 std::max(o.tls_reload_interval, absl::Seconds(1)));
    WUYE_RETURN_IF_ERROR(server->tls_->Load());
    server->tls_->Serve();
    flags |= MHD_USE_TLS;
  }
  if (o.max_connections < 1) return FieldError("max_connections", "must be > 0");
  if (o.max_header_bytes < 1024) return FieldError("max_header_bytes", "must be >= 1024");
  const auto idle = static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(o.idle_timeout)));
  // The connection's memory pool holds the request head and the read and write buffers.
  const size_t pool = o.max_header_bytes + (32 << 10);
  HttpServer* self = server.get();
  auto fn = [](auto f) { return reinterpret_cast<intptr_t>(f); };
  // The logger first, so that the library's own messages before it are none.
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_EXTERNAL_LOGGER, fn(&LibraryLog), nullptr},
      {MHD_OPTION_SOCK_ADDR, 0, &addr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(o.max_connections), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(idle), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(pool), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, fn(&Completed), self},
      {MHD_OPTION_NOTIFY_CONNECTION, fn(&Connected), self},
  };
  if (server->tls_) {
    opts.push_back({MHD_OPTION_HTTPS_CERT_CALLBACK, 0, reinterpret_cast<void*>(&TlsIdentity::Retrieve)});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  server->daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr, &Answer, self,
                                     MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot serve HTTP on ", o.listen));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  server->serving_ = true;
  return server;
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler* handler)
    : options_(std::move(options)), handler_(handler) {}

HttpServer::~HttpServer() { Shutdown(); }

void HttpServer::Shutdown() {
  if (daemon_ == nullptr) return;
  serving_ = false;
  const MHD_socket listen_fd = MHD_quiesce_daemon(daemon_);
  handler_->Drain();
  const absl::Time deadline = absl::Now() + options_.shutdown_grace;
  while (in_flight_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  if (in_flight_.load() > 0) {
    LogWarn("http.drain_expired").Int("in_flight", in_flight_.load());
    handler_->Abort();
  }
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
}

}  // namespace wuye::gateway
