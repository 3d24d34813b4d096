// The event bus (docs/events.md): the outbox relay moves committed events from a service's
// wuye_outbox table to its Redis stream; consumers read other services' streams in a
// consumer group and apply each event exactly once (inbox row and effect in one
// transaction); entries a handler keeps refusing go to a dead-letter stream, from where an
// operator can replay them (ReplayDeadLetter, `wuyectl bus replay`).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "shared/db.h"
#include "shared/redis.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye {

// "wuye.<service>.events", and its dead letters "wuye.<service>.events.dead".
std::string StreamOf(absl::string_view service);
std::string DeadLetterStream(absl::string_view stream);

// A stream entry id "ms-seq" as a comparable pair; {0,0} when malformed.
std::pair<uint64_t, uint64_t> ParseStreamId(absl::string_view id);

// The service that may write `stream`: "billing" for "wuye.billing.events"; empty when the
// name is not of that form.
std::string ProducerOfStream(absl::string_view stream);

// Why `event` may not travel on a stream written by `producer` (its `producer` field is
// another service, or its type is not "<producer>.…"); empty when it may, or when
// `producer` is empty (no rule for that stream).
std::string ForgeryOf(const wuye::events::v1::Event& event, absl::string_view producer);

// One entry of a dead-letter stream: its id there and its fields (stream, id, group,
// event_id, type, reason, refusals, deliveries, env; and held_behind on an entry parked
// behind an earlier dead letter of its subject).
struct DeadLetterEntry {
  std::string id;
  std::map<std::string, std::string> fields;
};
// Up to `count` entries of `dead_stream` from `from` ("-" for the oldest) on.
absl::StatusOr<std::vector<DeadLetterEntry>> ListDeadLetters(RedisConnection& redis,
                                                             const std::string& dead_stream,
                                                             const std::string& from = "-",
                                                             int count = 100);
// Moves the entry `id` of `dead_stream` back onto the stream it came from, in one step (a
// Lua script: XADD there with a `replay_of` field, XDEL here). Every group on the stream
// receives it again; those that applied it before skip it (their inbox), the one that gave
// up applies it. The entries held behind it (field held_behind = `id`: later events of its
// subject, which its group parked instead of applying) follow it in the same step, in their
// order, each with an `after` field naming `id`; `*held` (when given) is how many. Returns
// the new entry's id. NOT_FOUND when there is no such entry, FAILED_PRECONDITION when it has
// no envelope, was forged, or is held behind a dead letter that is still there (replay that
// one), INVALID_ARGUMENT when `dead_stream` is not of the form wuye.<service>.events.dead.
absl::StatusOr<std::string> ReplayDeadLetter(RedisConnection& redis, const std::string& dead_stream,
                                             const std::string& id, int* held = nullptr);

// The Redis ACL rules of service `service`'s user (after "user wuye-<service> on >password"
// in an ACL file, or as the arguments of ACL SETUSER): it may XADD to its own stream only,
// keep that stream and its dead letters (XTRIM, XLEN, XINFO GROUPS, XPENDING), read the
// streams it `consumes` as its consumer group, and add to their dead-letter streams.
std::vector<std::string> RedisAclRules(absl::string_view service,
                                       const std::vector<std::string>& consumes);

struct RelayOptions {
  std::string stream;  // where this service's events go
  int batch = 1000;
  // Wait between outbox checks when the last one found nothing (a check is one indexed
  // SELECT on an empty range).
  absl::Duration poll = absl::Milliseconds(20);
  // Redis replicates asynchronously: an entry its primary acknowledged is lost if the
  // primary dies before a replica has it. With min_replicas > 0 an outbox row is marked sent
  // only once WAIT says that many replicas have its entry (waiting up to replica_wait);
  // until then the rows stay unsent and are sent again if the connection changed (the new
  // primary may lack them; consumers' inboxes absorb the copies).
  int min_replicas = 0;
  absl::Duration replica_wait = absl::Seconds(1);
  // The wait after a check that found events; it doubles with each empty check up to `poll`.
  absl::Duration busy_poll = absl::Milliseconds(2);
  // An outbox id missing below one relayed is waited for this long (OutboxFloor); a check
  // from the first id comes this often and relays whatever committed even later. It walks
  // the index entries of the rows sent since the last one (later checks skip them), so
  // the interval also bounds its cost: at 40 000 events/s, one second's worth.
  absl::Duration gap_timeout = absl::Seconds(2);
  absl::Duration full_check_every = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration trim_every = absl::Seconds(30);
  // The leader's lease: PostgreSQL ends the relay's session once it has been idle this long
  // (idle_session_timeout), which frees the leader's lock for another replica. A frozen
  // process (SIGSTOP, a debugger, a paused container) is noticed by nothing else: its kernel
  // still answers TCP keepalives. A working relay uses its session at least once per backoff
  // and pass of Redis calls, so the lease must exceed that. Zero: no lease.
  absl::Duration lease = absl::Seconds(30);
  // Entries are trimmed only once every group has acknowledged them AND they are older.
  absl::Duration retention = absl::Hours(24 * 7);
  // Sent outbox rows are deleted after this long.
  absl::Duration keep_sent = absl::Hours(24);
  // request_id answers and inbox rows are deleted after this long: a retry or a redelivery
  // later than this is no longer recognised. Must exceed `retention`.
  absl::Duration keep_keys = absl::Hours(24 * 30);
  // Entries of the stream's dead-letter stream are trimmed once older than this.
  absl::Duration dead_retention = absl::Hours(24 * 30);
};

