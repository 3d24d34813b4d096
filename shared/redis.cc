#include "shared/redis.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "shared/log.h"

namespace wuye {
namespace {

timeval Tv(absl::Duration d) { return absl::ToTimeval(d); }

RedisReply Copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Copy(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

RedisConnection::RedisConnection(RedisOptions options)
    : options_(std::move(options)), timeout_(options_.command_timeout) {
  // hiredis sends with write(2): a second write to a server that died (a primary killed
  // during a failover) raises SIGPIPE, which would end the whole process. It is ignored
  // once, process-wide; the write then fails with EPIPE and the connection is dropped.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });
}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Drop() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

void RedisConnection::SetCommandTimeout(absl::Duration timeout) {
  timeout_ = timeout;
  if (ctx_ != nullptr) redisSetTimeout(ctx_, Tv(timeout_));
}

namespace {

bool SplitAddr(const std::string& addr, std::string* host, int* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(addr.substr(colon + 1), port)) return false;
  *host = addr.substr(0, colon);
  return true;
}

}  // namespace

// Each sentinel in turn, until one names the primary. A sentinel that cannot be reached or
// does not know the name is passed over; the first to answer is believed (Sentinel's own
// quorum decided the failover it reports).
namespace {

// AUTH on a sentinel's connection; a refusal is logged (the sentinel, never the password) and
// the sentinel passed over.
bool AuthSentinel(redisContext* s, const std::string& sentinel, const std::string& user,
                  const std::string& password) {
  auto* raw = static_cast<redisReply*>(
      user.empty() ? redisCommand(s, "AUTH %b", password.data(), password.size())
                   : redisCommand(s, "AUTH %b %b", user.data(), user.size(), password.data(),
                                  password.size()));
  const bool ok = raw != nullptr && raw->type == REDIS_REPLY_STATUS;
  if (raw != nullptr && raw->type == REDIS_REPLY_ERROR) {
    LogWarn("redis.sentinel_auth_refused").Str("sentinel", sentinel);
  }
  if (raw != nullptr) freeReplyObject(raw);
  return ok;
}

}  // namespace

absl::StatusOr<std::string> RedisConnection::AskSentinels() {
  for (const std::string& sentinel : options_.sentinels) {
    std::string host;
    int port = 0;
    if (!SplitAddr(sentinel, &host, &port)) {
      return absl::InvalidArgumentError("redis_sentinels: each must be host:port");
    }
    redisContext* s = redisConnectWithTimeout(host.c_str(), port, Tv(options_.connect_timeout));
    if (s == nullptr || s->err) {
      if (s != nullptr) redisFree(s);
      continue;
    }
    redisSetTimeout(s, Tv(options_.connect_timeout));
    if (!options_.sentinel_password.empty() && !AuthSentinel(s, sentinel, options_.sentinel_user, options_.sentinel_password)) {
      redisFree(s);
      continue;
    }
    auto* raw = static_cast<redisReply*>(redisCommand(
        s, "SENTINEL get-master-addr-by-name %b", options_.master.data(), options_.master.size()));
    std::string primary;
    if (raw != nullptr && raw->type == REDIS_REPLY_ARRAY && raw->elements == 2) {
      primary = absl::StrCat(absl::string_view(raw->element[0]->str, raw->element[0]->len), ":",
                             absl::string_view(raw->element[1]->str, raw->element[1]->len));
    }
    if (raw != nullptr) freeReplyObject(raw);
    redisFree(s);
    if (!primary.empty()) return primary;
  }
  return absl::UnavailableError(
      absl::StrCat("redis: no sentinel names a primary for ", options_.master));
}

absl::Status RedisConnection::EnsureConnected() {
  if (ctx_ != nullptr) return absl::OkStatus();
  std::string addr = options_.addr;
  if (!options_.sentinels.empty()) {
    auto primary = AskSentinels();
    if (!primary.ok()) return primary.status();
    addr = *std::move(primary);
  }
  std::string host;
  int port = 0;
  if (!SplitAddr(addr, &host, &port)) {
    return absl::InvalidArgumentError("redis_addr: must be host:port");
  }
  server_ = addr;
  ctx_ = redisConnectWithTimeout(host.c_str(), port, Tv(options_.connect_timeout));
  if (ctx_ == nullptr || ctx_->err) {
    Drop();
    return absl::UnavailableError(absl::StrCat("redis ", addr, ": cannot connect"));
  }
  ++connects_;
  redisSetTimeout(ctx_, Tv(timeout_));
  if (!options_.password.empty()) {
    auto reply = options_.user.empty() ? Command({"AUTH", options_.password})
                                       : Command({"AUTH", options_.user, options_.password});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      Drop();
      return absl::UnauthenticatedError("redis: AUTH refused");
    }
  }
  if (!options_.sentinels.empty()) {
    // A sentinel can name a primary that has just been demoted (its view lags the
    // failover): one that says it is a replica is left, to be asked about again.
    auto role = Command({"ROLE"});
    if (!role.ok()) return role.status();
    if (role->is_error()) {
      // Not a failover: this user may not ask (its ACL lacks +role, see RedisAclRules).
      Drop();
      return absl::FailedPreconditionError(absl::StrCat("redis ", addr, ": ROLE refused"));
    }
    if (role->type != RedisReply::Type::kArray || role->elements.empty() ||
        role->elements[0].str != "master") {
      Drop();
      return absl::UnavailableError(absl::StrCat("redis ", addr, ": not the primary yet"));
    }
  }
  return absl::OkStatus();
}

void RedisConnection::Append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data());
}

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string>& args) {
  auto replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  return std::move((*replies)[0]);
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (absl::Status st = EnsureConnected(); !st.ok()) return st;
  for (const auto& args : commands) Append(args);
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      bool timeout = ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      Drop();
      return absl::UnavailableError(timeout ? "redis: timed out" : "redis: connection lost");
    }
    out.push_back(Copy(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  // A primary demoted by a failover answers writes with READONLY (and ends blocked reads
  // with UNBLOCKED): the connection is left
  // (after every reply of the pipeline is read) so that the next call finds the new one.
  for (const RedisReply& reply : out) {
    if (reply.is_error() &&
        (absl::StartsWith(reply.str, "READONLY") || absl::StartsWith(reply.str, "UNBLOCKED"))) {
      Drop();
      break;
    }
  }
  return out;
}

}  // namespace wuye
