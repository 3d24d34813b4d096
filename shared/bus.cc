#include "shared/bus.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye {
namespace {

using StreamId = std::pair<uint64_t, uint64_t>;

std::string FormatStreamId(StreamId id) { return absl::StrCat(id.first, "-", id.second); }

// Field `name` of a flat [k1, v1, k2, v2, ...] reply, or nullptr.
const RedisReply* FieldOf(const RedisReply& flat, absl::string_view name) {
  for (size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].str == name) return &flat.elements[i + 1];
  }
  return nullptr;
}

absl::Duration Backoff(int failures, absl::Duration max) {
  absl::Duration d = absl::Milliseconds(100) * (1 << std::min(failures, 6));
  return std::min(d, max);
}

std::string DefaultConsumerName() {
  char host[128] = "host";
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  return absl::StrCat(host, "-", getpid(), "-", rd() % 100000);
}

}  // namespace

std::string StreamOf(absl::string_view service) {
  return absl::StrCat("wuye.", service, ".events");
}
std::string DeadLetterStream(absl::string_view stream) { return absl::StrCat(stream, ".dead"); }

StreamId ParseStreamId(absl::string_view id) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(id, absl::MaxSplits('-', 1));
  StreamId out{0, 0};
  if (!absl::SimpleAtoi(parts.first, &out.first) || !absl::SimpleAtoi(parts.second, &out.second)) {
    return {0, 0};
  }
  return out;
}

std::string ProducerOfStream(absl::string_view stream) {
  if (!absl::ConsumePrefix(&stream, "wuye.") || !absl::ConsumeSuffix(&stream, ".events") ||
      stream.empty() || absl::StrContains(stream, '.')) {
    return "";
  }
  return std::string(stream);
}

std::string ForgeryOf(const wuye::events::v1::Event& event, absl::string_view producer) {
  if (producer.empty()) return "";
  if (event.producer() != producer) return "forged: the producer is not the stream's service";
  if (!absl::StartsWith(event.type(), absl::StrCat(producer, "."))) {
    return "forged: the type is not one of the stream's service";
  }
  return "";
}

std::vector<std::string> RedisAclRules(absl::string_view service,
                                       const std::vector<std::string>& consumes) {
  const std::string own = StreamOf(service);
  // ROLE: a connection made through Sentinel checks it reached the primary; WAIT: the
  // relay's --bus_min_replicas. Neither names a key.
  std::vector<std::string> rules = {"resetkeys",
                                    "resetchannels",
                                    "-@all",
                                    "+xadd",
                                    "+xtrim",
                                    "+xlen",
                                    "+xinfo|groups",
                                    "+xpending",
                                    "+role",
                                    "+wait",
                                    absl::StrCat("~", own),
                                    absl::StrCat("~", DeadLetterStream(own))};
  if (consumes.empty()) return rules;
  // Selectors: a command is allowed when one of them allows it and every key it names.
  std::string read = "(+xgroup|create +xreadgroup +xack +xautoclaim +xpending";
  std::string dead = "(+xadd";
  for (const auto& stream : consumes) {
    absl::StrAppend(&read, " ~", stream);
    absl::StrAppend(&dead, " ~", DeadLetterStream(stream));
  }
  rules.push_back(read + ")");
  rules.push_back(dead + ")");
  return rules;
}

absl::StatusOr<std::vector<DeadLetterEntry>> ListDeadLetters(RedisConnection& redis,
                                                             const std::string& dead_stream,
                                                             const std::string& from, int count) {
  auto reply = redis.Command({"XRANGE", dead_stream, from, "+", "COUNT", absl::StrCat(count)});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return absl::FailedPreconditionError("redis: XRANGE refused");
  std::vector<DeadLetterEntry> out;
  for (const auto& e : reply->elements) {
    if (e.elements.size() < 2) continue;
    DeadLetterEntry entry{e.elements[0].str, {}};
    const auto& f = e.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) entry.fields[f[i].str] = f[i + 1].str;
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<std::string> ReplayDeadLetter(RedisConnection& redis, const std::string& dead_stream,
                                             const std::string& id, int* held) {
  absl::string_view source = dead_stream;
  if (!absl::ConsumeSuffix(&source, ".dead") || ProducerOfStream(source).empty()) {
    return absl::InvalidArgumentError(
        "stream: not a dead-letter stream wuye.<service>.events.dead");
  }
  if (ParseStreamId(id) == StreamId{0, 0}) {
    return absl::InvalidArgumentError("id: not a stream entry id");
  }
  // Atomic: the entry is either back on its stream and gone from the dead letters, or not.
  static constexpr char kScript[] = R"lua(
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not e then return redis.error_reply('NOTFOUND no such dead letter') end
local f = {}
for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
if not f['env'] or f['env'] == '' then return redis.error_reply('NOENV no envelope to replay') end
if f['stream'] ~= KEYS[2] then return redis.error_reply('NOENV from another stream') end
if string.sub(f['reason'] or '', 1, 7) == 'forged:' then
  return redis.error_reply('NOENV forged: it would be refused again')
end
local behind = f['held_behind'] or ''
if behind ~= '' and redis.call('XRANGE', KEYS[1], behind, behind)[1] then
  return redis.error_reply('NOENV held behind dead letter ' .. behind .. ': replay that one')
end
local id = redis.call('XADD', KEYS[2], '*', 'type', f['type'] or '', 'env', f['env'],
                      'replay_of', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
-- What its group parked behind it (always added after it), in order, right behind it.
local n = 0
for _, h in ipairs(redis.call('XRANGE', KEYS[1], ARGV[1], '+')) do
  local g = {}
  for i = 1, #h[2], 2 do g[h[2][i]] = h[2][i + 1] end
  if g['held_behind'] == ARGV[1] and g['stream'] == KEYS[2] and g['env'] and g['env'] ~= '' then
    redis.call('XADD', KEYS[2], '*', 'type', g['type'] or '', 'env', g['env'],
               'replay_of', h[1], 'after', ARGV[1])
    redis.call('XDEL', KEYS[1], h[1])
    n = n + 1
  end
end
return {id, n}
)lua";
  auto reply = redis.Command({"EVAL", kScript, "2", dead_stream, std::string(source), id});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    if (absl::StartsWith(reply->str, "NOTFOUND")) {
      return absl::NotFoundError(absl::StrCat("no dead letter ", id, " in ", dead_stream));
    }
    if (absl::StartsWith(reply->str, "NOENV")) {
      return absl::FailedPreconditionError(
          absl::StrCat("dead letter ", id, ": ", reply->str.substr(6)));
    }
    return absl::UnavailableError(absl::StrCat("redis: replay refused: ", reply->str));
  }
  if (reply->elements.size() < 2) return absl::UnavailableError("redis: unexpected replay reply");
  if (held != nullptr) *held = static_cast<int>(reply->elements[1].integer);
  return reply->elements[0].str;
}

// ---- Relay ----------------------------------------------------------------------------

