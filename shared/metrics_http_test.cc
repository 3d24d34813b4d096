#include "shared/metrics_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/metrics.h"

namespace wuye {
namespace {

std::string Get(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, request.data(), request.size(), 0);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, n);
  ::close(fd);
  return reply;
}

TEST(MetricsEndpointTest, ServesThePrometheusText) {
  Metrics::Global().Add("wuye_metrics_endpoint_test_total");
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  std::string reply = Get((*endpoint)->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 200 OK")) << reply;
  EXPECT_TRUE(absl::StrContains(reply, "text/plain; version=0.0.4"));
  EXPECT_TRUE(absl::StrContains(reply, "wuye_metrics_endpoint_test_total 1"));
  EXPECT_TRUE(
      absl::StartsWith(Get((*endpoint)->port(), "GET /nope HTTP/1.1\r\n\r\n"), "HTTP/1.1 404"));
  EXPECT_TRUE(
      absl::StartsWith(Get((*endpoint)->port(), "POST /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 405"));
  (*endpoint)->Stop();
}

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  return fd;
}

// Issue 20, item 9: a client that connects and sends nothing, and one that trickles its
// request a byte at a time (which renewed the old per-read timeout for ever), do not stop
// the others' scrapes and health checks; each is cut off at its request deadline.
TEST(MetricsEndpointTest, SlowClientsDoNotStopTheOthers) {
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  int port = (*endpoint)->port();
  int silent = Connect(port);
  int trickler = Connect(port);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; !stop && i < 600; ++i) {                    // at most a minute
      if (::send(trickler, "G", 1, MSG_NOSIGNAL) <= 0) return;  // cut off
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Without a bound these would wait behind the trickler for as long as it trickles; the
  // receive timeout only keeps a failing test from hanging.
  timeval patience{30, 0};
  for (const char* path : {"/metrics", "/healthz"}) {
    int fd = Connect(port);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
    std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\n\r\n");
    ::send(fd, request.data(), request.size(), 0);
    char buf[64] = {};
    ssize_t n = ::recv(fd, buf, sizeof(buf) - 1, 0);
    EXPECT_GT(n, 0) << path << " was not answered while slow clients were connected";
    EXPECT_TRUE(absl::StartsWith(buf, "HTTP/1.1 200 OK")) << path << ": " << buf;
    ::close(fd);
  }
  // The silent client is answered 408 and closed at its deadline.
  ::setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  std::string reply;
  char buf[256];
  for (ssize_t n; (n = ::recv(silent, buf, sizeof(buf), 0)) > 0;) reply.append(buf, n);
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408")) << reply;
  stop = true;
  trickle.join();
  ::close(silent);
  ::close(trickler);
  (*endpoint)->Stop();
}

TEST(MetricsEndpointTest, RefusesABadAddress) {
  EXPECT_EQ(MetricsEndpoint::Start("nonsense").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsEndpoint::Start("localhost:9").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wuye
