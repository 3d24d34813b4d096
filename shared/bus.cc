#include "shared/bus.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// ---- Relay ----------------------------------------------------------------------------

namespace {

// The relay's clock for OutboxFloor: monotonic, so that a wall clock stepped back cannot
// hold back the full checks.
absl::Time Monotonic() {
  return absl::UnixEpoch() +
         absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
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

OutboxRelay::OutboxRelay(DbOptions db, RedisOptions redis, RelayOptions options)
    : db_options_(std::move(db)),
      redis_(std::move(redis)),
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
    // Checked hundreds of times a second under load: parsed and planned once.
    conn_->prepare("wuye_relay_unsent",
                   "SELECT id, type, envelope FROM wuye_outbox WHERE sent_at IS NULL "
                   "AND id >= $2 ORDER BY id LIMIT $1");
    conn_->prepare("wuye_relay_sent",
                   "UPDATE wuye_outbox SET sent_at = now() WHERE id = ANY($1::bigint[])");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    conn_.reset();
    return Db::FromException(e);
  }
}

absl::StatusOr<int> OutboxRelay::RelayOnce() {
  if (absl::Status st = EnsureDatabase(); !st.ok()) return st;
  try {
    if (!leader_) {
      pqxx::nontransaction tx(*conn_);
      leader_ = tx.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", options_.stream)[0]
                    .as<bool>();
      if (!leader_) return 0;
      LogInfo("relay.leader").Str("stream", options_.stream);
    }
    pqxx::work tx(*conn_);
    pqxx::result rows =
        tx.exec_prepared("wuye_relay_unsent", options_.batch, floor_.From(Monotonic()));
    if (rows.empty()) {
      if (!floor_.known()) {  // an empty outbox: the floor is past its last id
        floor_.NothingBelow(
            tx.exec1("SELECT COALESCE(max(id), 0) + 1 FROM wuye_outbox")[0].as<int64_t>());
      }
      return 0;
    }
    std::vector<std::vector<std::string>> commands;
    commands.reserve(rows.size());
    std::vector<std::string> ids;
    std::vector<int64_t> relayed;
    for (const auto& row : rows) {
      ids.push_back(row[0].as<std::string>());
      relayed.push_back(row[0].as<int64_t>());
      commands.push_back({"XADD", options_.stream, "*", "type", row[1].as<std::string>(), "env",
                          pqxx::binarystring(row[2]).str()});
    }
    auto replies = redis_.Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (const auto& reply : *replies) {
      if (reply.is_error()) return absl::UnavailableError("redis: XADD refused");
    }
    tx.exec_prepared("wuye_relay_sent", PgArray(ids));
    tx.commit();
    floor_.Relayed(relayed, Monotonic());
    Metrics::Global().Add(absl::StrCat("wuye_bus_relayed_total{stream=\"", options_.stream, "\"}"),
                          static_cast<int64_t>(rows.size()));
    return static_cast<int>(rows.size());
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

void OutboxRelay::Run() {
  int failures = 0;
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
    if (!sent.ok()) {
      if (failures++ == 0) LogWarn("relay.failing").Str("error", sent.status().message());
      Metrics::Global().Add("wuye_bus_relay_errors_total");
      stop_.WaitForNotificationWithTimeout(Backoff(failures, options_.max_backoff));
      continue;
    }
    if (failures > 0) LogInfo("relay.recovered").Int("after_failures", failures);
    failures = 0;
    if (*sent == options_.batch) continue;  // more waiting
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

EventConsumer::EventConsumer(Db& db, const RedisOptions& redis, ConsumerOptions options,
                             EventHandler handler)
    : db_(db),
      reader_(redis),
      commands_(redis),
      options_(std::move(options)),
      handler_(std::move(handler)) {
  if (options_.consumer.empty()) options_.consumer = DefaultConsumerName();
  reader_.SetCommandTimeout(options_.block + absl::Seconds(2));
  db_.Prepare("wuye_inbox_insert",
              "INSERT INTO wuye_inbox (event_id, stream, type) VALUES ($1::uuid, $2, $3) "
              "ON CONFLICT DO NOTHING RETURNING 1");
  db_.Prepare("wuye_inbox_insert_many",
              "INSERT INTO wuye_inbox (event_id, stream, type) "
              "SELECT id, $2, type FROM unnest($1::uuid[], $3::text[]) AS t(id, type) "
              "ON CONFLICT DO NOTHING RETURNING event_id");
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
  } else {
    Metrics::Global().Add(absl::StrCat("wuye_bus_duplicates_total{stream=\"", entry.stream,
                                       "\",group=\"", options_.group, "\"}"));
  }
}

absl::Status EventConsumer::HandleBatch(const std::vector<Entry>& entries) {
  if (entries.size() > 1) {
    std::vector<wuye::events::v1::Event> events(entries.size());
    bool all_plain = true;
    for (size_t i = 0; i < entries.size(); ++i) {
      all_plain = all_plain && entries[i].deliveries <= options_.max_deliveries &&
                  events[i].ParseFromString(entries[i].envelope) && !events[i].event_id().empty();
    }
    if (all_plain) {
      std::vector<bool> applied(entries.size());
      std::vector<std::string> ids, types;
      for (const auto& e : events) {
        ids.push_back(e.event_id());
        types.push_back(e.type());
      }
      absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
        // One statement claims the whole batch in the inbox; what comes back is new.
        std::set<std::string> fresh;
        for (const auto& row : tx.exec_prepared("wuye_inbox_insert_many", PgArray(ids),
                                                entries[0].stream, PgArray(types))) {
          fresh.insert(row[0].as<std::string>());
        }
        for (size_t i = 0; i < entries.size(); ++i) {
          // erase: the same event twice in one batch is applied once
          applied[i] = fresh.erase(events[i].event_id()) > 0;
          if (applied[i]) WUYE_RETURN_IF_ERROR(handler_(tx, events[i]));
        }
        return absl::OkStatus();
      });
      if (st.code() == absl::StatusCode::kUnavailable) return st;
      if (st.ok()) {
        std::vector<std::string> ack = {"XACK", entries[0].stream, options_.group};
        for (const auto& e : entries) ack.push_back(e.id);
        auto reply = commands_.Command(ack);
        if (!reply.ok()) return reply.status();  // applied; redelivery will be a no-op
        for (size_t i = 0; i < entries.size(); ++i) CountApplied(entries[i], events[i], applied[i]);
        return absl::OkStatus();
      }
      // A handler refused one of them: find it by applying them one at a time.
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
  // How often each was delivered: XPENDING of this consumer.
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
                deliveries.count(e.elements[0].str) ? deliveries[e.elements[0].str] : 2};
    if (const RedisReply* env = FieldOf(e.elements[1], "env")) entry.envelope = env->str;
    if (absl::Status st = Handle(entry); !st.ok()) return st;
    ++handled;
  }
  return handled;
}

