#include "tests/service_process.h"

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "shared/testing/test_env.h"

namespace wuye::testing {

ServiceProcess::ServiceProcess(ServiceProcessOptions options) : options_(std::move(options)) {
  log_ = absl::StrCat(::testing::TempDir(), "wuye-", options_.name, "-", getpid(), "-",
                      reinterpret_cast<uintptr_t>(this), ".log");
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) {
    Kill(SIGKILL);
    Wait(absl::Seconds(10));
  }
}

namespace {

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path);
  in.seekg(offset);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::streamoff FileSize(const std::string& path) {
  std::ifstream in(path, std::ios::ate);
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

// What a service, the gateway or the metrics endpoint says when its port is taken.
bool CouldNotBind(const std::string& log) {
  for (const char* words : {"could not bind", "cannot serve HTTP on", "metrics: cannot listen on"})
    if (log.find(words) != std::string::npos) return true;
  return false;
}

}  // namespace

bool ServiceProcess::Start(absl::Duration timeout) {
  // Ports chosen here may be taken between choosing and binding, by a test running
  // alongside; a first start that could not bind tries fresh ones. A restart keeps its ports.
  const bool ours = port_ == 0;
  for (int attempt = 1;; ++attempt) {
    if (port_ == 0) {
      std::vector<int> ports = DistinctFreePorts(2);
      port_ = ports[0];
      metrics_port_ = ports[1];
    }
    const std::streamoff log_start = FileSize(log_);
    if (Launch(timeout)) return true;
    const std::string log = ReadFrom(log_, log_start);
    if (ours && pid_ < 0 && attempt < 5 && CouldNotBind(log)) {
      std::cerr << options_.name << ": port " << port_ << " or " << metrics_port_
                << " was taken; trying others\n";
      port_ = 0;
      continue;
    }
    std::cerr << options_.name << " did not start; the end of its log:\n"
              << log.substr(log.size() > 3000 ? log.size() - 3000 : 0) << "\n";
    return false;
  }
}

bool ServiceProcess::Launch(absl::Duration timeout) {
  std::vector<std::string> args = options_.command_prefix;
  args.insert(args.end(), {options_.binary, absl::StrCat("--listen=", options_.listen_host, ":", port_),
                           absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_),
                           "--shutdown_grace=2s"});
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    setenv("WUYE_PG_URL", options_.pg_url.c_str(), 1);
    setenv("WUYE_JWT_SECRET", kTestSecret, 1);
    if (options_.redis_addr.empty()) {
      unsetenv("WUYE_REDIS_ADDR");
    } else {
      setenv("WUYE_REDIS_ADDR", options_.redis_addr.c_str(), 1);
    }
    for (const auto& [k, v] : options_.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  channel_ = grpc::CreateChannel(absl::StrCat(options_.connect_host, ":", port_),
                                 grpc::InsecureChannelCredentials());
  bool up = WaitFor(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // died: stop waiting
        }
        return options_.ready ? options_.ready(port_) : HealthStatus(channel_) == 1;
      },
      timeout);
  return up && pid_ > 0;
}

void ServiceProcess::Kill(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ServiceProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  int status = -1;
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return -1;
}

std::map<std::string, std::string> ServiceTestEnv(const std::string& name) {
  // 32 bytes each, base64; fixed so that a restarted service reads what it sealed.
  // Intake's phone-hash key, which the directory holds too (its resident events carry the
  // hash of a number, never the number).
  if (name == "intake" || name == "directory")
    return {{"WUYE_INTAKE_PHONE_KEY", "test-phone-key-for-wuye-tests-0123456789"}};
  if (name == "eldercare") {
    return {{"WUYE_ELDERCARE_KEYS", "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
            {"WUYE_ELDERCARE_LOOKUP_KEY", "bG9va3VwLWtleS1mb3Itd3V5ZS10ZXN0cy0wMTIzNDU2Nzg5"}};
  }
  // The counter's keys for the ID numbers of RegisterOwner.
  if (name == "counter") {
    return {{"WUYE_COUNTER_KEYS", "test1:Y291bnRlci10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGU="},
            {"WUYE_COUNTER_LOOKUP_KEY", "Y291bnRlci1sb29rdXAta2V5LWZvci13dXllLXRlc3Rz"}};
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> BuiltServices() {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view entry : absl::StrSplit(WUYE_SERVICE_BINARIES, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    out.push_back(kv);
  }
  return out;
}

}  // namespace wuye::testing