namespace {

// The relay's clock for OutboxFloor: monotonic, so that a wall clock stepped back cannot
// hold back the full checks.
absl::Time Monotonic() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace

int64_t OutboxFloor::From(absl::Time now) {
  Advance(now);
  if (!known_ || now >= next_full_) {
    next_full_ = now + full_every_;
    return 0;
  }
  return floor_;
}

void OutboxFloor::Relayed(const std::vector<int64_t>& ids, absl::Time now) {
  for (int64_t id : ids) {
    if (known_ && id < floor_) continue;  // a straggler found by a full check
    above_.insert(id);
    seen_.emplace_back(id, now);
  }
  if (!known_ && !above_.empty()) {
    // The first check was a full one: below its first row, everything was sent already.
    floor_ = *above_.begin();
    known_ = true;
  }
  Advance(now);
}

void OutboxFloor::NothingBelow(int64_t next) {
  if (known_) return;
  floor_ = next;
  known_ = true;
}

void OutboxFloor::Advance(absl::Time now) {
  while (!above_.empty()) {
    if (*above_.begin() == floor_) {
      above_.erase(above_.begin());
      ++floor_;
      continue;
    }
    // floor_ is missing, and has been since the oldest id still above it was relayed.
    while (!seen_.empty() && seen_.front().first < floor_) seen_.pop_front();
    if (seen_.empty() || now - seen_.front().second < gap_timeout_) return;
    floor_ = *above_.begin();  // passed: a full check relays the ids if they ever commit
  }
  seen_.clear();
}

namespace {

// WAIT holds its reply up to replica_wait: the relay's socket waits that much longer.
RedisOptions RelayRedis(RedisOptions redis, const RelayOptions& options) {
  if (options.min_replicas > 0) redis.command_timeout += options.replica_wait;
  return redis;
}

}  // namespace

OutboxRelay::OutboxRelay(DbOptions db, RedisOptions redis, RelayOptions options)
    : db_options_(std::move(db)),
      redis_(RelayRedis(std::move(redis), options)),
      options_(std::move(options)),
      floor_(options_.gap_timeout, options_.full_check_every) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status OutboxRelay::EnsureDatabase() {
  if (conn_ != nullptr && conn_->is_open()) return absl::OkStatus();
  // The lock went with the session: the database went away, or the lease ran out while this
  // process was frozen and another replica leads now.
  if (leader_) LogWarn("relay.leader_lost").Str("stream", options_.stream);
  conn_.reset();
  leader_ = false;
  floor_.Reset();
  try {
    // The leader's session holds the advisory lock: if this node dies or is cut off, the
    // server must notice within about a minute (keepalives, and tcp_user_timeout for data
    // it sent that is never acknowledged) so that another replica takes over.
    absl::Duration dead_after = db_options_.keepalives_idle +
                                db_options_.keepalives_interval * db_options_.keepalives_count;
    conn_ =
        std::make_unique<pqxx::connection>(ConnectionUrl(db_options_, "wuye-relay", dead_after));
    pqxx::nontransaction(*conn_).exec(SessionSettings(db_options_, dead_after));
    if (options_.lease > absl::ZeroDuration()) {
      pqxx::nontransaction(*conn_).exec(absl::StrCat("SET idle_session_timeout = ",
                                                     absl::ToInt64Milliseconds(options_.lease)));
    }
    // Checked hundreds of times a second under load: parsed and planned once.
    conn_->prepare("wuye_relay_unsent",
                   "SELECT id, type, envelope FROM wuye_outbox WHERE sent_at IS NULL "
                   "AND id >= $2 ORDER BY id LIMIT $1");
    // With min_replicas: the rows after the last one added and not yet confirmed. (A row
    // below it that commits late is found once they are confirmed: the floor waits.)
    conn_->prepare("wuye_relay_unsent_past",
                   "SELECT id, type, envelope FROM wuye_outbox WHERE sent_at IS NULL "
                   "AND id > $2 ORDER BY id LIMIT $1");
    conn_->prepare("wuye_relay_sent",
                   "UPDATE wuye_outbox SET sent_at = now() WHERE id = ANY($1::bigint[])");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    conn_.reset();
    return Db::FromException(e);
  }
}

absl::StatusOr<int> OutboxRelay::RelayOnce() {
  // Only a pass that reached WAIT says so: a database failure before it backs off.
  short_of_replicas_ = false;
  if (absl::Status st = EnsureDatabase(); !st.ok()) return st;
  try {
    if (!leader_) {
      pqxx::nontransaction tx(*conn_);
      leader_ = tx.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", options_.stream)[0]
                    .as<bool>();
      if (!leader_) return 0;
      LogInfo("relay.leader").Str("stream", options_.stream);
    }
    // Each statement on its own (no BEGIN and COMMIT: two round trips fewer a pass). Only
    // the leader marks rows sent, so nothing changes them between the read and the update.
    pqxx::nontransaction tx(*conn_);
    // Rows added on this very connection and waiting for a replica are not added again:
    // this pass's WAIT covers them. After a reconnect (perhaps to a new primary) they are.
    const bool same_connection = redis_.connected() && redis_.connects() == added_on_;
    if (!same_connection) awaiting_replicas_.clear();
    // The check reads past them, so that events keep flowing while no replica confirms
    // (a replica being rebuilt): they are on the primary, where consumers read them, and
    // still unsent in the outbox, which re-adds them if the primary goes. Only past
    // kMaxAwaitingReplicas rows does the relay stop adding more.
    pqxx::result rows;
    if (awaiting_replicas_.empty()) {
      rows = tx.exec_prepared("wuye_relay_unsent", options_.batch, floor_.From(Monotonic()));
    } else if (awaiting_replicas_.size() < kMaxAwaitingReplicas) {
      rows = tx.exec_prepared("wuye_relay_unsent_past", options_.batch,
                              *awaiting_replicas_.rbegin());
    }  // else a pass of WAIT alone, so that a replica that lags behind can catch up
    if (rows.empty() && awaiting_replicas_.empty()) {
      if (!floor_.known()) {  // an empty outbox: the floor is past its last id
        floor_.NothingBelow(
            tx.exec1("SELECT COALESCE(max(id), 0) + 1 FROM wuye_outbox")[0].as<int64_t>());
      }
      return 0;
    }
    std::vector<std::vector<std::string>> commands;
    commands.reserve(rows.size() + 1);
    std::vector<int64_t> added;
    added.reserve(rows.size());
    for (const auto& row : rows) {
      added.push_back(row[0].as<int64_t>());
      commands.push_back({"XADD", options_.stream, "*", "type", row[1].as<std::string>(), "env",
                          pqxx::binarystring(row[2]).str()});
    }
    if (options_.min_replicas > 0) {
      commands.push_back({"WAIT", absl::StrCat(options_.min_replicas),
                          absl::StrCat(absl::ToInt64Milliseconds(options_.replica_wait))});
    }
    auto replies = redis_.Pipeline(commands);
    if (!replies.ok()) {
      awaiting_replicas_.clear();
      return replies.status();
    }
    for (const auto& reply : *replies) {
      if (reply.is_error()) {
        // READONLY from a demoted primary (the connection is dropped: the next pass asks the
        // sentinels again), NOPERM, OOM ...
        awaiting_replicas_.clear();
        return absl::UnavailableError(absl::StrCat("redis: XADD refused: ", reply.str));
      }
    }
    if (options_.min_replicas > 0 && replies->back().integer < options_.min_replicas) {
      // On the primary only: a failover now would lose them. Kept unsent, and waited for
      // again (or added again on a new connection).
      awaiting_replicas_.insert(added.begin(), added.end());
      added_on_ = redis_.connects();
      short_of_replicas_ = true;
      Metrics::Global().Add(
          absl::StrCat("wuye_bus_replica_waits_total{stream=\"", options_.stream, "\"}"));
      return absl::UnavailableError(absl::StrCat("redis: events on ", replies->back().integer,
                                                 " replicas of ", options_.min_replicas));
    }
    // Confirmed: this pass's rows and every one waiting on this connection.
    std::vector<int64_t> relayed(awaiting_replicas_.begin(), awaiting_replicas_.end());
    relayed.insert(relayed.end(), added.begin(), added.end());
    std::sort(relayed.begin(), relayed.end());
    awaiting_replicas_.clear();
    std::vector<std::string> ids;
    ids.reserve(relayed.size());
    for (int64_t id : relayed) ids.push_back(absl::StrCat(id));
    tx.exec_prepared("wuye_relay_sent", PgArray(ids));
    floor_.Relayed(relayed, Monotonic());
    Metrics::Global().Add(absl::StrCat("wuye_bus_relayed_total{stream=\"", options_.stream, "\"}"),
                          static_cast<int64_t>(relayed.size()));
    return static_cast<int>(relayed.size());
  } catch (const std::exception& e) {
    absl::Status st = Db::FromException(e);
    if (!conn_->is_open()) conn_.reset();
    return st;
  }
}

absl::Status OutboxRelay::TrimOnce(absl::Time now) {
  if (absl::Status st = EnsureDatabase(); !st.ok()) return st;
  // Outbox figures, and old sent rows.
  try {
    pqxx::work tx(*conn_);
    auto row = tx.exec1(
        "SELECT count(*), COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 "
        "FROM wuye_outbox WHERE sent_at IS NULL");
    Metrics::Global().Set("wuye_outbox_backlog", row[0].as<double>());
    Metrics::Global().Set("wuye_outbox_oldest_seconds", row[1].as<double>());
    if (leader_) {
      tx.exec_params(
          "DELETE FROM wuye_outbox WHERE sent_at IS NOT NULL AND sent_at < now() - "
          "make_interval(secs => $1)",
          absl::ToDoubleSeconds(options_.keep_sent));
      tx.exec_params(
          "DELETE FROM wuye_idempotency WHERE created_at < now() - make_interval(secs => $1)",
          absl::ToDoubleSeconds(options_.keep_keys));
      tx.exec_params("DELETE FROM wuye_inbox WHERE applied_at < now() - make_interval(secs => $1)",
                     absl::ToDoubleSeconds(options_.keep_keys));
    }
    tx.commit();
  } catch (const std::exception& e) {
    return Db::FromException(e);
  }
  if (!leader_) return absl::OkStatus();
  // The dead letters of the stream: by age alone, and how many are left.
  const std::string dead = DeadLetterStream(options_.stream);
  auto dead_trim =
      redis_.Pipeline({{"XTRIM", dead, "MINID",
                        FormatStreamId({static_cast<uint64_t>(std::max<int64_t>(
                                            0, absl::ToUnixMillis(now - options_.dead_retention))),
                                        0})},
                       {"XLEN", dead}});
  if (!dead_trim.ok()) return dead_trim.status();
  if ((*dead_trim)[0].integer > 0) {
    LogInfo("relay.dead_letters_trimmed")
        .Str("stream", dead)
        .Int("entries", (*dead_trim)[0].integer);
  }
  Metrics::Global().Set(absl::StrCat("wuye_bus_dead_letters{stream=\"", options_.stream, "\"}"),
                        static_cast<double>((*dead_trim)[1].integer));
  // The stream: below every group's oldest unacknowledged entry, and past retention.
  auto groups = redis_.Command({"XINFO", "GROUPS", options_.stream});
  if (!groups.ok()) return groups.status();
  if (groups->is_error()) return absl::OkStatus();  // no stream yet
  StreamId floor{
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now - options_.retention))), 0};
  for (const auto& group : groups->elements) {
    const RedisReply* name = FieldOf(group, "name");
    const RedisReply* pending = FieldOf(group, "pending");
    const RedisReply* last = FieldOf(group, "last-delivered-id");
    if (name == nullptr || pending == nullptr || last == nullptr) continue;
    Metrics::Global().Set(absl::StrCat("wuye_bus_pending{stream=\"", options_.stream, "\",group=\"",
                                       name->str, "\"}"),
                          static_cast<double>(pending->integer));
    StreamId bound = ParseStreamId(last->str);
    if (pending->integer > 0) {
      auto summary = redis_.Command({"XPENDING", options_.stream, name->str});
      if (!summary.ok()) return summary.status();
      if (summary->elements.size() < 2 || summary->elements[1].is_nil()) continue;
      bound = ParseStreamId(summary->elements[1].str);
    }
    floor = std::min(floor, bound);
  }
  if (floor == StreamId{0, 0}) return absl::OkStatus();
  auto trimmed = redis_.Command({"XTRIM", options_.stream, "MINID", FormatStreamId(floor)});
  if (!trimmed.ok()) return trimmed.status();
  if (trimmed->integer > 0) {
    LogInfo("relay.trimmed").Str("stream", options_.stream).Int("entries", trimmed->integer);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OutboxRelay::SessionSetting(const std::string& setting) {
  if (absl::Status st = EnsureDatabase(); !st.ok()) return st;
  try {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_params1("SELECT current_setting($1)", setting)[0].as<std::string>();
  } catch (const std::exception& e) {
    return Db::FromException(e);
  }
}

void OutboxRelay::Run() {
  int failures = 0, replica_waits = 0;
  absl::Time next_trim = absl::Now();
  // After a check that found events, the next one comes soon (more are likely on their
  // way); each empty check doubles the wait, up to options_.poll when idle.
  absl::Duration wait = options_.poll;
  while (!stop_.HasBeenNotified()) {
    // First, so that the figures keep moving while Redis is down.
    if (absl::Now() >= next_trim) {
      if (absl::Status st = TrimOnce(absl::Now()); !st.ok()) {
        LogWarn("relay.trim_failed").Str("error", st.message());
      }
      next_trim = absl::Now() + options_.trim_every;
    }
    absl::StatusOr<int> sent = RelayOnce();
    if (!sent.ok() && short_of_replicas_) {
      // Redis answers, but too few replicas have confirmed the entries: WAIT itself waited
      // replica_wait, so the next pass comes at once, not after a backoff (the rows are
      // marked sent the moment a replica is back).
      if (failures > 0) LogInfo("relay.recovered").Int("after_failures", failures);
      failures = 0;
      if (replica_waits++ == 0) {
        LogWarn("relay.waiting_for_replicas").Str("error", sent.status().message());
      }
      stop_.WaitForNotificationWithTimeout(options_.busy_poll);
      continue;
    }
    if (!sent.ok()) {
      if (failures++ == 0) LogWarn("relay.failing").Str("error", sent.status().message());
      Metrics::Global().Add("wuye_bus_relay_errors_total");
      stop_.WaitForNotificationWithTimeout(Backoff(failures, options_.max_backoff));
      continue;
    }
    if (failures > 0) LogInfo("relay.recovered").Int("after_failures", failures);
    failures = 0;
    if (replica_waits > 0 && *sent > 0) {
      LogInfo("relay.replicas_confirm").Int("after_waits", replica_waits);
      replica_waits = 0;
    }
    if (*sent >= options_.batch) continue;  // more waiting
    if (!leader_) {
      stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
      continue;
    }
    wait =
        *sent > 0 ? std::min(options_.busy_poll, options_.poll) : std::min(wait * 2, options_.poll);
    stop_.WaitForNotificationWithTimeout(wait);
  }
}

// ---- Consumer -------------------------------------------------------------------------

namespace {

// An envelope a consumer can work with: an event id the inbox takes (a UUID), and no NUL
// in the strings that go into PostgreSQL's text columns.
bool Readable(const wuye::events::v1::Event& event) {
  return IsValidId(event.event_id()) && !absl::StrContains(event.type(), '\0') &&
         !absl::StrContains(event.group_id(), '\0') && !absl::StrContains(event.subject(), '\0');
}

// `text` cut to at most `max` bytes at a UTF-8 character boundary, NULs dropped: it goes
// into a text column.
std::string ForColumn(absl::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    if (c != '\0') out.push_back(c);
  }
  if (text.size() > max) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
  }
  return out;
}

