// The only code that knows intake's tables. Every call takes the caller's group and filters
// by it; nothing here decides rules (ticket.h) or permissions (the handlers).
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/intake/ticket.h"
#include "shared/auth.h"
#include "shared/batched_run_once.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "shared/work_calendar.h"
#include "wuye/events/v1/envelope.pb.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye {
const MigrationSet& intake_migrations();
}

namespace wuye::intake {

struct TicketFilter {
  std::string estate_id;                     // "" = every visible estate
  bool all_estates = false;                  // the caller sees every estate of the group
  std::vector<std::string> visible_estates;  // otherwise these
  int state = 0, kind = 0, channel = 0;
  std::string owner_id;
  std::string unit_id;                       // "" = any place
  bool overdue = false;
  absl::Time now;
};

struct WorkOrderRow {
  std::string id;
  int state = 0;
  std::vector<std::string> worker_ids;
};

// A new ticket as the rows that record it (TicketFlow::Create); its events and the claim of
// its request_id are the platform's (BatchedRunOnce).
struct NewTicket {
  v1::Ticket ticket;        // as stored: received, or answered at once
  std::string caller_hash;  // the hashed hotline number, or ""
  std::vector<v1::TicketChange> history;
  // A complaint with a reply deadline (ticket.complaint_reply): its month ("YYYY-MM" of
  // received_time, estate-local) and due-soon time; "" otherwise.
  std::string reply_month;
  absl::Time reply_warn = absl::InfinitePast();
  // The estate's zone (EstateZone) as CreateTicket read it; the insert counts the reply's
  // deadline again in the zone held then (a zone change may land in between).
  absl::TimeZone reply_zone;
};

// One CreateTicket call's rows and events, for BatchedRunOnce.
using TicketCreation = BatchedRunOnce<NewTicket>::Effect;

// A deadline the calendar's consumer re-times: the ticket and the progress its clock kept at
// the last change (migration 011; none before the first: counted from receipt).
struct OpenDeadline {
  std::string id;
  std::optional<SlaProgress> kept;
};

struct EstateFacts {
  int household_count = 0;  // 0: unknown
  std::string time_zone;
  DeskHours desk;
};

// Moves on whenever this process applies a change to an estate (UpsertEstate).
std::uint64_t EstateGeneration();

// The estates CreateTicket reads, kept for a moment: every call of a busy desk names one of a
// few estates, and its read was a round trip to PostgreSQL of its own. An estate is kept at
// most `ttl`, and not past a change this process applies (EstateGeneration, moved when the
// change is written: a read racing its commit may still keep the old facts, for `ttl`); a
// change applied by another replica reaches new tickets within `ttl`, as a directory event
// reaches them after the bus's delay. An estate not found is not kept (one added is found at
// once).
class EstateCache {
 public:
  static constexpr absl::Duration kDefaultTtl = absl::Seconds(1);
  explicit EstateCache(absl::Duration ttl = kDefaultTtl) : ttl_(ttl) {}

  std::optional<EstateFacts> Find(const std::string& group, const std::string& estate,
                                  absl::Time now);
  // `generation`: EstateGeneration() read before the estate was.
  void Keep(const std::string& group, const std::string& estate, const EstateFacts& facts,
            std::uint64_t generation, absl::Time now);

 private:
  static constexpr size_t kMaxEstates = 20000;  // emptied when full
  struct Kept {
    EstateFacts facts;
    std::uint64_t generation = 0;
    absl::Time until;
  };
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, Kept> kept_ ABSL_GUARDED_BY(mu_);
};

// What decides whether a resident's number is a resident's on a given day (seed 000 二.5):
// the role, a tenant's lease (inclusive "YYYY-MM-DD" days, "" when open), the move-out day
// ("" while they live there) and when the directory removed them (none while registered).
struct ResidentTerms {
  int role = 0;  // wuye.events.v1.ResidentRole; 0 unknown
  std::string lease_start, lease_end, move_out_date;
  std::optional<absl::Time> removed_at;
};

struct MonthCounts {
  int households_served = 0;      // distinct households served (in-home services) in the month
  int households_called = 0;      // of them, picked for a callback (the resolving ticket left out)
  bool household_called = false;  // `household` is one of them
};

struct CoverageRows {
  int households_served = 0;
  int callbacks_done = 0;
  std::vector<v1::MissingCallback> missing_mandatory;
};

// A 12345 order's columns (migration 008) beside its ticket.
struct HotlineColumns {
  std::string city, order_number;
  std::string month;  // "YYYY-MM" of the hotline's receipt, estate-local
  absl::Time due, warn;
};

// An estate-month of 12345 orders (GetHotlineReport).
struct HotlineMonthRows {
  int orders = 0, replied = 0, replied_on_time = 0, overdue_unreplied = 0;
  int replied_undelivered = 0;
  int satisfied = 0, basically_satisfied = 0, unsatisfied = 0;
};

// An estate-month of complaints' written replies (GetComplaintReplyReport).
struct ReplyMonthRows {
  int complaints = 0, on_time = 0, late = 0, open_past_due = 0;
};

class IntakeStore {
 public:
  // Registers the named statements with `db`.
  explicit IntakeStore(Db& db);

