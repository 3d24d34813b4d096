#include "services/intake/intake_store.h"

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/intake/complaint_reply.h"
#include "services/intake/ticket.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/sql.h"
#include "shared/work_calendar_store.h"
#include "shared/zone.h"

namespace wuye::intake {
namespace {

namespace ev = ::wuye::events::v1;

sql::Statements statements;  // first, before the statements of this file

// "INSERT INTO ticket_history ..." for `group` and `ticket` (SQL expressions) with the change's
// columns from eight parameters starting at $n: from_state, to_state, from_owner, to_owner,
// actor, actor_roles, at (µs), reason.
#define HISTORY_INSERT(group, ticket, p1, p2, p3, p4, p5, p6, p7, p8)                           \
  "INSERT INTO ticket_history (group_id, ticket_id, from_state, to_state, from_owner, "         \
  "to_owner, actor, actor_roles, at, reason) SELECT " group ", " ticket ", " p1 ", " p2 ", " p3 \
  ", " p4 ", " p5 ", " p6 "::text[], " WUYE_SQL_TIME(p7) ", " p8

// The stored body: the ticket without what is kept elsewhere or never kept.
std::string Body(const v1::Ticket& t) {
  v1::Ticket copy = t;
  copy.clear_history();
  copy.clear_caller_phone();
  copy.clear_overdue();
  return copy.SerializeAsString();
}

// The progress a re-timed deadline kept (migration 011): spent µs and settled_at µs, NULL
// before the first change.
std::optional<SlaProgress> KeptProgress(const pqxx::field& spent, const pqxx::field& settled) {
  if (spent.is_null() || settled.is_null()) return std::nullopt;
  return SlaProgress{absl::Microseconds(spent.as<int64_t>()),
                     absl::FromUnixMicros(settled.as<int64_t>()), true};
}

v1::Ticket ParseBody(const pqxx::field& f) {
  v1::Ticket t;
  t.ParseFromString(sql::Bytes(f));
  return t;
}

std::string Roles(const wuye::common::v1::Actor& actor) {
  return PgArray(std::vector<std::string>(actor.roles().begin(), actor.roles().end()));
}

std::string OptionalMicros(const google::protobuf::Timestamp* ts) {
  return ts ? std::to_string(sql::Micros(FromProtoTime(*ts))) : std::string();
}

}  // namespace

IntakeStore::IntakeStore(Db& db) { statements.PrepareOn(db); }

// CreateTicket, group-committed (BatchedRunOnce): the tickets of the calls claimed and their
// history rows. Arrays of one element per call ($1-$12) and per history row ($13-$21).
const char IntakeStore::kCreateTickets[] = "in_ticket_create_batch";

std::string IntakeStore::CreateTicketsSql() {
  return "t AS ("
         "  INSERT INTO tickets (id, group_id, estate_id, state, kind, channel, owner_id,"
         "    answer_due_at, caller_hash, received_at, household, version, body,"
         "    reply_due_at, reply_warn_at, reply_month)"
         "  SELECT x.id, claimed.group_key::uuid, x.estate, x.state, x.kind, x.channel, x.owner,"
         "    to_timestamp(NULLIF(x.due, '')::float8 / 1000000), NULLIF(x.hash, ''::bytea),"
         "    " WUYE_SQL_TIME("x.received") ", x.household, x.version, x.body,"
         "    to_timestamp(NULLIF(x.rdue, '')::float8 / 1000000),"
         "    to_timestamp(NULLIF(x.rwarn, '')::float8 / 1000000), NULLIF(x.rmonth, '')"
         "  FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::smallint[], $5::smallint[],"
         "    $6::text[], $7::text[], $8::bytea[], $9::bigint[], $10::text[], $11::bigint[],"
         "    $12::bytea[], $22::text[], $23::text[], $24::text[]) WITH ORDINALITY"
         "    AS x(id, estate, state, kind, channel, owner, due, hash, received, household,"
         "         version, body, rdue, rwarn, rmonth, call)"
         "  JOIN claimed ON claimed.call = x.call"
         "  RETURNING id, group_id"
         "), h AS ("
         "  INSERT INTO ticket_history (group_id, ticket_id, from_state, to_state, from_owner,"
         "    to_owner, actor, actor_roles, at, reason)"
         "  SELECT t.group_id, h.ticket, h.from_state, h.to_state, h.from_owner, h.to_owner,"
         "    h.actor, h.roles::text[], " WUYE_SQL_TIME("h.at") ", h.reason"
         "  FROM unnest($13::uuid[], $14::smallint[], $15::smallint[], $16::text[], $17::text[],"
         "    $18::text[], $19::text[], $20::bigint[], $21::text[]) WITH ORDINALITY"
         "    AS h(ticket, from_state, to_state, from_owner, to_owner, actor, roles, at, reason, n)"
         "  JOIN t ON t.id = h.ticket ORDER BY h.n"
         ")";
}

std::vector<std::string> IntakeStore::CreateTicketsParams(
    pqxx::transaction_base& tx, absl::Span<const NewTicket* const> calls) {
  std::vector<std::string> ids, estates, states, kinds, channels, owners, dues, callers, received,
      households, versions, bodies;
  std::vector<std::string> h_ticket, h_from, h_to, h_from_owner, h_to_owner, h_actor, h_roles, h_at,
      h_reason;
  std::vector<std::string> reply_dues, reply_warns, reply_months;
  // A complaint's reply deadline was counted (CreateTicket) on the calendar read in a
  // transaction of its own, before this one. A calendar change committed in between re-timed
  // the complaints then waiting (consumers.cc), not this one, which no one would re-time
  // again. So here, under the group's calendar lock taken shared (shared/work_calendar_store.h:
  // a change takes it exclusive before it reads the open complaints), the deadline is counted
  // again on the calendar in force now: a change either committed before this point and is
  // counted here, or waits for this insert and then finds the complaint and re-times it. The
  // deadline is counted whole on the current calendar, as for a complaint created after the
  // change (it is stored after it). Only the stored row changes; the answer and the events
  // built before are the creation's snapshot, as when a change re-times a stored complaint.
  // The estate's zone likewise: a zone change (consumers.cc, Estate) takes the same lock
  // exclusive before it reads the waiting complaints, so the zone is read again here, under
  // the lock, with the calendar — one statement per estate of the batch's complaints only
  // (a repair or a consultation takes neither the lock nor this read).
  std::set<std::string> groups;  // locked in one order, whatever the batch's
  for (const NewTicket* c : calls) {
    if (c->ticket.has_complaint_reply() && !c->reply_month.empty()) {
      groups.insert(c->ticket.group_id());
    }
  }
  for (const std::string& g : groups) LockWorkCalendars(tx, g, CalendarLock::kShared);
  // Per estate: the calendar in force and the zone held now (nullopt: no row, keep the one
  // CreateTicket read).
  std::map<std::pair<std::string, std::string>,
           std::pair<WorkCalendar, std::optional<absl::TimeZone>>>
      in_force;
  for (const NewTicket* c : calls) {
    v1::Ticket retimed;
    const bool reply = c->ticket.has_complaint_reply() && !c->reply_month.empty();
    absl::Time reply_warn = c->reply_warn;
    std::string reply_month = c->reply_month;
    if (reply) {
      const v1::Ticket& in = c->ticket;
      auto key = std::make_pair(in.group_id(), in.estate_id());
      auto it = in_force.find(key);
      if (it == in_force.end()) {
        std::optional<absl::TimeZone> zone;
        pqxx::result held =
            tx.exec_params("SELECT time_zone FROM estates WHERE group_id = $1 AND id = $2",
                           in.group_id(), in.estate_id());
        if (!held.empty()) zone = EstateZone(sql::Text(held[0][0]));
        it = in_force
                 .emplace(key,
                          std::make_pair(LoadWorkCalendar(tx, in.group_id(), in.estate_id()), zone))
                 .first;
      }
      const absl::TimeZone tz = it->second.second.value_or(c->reply_zone);
      const v1::ComplaintReply& r = in.complaint_reply();
      const absl::Time received = FromProtoTime(in.received_time());
      Deadline due = ComplaintReplyDue(it->second.first, received, r.window_hours(), r.clock(), tz);
      if (due.due != FromProtoTime(r.due_time()) || due.reason != r.due_reason()) {
        retimed = in;
        *retimed.mutable_complaint_reply()->mutable_due_time() = ToProtoTime(due.due);
        retimed.mutable_complaint_reply()->set_due_reason(due.reason);
        reply_warn = due.warn;
      }
      if (tz.name() != c->reply_zone.name()) reply_month = MonthKey(received, tz);
    }
    const v1::Ticket& t = retimed.id().empty() ? c->ticket : retimed;
    reply_dues.push_back(
        OptionalMicros(reply ? &t.complaint_reply().due_time() : nullptr));
    reply_warns.push_back(reply ? std::to_string(sql::Micros(reply_warn)) : std::string());
    reply_months.push_back(reply ? reply_month : std::string());
    ids.push_back(t.id());
    estates.push_back(t.estate_id());
    states.push_back(std::to_string(static_cast<int>(t.state())));
    kinds.push_back(std::to_string(static_cast<int>(t.kind())));
    channels.push_back(std::to_string(static_cast<int>(t.channel())));
    owners.push_back(t.owner_id());
    dues.push_back(OptionalMicros(t.has_answer_due_time() ? &t.answer_due_time() : nullptr));
    callers.push_back(tx.esc_raw(c->caller_hash));
    received.push_back(std::to_string(sql::Micros(FromProtoTime(t.received_time()))));
    households.push_back(HouseholdKey(t));
    versions.push_back(std::to_string(t.version()));
    bodies.push_back(tx.esc_raw(Body(t)));
    for (const v1::TicketChange& h : c->history) {
      h_ticket.push_back(t.id());
      h_from.push_back(std::to_string(static_cast<int>(h.from_state())));
      h_to.push_back(std::to_string(static_cast<int>(h.to_state())));
      h_from_owner.push_back(h.from_owner_id());
      h_to_owner.push_back(h.to_owner_id());
      h_actor.push_back(h.change().actor().subject());
      h_roles.push_back(Roles(h.change().actor()));
      h_at.push_back(std::to_string(sql::Micros(FromProtoTime(h.change().at()))));
      h_reason.push_back(h.change().reason());
    }
  }
  return {PgArray(ids),        PgArray(estates),    PgArray(states),   PgArray(kinds),
          PgArray(channels),   PgArray(owners),     PgArray(dues),     PgArray(callers),
          PgArray(received),   PgArray(households), PgArray(versions), PgArray(bodies),
          PgArray(h_ticket),   PgArray(h_from),     PgArray(h_to),     PgArray(h_from_owner),
          PgArray(h_to_owner), PgArray(h_actor),    PgArray(h_roles),  PgArray(h_at),
          PgArray(h_reason),   PgArray(reply_dues), PgArray(reply_warns), PgArray(reply_months)};
}

namespace {
const sql::Statement kTicketGet =
    statements.Add("in_ticket_get", "SELECT body FROM tickets WHERE group_id = $1 AND id = $2");
const sql::Statement kTicketGetLocked = statements.Add(
    "in_ticket_get_locked", "SELECT body FROM tickets WHERE group_id = $1 AND id = $2 FOR UPDATE");
}  // namespace

std::optional<v1::Ticket> IntakeStore::GetTicket(pqxx::work& tx, const std::string& group,
                                                 const std::string& id, bool for_update) {
  auto res = tx.exec_prepared(for_update ? kTicketGetLocked : kTicketGet, group, id);
  if (res.empty()) return std::nullopt;
  return ParseBody(res[0][0]);
}

namespace {
const sql::Statement kTicketUpdate = statements.Add(
    "in_ticket_update",
    "UPDATE tickets SET state = $3, owner_id = $4, version = $5, callback_reason = $6, "
    "body = $7 WHERE group_id = $1 AND id = $2");
const sql::Statement kTicketUpdateHistory =
    statements.Add("in_ticket_update_history",
                   "WITH t AS (UPDATE tickets SET state = $3, owner_id = $4, version = $5, "
                   "callback_reason = $6, body = $7 WHERE group_id = $1 AND id = $2 RETURNING "
                   "id) " HISTORY_INSERT("$1", "(SELECT id FROM t)", "$8", "$9", "$10", "$11",
                                         "$12", "$13", "$14", "$15"));
}  // namespace

void IntakeStore::UpdateTicket(pqxx::work& tx, const v1::Ticket& t, const v1::TicketChange* c) {
  if (c == nullptr) {
    tx.exec_prepared(kTicketUpdate, t.group_id(), t.id(), static_cast<int>(t.state()), t.owner_id(),
                     t.version(), static_cast<int>(t.callback_reason()), tx.esc_raw(Body(t)));
    return;
  }
  const auto& actor = c->change().actor();
  tx.exec_prepared(kTicketUpdateHistory, t.group_id(), t.id(), static_cast<int>(t.state()),
                   t.owner_id(), t.version(), static_cast<int>(t.callback_reason()),
                   tx.esc_raw(Body(t)), static_cast<int>(c->from_state()),
                   static_cast<int>(c->to_state()), c->from_owner_id(), c->to_owner_id(),
                   actor.subject(), Roles(actor), sql::Micros(FromProtoTime(c->change().at())),
                   c->change().reason());
}

namespace {
const sql::Statement kTicketResolved = statements.Add("in_ticket_resolved",
    "UPDATE tickets SET resolved_month = $3, resolved_at = " WUYE_SQL_TIME("$4") ", "
    "callback_done = false, "
    "served_unit = NULLIF($5, '') WHERE group_id = $1 AND id = $2");
}  // namespace

void IntakeStore::MarkResolved(pqxx::work& tx, const std::string& group, const std::string& id,
                               const std::string& month, absl::Time at,
                               const std::string& served_unit) {
  tx.exec_prepared(kTicketResolved, group, id, month, sql::Micros(at), served_unit);
}

namespace {
const sql::Statement kTicketCallbackDone =
    statements.Add("in_ticket_callback_done",
                   "UPDATE tickets SET callback_done = true WHERE group_id = $1 AND id = $2");
}  // namespace

void IntakeStore::MarkCallbackDone(pqxx::work& tx, const std::string& group,
                                   const std::string& id) {
  tx.exec_prepared(kTicketCallbackDone, group, id);
}

namespace {
const sql::Statement kHistoryList = statements.Add("in_history_list",
    "SELECT from_state, to_state, from_owner, to_owner, actor, actor_roles, "
    WUYE_SQL_MICROS("at") ", "
    "reason FROM ticket_history WHERE group_id = $1 AND ticket_id = $2 ORDER BY seq");
}  // namespace

std::vector<v1::TicketChange> IntakeStore::History(pqxx::work& tx, const std::string& group,
                                                   const std::string& ticket_id) {
  std::vector<v1::TicketChange> out;
  for (const auto& r : tx.exec_prepared(kHistoryList, group, ticket_id)) {
    v1::TicketChange c;
    c.set_from_state(static_cast<ev::TicketState>(r[0].as<int>()));
    c.set_to_state(static_cast<ev::TicketState>(r[1].as<int>()));
    c.set_from_owner_id(sql::Text(r[2]));
    c.set_to_owner_id(sql::Text(r[3]));
    c.mutable_change()->mutable_actor()->set_subject(sql::Text(r[4]));
    for (auto& role : ParsePgArray(r[5])) c.mutable_change()->mutable_actor()->add_roles(role);
    *c.mutable_change()->mutable_at() = sql::Stamp(r[6]);
    c.mutable_change()->set_reason(sql::Text(r[7]));
    out.push_back(std::move(c));
  }
  return out;
}

namespace {
const sql::Statement kTicketList = statements.Add("in_ticket_list",
    "SELECT body FROM tickets WHERE group_id = $1"
    " AND (NULLIF($2, '')::uuid IS NULL OR estate_id = NULLIF($2, '')::uuid)"
    " AND ($3 OR estate_id = ANY($4::uuid[]))"
    " AND ($5 = 0 OR state = $5) AND ($6 = 0 OR kind = $6) AND ($7 = 0 OR channel = $7)"
    " AND ($8 = '' OR owner_id = $8)"
    " AND (NOT $9 OR (state = 1 AND kind = 1 AND answer_due_at < " WUYE_SQL_TIME("$10") "))"
    " AND ($13 = '' OR household = 'unit:' || $13)"
    " AND id > " WUYE_SQL_AFTER("$11") " ORDER BY id LIMIT $12");
}  // namespace

std::vector<v1::Ticket> IntakeStore::ListTickets(pqxx::work& tx, const std::string& group,
                                                 const TicketFilter& f, const std::string& after,
                                                 int limit) {
  std::vector<v1::Ticket> out;
  auto res = tx.exec_prepared(kTicketList, group, f.estate_id, f.all_estates,
                              PgArray(f.visible_estates), f.state, f.kind, f.channel, f.owner_id,
                              f.overdue, sql::Micros(f.now), after, limit, f.unit_id);
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(ParseBody(r[0]));
  return out;
}

namespace {
const sql::Statement kWoVersion = statements.Add(
    "in_wo_version",
    "SELECT version FROM ticket_work_orders WHERE group_id = $1 AND work_order_id = $2");
}  // namespace

int64_t IntakeStore::WorkOrderVersion(pqxx::work& tx, const std::string& group,
                                      const std::string& id) {
  auto res = tx.exec_prepared(kWoVersion, group, id);
  return res.empty() ? -1 : res[0][0].as<int64_t>();
}

namespace {
const sql::Statement kWoUpsert = statements.Add(
    "in_wo_upsert",
    "INSERT INTO ticket_work_orders (work_order_id, group_id, ticket_id, state, worker_ids, "
    "version) VALUES ($1, $2, $3, $4, $5::text[], $6) ON CONFLICT (work_order_id) DO UPDATE "
    "SET state = EXCLUDED.state, worker_ids = EXCLUDED.worker_ids, version = EXCLUDED.version "
    "WHERE ticket_work_orders.version < EXCLUDED.version "
    "AND ticket_work_orders.group_id = EXCLUDED.group_id");
}  // namespace

void IntakeStore::UpsertWorkOrder(pqxx::work& tx, const std::string& group,
                                  const std::string& ticket_id, const WorkOrderRow& row,
                                  int64_t version) {
  tx.exec_prepared(kWoUpsert, row.id, group, ticket_id, row.state, PgArray(row.worker_ids),
                   version);
}

namespace {
const sql::Statement kWoList =
    statements.Add("in_wo_list",
                   "SELECT work_order_id, state, worker_ids FROM ticket_work_orders "
                   "WHERE group_id = $1 AND ticket_id = $2 ORDER BY work_order_id");
}  // namespace

std::vector<WorkOrderRow> IntakeStore::WorkOrders(pqxx::work& tx, const std::string& group,
                                                  const std::string& ticket_id) {
  std::vector<WorkOrderRow> out;
  for (const auto& r : tx.exec_prepared(kWoList, group, ticket_id)) {
    out.push_back({sql::Text(r[0]), r[1].as<int>(), ParsePgArray(r[2])});
  }
  return out;
}

namespace {
const sql::Statement kMonthLock =
    statements.Add("in_month_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
}  // namespace

void IntakeStore::LockMonth(pqxx::work& tx, const std::string& estate_id,
                            const std::string& month) {
  tx.exec_prepared(kMonthLock, absl::StrCat("intake.callbacks/", estate_id, "/", month));
}

namespace {
// Households served: the distinct units of the month's in-home services (served_unit);
// called: those with a ticket whose callback_reason is neither 0 nor 7, the resolving ticket
// ($5) left out. Intake 012's triggers keep the month's and the units' counts, so this reads
// four rows however large the month: the month's, the household's, the resolving ticket's
// (when it counts as called in the month) and its unit's, whose called count says whether
// the unit stays called without it.
const sql::Statement kMonthCounts = statements.Add(
    "in_month_counts",
    "SELECT coalesce(m.households, 0), "
    "coalesce(m.households_called, 0) - CASE WHEN xu.called = 1 THEN 1 ELSE 0 END, "
    "coalesce(h.called, 0) - CASE WHEN x.served_unit = $4 THEN 1 ELSE 0 END > 0 "
    "FROM (SELECT) AS one "
    "LEFT JOIN month_counts m ON m.group_id = $1 AND m.estate_id = $2 AND m.month = $3 "
    "LEFT JOIN month_households h ON h.group_id = $1 AND h.estate_id = $2 AND h.month = $3 "
    "AND h.served_unit = $4 "
    "LEFT JOIN tickets x ON x.id = $5 AND x.group_id = $1 AND x.estate_id = $2 "
    "AND x.resolved_month = $3 AND x.callback_reason NOT IN (0, 7) "
    "LEFT JOIN month_households xu ON xu.group_id = $1 AND xu.estate_id = $2 AND xu.month = $3 "
    "AND xu.served_unit = x.served_unit");
}  // namespace

MonthCounts IntakeStore::CountMonth(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& month,
                                    const std::string& household,
                                    const std::string& exclude_ticket) {
  auto r = tx.exec_prepared1(kMonthCounts, group, estate_id, month, household, exclude_ticket);
  MonthCounts c;
  c.households_served = r[0].as<int>();
  c.households_called = r[1].as<int>();
  c.household_called = r[2].as<bool>();
  return c;
}

namespace {
const sql::Statement kCoverageCounts = statements.Add(
    "in_coverage_counts",
    "SELECT count(DISTINCT served_unit), count(DISTINCT served_unit) FILTER (WHERE "
    "callback_done) FROM tickets WHERE group_id = $1 AND estate_id = $2 AND resolved_month = "
    "$3");
const sql::Statement kCoverageMissing = statements.Add("in_coverage_missing",
    "SELECT id, callback_reason, " WUYE_SQL_MICROS("resolved_at") " FROM tickets "
    "WHERE group_id = $1 AND estate_id = $2 AND resolved_month = $3 AND NOT callback_done "
    "AND callback_reason NOT IN (0, 1, 7) ORDER BY resolved_at, id");
}  // namespace

CoverageRows IntakeStore::Coverage(pqxx::work& tx, const std::string& group,
                                   const std::string& estate_id, const std::string& month) {
  CoverageRows out;
  auto r = tx.exec_prepared1(kCoverageCounts, group, estate_id, month);
  out.households_served = r[0].as<int>();
  out.callbacks_done = r[1].as<int>();
  for (const auto& row : tx.exec_prepared(kCoverageMissing, group, estate_id, month)) {
    v1::MissingCallback m;
    m.set_ticket_id(sql::Text(row[0]));
    m.set_reason(static_cast<v1::CallbackReason>(row[1].as<int>()));
    *m.mutable_resolve_time() = sql::Stamp(row[2]);
    out.missing_mandatory.push_back(std::move(m));
  }
  return out;
}

namespace {
const sql::Statement kEstateGet = statements.Add(
    "in_estate_get",
    "SELECT household_count, time_zone, desk_24h, desk_opens_min, desk_closes_min FROM "
    "estates WHERE group_id = $1 AND id = $2");
}  // namespace

std::optional<EstateFacts> IntakeStore::GetEstate(pqxx::transaction_base& tx,
                                                  const std::string& group,
                                                  const std::string& id) {
  auto res = tx.exec_prepared(kEstateGet, group, id);
  if (res.empty()) return std::nullopt;
  EstateFacts f;
  f.household_count = res[0][0].as<int>();
  f.time_zone = sql::Text(res[0][1]);
  f.desk.open_24h = res[0][2].as<bool>();
  f.desk.opens_min = res[0][3].as<int>();
  f.desk.closes_min = res[0][4].as<int>();
  return f;
}

namespace {
const sql::Statement kEstateUpsert = statements.Add(
    "in_estate_upsert",
    "INSERT INTO estates (id, group_id, household_count, time_zone, version, desk_24h, "
    "desk_opens_min, desk_closes_min) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
    "(id) DO UPDATE SET household_count = EXCLUDED.household_count, time_zone = "
    "EXCLUDED.time_zone, version = EXCLUDED.version, desk_24h = EXCLUDED.desk_24h, "
    "desk_opens_min = EXCLUDED.desk_opens_min, desk_closes_min = EXCLUDED.desk_closes_min "
    "WHERE estates.version < EXCLUDED.version AND estates.group_id = EXCLUDED.group_id");
}  // namespace

namespace {
std::atomic<std::uint64_t> estate_generation{0};
}  // namespace

std::uint64_t EstateGeneration() { return estate_generation.load(); }

std::optional<EstateFacts> EstateCache::Find(const std::string& group, const std::string& estate,
                                             absl::Time now) {
  const std::uint64_t generation = EstateGeneration();
  absl::MutexLock lock(&mu_);
  auto it = kept_.find(std::make_pair(group, estate));
  if (it == kept_.end()) return std::nullopt;
  if (it->second.generation != generation || now >= it->second.until) {
    kept_.erase(it);
    return std::nullopt;
  }
  return it->second.facts;
}

void EstateCache::Keep(const std::string& group, const std::string& estate,
                       const EstateFacts& facts, std::uint64_t generation, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (kept_.size() >= kMaxEstates) kept_.clear();
  kept_[std::make_pair(group, estate)] = Kept{facts, generation, now + ttl_};
}

void IntakeStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                               int household_count, const std::string& time_zone,
                               const DeskHours& desk, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, household_count, time_zone, version, desk.open_24h,
                   desk.opens_min, desk.closes_min);
  estate_generation.fetch_add(1);
}