std::string SubjectKey(const wuye::events::v1::Event& event) {
  if (event.subject().empty()) return "";
  return absl::StrCat(event.group_id(), "/", event.subject());
}

// The entry id as the two bigints of wuye_bus_deliveries.
std::pair<int64_t, int64_t> IdColumns(const std::string& id) {
  StreamId sid = ParseStreamId(id);
  return {static_cast<int64_t>(sid.first), static_cast<int64_t>(sid.second)};
}

}  // namespace

EventConsumer::EventConsumer(Db& db, const RedisOptions& redis, ConsumerOptions options,
                             EventHandler handler)
    : db_(db),
      reader_(redis),
      commands_(redis),
      options_(std::move(options)),
      handler_(std::move(handler)) {
  if (options_.consumer.empty()) options_.consumer = DefaultConsumerName();
  for (const auto& stream : options_.streams) {
    if (!options_.producers.count(stream)) options_.producers[stream] = ProducerOfStream(stream);
  }
  reader_.SetCommandTimeout(options_.block + absl::Seconds(2));
  // WAIT holds its reply up to replica_wait.
  if (options_.min_replicas > 0) {
    commands_.SetCommandTimeout(redis.command_timeout + options_.replica_wait);
  }
  db_.Prepare("wuye_inbox_insert",
              "INSERT INTO wuye_inbox (event_id, stream, type) VALUES ($1::uuid, $2, $3) "
              "ON CONFLICT DO NOTHING RETURNING 1");
  db_.Prepare("wuye_inbox_insert_many",
              "INSERT INTO wuye_inbox (event_id, stream, type) "
              "SELECT id, $2, type FROM unnest($1::uuid[], $3::text[]) AS t(id, type) "
              "ON CONFLICT DO NOTHING RETURNING event_id");
  // The earliest unapplied entry of the same subject before this one, if any.
  db_.Prepare("wuye_bus_holder",
              "SELECT entry_ms, entry_seq FROM wuye_bus_deliveries "
              "WHERE consumer_group = $1 AND stream = $2 AND subject_key = $3 "
              "AND (entry_ms, entry_seq) < ($4::bigint, $5::bigint) "
              "ORDER BY entry_ms, entry_seq LIMIT 1");
  // Subjects of a batch of new entries with an unapplied entry (always an earlier one), or
  // held behind a dead letter.
  db_.Prepare("wuye_bus_held_subjects",
              "SELECT 1 FROM wuye_bus_deliveries WHERE consumer_group = $1 AND stream = $2 "
              "AND subject_key = ANY($3::text[]) UNION ALL "
              "SELECT 1 FROM wuye_bus_holds WHERE consumer_group = $1 AND stream = $2 "
              "AND subject_key = ANY($3::text[]) LIMIT 1");
  // The dead letter the subject is held behind, if any.
  db_.Prepare("wuye_bus_hold",
              "SELECT dead_letter_id, entry_ms, entry_seq FROM wuye_bus_holds "
              "WHERE consumer_group = $1 AND stream = $2 AND subject_key = $3");
  db_.Prepare("wuye_bus_hold_set",
              "INSERT INTO wuye_bus_holds AS h (consumer_group, stream, subject_key, "
              "dead_letter_id, entry_ms, entry_seq) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (consumer_group, stream, subject_key) DO UPDATE SET "
              "dead_letter_id = EXCLUDED.dead_letter_id, entry_ms = EXCLUDED.entry_ms, "
              "entry_seq = EXCLUDED.entry_seq, held = 0, created_at = now()");
  db_.Prepare("wuye_bus_hold_count",
              "UPDATE wuye_bus_holds SET held = held + 1 WHERE consumer_group = $1 "
              "AND stream = $2 AND subject_key = $3 AND dead_letter_id = $4");
  db_.Prepare("wuye_bus_hold_release",
              "DELETE FROM wuye_bus_holds WHERE consumer_group = $1 AND stream = $2 "
              "AND subject_key = $3 AND dead_letter_id = $4");
  db_.Prepare("wuye_bus_done",
              "DELETE FROM wuye_bus_deliveries WHERE consumer_group = $1 AND stream = $2 "
              "AND entry_ms = $3 AND entry_seq = $4");
  // $6 refusal, $7 wait, $8 attempt: one of them 1. An answer (refusal or wait) ends the
  // run of unfinished attempts; a refusal ends the wait.
  db_.Prepare("wuye_bus_note",
              "INSERT INTO wuye_bus_deliveries AS d (consumer_group, stream, entry_ms, entry_seq, "
              "subject_key, refusals, waits, waiting_since, unfinished, last_error) "
              "VALUES ($1, $2, $3, $4, $5, $6::int, $7::int, CASE WHEN $7::int > 0 THEN now() END, "
              "$8::int, $9) "
              "ON CONFLICT (consumer_group, stream, entry_ms, entry_seq) DO UPDATE SET "
              "refusals = d.refusals + EXCLUDED.refusals, waits = d.waits + EXCLUDED.waits, "
              "waiting_since = CASE WHEN EXCLUDED.waits > 0 THEN COALESCE(d.waiting_since, now()) "
              "WHEN EXCLUDED.refusals > 0 THEN NULL ELSE d.waiting_since END, "
              "unfinished = CASE WHEN EXCLUDED.unfinished > 0 THEN d.unfinished + 1 ELSE 0 END, "
              "last_error = CASE WHEN EXCLUDED.last_error <> '' THEN EXCLUDED.last_error "
              "ELSE d.last_error END, updated_at = now() "
              "RETURNING refusals, unfinished, "
              "COALESCE(extract(epoch FROM now() - waiting_since), 0)::float8");
}

