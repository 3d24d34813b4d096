#include "shared/metrics_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
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

TEST(MetricsEndpointTest, RefusesABadAddress) {
  EXPECT_EQ(MetricsEndpoint::Start("nonsense").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsEndpoint::Start("localhost:9").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wuye
