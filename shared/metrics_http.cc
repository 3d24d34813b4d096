#include "shared/metrics_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace wuye {
namespace {

constexpr int kPollMillis = 200;
constexpr size_t kMaxRequestBytes = 8192;

using Deadline = std::chrono::steady_clock::time_point;

// Milliseconds left until `deadline`, at least 0.
int MillisLeft(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits for `events` on the non-blocking `fd` until `deadline`.
bool WaitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    int left = MillisLeft(deadline);
    if (left == 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return false;
    return false;
  }
}

void SendAll(int fd, absl::string_view data, Deadline deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) &&
        WaitFor(fd, POLLOUT, deadline)) {
      continue;
    }
    return;
  }
}

std::string Response(absl::string_view status, absl::string_view type, absl::string_view body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(absl::string_view listen) {
  std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  if (hp.second.empty() || !absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("metrics_listen: want host:port");
  }
  std::string host = hp.first.empty() ? "0.0.0.0" : hp.first;
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError("metrics_listen: the host must be an IPv4 address");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("metrics: socket() failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr = addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", listen));
  }
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(fd, ntohs(sa.sin_port)));
}

MetricsEndpoint::MetricsEndpoint(int fd, int port) : fd_(fd), port_(port) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

void MetricsEndpoint::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  {
    // Every connection ends by its deadline.
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return clients_ == 0; });
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void MetricsEndpoint::Serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMillis) <= 0) continue;
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;
    {
      std::lock_guard lock(mu_);
      if (clients_ < kMaxClients) {
        ++clients_;
        std::thread([this, client] {
          Answer(client);
          ::close(client);
          std::lock_guard lock(mu_);
          --clients_;
          idle_.notify_all();
        }).detach();
        continue;
      }
    }
    Metrics::Global().Add("wuye_metrics_http_refused_total");
    SendAll(client, Response("503 Service Unavailable", "text/plain", "busy\n"),
            std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    ::close(client);
  }
}

void MetricsEndpoint::SetReadiness(std::function<bool()> ready) {
  std::lock_guard lock(mu_);
  ready_ = std::move(ready);
}

void MetricsEndpoint::Answer(int client) {
  Deadline deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestDeadlineMillis);
  std::string request;
  char buf[1024];
  while (request.size() < kMaxRequestBytes && request.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(client, buf, sizeof(buf), 0);
    if (n > 0) {
      request.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) &&
        WaitFor(client, POLLIN, deadline)) {
      continue;
    }
    if (n < 0 && MillisLeft(deadline) == 0) {
      SendAll(client, Response("408 Request Timeout", "text/plain", "too slow\n"),
              std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      return;
    }
    break;
  }
  absl::string_view line = absl::string_view(request).substr(0, request.find("\r\n"));
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() < 2 || parts[0] != "GET") {
    SendAll(client, Response("405 Method Not Allowed", "text/plain", "GET only\n"), deadline);
    return;
  }
  absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path == "/metrics") {
    SendAll(client,
            Response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                     Metrics::Global().PrometheusText()),
            deadline);
  } else if (path == "/readyz") {
    std::function<bool()> ready;
    {
      std::lock_guard lock(mu_);
      ready = ready_;
    }
    bool ok = !ready || ready();
    SendAll(client,
            ok ? Response("200 OK", "text/plain", "ready\n")
               : Response("503 Service Unavailable", "text/plain", "not ready\n"),
            deadline);
  } else if (path == "/healthz") {
    SendAll(client, Response("200 OK", "text/plain", "ok\n"), deadline);
  } else {
    SendAll(client, Response("404 Not Found", "text/plain", "try /metrics\n"), deadline);
  }
}

}  // namespace wuye