const std::string& EventConsumer::ProducerOf(const std::string& stream) {
  auto it = options_.producers.find(stream);
  if (it == options_.producers.end()) {
    it = options_.producers.emplace(stream, ProducerOfStream(stream)).first;
  }
  return it->second;
}

bool EventConsumer::ClaimInbox(pqxx::work& tx, const Entry& entry,
                               const wuye::events::v1::Event& event) {
  return !tx.exec_prepared("wuye_inbox_insert", event.event_id(), entry.stream, event.type())
              .empty();
}

void EventConsumer::CountApplied(const Entry& entry, const wuye::events::v1::Event& event,
                                 bool applied) {
  if (applied) {
    Metrics::Global().Add(absl::StrCat("wuye_bus_applied_total{stream=\"", entry.stream,
                                       "\",group=\"", options_.group, "\"}"));
    Metrics::Global().Observe("wuye_bus_delivery_seconds", "stream", entry.stream,
                              absl::Now() - FromProtoTime(event.occurred_at()));
    // One line per applied event, so a request can be followed across services by its
    // trace id. Ids and types only: never the payload.
    LogInfo("bus.applied")
        .Str("stream", entry.stream)
        .Str("type", event.type())
        .Str("event_id", event.event_id())
        .Str("subject", event.subject())
        .Str("trace_id", event.trace_id());
    if (!entry.replay_of.empty()) {
      Metrics::Global().Add(absl::StrCat("wuye_bus_replayed_total{stream=\"", entry.stream,
                                         "\",group=\"", options_.group, "\"}"));
      LogInfo("bus.replayed")
          .Str("stream", entry.stream)
          .Str("event_id", event.event_id())
          .Str("dead_letter", entry.replay_of);
    }
  } else {
    Metrics::Global().Add(absl::StrCat("wuye_bus_duplicates_total{stream=\"", entry.stream,
                                       "\",group=\"", options_.group, "\"}"));
  }
}