namespace {
const sql::Statement kStaffUpsert = statements.Add(
    "in_staff_upsert",
    "INSERT INTO staff (group_id, id, start_date, version, home_estate_ids, active) VALUES "
    "($1, $2, NULLIF($3, '')::date, $4, $5::text[], $6) ON CONFLICT (group_id, id) DO UPDATE "
    "SET start_date = EXCLUDED.start_date, version = EXCLUDED.version, home_estate_ids = "
    "EXCLUDED.home_estate_ids, active = EXCLUDED.active WHERE staff.version < "
    "EXCLUDED.version");
}  // namespace

void IntakeStore::UpsertStaff(pqxx::work& tx, const std::string& group, const std::string& id,
                              const std::string& start_date, int64_t version,
                              const std::vector<std::string>& home_estates, bool active) {
  tx.exec_prepared(kStaffUpsert, group, id, start_date, version, PgArray(home_estates), active);
}

namespace {
const sql::Statement kStaffOfEstate = statements.Add(
    "in_staff_of_estate",
    "SELECT 1 FROM staff WHERE group_id = $1 AND id = $2 AND version > 0 AND active AND "
    "$3 = ANY(home_estate_ids)");
}  // namespace

bool IntakeStore::StaffOfEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                const std::string& estate) {
  return !tx.exec_prepared(kStaffOfEstate, group, id, estate).empty();
}

