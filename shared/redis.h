// A small synchronous Redis client over hiredis: connect and command timeouts, AUTH,
// reconnect on the next command after a failure, pipelines. One connection per user;
// not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct redisContext;

namespace wuye {

struct RedisOptions {
  std::string addr;      // host:port; empty = no bus (events wait in the outbox)
  // Redis under Sentinel: the sentinels (host:port each), asked in turn for the primary of
  // `master` at every connect; `addr` is then not used. A connection that finds itself on a
  // replica (ROLE, or a READONLY reply after a failover) is dropped and found again.
  std::vector<std::string> sentinels;
  std::string master = "wuye";
  // Sentinels that require a password (their `requirepass`, or an ACL user of theirs): sent
  // with AUTH before asking. From WUYE_REDIS_SENTINEL_PASSWORD only, never logged.
  std::string sentinel_user;      // --redis_sentinel_user; empty: the default user
  std::string sentinel_password;  // empty: the sentinels are asked without AUTH
  std::string user;      // ACL user (WUYE_REDIS_USER); empty: the default user
  std::string password;  // from WUYE_REDIS_PASSWORD only
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
};

// A reply, copied out of hiredis's tree.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // string, status or error text
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

class RedisConnection {
 public:
  explicit RedisConnection(RedisOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command. Transport failures are UNAVAILABLE (the connection is dropped and made
  // again on the next call); a Redis error reply is returned as a reply of type kError.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);
  // Sends every command, then reads every reply: one round trip.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // For blocking reads (XREADGROUP BLOCK): the socket timeout of the next commands.
  void SetCommandTimeout(absl::Duration timeout);

  bool connected() const { return ctx_ != nullptr; }
  // How many connections this object has made: a WAIT covers the writes of the connection
  // it is sent on, so a caller waiting for replicas knows whether earlier writes are covered.
  uint64_t connects() const { return connects_; }
  // host:port of the server of the current (or last) connection.
  const std::string& server() const { return server_; }

 private:
  absl::Status EnsureConnected();
  void Drop();
  void Append(const std::vector<std::string>& args);

  RedisOptions options_;
  absl::Duration timeout_;
  absl::StatusOr<std::string> AskSentinels();

  redisContext* ctx_ = nullptr;
  uint64_t connects_ = 0;
  std::string server_;
};

}  // namespace wuye