absl::Status EventConsumer::HandleBatch(const std::vector<Entry>& entries) {
  if (!entries.empty()) {
    std::vector<wuye::events::v1::Event> events(entries.size());
    bool all_plain = true;
    const std::string& producer = ProducerOf(entries[0].stream);
    for (size_t i = 0; i < entries.size() && all_plain; ++i) {
      all_plain = entries[i].replay_of.empty() && events[i].ParseFromString(entries[i].envelope) &&
                  Readable(events[i]) && ForgeryOf(events[i], producer).empty();
    }
    if (all_plain) {
      std::vector<bool> applied(entries.size());
      std::vector<std::string> ids, types, subjects;
      for (const auto& e : events) {
        ids.push_back(e.event_id());
        types.push_back(e.type());
        if (std::string key = SubjectKey(e); !key.empty()) subjects.push_back(std::move(key));
      }
      bool answered = false;  // a handler's own error, not the database's
      absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
        answered = false;
        // An earlier entry of one of these subjects is not applied yet: one at a time, so
        // that those wait behind it.
        if (!subjects.empty() && !tx.exec_prepared("wuye_bus_held_subjects", options_.group,
                                                   entries[0].stream, PgArray(subjects))
                                      .empty()) {
          answered = true;
          return absl::FailedPreconditionError("held");
        }
        // One statement claims the whole batch in the inbox; what comes back is new.
        std::set<std::string> fresh;
        for (const auto& row : tx.exec_prepared("wuye_inbox_insert_many", PgArray(ids),
                                                entries[0].stream, PgArray(types))) {
          fresh.insert(row[0].as<std::string>());
        }
        for (size_t i = 0; i < entries.size(); ++i) {
          // erase: the same event twice in one batch is applied once
          applied[i] = fresh.erase(events[i].event_id()) > 0;
          if (!applied[i]) continue;
          if (absl::Status answer = handler_(tx, events[i]); !answer.ok()) {
            answered = true;
            return answer;
          }
        }
        return absl::OkStatus();
      });
      if (!st.ok() && !answered && st.code() == absl::StatusCode::kUnavailable) {
        db_down_ = true;
        return st;
      }
      if (st.ok()) {
        std::vector<std::string> ack = {"XACK", entries[0].stream, options_.group};
        for (const auto& e : entries) ack.push_back(e.id);
        auto reply = commands_.Command(ack);
        if (!reply.ok()) return reply.status();  // applied; redelivery will be a no-op
        for (size_t i = 0; i < entries.size(); ++i) CountApplied(entries[i], events[i], applied[i]);
        return absl::OkStatus();
      }
      // A handler refused or waits, or a subject is held: one at a time, in order.
    }
  }
  for (const auto& entry : entries) WUYE_RETURN_IF_ERROR(Handle(entry));
  return absl::OkStatus();
}

EventConsumer::~EventConsumer() { Stop(); }