namespace {
const sql::Statement kStaffStartDates =
    statements.Add("in_staff_start_dates",
                   "SELECT COALESCE(start_date::text, '') FROM staff WHERE group_id = $1 AND id = "
                   "ANY($2::text[])");
}  // namespace

std::vector<std::string> IntakeStore::StaffStartDates(pqxx::work& tx, const std::string& group,
                                                      const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared(kStaffStartDates, group, PgArray(ids))) {
    out.push_back(sql::Text(r[0]));
  }
  return out;
}

namespace {
const sql::Statement kStaffComplained = statements.Add(
    "in_staff_complained",
    "SELECT count(*) FROM staff WHERE group_id = $1 AND id = ANY($2::text[]) AND complained");
}  // namespace

bool IntakeStore::AnyComplained(pqxx::work& tx, const std::string& group,
                                const std::vector<std::string>& ids) {
  return tx.exec_prepared1(kStaffComplained, group, PgArray(ids))[0].as<int>() > 0;
}

namespace {
const sql::Statement kStaffMark = statements.Add(
    "in_staff_mark",
    "INSERT INTO staff (group_id, id, complained) SELECT $1, x, $3 FROM unnest($2::text[]) x "
    "ON CONFLICT (group_id, id) DO UPDATE SET complained = EXCLUDED.complained");
}  // namespace

