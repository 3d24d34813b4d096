// The event bus (docs/events.md): the outbox relay moves committed events from a service's
// wuye_outbox table to its Redis stream; consumers read other services' streams in a
// consumer group and apply each event exactly once (inbox row and effect in one
// transaction); entries that keep failing go to a dead-letter stream.
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

struct RelayOptions {
  std::string stream;  // where this service's events go
  int batch = 1000;
  // Wait between outbox checks when the last one found nothing (a check is one indexed
  // SELECT on an empty range).
  absl::Duration poll = absl::Milliseconds(20);
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
  // Entries are trimmed only once every group has acknowledged them AND they are older.
  absl::Duration retention = absl::Hours(24 * 7);
  // Sent outbox rows are deleted after this long.
  absl::Duration keep_sent = absl::Hours(24);
  // request_id answers and inbox rows are deleted after this long: a retry or a redelivery
  // later than this is no longer recognised. Must exceed `retention`.
  absl::Duration keep_keys = absl::Hours(24 * 30);
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
  // request_id answers and inbox rows, and trims the stream below what every group has
  // acknowledged and below `now - retention`.
  absl::Status TrimOnce(absl::Time now);

 private:
  absl::Status EnsureDatabase();
  void Run();

  DbOptions db_options_;
  RedisConnection redis_;
  RelayOptions options_;
  std::unique_ptr<pqxx::connection> conn_;
  bool leader_ = false;
  OutboxFloor floor_;
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
  // Deliveries after which an entry goes to the dead-letter stream.
  int max_deliveries = 5;
  absl::Duration max_backoff = absl::Seconds(5);
};

// Applies one event inside the consumer's transaction. An error leaves the entry pending:
// it is delivered again after claim_idle, up to max_deliveries.
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
  };
  absl::Status EnsureGroups();
  absl::StatusOr<int> ClaimStale(const std::string& stream);
  // Applies a batch in one transaction and acknowledges it with one XACK; if a handler
  // fails, falls back to one transaction per entry so that the others still apply.
  absl::Status HandleBatch(const std::vector<Entry>& entries);
  absl::Status Handle(const Entry& entry);
  // Inserts the inbox row; false when the event was applied before.
  bool ClaimInbox(pqxx::work& tx, const Entry& entry, const wuye::events::v1::Event& event);
  void CountApplied(const Entry& entry, const wuye::events::v1::Event& event, bool applied);
  absl::Status DeadLetter(const Entry& entry, std::string reason);
  void Run();

  Db& db_;
  RedisConnection reader_;    // blocking XREADGROUP only
  RedisConnection commands_;  // acks, claims, dead letters
  ConsumerOptions options_;
  EventHandler handler_;
  bool groups_ready_ = false;
  std::map<std::string, absl::Time> last_claim_;
  std::map<std::string, std::string> last_error_;  // entry id → why it failed last
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace wuye