void EventConsumer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventConsumer::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status EventConsumer::EnsureGroups() {
  if (groups_ready_) return absl::OkStatus();
  for (const auto& stream : options_.streams) {
    // From the start of the stream: a new consuming service sees what is still kept.
    auto reply = commands_.Command({"XGROUP", "CREATE", stream, options_.group, "0", "MKSTREAM"});
    if (!reply.ok()) return reply.status();
    if (reply->is_error() && reply->str.rfind("BUSYGROUP", 0) != 0) {
      return absl::InternalError(absl::StrCat("redis: XGROUP CREATE ", stream, " failed"));
    }
  }
  groups_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int> EventConsumer::ClaimStale(const std::string& stream) {
  auto claimed = commands_.Command({"XAUTOCLAIM", stream, options_.group, options_.consumer,
                                    absl::StrCat(absl::ToInt64Milliseconds(options_.claim_idle)),
                                    "0-0", "COUNT", absl::StrCat(options_.batch)});
  if (!claimed.ok()) return claimed.status();
  if (claimed->is_error() || claimed->elements.size() < 2) {
    groups_ready_ = false;  // the stream or group went away (e.g. Redis lost its data)
    return 0;
  }
  const auto& entries = claimed->elements[1].elements;
  if (entries.empty()) return 0;
  // Taken over from a consumer that died or stalled (another replica, or this process's
  // predecessor), or this consumer's own entry whose handler failed: counted per stream.
  Metrics::Global().Add(absl::StrCat("wuye_bus_claimed_total{stream=\"", stream, "\",group=\"",
                                     options_.group, "\"}"),
                        static_cast<int64_t>(entries.size()));
  LogInfo("bus.claimed")
      .Str("stream", stream)
      .Str("group", options_.group)
      .Int("entries", static_cast<int64_t>(entries.size()));
  // How often each was delivered (for the dead-letter entry only): XPENDING of this consumer.
  auto pending = commands_.Command({"XPENDING", stream, options_.group, "-", "+",
                                    absl::StrCat(options_.batch * 4), options_.consumer});
  if (!pending.ok()) return pending.status();
  std::map<std::string, int64_t> deliveries;
  for (const auto& p : pending->elements) {
    if (p.elements.size() >= 4) deliveries[p.elements[0].str] = p.elements[3].integer;
  }
  int handled = 0;
  for (const auto& e : entries) {
    if (e.elements.size() < 2 || e.elements[1].is_nil()) continue;
    Entry entry{stream, e.elements[0].str, "",
                deliveries.count(e.elements[0].str) ? deliveries[e.elements[0].str] : 2, true};
    if (const RedisReply* env = FieldOf(e.elements[1], "env")) entry.envelope = env->str;
    if (const RedisReply* of = FieldOf(e.elements[1], "replay_of")) entry.replay_of = of->str;
    if (const RedisReply* a = FieldOf(e.elements[1], "after")) entry.after = a->str;
    if (absl::Status st = Handle(entry); !st.ok()) return st;
    ++handled;
  }
  return handled;
}

absl::StatusOr<EventConsumer::Count> EventConsumer::Record(const Entry& entry,
                                                           const std::string& subject_key,
                                                           Note note, absl::string_view error) {
  const int64_t ms = IdColumns(entry.id).first, seq = IdColumns(entry.id).second;
  Count count;
  absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
    auto row =
        tx.exec_prepared1("wuye_bus_note", options_.group, entry.stream, ms, seq, subject_key,
                          note == Note::kRefusal ? 1 : 0, note == Note::kWait ? 1 : 0,
                          note == Note::kAttempt ? 1 : 0, ForColumn(error, 500));
    count.refusals = row[0].as<int>();
    count.unfinished = row[1].as<int>();
    count.waited = absl::Seconds(row[2].as<double>());
    return absl::OkStatus();
  });
  if (!st.ok()) {
    if (st.code() == absl::StatusCode::kUnavailable) db_down_ = true;
    return st;
  }
  return count;
}

absl::StatusOr<bool> EventConsumer::StillPending(const std::string& stream, const std::string& id) {
  auto reply = commands_.Command({"XPENDING", stream, options_.group, id, id, "1"});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return true;  // no group (yet): decide nothing
  return !reply->elements.empty();
}

absl::Status EventConsumer::DeadLetter(const Entry& entry, std::string reason, int refusals,
                                       bool hold, const std::string& held_behind) {
  wuye::events::v1::Event event;
  event.ParseFromString(entry.envelope);
  std::vector<std::string> add = {"XADD",
                                  DeadLetterStream(entry.stream),
                                  "*",
                                  "stream",
                                  entry.stream,
                                  "id",
                                  entry.id,
                                  "group",
                                  options_.group,
                                  "event_id",
                                  event.event_id(),
                                  "type",
                                  event.type(),
                                  "reason",
                                  reason,
                                  "refusals",
                                  absl::StrCat(refusals),
                                  "deliveries",
                                  absl::StrCat(entry.deliveries),
                                  "env",
                                  entry.envelope};
  if (!held_behind.empty()) {
    add.push_back("held_behind");
    add.push_back(held_behind);
  }
  const std::string key = SubjectKey(event);
  hold = hold && held_behind.empty() && !key.empty();
  // Added before and waiting for a replica: wait again rather than add a copy. (A copy is
  // still possible after a failover or on another replica; a replay absorbs it.)
  const std::string entry_key = absl::StrCat(entry.stream, "/", entry.id);
  std::string dead_id;
  if (auto it = unconfirmed_dead_.find(entry_key); it != unconfirmed_dead_.end()) {
    dead_id = it->second;
  } else {
    auto added = commands_.Command(add);
    if (!added.ok()) return added.status();
    if (added->is_error()) return absl::UnavailableError("redis: dead-letter XADD refused");
    dead_id = added->str;
  }
  if (options_.min_replicas > 0) {
    auto copies = commands_.Command({"WAIT", absl::StrCat(options_.min_replicas),
                                     absl::StrCat(absl::ToInt64Milliseconds(options_.replica_wait))});
    if (!copies.ok()) return copies.status();
    if (copies->is_error() || copies->integer < options_.min_replicas) {
      if (unconfirmed_dead_.size() >= 10000) unconfirmed_dead_.clear();  // bounded
      unconfirmed_dead_[entry_key] = dead_id;
      Metrics::Global().Add(
          absl::StrCat("wuye_bus_replica_waits_total{stream=\"", DeadLetterStream(entry.stream), "\"}"));
      return absl::UnavailableError(absl::StrCat("redis: dead letter on ",
                                                 copies->is_error() ? 0 : copies->integer,
                                                 " replicas of ", options_.min_replicas));
    }
    unconfirmed_dead_.erase(entry_key);
  }
  // Gone from the group: its row goes too, and the hold of its subject is set or counted,
  // before the entry is acknowledged. Without the hold the next entry of its subject would
  // apply, so a failure here leaves the entry pending (delivered again, dead-lettered again:
  // a duplicate that a replay absorbs).
  const int64_t ms = IdColumns(entry.id).first, seq = IdColumns(entry.id).second;
  absl::Status done = db_.Transact([&](pqxx::work& tx) {
    tx.exec_prepared("wuye_bus_done", options_.group, entry.stream, ms, seq);
    if (hold) {
      tx.exec_prepared("wuye_bus_hold_set", options_.group, entry.stream, key, dead_id, ms, seq);
    } else if (!held_behind.empty()) {
      tx.exec_prepared("wuye_bus_hold_count", options_.group, entry.stream, key, held_behind);
    }
    return absl::OkStatus();
  });
  if (!done.ok()) {
    if (hold || !held_behind.empty()) {
      if (done.code() == absl::StatusCode::kUnavailable) db_down_ = true;
      return done;
    }
    LogWarn("bus.dead_letter_row").Str("error", done.message());  // the next round removes it
  }
  auto ack = commands_.Command({"XACK", entry.stream, options_.group, entry.id});
  if (!ack.ok()) return ack.status();
  if (!held_behind.empty()) {
    Metrics::Global().Add(absl::StrCat("wuye_bus_held_total{stream=\"", entry.stream, "\",group=\"",
                                       options_.group, "\"}"));
    LogWarn("bus.held")
        .Str("stream", entry.stream)
        .Str("entry", entry.id)
        .Str("event_id", event.event_id())
        .Str("type", event.type())
        .Str("trace_id", event.trace_id())
        .Str("dead_letter", held_behind)
        .Str("parked_as", dead_id);
    return absl::OkStatus();
  }
  Metrics::Global().Add(absl::StrCat("wuye_bus_dead_letters_total{stream=\"", entry.stream,
                                     "\",group=\"", options_.group, "\"}"));
  LogWarn("bus.dead_letter")
      .Str("dead_letter", dead_id)
      .Str("stream", entry.stream)
      .Str("entry", entry.id)
      .Str("event_id", event.event_id())
      .Str("type", event.type())
      .Int("refusals", refusals)
      .Int("deliveries", entry.deliveries)
      .Str("trace_id", event.trace_id())
      .Str("reason", reason);
  return absl::OkStatus();
}