void IntakeStore::SetComplained(pqxx::work& tx, const std::string& group,
                                const std::vector<std::string>& ids, bool complained) {
  if (ids.empty()) return;
  tx.exec_prepared(kStaffMark, group, PgArray(ids), complained);
}

namespace {
const sql::Statement kContractInsert = statements.Add(
    "in_contract_insert",
    "INSERT INTO service_contracts (id, group_id, estate_id, unit_id, summary, start_date, "
    "end_date, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6::date, "
    "NULLIF($7, '')::date, $8, " WUYE_SQL_TIME("$9") ")");
}  // namespace

void IntakeStore::InsertContract(pqxx::work& tx, const std::string& group,
                                 const v1::ServiceContract& c) {
  tx.exec_prepared(kContractInsert, c.id(), group, c.estate_id(), c.unit_id(), c.summary(),
                   DateText(c.start_date()), DateText(c.end_date()), c.created_by(),
                   sql::Micros(FromProtoTime(c.create_time())));
}

namespace {
const sql::Statement kContractList = statements.Add("in_contract_list",
    "SELECT id, estate_id, unit_id, summary, start_date::text, COALESCE(end_date::text, ''), "
    "created_by, " WUYE_SQL_MICROS("created_at") " FROM service_contracts WHERE group_id = $1 AND "
    "estate_id = $2 AND ($3 = '' OR unit_id = NULLIF($3, '')::uuid) AND id > " WUYE_SQL_AFTER("$4")
    " ORDER BY id LIMIT $5");
}  // namespace