// Where the relay's next outbox check starts. Sent rows stay in the outbox for a day (to be
// re-sent after a Redis loss), and under steady load their dead entries in the unsent index
// are not cleaned up between checks, so a check from the first id walks every row sent
// lately (1.5 ms a check at 3 000 events/s). The floor is the lowest id that may still be
// unsent, and a check starts there. Ids commit out of order: an id missing below one already
// relayed belongs to a transaction still in flight, or rolled back. The floor waits for it
// `gap_timeout` from when the hole was first seen, then passes it; a full check every
// `full_every` picks up what commits later. Times are the caller's, from a monotonic clock.
class OutboxFloor {
 public:
  OutboxFloor(absl::Duration gap_timeout, absl::Duration full_every)
      : gap_timeout_(gap_timeout), full_every_(full_every) {}
  // The id the next check starts from; 0 for a full check.
  int64_t From(absl::Time now);
  // The ids a check found and relayed, ascending.
  void Relayed(const std::vector<int64_t>& ids, absl::Time now);
  // A full check found nothing: every id up to `next` (exclusive) is sent.
  void NothingBelow(int64_t next);
  bool known() const { return known_; }
  // Forgets everything (a new leader starts with a full check).
  void Reset() { *this = OutboxFloor(gap_timeout_, full_every_); }

 private:
  void Advance(absl::Time now);

  absl::Duration gap_timeout_, full_every_;
  bool known_ = false;
  int64_t floor_ = 0;
  std::set<int64_t> above_;  // relayed ids above floor_, with a hole below them
  // The same ids with when they were relayed, oldest first (ids below floor_ linger at the
  // back until they reach the front). A hole at the floor has been there since the front's.
  std::deque<std::pair<int64_t, absl::Time>> seen_;
  absl::Time next_full_ = absl::InfinitePast();
};

// Moves outbox rows to the stream in id order with pipelined XADD, then marks them sent.
// One replica at a time relays (a PostgreSQL advisory lock held by its connection), so a
// row is never sent twice at once; a crash between XADD and the commit re-sends it, which
// consumers absorb. Redis down: it backs off and retries; nothing is lost.
class OutboxRelay {
 public:
  OutboxRelay(DbOptions db, RedisOptions redis, RelayOptions options);
  ~OutboxRelay();

  void Start();
  void Stop();

  // One pass, used by Start's loop and by tests: relays up to `batch` rows if this process
  // is the leader. Returns the number sent.
  absl::StatusOr<int> RelayOnce();
  // Publishes the outbox figures as metrics; as leader also deletes old sent outbox rows,
  // request_id answers and inbox rows, trims the stream below what every group has
  // acknowledged and below `now - retention`, and its dead-letter stream below
  // `now - dead_retention`.
  absl::Status TrimOnce(absl::Time now);

  // `SHOW <setting>` in the relay's own session (the one that holds the leader's lock),
  // opened if need be: what a dead node's session runs with (keepalives, tcp_user_timeout,
  // idle_in_transaction_session_timeout). For tests and diagnostics; not while Start()'s
  // loop runs.
  absl::StatusOr<std::string> SessionSetting(const std::string& setting);

 private:
  absl::Status EnsureDatabase();
  void Run();

  DbOptions db_options_;
  RedisConnection redis_;
  RelayOptions options_;
  std::unique_ptr<pqxx::connection> conn_;
  bool leader_ = false;
  OutboxFloor floor_;
  // With min_replicas: the outbox rows already added to the stream on connection number
  // `added_on_` that WAIT has not yet seen on enough replicas (not added again while that
  // connection lasts: the next WAIT covers them; later rows are added meanwhile, up to
  // kMaxAwaitingReplicas of them in all).
  static constexpr size_t kMaxAwaitingReplicas = 10000;
  std::set<int64_t> awaiting_replicas_;
  uint64_t added_on_ = 0;
  // The last RelayOnce failed only because WAIT found too few replicas (Run: no backoff).
  bool short_of_replicas_ = false;
  absl::Notification stop_;
  std::thread thread_;
};