absl::Status EventConsumer::Handle(const Entry& entry) {
  wuye::events::v1::Event event;
  if (entry.envelope.empty() || !event.ParseFromString(entry.envelope) || !Readable(event)) {
    return DeadLetter(entry, "malformed envelope");
  }
  if (std::string forged = ForgeryOf(event, ProducerOf(entry.stream)); !forged.empty()) {
    Metrics::Global().Add(absl::StrCat("wuye_bus_forged_total{stream=\"", entry.stream,
                                       "\",group=\"", options_.group, "\"}"));
    return DeadLetter(entry, std::move(forged));
  }
  const std::string key = SubjectKey(event);
  if (entry.claimed) {
    // Counted before the handler runs, and reset by its answer: attempts that never answer
    // are a consumer dying in the handler, again and again.
    WUYE_ASSIGN_OR_RETURN(Count count, Record(entry, key, Note::kAttempt, ""));
    if (count.unfinished > options_.max_deliveries) {
      return DeadLetter(entry, absl::StrCat("no answer after ", count.unfinished, " attempts"),
                        count.refusals, /*hold=*/true);
    }
  }
  const int64_t ms = IdColumns(entry.id).first, seq = IdColumns(entry.id).second;
  for (int round = 0;; ++round) {
    bool applied = false, answered = false;
    std::string holder, park_behind, replay_behind;
    absl::Status answer;
    absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
      answered = false;
      holder.clear();
      park_behind.clear();
      replay_behind.clear();
      std::string release;  // the hold this entry's replay ends
      if (!key.empty()) {
        // Held behind a dead letter of its subject: only the dead letter's replay goes on;
        // what its replay brought back waits for it; anything later is parked.
        pqxx::result hold = tx.exec_prepared("wuye_bus_hold", options_.group, entry.stream, key);
        if (!hold.empty() &&
            std::pair{ms, seq} > std::pair{hold[0][1].as<int64_t>(), hold[0][2].as<int64_t>()}) {
          std::string dead = hold[0][0].as<std::string>();
          if (entry.replay_of == dead) {
            release = std::move(dead);
          } else if (entry.after == dead) {
            replay_behind = std::move(dead);
            return absl::OkStatus();
          } else {
            park_behind = std::move(dead);
            return absl::OkStatus();
          }
        }
        pqxx::result held =
            tx.exec_prepared("wuye_bus_holder", options_.group, entry.stream, key, ms, seq);
        if (!held.empty()) {
          holder = absl::StrCat(held[0][0].as<int64_t>(), "-", held[0][1].as<int64_t>());
          return absl::OkStatus();
        }
      }
      applied = ClaimInbox(tx, entry, event);
      if (applied) {
        answer = handler_(tx, event);
        if (!answer.ok()) {
          answered = true;
          return answer;
        }
      }
      tx.exec_prepared("wuye_bus_done", options_.group, entry.stream, ms, seq);
      if (!release.empty()) {
        tx.exec_prepared("wuye_bus_hold_release", options_.group, entry.stream, key, release);
      }
      return absl::OkStatus();
    });
    if (!st.ok() && !answered) {
      if (st.code() == absl::StatusCode::kUnavailable) {
        db_down_ = true;
        return st;  // the database, not the handler: nothing counts
      }
      answer = st;  // an error of the handler's statements (the database answered)
      if (st.code() == absl::StatusCode::kDeadlineExceeded ||
          st.code() == absl::StatusCode::kAborted) {
        // A statement timed out, or lost to concurrent updates again and again: a busy
        // database rather than a bad event. It waits (bounded by max_wait), uncounted.
        answer = absl::UnavailableError(st.message());
      }
    }
    if (st.ok() && !park_behind.empty()) {
      return DeadLetter(entry, absl::StrCat("held behind ", park_behind), 0, false, park_behind);
    }
    if (st.ok() && !replay_behind.empty()) {
      // Replayed after the dead letter it was held behind, whose replay has not been applied
      // yet (a peer has it): it waits for it, as behind any entry of its subject.
      answer =
          absl::UnavailableError(absl::StrCat("behind the replay of dead letter ", replay_behind));
    } else if (st.ok() && !holder.empty()) {
      // An earlier entry of the subject is not applied yet: this one waits behind it, unless
      // that row is stale (its entry is no longer pending: applied by a peer, dead-lettered,
      // or lost with Redis's data).
      WUYE_ASSIGN_OR_RETURN(bool pending, StillPending(entry.stream, holder));
      if (!pending && round < 3) {
        const int64_t hms = IdColumns(holder).first, hseq = IdColumns(holder).second;
        WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) {
          tx.exec_prepared("wuye_bus_done", options_.group, entry.stream, hms, hseq);
          return absl::OkStatus();
        }));
        continue;
      }
      answer = absl::UnavailableError(absl::StrCat("behind entry ", holder, " of its subject"));
    } else if (st.ok()) {
      auto ack = commands_.Command({"XACK", entry.stream, options_.group, entry.id});
      if (!ack.ok()) return ack.status();  // applied; the redelivery will be a no-op
      CountApplied(entry, event, applied);
      return absl::OkStatus();
    }
    // Left pending: it comes back after claim_idle.
    const bool wait = answer.code() == absl::StatusCode::kUnavailable;
    WUYE_ASSIGN_OR_RETURN(
        Count count, Record(entry, key, wait ? Note::kWait : Note::kRefusal, answer.message()));
    Metrics::Global().Add(
        absl::StrCat(wait ? "wuye_bus_waits_total" : "wuye_bus_handler_errors_total", "{stream=\"",
                     entry.stream, "\",group=\"", options_.group, "\"}"));
    (wait ? LogInfo("bus.waiting") : LogWarn("bus.handler_failed"))
        .Str("stream", entry.stream)
        .Str("entry", entry.id)
        .Str("event_id", event.event_id())
        .Str("type", event.type())
        .Str("code", absl::StatusCodeToString(answer.code()))
        .Int("refusals", count.refusals)
        .Str("trace_id", event.trace_id())
        .Str("error", answer.message());
    if (!wait && count.refusals >= options_.max_deliveries) {
      return DeadLetter(entry, std::string(answer.message()), count.refusals, /*hold=*/true);
    }
    if (wait && count.waited > options_.max_wait) {
      return DeadLetter(
          entry,
          absl::StrCat("waited ", absl::FormatDuration(absl::Trunc(count.waited, absl::Seconds(1))),
                       ": ", answer.message()),
          count.refusals, /*hold=*/true);
    }
    return absl::OkStatus();
  }
}