std::vector<v1::ServiceContract> IntakeStore::ListContracts(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate_id,
                                                            const std::string& unit_id,
                                                            const std::string& after, int limit) {
  std::vector<v1::ServiceContract> out;
  for (const auto& r : tx.exec_prepared(kContractList, group, estate_id, unit_id, after, limit)) {
    v1::ServiceContract c;
    c.set_id(sql::Text(r[0]));
    c.set_estate_id(sql::Text(r[1]));
    c.set_unit_id(sql::Text(r[2]));
    c.set_summary(sql::Text(r[3]));
    *c.mutable_start_date() = DateFromText(sql::Text(r[4]));
    if (std::string end = sql::Text(r[5]); !end.empty()) *c.mutable_end_date() = DateFromText(end);
    c.set_created_by(sql::Text(r[6]));
    *c.mutable_create_time() = sql::Stamp(r[7]);
    out.push_back(std::move(c));
  }
  return out;
}

namespace {
const sql::Statement kContractStarts = statements.Add(
    "in_contract_starts",
    "SELECT start_date::text FROM service_contracts WHERE group_id = $1 AND estate_id = $2 "
    "AND unit_id = $3 AND start_date <= $4::date AND (end_date IS NULL OR end_date >= "
    "$4::date)");
}  // namespace

std::vector<std::string> IntakeStore::ContractStartsInForce(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate_id,
                                                            const std::string& unit_id,
                                                            const std::string& day) {
  std::vector<std::string> out;
  if (!IsValidId(unit_id)) return out;
  for (const auto& r : tx.exec_prepared(kContractStarts, group, estate_id, unit_id, day)) {
    out.push_back(sql::Text(r[0]));
  }
  return out;
}

namespace {
const sql::Statement kItemLaunchPut = statements.Add("in_item_launch_put",
    "INSERT INTO service_items (group_id, estate_id, item_code, launched_at) VALUES ($1, $2, "
    "$3, " WUYE_SQL_TIME("$4") ") ON CONFLICT (group_id, estate_id, item_code) DO UPDATE SET "
    "launched_at = LEAST(service_items.launched_at, EXCLUDED.launched_at)");
}  // namespace

void IntakeStore::RecordItemLaunch(pqxx::work& tx, const std::string& group,
                                   const std::string& estate_id, const std::string& item_code,
                                   absl::Time at) {
  tx.exec_prepared(kItemLaunchPut, group, estate_id, item_code, sql::Micros(at));
}

namespace {
const sql::Statement kItemLaunchGet = statements.Add("in_item_launch_get",
    "SELECT " WUYE_SQL_MICROS("launched_at") " FROM service_items WHERE group_id = $1 "
    "AND estate_id = $2 "
    "AND item_code = $3");
}  // namespace

std::optional<absl::Time> IntakeStore::ItemLaunch(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate_id,
                                                  const std::string& item_code) {
  auto res = tx.exec_prepared(kItemLaunchGet, group, estate_id, item_code);
  if (res.empty()) return std::nullopt;
  return sql::TimeOf(res[0][0]);
}

namespace {
const sql::Statement kSettingsGet =
    statements.Add("in_settings_get",
                   "SELECT new_staff_days, new_contract_days, new_item_days, "
                   "complaint_reply_hours, complaint_reply_clock, hotline_reply_backdate_hours "
                   "FROM callback_settings "
                   "WHERE group_id = $1");
}  // namespace

v1::CallbackSettings IntakeStore::GetCallbackSettings(pqxx::work& tx, const std::string& group) {
  auto res = tx.exec_prepared(kSettingsGet, group);
  if (res.empty()) return DefaultCallbackSettings();
  v1::CallbackSettings s;
  s.set_new_staff_days(res[0][0].as<int>());
  s.set_new_contract_days(res[0][1].as<int>());
  s.set_new_item_days(res[0][2].as<int>());
  s.set_complaint_reply_hours(res[0][3].as<int>());
  s.set_complaint_reply_clock(static_cast<wuye::common::v1::SlaClock>(res[0][4].as<int>()));
  s.set_hotline_reply_backdate_hours(res[0][5].as<int>());
  return s;
}

namespace {
const sql::Statement kSettingsPut = statements.Add("in_settings_put",
    "INSERT INTO callback_settings (group_id, new_staff_days, new_contract_days, "
    "new_item_days, updated_at, complaint_reply_hours, complaint_reply_clock, "
    "hotline_reply_backdate_hours) VALUES ($1, $2, $3, $4, " WUYE_SQL_TIME("$5") ", $6, $7, $8) "
    "ON CONFLICT (group_id) "
    "DO UPDATE SET new_staff_days = EXCLUDED.new_staff_days, new_contract_days = "
    "EXCLUDED.new_contract_days, new_item_days = EXCLUDED.new_item_days, updated_at = "
    "EXCLUDED.updated_at, complaint_reply_hours = EXCLUDED.complaint_reply_hours, "
    "complaint_reply_clock = EXCLUDED.complaint_reply_clock, hotline_reply_backdate_hours = "
    "EXCLUDED.hotline_reply_backdate_hours");
}  // namespace

void IntakeStore::PutCallbackSettings(pqxx::work& tx, const std::string& group,
                                      const v1::CallbackSettings& s, absl::Time now) {
  tx.exec_prepared(kSettingsPut, group, s.new_staff_days(), s.new_contract_days(),
                   s.new_item_days(), sql::Micros(now), s.complaint_reply_hours(),
                   static_cast<int>(s.complaint_reply_clock()), s.hotline_reply_backdate_hours());
}

namespace {
const sql::Statement kCallbackInsert = statements.Add(
    "in_callback_insert",
    "INSERT INTO callbacks (id, group_id, estate_id, ticket_id, satisfaction, comment, "
    "agent_id, reopened, called_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " WUYE_SQL_TIME(
        "$9") ")");
}  // namespace