struct ConsumerOptions {
  std::string group;     // the consuming service, e.g. "intake"
  std::string consumer;  // unique per replica; default host-pid-random
  std::vector<std::string> streams;
  int batch = 500;
  absl::Duration block = absl::Seconds(1);
  // An entry pending this long (its consumer died, or its handler failed) is taken over.
  absl::Duration claim_idle = absl::Seconds(30);
  // Handler refusals (errors other than UNAVAILABLE) after which an entry goes to the
  // dead-letter stream; also attempts in a row that never answered (the consumer died in
  // the handler). Outages count nothing.
  int max_deliveries = 5;
  // An entry waiting this long (its handler answers UNAVAILABLE, or an earlier entry of its
  // subject waits) goes to the dead-letter stream.
  absl::Duration max_wait = absl::Hours(24);
  absl::Duration max_backoff = absl::Seconds(5);
  // The service that may write each stream (its events' `producer` and type prefix); a
  // stream not named here: the one its name says (ProducerOfStream).
  std::map<std::string, std::string> producers;
  // As the relay's (--bus_min_replicas): a dead letter is acknowledged on its stream only
  // once WAIT says this many replicas have it, so a failover cannot lose the only copy of
  // an entry the group gave up on. Otherwise it stays pending and is dead-lettered again
  // later (a copy that a replay absorbs).
  int min_replicas = 0;
  absl::Duration replica_wait = absl::Seconds(1);
};

// Applies one event inside the consumer's transaction. An error rolls it back and leaves the
// entry pending; it is delivered again after claim_idle. UNAVAILABLE means "not yet" (e.g.
// an event this one needs has not arrived): the entry waits, later entries of other
// subjects go on, and it is never counted. Any other error is a refusal: after
// max_deliveries of them the entry goes to the dead-letter stream. From then on the group
// holds its subject (wuye_bus_holds): later entries of the subject go to the dead-letter
// stream too, "held behind" it, unapplied, until its replay is applied; the replay brings
// them back after it, in order.
using EventHandler =
    std::function<absl::Status(pqxx::work& tx, const wuye::events::v1::Event& event)>;

class EventConsumer {
 public:
  EventConsumer(Db& db, const RedisOptions& redis, ConsumerOptions options, EventHandler handler);
  ~EventConsumer();

  void Start();
  void Stop();

  // One round: takes over long-pending entries, then reads new ones (blocking up to
  // options.block). Returns the number of entries handled (applied, skipped or dead).
  absl::StatusOr<int> PollOnce();

  const ConsumerOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string stream, id;
    std::string envelope;  // serialized Event; empty when the entry had none
    int64_t deliveries = 1;
    bool claimed = false;   // taken over with XAUTOCLAIM: delivered before
    std::string replay_of;  // the dead-letter entry it was replayed from
    std::string after;      // replayed behind this dead letter (it was held behind it)
  };
  // What a handler's failure counts as (wuye_bus_deliveries).
  enum class Note { kAttempt, kRefusal, kWait };
  absl::Status EnsureGroups();
  absl::StatusOr<int> ClaimStale(const std::string& stream);
  // Applies a batch in one transaction and acknowledges it with one XACK; if a handler
  // fails, falls back to one transaction per entry so that the others still apply.
  // Both return an error only when the database or Redis failed (nothing is counted then;
  // the consumer backs off and pauses while the database is unreachable).
  absl::Status HandleBatch(const std::vector<Entry>& entries);
  absl::Status Handle(const Entry& entry);
  // Records `note` for the entry; returns refusals, unfinished attempts and seconds waited.
  struct Count {
    int refusals = 0, unfinished = 0;
    absl::Duration waited;
  };
  absl::StatusOr<Count> Record(const Entry& entry, const std::string& subject_key, Note note,
                               absl::string_view error);
  // Whether `id` is still pending in the group (a row of an entry that is not is stale).
  absl::StatusOr<bool> StillPending(const std::string& stream, const std::string& id);
  // Per claim round: drops rows whose entries are gone, publishes wuye_bus_waiting.
  void Housekeep(const std::string& stream);
  const std::string& ProducerOf(const std::string& stream);
  // Inserts the inbox row; false when the event was applied before.
  bool ClaimInbox(pqxx::work& tx, const Entry& entry, const wuye::events::v1::Event& event);
  void CountApplied(const Entry& entry, const wuye::events::v1::Event& event, bool applied);
  // `hold`: the group holds the entry's subject behind the dead letter from now on (not for
  // a malformed or forged entry, which is never replayed). `held_behind`: the entry is
  // parked behind that dead letter of its subject (and the hold stays there).
  absl::Status DeadLetter(const Entry& entry, std::string reason, int refusals = 0,
                          bool hold = false, const std::string& held_behind = "");
  // Dead letters added but not yet confirmed on --bus_min_replicas replicas (entry stream
  // and id → the dead letter's id): a retry only waits again instead of adding a copy.
  std::map<std::string, std::string> unconfirmed_dead_;
  void Run();

  Db& db_;
  RedisConnection reader_;    // blocking XREADGROUP only
  RedisConnection commands_;  // acks, claims, dead letters
  ConsumerOptions options_;
  EventHandler handler_;
  bool groups_ready_ = false;
  bool db_down_ = false;     // a database failure was seen: ping before touching Redis
  bool reread_own_ = false;  // the database is back: this consumer's pending entries first
  std::map<std::string, absl::Time> last_claim_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace wuye
