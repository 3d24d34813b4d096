// A wuye service binary run as its own process for cross-service tests: a fresh database,
// the test JWT secret, free ports, its log captured to a file.
#pragma once

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace wuye::testing {

struct ServiceProcessOptions {
  std::string name;                        // "intake"
  std::string binary;                      // path of wuye-intake
  std::string pg_url;                      // its database
  std::string redis_addr;                  // empty: no bus
  std::map<std::string, std::string> env;  // extra WUYE_* settings
  std::vector<std::string> args;
  // Run under these words first, e.g. {"ip", "netns", "exec", "wuye-p42"} (a network
  // namespace of the test's; they must exec the binary, so that the pid is its).
  std::vector<std::string> command_prefix = {};
  // Where it listens (--listen=<listen_host>:<port>) and where the test reaches it.
  std::string listen_host = "127.0.0.1";
  std::string connect_host = "127.0.0.1";
  // When it is up, given its port; unset: its gRPC health says SERVING. (The gateway
  // speaks HTTP, not gRPC.)
  std::function<bool(int port)> ready = nullptr;
};

class ServiceProcess {
 public:
  explicit ServiceProcess(ServiceProcessOptions options);
  ~ServiceProcess();  // SIGKILL if still running

  // Starts it on free ports (the same ports again after a Kill) and waits until health
  // says SERVING; false (with the log's tail on stderr) if it does not within `timeout`.
  bool Start(absl::Duration timeout = absl::Seconds(60));
  void Kill(int signal);
  // Waits for the process to end; its exit status as from waitpid, or -1.
  int Wait(absl::Duration timeout);
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  const std::string& log_path() const { return log_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  ServiceProcessOptions options_;
  pid_t pid_ = -1;
  // Forks and execs it on port_ and waits; false if it died or did not come up.
  bool Launch(absl::Duration timeout);

  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_;
  std::shared_ptr<grpc::Channel> channel_;
};

// What a service needs in its environment beyond the database and the JWT secret, for
// tests (e.g. eldercare's health-data keys). Test values only.
std::map<std::string, std::string> ServiceTestEnv(const std::string& name);

// The binaries of the services built in this tree, by name (from CMake), in start order.
std::vector<std::pair<std::string, std::string>> BuiltServices();

}  // namespace wuye::testing