  // CreateTicket's own rows, written by BatchedRunOnce in one statement with the claims and
  // events of many calls: the ticket and its history. The statement's name, its SQL (the
  // CTEs) and their parameters.
  static const char kCreateTickets[];
  static std::string CreateTicketsSql();
  static std::vector<std::string> CreateTicketsParams(pqxx::transaction_base& tx,
                                                      absl::Span<const NewTicket* const> calls);
  std::optional<v1::Ticket> GetTicket(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update = false);
  // Writes the ticket's state, owner, version, callback reason and body, and the history
  // row of the change when given.
  void UpdateTicket(pqxx::work& tx, const v1::Ticket& t, const v1::TicketChange* change = nullptr);
  // Records the resolution's month and time, and the household it served ("" when not an
  // in-home service), and clears its callback.
  void MarkResolved(pqxx::work& tx, const std::string& group, const std::string& id,
                    const std::string& month, absl::Time at, const std::string& served_unit);
  void MarkCallbackDone(pqxx::work& tx, const std::string& group, const std::string& id);
  std::vector<v1::TicketChange> History(pqxx::work& tx, const std::string& group,
                                        const std::string& ticket_id);
  std::vector<v1::Ticket> ListTickets(pqxx::work& tx, const std::string& group,
                                      const TicketFilter& f, const std::string& after, int limit);

  // The stored version of a work order, or -1 when unknown.
  int64_t WorkOrderVersion(pqxx::work& tx, const std::string& group, const std::string& id);
  void UpsertWorkOrder(pqxx::work& tx, const std::string& group, const std::string& ticket_id,
                       const WorkOrderRow& row, int64_t version);
  std::vector<WorkOrderRow> WorkOrders(pqxx::work& tx, const std::string& group,
                                       const std::string& ticket_id);

  // Serializes callback decisions of one estate-month (transaction-scoped advisory lock).
  void LockMonth(pqxx::work& tx, const std::string& estate_id, const std::string& month);
  // The callback rule's counts of an estate-month, `exclude_ticket` left out of the called
  // ones: a few rows of the month's state (intake 012), whatever the month's size.
  MonthCounts CountMonth(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                         const std::string& month, const std::string& household,
                         const std::string& exclude_ticket);
  CoverageRows Coverage(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                        const std::string& month);