void IntakeStore::InsertCallback(pqxx::work& tx, const std::string& group, const v1::Callback& c) {
  tx.exec_prepared(kCallbackInsert, c.id(), group, c.estate_id(), c.ticket_id(),
                   static_cast<int>(c.satisfaction()), c.comment(), c.agent_id(), c.reopened(),
                   sql::Micros(FromProtoTime(c.call_time())));
}

namespace {
const sql::Statement kVerificationInsert = statements.Add(
    "in_verification_insert",
    "INSERT INTO complaint_verifications (id, group_id, estate_id, ticket_id, staff_id, "
    "finding, verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, " WUYE_SQL_TIME(
        "$8") ")");
}  // namespace

void IntakeStore::InsertVerification(pqxx::work& tx, const std::string& group,
                                     const v1::ComplaintVerification& v) {
  tx.exec_prepared(kVerificationInsert, v.id(), group, v.estate_id(), v.ticket_id(), v.staff_id(),
                   v.finding(), v.verified_by(), sql::Micros(FromProtoTime(v.verify_time())));
}

namespace {
const sql::Statement kVerificationExists =
    statements.Add("in_verification_exists",
                   "SELECT EXISTS (SELECT 1 FROM complaint_verifications WHERE group_id = $1 AND "
                   "ticket_id = $2 AND staff_id = $3)");
}  // namespace

bool IntakeStore::ComplaintVerified(pqxx::work& tx, const std::string& group,
                                    const std::string& ticket_id, const std::string& staff_id) {
  return tx.exec_prepared1(kVerificationExists, group, ticket_id, staff_id)[0].as<bool>();
}

namespace {
const sql::Statement kHotlineNear = statements.Add(
    "in_hotline_near",
    "SELECT EXISTS (SELECT 1 FROM tickets WHERE group_id = $1 AND estate_id = $2 AND "
    "channel = 1 AND caller_hash = $3::bytea AND received_at BETWEEN " WUYE_SQL_TIME("$4") " AND " WUYE_SQL_TIME(
        "$5") ")");
}  // namespace

bool IntakeStore::HotlineTicketNear(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& caller_hash,
                                    absl::Time from, absl::Time to) {
  return tx
      .exec_prepared1(kHotlineNear, group, estate_id, tx.esc_raw(caller_hash), sql::Micros(from),
                      sql::Micros(to))[0]
      .as<bool>();
}

namespace {
const sql::Statement kUnrecordedInsert = statements.Add("in_unrecorded_insert",
    "INSERT INTO unrecorded_calls (id, group_id, estate_id, call_at, caller_hash, duration_s, "
    "found_at) VALUES ($1, $2, $3, " WUYE_SQL_TIME("$4") ", $5::bytea, $6, "
    WUYE_SQL_TIME("$7") ") "
    "ON CONFLICT DO NOTHING RETURNING id");
}  // namespace

bool IntakeStore::InsertUnrecordedCall(pqxx::work& tx, const std::string& group,
                                       const std::string& estate_id, const std::string& id,
                                       absl::Time call_at, const std::string& caller_hash,
                                       int duration_s, absl::Time now) {
  auto res = tx.exec_prepared(kUnrecordedInsert, id, group, estate_id, sql::Micros(call_at),
                              tx.esc_raw(caller_hash), duration_s, sql::Micros(now));
  return !res.empty();
}

namespace {
const sql::Statement kResidentPhoneUpsert = statements.Add("in_resident_phone_upsert",
    "INSERT INTO resident_phones (group_id, resident_id, estate_id, phone_hash, version, role, "
    "lease_start, lease_end, move_out_date, removed_at) VALUES ($1, $2, $3, "
    "NULLIF($4::bytea, ''::bytea), $5, $6, NULLIF($7, '')::date, NULLIF($8, '')::date, "
    "NULLIF($9, '')::date, " WUYE_SQL_TIME("NULLIF($10, '')::bigint") ") "
    "ON CONFLICT (group_id, resident_id) DO UPDATE SET estate_id = EXCLUDED.estate_id, "
    "phone_hash = EXCLUDED.phone_hash, version = EXCLUDED.version, role = EXCLUDED.role, "
    "lease_start = EXCLUDED.lease_start, lease_end = EXCLUDED.lease_end, move_out_date = "
    "EXCLUDED.move_out_date, removed_at = EXCLUDED.removed_at WHERE resident_phones.version < "
    "EXCLUDED.version");
}  // namespace

void IntakeStore::UpsertResidentPhone(pqxx::work& tx, const std::string& group,
                                      const std::string& resident_id, const std::string& estate_id,
                                      const std::string& phone_hash, const ResidentTerms& terms,
                                      int64_t version) {
  std::string removed = terms.removed_at ? std::to_string(sql::Micros(*terms.removed_at)) : "";
  tx.exec_prepared(kResidentPhoneUpsert, group, resident_id, estate_id, tx.esc_raw(phone_hash),
                   version, terms.role, terms.lease_start, terms.lease_end, terms.move_out_date,
                   removed);
}

namespace {
// Seed 000 二.5 (有业主通话记录): a resident on the call's day. Role 2 is a tenant, whose
// lease bounds the days (inclusive).
const sql::Statement kResidentPhoneKnown = statements.Add("in_resident_phone_known",
    "SELECT EXISTS (SELECT 1 FROM resident_phones WHERE group_id = $1 AND estate_id = $2 AND "
    "phone_hash = $3::bytea AND (removed_at IS NULL OR removed_at > " WUYE_SQL_TIME("$4") ") AND "
    "(move_out_date IS NULL OR $5::date < move_out_date) AND (role <> 2 OR "
    "((lease_start IS NULL OR $5::date >= lease_start) AND (lease_end IS NULL OR "
    "$5::date <= lease_end)))), "
    "EXISTS (SELECT 1 FROM resident_phones WHERE group_id = $1 AND estate_id = $2)");
}  // namespace

std::optional<bool> IntakeStore::ResidentPhone(pqxx::work& tx, const std::string& group,
                                               const std::string& estate_id,
                                               const std::string& phone_hash, absl::Time call_at,
                                               const std::string& call_day) {
  auto row = tx.exec_prepared1(kResidentPhoneKnown, group, estate_id, tx.esc_raw(phone_hash),
                               sql::Micros(call_at), call_day);
  if (row[0].as<bool>()) return true;
  if (!row[1].as<bool>()) return std::nullopt;
  return false;
}

// ---- 12345 orders ----------------------------------------------------------------------