absl::Status EventConsumer::DeadLetter(const Entry& entry, std::string reason) {
  wuye::events::v1::Event event;
  event.ParseFromString(entry.envelope);
  auto replies = commands_.Pipeline(
      {{"XADD", DeadLetterStream(entry.stream), "*", "stream", entry.stream, "id", entry.id,
        "group", options_.group, "event_id", event.event_id(), "type", event.type(), "reason",
        reason, "deliveries", absl::StrCat(entry.deliveries), "env", entry.envelope},
       {"XACK", entry.stream, options_.group, entry.id}});
  if (!replies.ok()) return replies.status();
  last_error_.erase(entry.id);
  Metrics::Global().Add(absl::StrCat("wuye_bus_dead_letters_total{stream=\"", entry.stream,
                                     "\",group=\"", options_.group, "\"}"));
  LogWarn("bus.dead_letter")
      .Str("stream", entry.stream)
      .Str("entry", entry.id)
      .Str("event_id", event.event_id())
      .Str("type", event.type())
      .Int("deliveries", entry.deliveries)
      .Str("trace_id", event.trace_id())
      .Str("reason", reason);
  return absl::OkStatus();
}

absl::Status EventConsumer::Handle(const Entry& entry) {
  wuye::events::v1::Event event;
  if (entry.envelope.empty() || !event.ParseFromString(entry.envelope) ||
      event.event_id().empty()) {
    return DeadLetter(entry, "malformed envelope");
  }
  if (entry.deliveries > options_.max_deliveries) {
    // Dead only if a handler refused it, or after many more tries: deliveries also count
    // up while the database is down or a consumer dies, and those events are not poison.
    auto it = last_error_.find(entry.id);
    if (it != last_error_.end()) return DeadLetter(entry, it->second);
    if (entry.deliveries > int64_t{4} * options_.max_deliveries) {
      return DeadLetter(entry, absl::StrCat("delivered ", entry.deliveries, " times"));
    }
  }
  bool applied = false;
  absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
    applied = ClaimInbox(tx, entry, event);
    if (!applied) return absl::OkStatus();  // applied before: a second delivery
    return handler_(tx, event);
  });
  if (!st.ok()) {
    // Left pending: delivered again after claim_idle, until max_deliveries.
    if (st.code() != absl::StatusCode::kUnavailable)
      last_error_[entry.id] = std::string(st.message());
    Metrics::Global().Add(absl::StrCat("wuye_bus_handler_errors_total{stream=\"", entry.stream,
                                       "\",group=\"", options_.group, "\"}"));
    LogWarn("bus.handler_failed")
        .Str("stream", entry.stream)
        .Str("event_id", event.event_id())
        .Str("type", event.type())
        .Str("code", absl::StatusCodeToString(st.code()))
        .Str("trace_id", event.trace_id())
        .Str("error", st.message());
    return st.code() == absl::StatusCode::kUnavailable ? st : absl::OkStatus();
  }
  auto ack = commands_.Command({"XACK", entry.stream, options_.group, entry.id});
  if (!ack.ok()) return ack.status();  // applied; the redelivery will be a no-op
  last_error_.erase(entry.id);
  CountApplied(entry, event, applied);
  return absl::OkStatus();
}

absl::StatusOr<int> EventConsumer::PollOnce() {
  if (absl::Status st = EnsureGroups(); !st.ok()) return st;
  int handled = 0;
  absl::Time now = absl::Now();
  for (const auto& stream : options_.streams) {
    absl::Time& last = last_claim_[stream];
    if (now - last < std::max(options_.claim_idle / 2, absl::Milliseconds(50))) continue;
    last = now;
    auto claimed = ClaimStale(stream);
    if (!claimed.ok()) return claimed.status();
    handled += *claimed;
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