  std::optional<EstateFacts> GetEstate(pqxx::transaction_base& tx, const std::string& group,
                                       const std::string& id);
  // Applies a directory estate if `version` is newer than the stored one. Moves
  // EstateGeneration() on, so that this process's EstateCache forgets what it holds.
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    int household_count, const std::string& time_zone, const DeskHours& desk,
                    int64_t version);
  // Applies a directory staff member if `version` is newer; `start_date` "YYYY-MM-DD" or "".
  void UpsertStaff(pqxx::work& tx, const std::string& group, const std::string& id,
                   const std::string& start_date, int64_t version,
                   const std::vector<std::string>& home_estates, bool active);
  // An active staff member the directory places at `estate`.
  bool StaffOfEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                     const std::string& estate);
  // Of `ids`: the start dates known ("" when unknown) and whether any is marked complained.
  std::vector<std::string> StaffStartDates(pqxx::work& tx, const std::string& group,
                                           const std::vector<std::string>& ids);
  bool AnyComplained(pqxx::work& tx, const std::string& group, const std::vector<std::string>& ids);
  void SetComplained(pqxx::work& tx, const std::string& group, const std::vector<std::string>& ids,
                     bool complained);

  // Service contracts and the facts the callback rule reads.
  void InsertContract(pqxx::work& tx, const std::string& group, const v1::ServiceContract& c);
  std::vector<v1::ServiceContract> ListContracts(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate_id,
                                                 const std::string& unit_id,
                                                 const std::string& after, int limit);
  // The start dates ("YYYY-MM-DD") of the unit's contracts in force on `day` ("YYYY-MM-DD").
  std::vector<std::string> ContractStartsInForce(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate_id,
                                                 const std::string& unit_id,
                                                 const std::string& day);
  // Keeps the earliest launch seen of an item in an estate.
  void RecordItemLaunch(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                        const std::string& item_code, absl::Time at);
  std::optional<absl::Time> ItemLaunch(pqxx::work& tx, const std::string& group,
                                       const std::string& estate_id, const std::string& item_code);
  // The group's settings, or the defaults.
  v1::CallbackSettings GetCallbackSettings(pqxx::work& tx, const std::string& group);
  void PutCallbackSettings(pqxx::work& tx, const std::string& group, const v1::CallbackSettings& s,
                           absl::Time now);

  void InsertCallback(pqxx::work& tx, const std::string& group, const v1::Callback& c);
  void InsertVerification(pqxx::work& tx, const std::string& group,
                          const v1::ComplaintVerification& v);
  // Whether the complaint `ticket_id` is already verified against `staff_id`.
  bool ComplaintVerified(pqxx::work& tx, const std::string& group, const std::string& ticket_id,
                         const std::string& staff_id);

  // Whether a hotline ticket of the estate from this caller was received in [from, to].
  bool HotlineTicketNear(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                         const std::string& caller_hash, absl::Time from, absl::Time to);
  // False when this call was found before.
  bool InsertUnrecordedCall(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                            const std::string& id, absl::Time call_at,
                            const std::string& caller_hash, int duration_s, absl::Time now);
  // Applies a directory resident's number (its hash; "" when it has no usable number),
  // estate and terms if `version` is newer than the stored one: the old number then no
  // longer matches.
  void UpsertResidentPhone(pqxx::work& tx, const std::string& group, const std::string& resident_id,
                           const std::string& estate_id, const std::string& phone_hash,
                           const ResidentTerms& terms, int64_t version);
  // Whether the number hashed as `phone_hash` was a resident's of the estate on a call at
  // `call_at`, whose estate-local day is `call_day` ("YYYY-MM-DD"): a resident not removed
  // by then, not moved out on or before that day, and, for a tenant, within the lease.
  // nullopt when intake knows no resident of the estate at all (it cannot say).
  // ---- 12345 orders (migration 008) ----
  // Writes a new 12345 order's ticket and its first history row unless the group already
  // has the city's order; false then (nothing written).
  bool InsertHotlineTicket(pqxx::work& tx, const NewTicket& row, const HotlineColumns& h);
  // The ticket of the city's order, if any.
  std::optional<std::string> HotlineTicketId(pqxx::work& tx, const std::string& group,
                                             const std::string& city,
                                             const std::string& order_number);
  // The 12345 orders of the group (estate_id "": all its estates) no reply of which was
  // delivered yet, locked.
  std::vector<OpenDeadline> OpenHotlineOrders(pqxx::work& tx, const std::string& group,
                                              const std::string& estate_id);
  // An order's new due and warning times and its clock's progress settled at the change; a
  // timer already fired fires again at its new time only when asked (the time moved later
  // than now).
  void RetimeHotline(pqxx::work& tx, const std::string& group, const std::string& id,
                     absl::Time due, absl::Time warn, const SlaProgress& progress,
                     bool rearm_due_soon, bool rearm_overdue);
  // Keeps the first reply's time.
  void MarkHotlineReplied(pqxx::work& tx, const std::string& group, const std::string& id,
                          absl::Time at);
  // Keeps the earliest time a reply of the order reached the city's platform; stops the
  // order's timers.
  void MarkHotlineDelivered(pqxx::work& tx, const std::string& group, const std::string& id,
                            absl::Time at);
  void InsertHotlineReply(pqxx::work& tx, const std::string& group, const v1::HotlineReply& r);
  // Up to `limit` replies of the city not exported yet, of the estates `caller` works at,
  // oldest first, locked (another estate's backlog never fills an estate desk's page).
  std::vector<v1::HotlineReply> UnexportedHotlineReplies(pqxx::work& tx, const std::string& group,
                                                         const std::string& city, int limit,
                                                         const Caller& caller);
  // Replies that reached the city's platform at `at` (exported or posted), each keeping the
  // earliest such time, on time when that is by its order's due time.
  struct DeliveredReply {
    std::string id, ticket_id;
    absl::Time exported_at;
    bool on_time = false;
  };
  std::vector<DeliveredReply> MarkHotlineRepliesExported(pqxx::work& tx, const std::string& group,
                                                         const std::vector<std::string>& ids,
                                                         absl::Time at);
  // Records the government's callback result of a ticket.
  void SetHotlineResult(pqxx::work& tx, const std::string& group, const std::string& id,
                        int result, absl::Time at);
  HotlineMonthRows HotlineMonth(pqxx::work& tx, const std::string& group,
                                const std::string& estate_id, const std::string& month,
                                absl::Time now);

  // ---- complaints' written replies (migration 010) ----
  // Keeps the first time the handling result was given (a complaint with a deadline only);
  // stops its timers.
  void MarkReplyGiven(pqxx::work& tx, const std::string& group, const std::string& id,
                      absl::Time at);
  // The complaints of the group (estate_id "": all its estates) waiting for their reply,
  // locked.
  std::vector<OpenDeadline> OpenComplaintReplies(pqxx::work& tx, const std::string& group,
                                                 const std::string& estate_id);
  // A reply's new due and warning times and its clock's progress settled at the change; a
  // timer already fired fires again only when asked.
  void RetimeReply(pqxx::work& tx, const std::string& group, const std::string& id,
                   absl::Time due, absl::Time warn, const SlaProgress& progress,
                   bool rearm_due_soon, bool rearm_overdue);
  ReplyMonthRows ReplyMonth(pqxx::work& tx, const std::string& group, const std::string& estate_id,
                            const std::string& month, absl::Time now);

  std::optional<bool> ResidentPhone(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& phone_hash,
                                    absl::Time call_at, const std::string& call_day);
};

}  // namespace wuye::intake