namespace {
const sql::Statement kHotlineInsert = statements.Add(
    "in_hotline_insert",
    "WITH t AS (INSERT INTO tickets (id, group_id, estate_id, state, kind, channel, owner_id, "
    "caller_hash, received_at, household, version, body, hotline_city, hotline_order, "
    "hotline_month, external_due_at, hotline_warn_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "NULLIF($8::bytea, ''::bytea), " WUYE_SQL_TIME("$9") ", $10, $11, $12, $13, $14, $15, "
    WUYE_SQL_TIME("$16") ", " WUYE_SQL_TIME("$17") ") "
    "ON CONFLICT (group_id, hotline_city, hotline_order) WHERE hotline_order IS NOT NULL "
    "DO NOTHING RETURNING id) " HISTORY_INSERT("$2", "t.id", "$18", "$19", "$20", "$21", "$22",
                                                "$23", "$24", "$25") " FROM t RETURNING ticket_id");
const sql::Statement kHotlineFind = statements.Add(
    "in_hotline_find",
    "SELECT id::text FROM tickets WHERE group_id = $1 AND hotline_city = $2 AND "
    "hotline_order = $3");
// The open 12345 orders counted in working days whose deadline a calendar change moves
// (issue 27 §1: re-computed forward), locked in id order.
const sql::Statement kHotlineOpen = statements.Add(
    "in_hotline_open",
    "SELECT id::text, hotline_spent_us, " WUYE_SQL_MICROS("hotline_settled_at") " FROM tickets "
    "WHERE group_id = $1 AND ($2 = '' OR estate_id::text = $2) "
    "AND hotline_order IS NOT NULL AND hotline_delivered_at IS NULL ORDER BY id FOR UPDATE");
const sql::Statement kHotlineRetime = statements.Add(
    "in_hotline_retime",
    "UPDATE tickets SET external_due_at = " WUYE_SQL_TIME("$3") ", hotline_warn_at = " WUYE_SQL_TIME(
        "$4") ", hotline_due_soon_published = hotline_due_soon_published AND NOT $5, "
              "hotline_overdue_published = hotline_overdue_published AND NOT $6, "
              "hotline_spent_us = $7, hotline_settled_at = " WUYE_SQL_TIME("$8") " "
              "WHERE group_id = $1 AND id = $2");
const sql::Statement kHotlineReplied = statements.Add(
    "in_hotline_replied",
    "UPDATE tickets SET hotline_replied_at = COALESCE(hotline_replied_at, " WUYE_SQL_TIME(
        "$3") ") WHERE group_id = $1 AND id = $2");
// LEAST skips a NULL: the first delivery, or an earlier one (a file exported while the HTTP
// exchange's post of the same reply was under way).
const sql::Statement kHotlineDelivered = statements.Add(
    "in_hotline_delivered",
    "UPDATE tickets SET hotline_delivered_at = LEAST(hotline_delivered_at, " WUYE_SQL_TIME(
        "$3") ") WHERE group_id = $1 AND id = $2");
const sql::Statement kHotlineReplyInsert = statements.Add(
    "in_hotline_reply_insert",
    "INSERT INTO hotline_replies (id, group_id, estate_id, ticket_id, city, order_number, reply, "
    "replied_by, replied_at, on_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " WUYE_SQL_TIME(
        "$9") ", $10)");
const sql::Statement kHotlineUnexported = statements.Add(
    "in_hotline_unexported",
    "SELECT id::text, estate_id::text, ticket_id::text, city, order_number, reply, replied_by, "
    WUYE_SQL_MICROS("replied_at") ", on_time FROM hotline_replies WHERE group_id = $1 AND "
    "city = $2 AND exported_at IS NULL AND ($5 OR estate_id::text = ANY($4::text[])) "
    "ORDER BY replied_at, id LIMIT $3 FOR UPDATE");
const sql::Statement kHotlineExported = statements.Add(
    "in_hotline_exported",
    "UPDATE hotline_replies r SET exported_at = LEAST(r.exported_at, " WUYE_SQL_TIME("$3") "), "
    "on_time = LEAST(r.exported_at, " WUYE_SQL_TIME("$3") ") <= t.external_due_at FROM tickets t "
    "WHERE r.group_id = $1 AND r.id = ANY($2::uuid[]) AND t.group_id = r.group_id AND "
    "t.id = r.ticket_id RETURNING r.id::text, r.ticket_id::text, " WUYE_SQL_MICROS(
        "r.exported_at") ", r.on_time");
const sql::Statement kHotlineResult = statements.Add(
    "in_hotline_result",
    "UPDATE tickets SET hotline_result = $3, hotline_callback_at = " WUYE_SQL_TIME("$4") " WHERE "
    "group_id = $1 AND id = $2");
const sql::Statement kHotlineMonth = statements.Add(
    "in_hotline_month",
    "SELECT count(*), count(hotline_replied_at), "
    "count(*) FILTER (WHERE hotline_delivered_at <= external_due_at), "
    "count(*) FILTER (WHERE hotline_replied_at IS NULL AND external_due_at < " WUYE_SQL_TIME(
        "$4") "), "
    "count(*) FILTER (WHERE hotline_result = 1), count(*) FILTER (WHERE hotline_result = 2), "
    "count(*) FILTER (WHERE hotline_result = 3), "
    "count(*) FILTER (WHERE hotline_replied_at IS NOT NULL AND hotline_delivered_at IS NULL) "
    "FROM tickets WHERE group_id = $1 AND estate_id = $2 AND hotline_month = $3");
}  // namespace

bool IntakeStore::InsertHotlineTicket(pqxx::work& tx, const NewTicket& row,
                                      const HotlineColumns& h) {
  const v1::Ticket& t = row.ticket;
  const v1::TicketChange& c = row.history.at(0);
  const auto& actor = c.change().actor();
  auto res = tx.exec_prepared(
      kHotlineInsert, t.id(), t.group_id(), t.estate_id(), static_cast<int>(t.state()),
      static_cast<int>(t.kind()), static_cast<int>(t.channel()), t.owner_id(),
      tx.esc_raw(row.caller_hash), sql::Micros(FromProtoTime(t.received_time())), HouseholdKey(t),
      t.version(), tx.esc_raw(Body(t)), h.city, h.order_number, h.month, sql::Micros(h.due),
      sql::Micros(h.warn), static_cast<int>(c.from_state()), static_cast<int>(c.to_state()),
      c.from_owner_id(), c.to_owner_id(), actor.subject(), Roles(actor),
      sql::Micros(FromProtoTime(c.change().at())), c.change().reason());
  return !res.empty();
}

std::optional<std::string> IntakeStore::HotlineTicketId(pqxx::work& tx, const std::string& group,
                                                        const std::string& city,
                                                        const std::string& order_number) {
  auto res = tx.exec_prepared(kHotlineFind, group, city, order_number);
  if (res.empty()) return std::nullopt;
  return sql::Text(res[0][0]);
}

std::vector<OpenDeadline> IntakeStore::OpenHotlineOrders(pqxx::work& tx,
                                                         const std::string& group,
                                                         const std::string& estate_id) {
  std::vector<OpenDeadline> out;
  for (const auto& row : tx.exec_prepared(kHotlineOpen, group, estate_id)) {
    out.push_back({sql::Text(row[0]), KeptProgress(row[1], row[2])});
  }
  return out;
}

void IntakeStore::RetimeHotline(pqxx::work& tx, const std::string& group, const std::string& id,
                                absl::Time due, absl::Time warn, const SlaProgress& progress,
                                bool rearm_due_soon, bool rearm_overdue) {
  tx.exec_prepared(kHotlineRetime, group, id, sql::Micros(due), sql::Micros(warn), rearm_due_soon,
                   rearm_overdue, absl::ToInt64Microseconds(progress.spent),
                   sql::Micros(progress.settled_at));
}

