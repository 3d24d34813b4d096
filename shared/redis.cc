#include "shared/redis.h"

#include <hiredis/hiredis.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

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
    : options_(std::move(options)), timeout_(options_.command_timeout) {}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Drop() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

void RedisConnection::SetCommandTimeout(absl::Duration timeout) {
  timeout_ = timeout;
  if (ctx_ != nullptr) redisSetTimeout(ctx_, Tv(timeout_));
}

absl::Status RedisConnection::EnsureConnected() {
  if (ctx_ != nullptr) return absl::OkStatus();
  size_t colon = options_.addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options_.addr.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("redis_addr: must be host:port");
  }
  std::string host = options_.addr.substr(0, colon);
  ctx_ = redisConnectWithTimeout(host.c_str(), port, Tv(options_.connect_timeout));
  if (ctx_ == nullptr || ctx_->err) {
    Drop();
    return absl::UnavailableError(absl::StrCat("redis ", options_.addr, ": cannot connect"));
  }
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
  return out;
}

}  // namespace wuye