void EventConsumer::Housekeep(const std::string& stream) {
  // Rows not touched for a while whose entries are no longer pending (a dead letter whose
  // row could not be deleted, or Redis lost its data): gone.
  std::vector<std::string> stale;
  absl::Status st = db_.Transact([&](pqxx::work& tx) {
    stale.clear();
    for (const auto& row : tx.exec_params(
             "SELECT entry_ms, entry_seq FROM wuye_bus_deliveries WHERE consumer_group = $1 "
             "AND stream = $2 AND updated_at < now() - make_interval(secs => $3) LIMIT 100",
             options_.group, stream, 2 * absl::ToDoubleSeconds(options_.claim_idle))) {
      stale.push_back(absl::StrCat(row[0].as<int64_t>(), "-", row[1].as<int64_t>()));
    }
    return absl::OkStatus();
  });
  for (const auto& id : stale) {
    auto pending = StillPending(stream, id);
    if (!pending.ok() || *pending) continue;
    const int64_t ms = IdColumns(id).first, seq = IdColumns(id).second;
    (void)db_.Transact([&](pqxx::work& tx) {
      tx.exec_prepared("wuye_bus_done", options_.group, stream, ms, seq);
      return absl::OkStatus();
    });
  }
  int64_t waiting = 0;
  st = db_.Transact([&](pqxx::work& tx) {
    waiting = tx.exec_params1(
                    "SELECT count(*) FROM wuye_bus_deliveries WHERE consumer_group = $1 "
                    "AND stream = $2 AND waiting_since IS NOT NULL",
                    options_.group, stream)[0]
                  .as<int64_t>();
    return absl::OkStatus();
  });
  if (st.ok()) {
    Metrics::Global().Set(
        absl::StrCat("wuye_bus_waiting{stream=\"", stream, "\",group=\"", options_.group, "\"}"),
        static_cast<double>(waiting));
  }
}

absl::StatusOr<int> EventConsumer::PollOnce() {
  if (db_down_) {
    // Paused while the database is unreachable: no claim and no read, so nothing is
    // delivered (and nothing counted) that could not be applied.
    if (absl::Status st = db_.Ping(); !st.ok()) {
      return absl::UnavailableError("database unreachable: consumer paused");
    }
    db_down_ = false;
    reread_own_ = true;
    LogInfo("bus.database_back").Str("group", options_.group);
  }
  if (absl::Status st = EnsureGroups(); !st.ok()) return st;
  int handled = 0;
  absl::Time now = absl::Now();
  bool pinged = false;
  for (const auto& stream : options_.streams) {
    absl::Time& last = last_claim_[stream];
    if (now - last < std::max(options_.claim_idle / 2, absl::Milliseconds(50))) continue;
    if (!pinged) {
      // Before taking anything over: is the database there to apply it?
      if (absl::Status st = db_.Ping(); !st.ok()) {
        db_down_ = true;
        return absl::UnavailableError("database unreachable: consumer paused");
      }
      pinged = true;
    }
    last = now;
    auto claimed = ClaimStale(stream);
    if (!claimed.ok()) return claimed.status();
    handled += *claimed;
    Housekeep(stream);
  }
  if (!reader_.connected() && reader_.connects() > 0) {
    // The reader lost its connection (Redis restarted, or failed over to a replica that had
    // the deliveries of the old primary): entries given to this consumer whose reply never
    // came are pending under its name. They go first, as after a database failure, rather
    // than after claim_idle.
    reread_own_ = true;
  }
  if (reread_own_) {
    // What this consumer read when the database or its reader failed is pending here, with
    // no row. It goes first, before anything newer of its subjects is read.
    for (const auto& stream : options_.streams) {
      auto own = commands_.Command({"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                    "COUNT", absl::StrCat(options_.batch), "STREAMS", stream, "0"});
      if (!own.ok()) return own.status();
      if (own->is_error() && !absl::StartsWith(own->str, "NOGROUP")) {
        // READONLY: this connection was still on a demoted primary (now dropped); the next
        // round reads them from the new one.
        return absl::UnavailableError(absl::StrCat("redis: XREADGROUP refused: ", own->str));
      }
      if (own->is_error() || own->elements.empty() || own->elements[0].elements.size() < 2) {
        continue;
      }
      for (const auto& e : own->elements[0].elements[1].elements) {
        if (e.elements.size() < 2 || e.elements[1].is_nil()) continue;
        Entry entry{stream, e.elements[0].str, "", 2, true};
        if (const RedisReply* env = FieldOf(e.elements[1], "env")) entry.envelope = env->str;
        if (const RedisReply* of = FieldOf(e.elements[1], "replay_of")) entry.replay_of = of->str;
        if (const RedisReply* a = FieldOf(e.elements[1], "after")) entry.after = a->str;
        WUYE_RETURN_IF_ERROR(Handle(entry));
        ++handled;
      }
    }
    reread_own_ = false;
  }
  std::vector<std::string> args = {
      "XREADGROUP",   "GROUP",
      options_.group, options_.consumer,
      "COUNT",        absl::StrCat(options_.batch),
      "BLOCK",        absl::StrCat(absl::ToInt64Milliseconds(options_.block)),
      "STREAMS"};
  for (const auto& s : options_.streams) args.push_back(s);
  for (size_t i = 0; i < options_.streams.size(); ++i) args.push_back(">");
  auto reply = reader_.Command(args);
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    groups_ready_ = false;  // NOGROUP after Redis lost its data: create the groups again
    return absl::UnavailableError("redis: XREADGROUP refused");
  }
  for (const auto& stream : reply->elements) {
    if (stream.elements.size() < 2) continue;
    std::vector<Entry> entries;
    for (const auto& e : stream.elements[1].elements) {
      if (e.elements.size() < 2) continue;
      Entry entry{stream.elements[0].str, e.elements[0].str, "", 1};
      if (const RedisReply* env = FieldOf(e.elements[1], "env")) entry.envelope = env->str;
      if (const RedisReply* of = FieldOf(e.elements[1], "replay_of")) entry.replay_of = of->str;
      if (const RedisReply* a = FieldOf(e.elements[1], "after")) entry.after = a->str;
      entries.push_back(std::move(entry));
    }
    WUYE_RETURN_IF_ERROR(HandleBatch(entries));
    handled += static_cast<int>(entries.size());
  }
  return handled;
}

void EventConsumer::Run() {
  int failures = 0;
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<int> handled = PollOnce();
    if (!handled.ok()) {
      if (failures++ == 0) LogWarn("bus.consumer_failing").Str("error", handled.status().message());
      stop_.WaitForNotificationWithTimeout(Backoff(failures, options_.max_backoff));
      continue;
    }
    if (failures > 0) LogInfo("bus.consumer_recovered").Int("after_failures", failures);
    failures = 0;
  }
}

}  // namespace wuye