void IntakeStore::MarkHotlineReplied(pqxx::work& tx, const std::string& group,
                                     const std::string& id, absl::Time at) {
  tx.exec_prepared(kHotlineReplied, group, id, sql::Micros(at));
}

void IntakeStore::InsertHotlineReply(pqxx::work& tx, const std::string& group,
                                     const v1::HotlineReply& r) {
  tx.exec_prepared(kHotlineReplyInsert, r.id(), group, r.estate_id(), r.ticket_id(), r.city(),
                   r.order_number(), r.reply(), r.replied_by(),
                   sql::Micros(FromProtoTime(r.reply_time())), r.on_time());
}

std::vector<v1::HotlineReply> IntakeStore::UnexportedHotlineReplies(pqxx::work& tx,
                                                                    const std::string& group,
                                                                    const std::string& city,
                                                                    int limit,
                                                                    const Caller& caller) {
  std::vector<v1::HotlineReply> out;
  for (const auto& row : tx.exec_prepared(kHotlineUnexported, group, city, limit,
                                          PgArray(caller.estate_ids), caller.all_estates)) {
    v1::HotlineReply r;
    r.set_id(sql::Text(row[0]));
    r.set_estate_id(sql::Text(row[1]));
    r.set_ticket_id(sql::Text(row[2]));
    r.set_city(sql::Text(row[3]));
    r.set_order_number(sql::Text(row[4]));
    r.set_reply(sql::Text(row[5]));
    r.set_replied_by(sql::Text(row[6]));
    *r.mutable_reply_time() = sql::Stamp(row[7]);
    r.set_on_time(row[8].as<bool>());
    out.push_back(std::move(r));
  }
  return out;
}

void IntakeStore::MarkHotlineDelivered(pqxx::work& tx, const std::string& group,
                                       const std::string& id, absl::Time at) {
  tx.exec_prepared(kHotlineDelivered, group, id, sql::Micros(at));
}

std::vector<IntakeStore::DeliveredReply> IntakeStore::MarkHotlineRepliesExported(
    pqxx::work& tx, const std::string& group, const std::vector<std::string>& ids, absl::Time at) {
  std::vector<DeliveredReply> out;
  if (ids.empty()) return out;
  for (const auto& row : tx.exec_prepared(kHotlineExported, group, PgArray(ids), sql::Micros(at))) {
    out.push_back({sql::Text(row[0]), sql::Text(row[1]), sql::TimeOf(row[2]), row[3].as<bool>()});
  }
  return out;
}

void IntakeStore::SetHotlineResult(pqxx::work& tx, const std::string& group, const std::string& id,
                                   int result, absl::Time at) {
  tx.exec_prepared(kHotlineResult, group, id, result, sql::Micros(at));
}

HotlineMonthRows IntakeStore::HotlineMonth(pqxx::work& tx, const std::string& group,
                                           const std::string& estate_id, const std::string& month,
                                           absl::Time now) {
  HotlineMonthRows out;
  auto row = tx.exec_prepared1(kHotlineMonth, group, estate_id, month, sql::Micros(now));
  out.orders = row[0].as<int>();
  out.replied = row[1].as<int>();
  out.replied_on_time = row[2].as<int>();
  out.overdue_unreplied = row[3].as<int>();
  out.satisfied = row[4].as<int>();
  out.basically_satisfied = row[5].as<int>();
  out.unsatisfied = row[6].as<int>();
  out.replied_undelivered = row[7].as<int>();
  return out;
}

// ---- complaints' written replies (migration 010) -----------------------------------------

namespace {
const sql::Statement kReplyGiven = statements.Add(
    "in_reply_given",
    "UPDATE tickets SET reply_given_at = COALESCE(reply_given_at, " WUYE_SQL_TIME("$3") ") "
    "WHERE group_id = $1 AND id = $2 AND reply_due_at IS NOT NULL");
// The complaints of the group (estate "": all its estates) still waiting for their reply,
// locked in id order (a calendar change re-times them).
const sql::Statement kReplyOpen = statements.Add(
    "in_reply_open",
    "SELECT id::text, reply_spent_us, " WUYE_SQL_MICROS("reply_settled_at") " FROM tickets "
    "WHERE group_id = $1 AND ($2 = '' OR estate_id::text = $2) "
    "AND reply_due_at IS NOT NULL AND reply_given_at IS NULL ORDER BY id FOR UPDATE");
const sql::Statement kReplyRetime = statements.Add(
    "in_reply_retime",
    "UPDATE tickets SET reply_due_at = " WUYE_SQL_TIME("$3") ", reply_warn_at = " WUYE_SQL_TIME(
        "$4") ", reply_due_soon_published = reply_due_soon_published AND NOT $5, "
              "reply_overdue_published = reply_overdue_published AND NOT $6, "
              "reply_spent_us = $7, reply_settled_at = " WUYE_SQL_TIME("$8") " "
              "WHERE group_id = $1 AND id = $2");
const sql::Statement kReplyMonth = statements.Add(
    "in_reply_month",
    "SELECT count(*), count(*) FILTER (WHERE reply_given_at <= reply_due_at), "
    "count(*) FILTER (WHERE reply_given_at > reply_due_at), "
    "count(*) FILTER (WHERE reply_given_at IS NULL AND reply_due_at < " WUYE_SQL_TIME("$4") ") "
    "FROM tickets WHERE group_id = $1 AND estate_id = $2 AND reply_month = $3");
}  // namespace

void IntakeStore::MarkReplyGiven(pqxx::work& tx, const std::string& group, const std::string& id,
                                 absl::Time at) {
  tx.exec_prepared(kReplyGiven, group, id, sql::Micros(at));
}

std::vector<OpenDeadline> IntakeStore::OpenComplaintReplies(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate_id) {
  std::vector<OpenDeadline> out;
  for (const auto& row : tx.exec_prepared(kReplyOpen, group, estate_id)) {
    out.push_back({sql::Text(row[0]), KeptProgress(row[1], row[2])});
  }
  return out;
}

void IntakeStore::RetimeReply(pqxx::work& tx, const std::string& group, const std::string& id,
                              absl::Time due, absl::Time warn, const SlaProgress& progress,
                              bool rearm_due_soon, bool rearm_overdue) {
  tx.exec_prepared(kReplyRetime, group, id, sql::Micros(due), sql::Micros(warn), rearm_due_soon,
                   rearm_overdue, absl::ToInt64Microseconds(progress.spent),
                   sql::Micros(progress.settled_at));
}

ReplyMonthRows IntakeStore::ReplyMonth(pqxx::work& tx, const std::string& group,
                                       const std::string& estate_id, const std::string& month,
                                       absl::Time now) {
  ReplyMonthRows out;
  auto row = tx.exec_prepared1(kReplyMonth, group, estate_id, month, sql::Micros(now));
  out.complaints = row[0].as<int>();
  out.on_time = row[1].as<int>();
  out.late = row[2].as<int>();
  out.open_past_due = row[3].as<int>();
  return out;
}

}  // namespace wuye::intake
