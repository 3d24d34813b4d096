#include "services/intake/intake_store.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/intake/ticket.h"
#include "shared/ids.h"
#include "shared/proto_time.h"

namespace wuye::intake {
namespace {

namespace ev = ::wuye::events::v1;

// Times cross the wire as Unix microseconds.
#define TS(param) "to_timestamp(" param "::float8 / 1000000)"
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
// "INSERT INTO ticket_history ..." for `group` and `ticket` (SQL expressions) with the change's
// columns from eight parameters starting at $n: from_state, to_state, from_owner, to_owner,
// actor, actor_roles, at (µs), reason.
#define HISTORY_INSERT(group, ticket, p1, p2, p3, p4, p5, p6, p7, p8)                           \
  "INSERT INTO ticket_history (group_id, ticket_id, from_state, to_state, from_owner, "         \
  "to_owner, actor, actor_roles, at, reason) SELECT " group ", " ticket ", " p1 ", " p2 ", " p3 \
  ", " p4 ", " p5 ", " p6 "::text[], " TS(p7) ", " p8
#define AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, '00000000-0000-0000-0000-000000000000')"

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t Micros(const google::protobuf::Timestamp& ts) { return Micros(FromProtoTime(ts)); }

// The stored body: the ticket without what is kept elsewhere or never kept.
std::string Body(const v1::Ticket& t) {
  v1::Ticket copy = t;
  copy.clear_history();
  copy.clear_caller_phone();
  copy.clear_overdue();
  return copy.SerializeAsString();
}

v1::Ticket ParseBody(const pqxx::field& f) {
  v1::Ticket t;
  t.ParseFromString(pqxx::binarystring(f).str());
  return t;
}

std::string Roles(const wuye::common::v1::Actor& actor) {
  return PgArray(std::vector<std::string>(actor.roles().begin(), actor.roles().end()));
}

std::string OptionalMicros(const google::protobuf::Timestamp* ts) {
  return ts ? std::to_string(Micros(*ts)) : std::string();
}

}  // namespace

IntakeStore::IntakeStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  // CreateTicket, group-committed: the calls whose request_id is new (claim), their tickets,
  // history rows and events, in one statement. Arrays of one element per call ($1-$17),
  // per history row ($18-$26) and per event ($27-$30); rows of calls not claimed drop out
  // in the joins.
  prep("in_ticket_create_batch",
       // The claim's subject is the caller, who owns the new ticket ($11).
       "WITH claim AS ("
       "  INSERT INTO wuye_idempotency (group_key, request_id, method, request_hash, response,"
       "    subject)"
       "  SELECT g, r, $3, h, a, o"
       "  FROM unnest($1::text[], $2::text[], $4::bytea[], $5::bytea[], $11::text[])"
       "    AS c(g, r, h, a, o)"
       "  ON CONFLICT DO NOTHING RETURNING group_key, request_id"
       "), t AS ("
       "  INSERT INTO tickets (id, group_id, estate_id, state, kind, channel, owner_id,"
       "    answer_due_at, caller_hash, received_at, household, version, body)"
       "  SELECT x.id, x.g::uuid, x.estate, x.state, x.kind, x.channel, x.owner,"
       "    to_timestamp(NULLIF(x.due, '')::float8 / 1000000), NULLIF(x.hash, ''::bytea),"
       "    " TS("x.received") ", x.household, x.version, x.body"
       "  FROM unnest($1::text[], $2::text[], $6::uuid[], $7::uuid[], $8::smallint[],"
       "    $9::smallint[], $10::smallint[], $11::text[], $12::text[], $13::bytea[],"
       "    $14::bigint[], $15::text[], $16::bigint[], $17::bytea[])"
       "    AS x(g, r, id, estate, state, kind, channel, owner, due, hash, received, household,"
       "         version, body)"
       "  JOIN claim ON claim.group_key = x.g AND claim.request_id = x.r"
       "  RETURNING id, group_id"
       "), h AS ("
       "  INSERT INTO ticket_history (group_id, ticket_id, from_state, to_state, from_owner,"
       "    to_owner, actor, actor_roles, at, reason)"
       "  SELECT t.group_id, h.ticket, h.from_state, h.to_state, h.from_owner, h.to_owner,"
       "    h.actor, h.roles::text[], " TS("h.at") ", h.reason"
       "  FROM unnest($18::uuid[], $19::smallint[], $20::smallint[], $21::text[], $22::text[],"
       "    $23::text[], $24::text[], $25::bigint[], $26::text[]) WITH ORDINALITY"
       "    AS h(ticket, from_state, to_state, from_owner, to_owner, actor, roles, at, reason, n)"
       "  JOIN t ON t.id = h.ticket ORDER BY h.n"
       "), o AS ("
       "  INSERT INTO wuye_outbox (event_id, type, envelope)"
       "  SELECT e.event_id, e.type, e.envelope"
       "  FROM unnest($27::uuid[], $28::uuid[], $29::text[], $30::bytea[]) WITH ORDINALITY"
       "    AS e(ticket, event_id, type, envelope, n)"
       "  JOIN t ON t.id = e.ticket ORDER BY e.n"
       ") SELECT group_key, request_id FROM claim");
  prep("in_ticket_get", "SELECT body FROM tickets WHERE group_id = $1 AND id = $2");
  prep("in_ticket_get_locked",
       "SELECT body FROM tickets WHERE group_id = $1 AND id = $2 FOR UPDATE");
  prep("in_ticket_update",
       "UPDATE tickets SET state = $3, owner_id = $4, version = $5, callback_reason = $6, "
       "body = $7 WHERE group_id = $1 AND id = $2");
  prep("in_ticket_update_history",
       "WITH t AS (UPDATE tickets SET state = $3, owner_id = $4, version = $5, "
       "callback_reason = $6, body = $7 WHERE group_id = $1 AND id = $2 RETURNING "
       "id) " HISTORY_INSERT("$1", "(SELECT id FROM t)", "$8", "$9", "$10", "$11", "$12", "$13",
                             "$14", "$15"));
  prep("in_ticket_resolved",
       "UPDATE tickets SET resolved_month = $3, resolved_at = " TS("$4") ", callback_done = false, "
       "served_unit = NULLIF($5, '') WHERE group_id = $1 AND id = $2");
  prep("in_ticket_callback_done",
       "UPDATE tickets SET callback_done = true WHERE group_id = $1 AND id = $2");
  prep("in_ticket_list",
       "SELECT body FROM tickets WHERE group_id = $1"
       " AND (NULLIF($2, '')::uuid IS NULL OR estate_id = NULLIF($2, '')::uuid)"
       " AND ($3 OR estate_id = ANY($4::uuid[]))"
       " AND ($5 = 0 OR state = $5) AND ($6 = 0 OR kind = $6) AND ($7 = 0 OR channel = $7)"
       " AND ($8 = '' OR owner_id = $8)"
       " AND (NOT $9 OR (state = 1 AND kind = 1 AND answer_due_at < " TS("$10") "))"
       " AND id > " AFTER("$11") " ORDER BY id LIMIT $12");

  prep("in_history_list",
       "SELECT from_state, to_state, from_owner, to_owner, actor, actor_roles, " US("at") ", "
       "reason FROM ticket_history WHERE group_id = $1 AND ticket_id = $2 ORDER BY seq");

  prep("in_wo_version",
       "SELECT version FROM ticket_work_orders WHERE group_id = $1 AND work_order_id = $2");
  prep("in_wo_upsert",
       "INSERT INTO ticket_work_orders (work_order_id, group_id, ticket_id, state, worker_ids, "
       "version) VALUES ($1, $2, $3, $4, $5::text[], $6) ON CONFLICT (work_order_id) DO UPDATE "
       "SET state = EXCLUDED.state, worker_ids = EXCLUDED.worker_ids, version = EXCLUDED.version "
       "WHERE ticket_work_orders.version < EXCLUDED.version "
       "AND ticket_work_orders.group_id = EXCLUDED.group_id");
  prep("in_wo_list",
       "SELECT work_order_id, state, worker_ids FROM ticket_work_orders "
       "WHERE group_id = $1 AND ticket_id = $2 ORDER BY work_order_id");

  prep("in_month_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
  // Households served: the distinct units of the month's in-home services (served_unit).
  prep("in_month_counts",
       "SELECT count(DISTINCT served_unit), "
       "count(DISTINCT served_unit) FILTER (WHERE callback_reason NOT IN (0, 7) AND id <> $5), "
       "bool_or(served_unit = $4 AND callback_reason NOT IN (0, 7) AND id <> $5) "
       "FROM tickets WHERE group_id = $1 AND estate_id = $2 AND resolved_month = $3");
  prep("in_coverage_counts",
       "SELECT count(DISTINCT served_unit), count(DISTINCT served_unit) FILTER (WHERE "
       "callback_done) FROM tickets WHERE group_id = $1 AND estate_id = $2 AND resolved_month = "
       "$3");
  prep("in_coverage_missing",
       "SELECT id, callback_reason, " US("resolved_at") " FROM tickets "
       "WHERE group_id = $1 AND estate_id = $2 AND resolved_month = $3 AND NOT callback_done "
       "AND callback_reason NOT IN (0, 1, 7) ORDER BY resolved_at, id");

  prep("in_estate_get",
       "SELECT household_count, time_zone, desk_24h, desk_opens_min, desk_closes_min FROM "
       "estates WHERE group_id = $1 AND id = $2");
  prep("in_estate_upsert",
       "INSERT INTO estates (id, group_id, household_count, time_zone, version, desk_24h, "
       "desk_opens_min, desk_closes_min) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
       "(id) DO UPDATE SET household_count = EXCLUDED.household_count, time_zone = "
       "EXCLUDED.time_zone, version = EXCLUDED.version, desk_24h = EXCLUDED.desk_24h, "
       "desk_opens_min = EXCLUDED.desk_opens_min, desk_closes_min = EXCLUDED.desk_closes_min "
       "WHERE estates.version < EXCLUDED.version AND estates.group_id = EXCLUDED.group_id");
  prep("in_staff_upsert",
       "INSERT INTO staff (group_id, id, start_date, version, home_estate_ids, active) VALUES "
       "($1, $2, NULLIF($3, '')::date, $4, $5::text[], $6) ON CONFLICT (group_id, id) DO UPDATE "
       "SET start_date = EXCLUDED.start_date, version = EXCLUDED.version, home_estate_ids = "
       "EXCLUDED.home_estate_ids, active = EXCLUDED.active WHERE staff.version < "
       "EXCLUDED.version");
  prep("in_staff_of_estate",
       "SELECT 1 FROM staff WHERE group_id = $1 AND id = $2 AND version > 0 AND active AND "
       "$3 = ANY(home_estate_ids)");
  prep("in_staff_start_dates",
       "SELECT COALESCE(start_date::text, '') FROM staff WHERE group_id = $1 AND id = "
       "ANY($2::text[])");
  prep("in_staff_complained",
       "SELECT count(*) FROM staff WHERE group_id = $1 AND id = ANY($2::text[]) AND complained");
  prep("in_staff_mark",
       "INSERT INTO staff (group_id, id, complained) SELECT $1, x, $3 FROM unnest($2::text[]) x "
       "ON CONFLICT (group_id, id) DO UPDATE SET complained = EXCLUDED.complained");

  prep("in_contract_insert",
       "INSERT INTO service_contracts (id, group_id, estate_id, unit_id, summary, start_date, "
       "end_date, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6::date, "
       "NULLIF($7, '')::date, $8, " TS("$9") ")");
  prep("in_contract_list",
       "SELECT id, estate_id, unit_id, summary, start_date::text, COALESCE(end_date::text, ''), "
       "created_by, " US("created_at") " FROM service_contracts WHERE group_id = $1 AND "
       "estate_id = $2 AND ($3 = '' OR unit_id = NULLIF($3, '')::uuid) AND id > " AFTER("$4")
       " ORDER BY id LIMIT $5");
  prep("in_contract_starts",
       "SELECT start_date::text FROM service_contracts WHERE group_id = $1 AND estate_id = $2 "
       "AND unit_id = $3 AND start_date <= $4::date AND (end_date IS NULL OR end_date >= "
       "$4::date)");
  prep("in_item_launch_put",
       "INSERT INTO service_items (group_id, estate_id, item_code, launched_at) VALUES ($1, $2, "
       "$3, " TS("$4") ") ON CONFLICT (group_id, estate_id, item_code) DO UPDATE SET "
       "launched_at = LEAST(service_items.launched_at, EXCLUDED.launched_at)");
  prep("in_item_launch_get",
       "SELECT " US("launched_at") " FROM service_items WHERE group_id = $1 AND estate_id = $2 "
       "AND item_code = $3");
  prep("in_settings_get",
       "SELECT new_staff_days, new_contract_days, new_item_days FROM callback_settings "
       "WHERE group_id = $1");
  prep("in_settings_put",
       "INSERT INTO callback_settings (group_id, new_staff_days, new_contract_days, "
       "new_item_days, updated_at) VALUES ($1, $2, $3, $4, " TS("$5") ") ON CONFLICT (group_id) "
       "DO UPDATE SET new_staff_days = EXCLUDED.new_staff_days, new_contract_days = "
       "EXCLUDED.new_contract_days, new_item_days = EXCLUDED.new_item_days, updated_at = "
       "EXCLUDED.updated_at");

  prep("in_callback_insert",
       "INSERT INTO callbacks (id, group_id, estate_id, ticket_id, satisfaction, comment, "
       "agent_id, reopened, called_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " TS("$9") ")");
  prep("in_verification_insert",
       "INSERT INTO complaint_verifications (id, group_id, estate_id, ticket_id, staff_id, "
       "finding, verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, " TS("$8") ")");

  prep("in_hotline_near",
       "SELECT EXISTS (SELECT 1 FROM tickets WHERE group_id = $1 AND estate_id = $2 AND "
       "caller_hash = $3::bytea AND received_at BETWEEN " TS("$4") " AND " TS("$5") ")");
  prep("in_unrecorded_insert",
       "INSERT INTO unrecorded_calls (id, group_id, estate_id, call_at, caller_hash, duration_s, "
       "found_at) VALUES ($1, $2, $3, " TS("$4") ", $5::bytea, $6, " TS("$7") ") "
       "ON CONFLICT DO NOTHING RETURNING id");
  prep("in_resident_phone_upsert",
       "INSERT INTO resident_phones (group_id, resident_id, estate_id, phone_hash, version, role, "
       "lease_start, lease_end, move_out_date, removed_at) VALUES ($1, $2, $3, "
       "NULLIF($4::bytea, ''::bytea), $5, $6, NULLIF($7, '')::date, NULLIF($8, '')::date, "
       "NULLIF($9, '')::date, " TS("NULLIF($10, '')::bigint") ") "
       "ON CONFLICT (group_id, resident_id) DO UPDATE SET estate_id = EXCLUDED.estate_id, "
       "phone_hash = EXCLUDED.phone_hash, version = EXCLUDED.version, role = EXCLUDED.role, "
       "lease_start = EXCLUDED.lease_start, lease_end = EXCLUDED.lease_end, move_out_date = "
       "EXCLUDED.move_out_date, removed_at = EXCLUDED.removed_at WHERE resident_phones.version < "
       "EXCLUDED.version");
  // Seed 000 二.5 (有业主通话记录): a resident on the call's day. Role 2 is a tenant, whose
  // lease bounds the days (inclusive).
  prep("in_resident_phone_known",
       "SELECT EXISTS (SELECT 1 FROM resident_phones WHERE group_id = $1 AND estate_id = $2 AND "
       "phone_hash = $3::bytea AND (removed_at IS NULL OR removed_at > " TS("$4") ") AND "
       "(move_out_date IS NULL OR $5::date < move_out_date) AND (role <> 2 OR "
       "((lease_start IS NULL OR $5::date >= lease_start) AND (lease_end IS NULL OR "
       "$5::date <= lease_end)))), "
       "EXISTS (SELECT 1 FROM resident_phones WHERE group_id = $1 AND estate_id = $2)");
}

absl::Status IntakeStore::CreateTickets(Db& db, absl::Span<TicketCreation* const> batch) {
  return db.Autocommit([&](pqxx::nontransaction& tx) -> absl::Status {
    std::vector<std::string> groups, request_ids, hashes, responses, ids, estates, states, kinds,
        channels, owners, dues, callers, received, households, versions, bodies;
    std::vector<std::string> h_ticket, h_from, h_to, h_from_owner, h_to_owner, h_actor, h_roles,
        h_at, h_reason;
    std::vector<std::string> e_ticket, e_id, e_type, e_envelope;
    // Claimed in key order: two statements with retries of the same requests then wait on
    // each other in the same order instead of deadlocking.
    std::vector<TicketCreation*> ordered(batch.begin(), batch.end());
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
      return std::tie(a->key.group, a->key.request_id) < std::tie(b->key.group, b->key.request_id);
    });
    absl::flat_hash_set<std::pair<std::string, std::string>> keys;
    std::string method;
    for (TicketCreation* c : ordered) {
      c->created = false;
      if (!keys.emplace(c->key.group, c->key.request_id).second) continue;  // once per batch
      method = c->key.method;
      const v1::Ticket& t = c->rows.ticket;
      groups.push_back(c->key.group);
      request_ids.push_back(c->key.request_id);
      hashes.push_back(tx.esc_raw(c->request_hash));
      responses.push_back(tx.esc_raw(c->response));
      ids.push_back(t.id());
      estates.push_back(t.estate_id());
      states.push_back(std::to_string(static_cast<int>(t.state())));
      kinds.push_back(std::to_string(static_cast<int>(t.kind())));
      channels.push_back(std::to_string(static_cast<int>(t.channel())));
      owners.push_back(t.owner_id());
      dues.push_back(OptionalMicros(t.has_answer_due_time() ? &t.answer_due_time() : nullptr));
      callers.push_back(tx.esc_raw(c->rows.caller_hash));
      received.push_back(std::to_string(Micros(t.received_time())));
      households.push_back(HouseholdKey(t));
      versions.push_back(std::to_string(t.version()));
      bodies.push_back(tx.esc_raw(Body(t)));
      for (const v1::TicketChange& h : c->rows.history) {
        h_ticket.push_back(t.id());
        h_from.push_back(std::to_string(static_cast<int>(h.from_state())));
        h_to.push_back(std::to_string(static_cast<int>(h.to_state())));
        h_from_owner.push_back(h.from_owner_id());
        h_to_owner.push_back(h.to_owner_id());
        h_actor.push_back(h.change().actor().subject());
        h_roles.push_back(Roles(h.change().actor()));
        h_at.push_back(std::to_string(Micros(h.change().at())));
        h_reason.push_back(h.change().reason());
      }
      for (const auto& e : c->rows.events) {
        e_ticket.push_back(t.id());
        e_id.push_back(e.event_id());
        e_type.push_back(e.type());
        e_envelope.push_back(tx.esc_raw(e.SerializeAsString()));
      }
    }
    pqxx::result claimed = tx.exec_prepared(
        "in_ticket_create_batch", PgArray(groups), PgArray(request_ids), method, PgArray(hashes),
        PgArray(responses), PgArray(ids), PgArray(estates), PgArray(states), PgArray(kinds),
        PgArray(channels), PgArray(owners), PgArray(dues), PgArray(callers), PgArray(received),
        PgArray(households), PgArray(versions), PgArray(bodies), PgArray(h_ticket), PgArray(h_from),
        PgArray(h_to), PgArray(h_from_owner), PgArray(h_to_owner), PgArray(h_actor),
        PgArray(h_roles), PgArray(h_at), PgArray(h_reason), PgArray(e_ticket), PgArray(e_id),
        PgArray(e_type), PgArray(e_envelope));
    absl::flat_hash_set<std::pair<std::string, std::string>> created;
    for (const auto& row : claimed) {
      created.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    for (TicketCreation* c : ordered) {
      // The first of a request_id twice in the batch is the one written.
      c->created = created.erase({c->key.group, c->key.request_id}) > 0;
    }
    return absl::OkStatus();
  });
}

std::optional<v1::Ticket> IntakeStore::GetTicket(pqxx::work& tx, const std::string& group,
                                                 const std::string& id, bool for_update) {
  auto res = tx.exec_prepared(for_update ? "in_ticket_get_locked" : "in_ticket_get", group, id);
  if (res.empty()) return std::nullopt;
  return ParseBody(res[0][0]);
}

void IntakeStore::UpdateTicket(pqxx::work& tx, const v1::Ticket& t, const v1::TicketChange* c) {
  if (c == nullptr) {
    tx.exec_prepared("in_ticket_update", t.group_id(), t.id(), static_cast<int>(t.state()),
                     t.owner_id(), t.version(), static_cast<int>(t.callback_reason()),
                     tx.esc_raw(Body(t)));
    return;
  }
  const auto& actor = c->change().actor();
  tx.exec_prepared("in_ticket_update_history", t.group_id(), t.id(), static_cast<int>(t.state()),
                   t.owner_id(), t.version(), static_cast<int>(t.callback_reason()),
                   tx.esc_raw(Body(t)), static_cast<int>(c->from_state()),
                   static_cast<int>(c->to_state()), c->from_owner_id(), c->to_owner_id(),
                   actor.subject(), Roles(actor), Micros(c->change().at()), c->change().reason());
}

void IntakeStore::MarkResolved(pqxx::work& tx, const std::string& group, const std::string& id,
                               const std::string& month, absl::Time at,
                               const std::string& served_unit) {
  tx.exec_prepared("in_ticket_resolved", group, id, month, Micros(at), served_unit);
}

void IntakeStore::MarkCallbackDone(pqxx::work& tx, const std::string& group,
                                   const std::string& id) {
  tx.exec_prepared("in_ticket_callback_done", group, id);
}

std::vector<v1::TicketChange> IntakeStore::History(pqxx::work& tx, const std::string& group,
                                                   const std::string& ticket_id) {
  std::vector<v1::TicketChange> out;
  for (const auto& r : tx.exec_prepared("in_history_list", group, ticket_id)) {
    v1::TicketChange c;
    c.set_from_state(static_cast<ev::TicketState>(r[0].as<int>()));
    c.set_to_state(static_cast<ev::TicketState>(r[1].as<int>()));
    c.set_from_owner_id(r[2].as<std::string>());
    c.set_to_owner_id(r[3].as<std::string>());
    c.mutable_change()->mutable_actor()->set_subject(r[4].as<std::string>());
    for (auto& role : ParsePgArray(r[5])) c.mutable_change()->mutable_actor()->add_roles(role);
    *c.mutable_change()->mutable_at() = ToProtoTime(absl::FromUnixMicros(r[6].as<int64_t>()));
    c.mutable_change()->set_reason(r[7].as<std::string>());
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<v1::Ticket> IntakeStore::ListTickets(pqxx::work& tx, const std::string& group,
                                                 const TicketFilter& f, const std::string& after,
                                                 int limit) {
  std::vector<v1::Ticket> out;
  auto res = tx.exec_prepared("in_ticket_list", group, f.estate_id, f.all_estates,
                              PgArray(f.visible_estates), f.state, f.kind, f.channel, f.owner_id,
                              f.overdue, Micros(f.now), after, limit);
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(ParseBody(r[0]));
  return out;
}

int64_t IntakeStore::WorkOrderVersion(pqxx::work& tx, const std::string& group,
                                      const std::string& id) {
  auto res = tx.exec_prepared("in_wo_version", group, id);
  return res.empty() ? -1 : res[0][0].as<int64_t>();
}

void IntakeStore::UpsertWorkOrder(pqxx::work& tx, const std::string& group,
                                  const std::string& ticket_id, const WorkOrderRow& row,
                                  int64_t version) {
  tx.exec_prepared("in_wo_upsert", row.id, group, ticket_id, row.state, PgArray(row.worker_ids),
                   version);
}

std::vector<WorkOrderRow> IntakeStore::WorkOrders(pqxx::work& tx, const std::string& group,
                                                  const std::string& ticket_id) {
  std::vector<WorkOrderRow> out;
  for (const auto& r : tx.exec_prepared("in_wo_list", group, ticket_id)) {
    out.push_back({r[0].as<std::string>(), r[1].as<int>(), ParsePgArray(r[2])});
  }
  return out;
}

void IntakeStore::LockMonth(pqxx::work& tx, const std::string& estate_id,
                            const std::string& month) {
  tx.exec_prepared("in_month_lock", absl::StrCat("intake.callbacks/", estate_id, "/", month));
}

MonthCounts IntakeStore::CountMonth(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& month,
                                    const std::string& household,
                                    const std::string& exclude_ticket) {
  auto r = tx.exec_prepared1("in_month_counts", group, estate_id, month, household, exclude_ticket);
  MonthCounts c;
  c.households_served = r[0].as<int>();
  c.households_called = r[1].as<int>();
  c.household_called = !r[2].is_null() && r[2].as<bool>();
  return c;
}

CoverageRows IntakeStore::Coverage(pqxx::work& tx, const std::string& group,
                                   const std::string& estate_id, const std::string& month) {
  CoverageRows out;
  auto r = tx.exec_prepared1("in_coverage_counts", group, estate_id, month);
  out.households_served = r[0].as<int>();
  out.callbacks_done = r[1].as<int>();
  for (const auto& row : tx.exec_prepared("in_coverage_missing", group, estate_id, month)) {
    v1::MissingCallback m;
    m.set_ticket_id(row[0].as<std::string>());
    m.set_reason(static_cast<v1::CallbackReason>(row[1].as<int>()));
    *m.mutable_resolve_time() = ToProtoTime(absl::FromUnixMicros(row[2].as<int64_t>()));
    out.missing_mandatory.push_back(std::move(m));
  }
  return out;
}

std::optional<EstateFacts> IntakeStore::GetEstate(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  auto res = tx.exec_prepared("in_estate_get", group, id);
  if (res.empty()) return std::nullopt;
  EstateFacts f;
  f.household_count = res[0][0].as<int>();
  f.time_zone = res[0][1].as<std::string>();
  f.desk.open_24h = res[0][2].as<bool>();
  f.desk.opens_min = res[0][3].as<int>();
  f.desk.closes_min = res[0][4].as<int>();
  return f;
}

void IntakeStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                               int household_count, const std::string& time_zone,
                               const DeskHours& desk, int64_t version) {
  tx.exec_prepared("in_estate_upsert", id, group, household_count, time_zone, version,
                   desk.open_24h, desk.opens_min, desk.closes_min);
}

void IntakeStore::UpsertStaff(pqxx::work& tx, const std::string& group, const std::string& id,
                              const std::string& start_date, int64_t version,
                              const std::vector<std::string>& home_estates, bool active) {
  tx.exec_prepared("in_staff_upsert", group, id, start_date, version, PgArray(home_estates),
                   active);
}

bool IntakeStore::StaffOfEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                const std::string& estate) {
  return !tx.exec_prepared("in_staff_of_estate", group, id, estate).empty();
}

std::vector<std::string> IntakeStore::StaffStartDates(pqxx::work& tx, const std::string& group,
                                                      const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared("in_staff_start_dates", group, PgArray(ids))) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

bool IntakeStore::AnyComplained(pqxx::work& tx, const std::string& group,
                                const std::vector<std::string>& ids) {
  return tx.exec_prepared1("in_staff_complained", group, PgArray(ids))[0].as<int>() > 0;
}

void IntakeStore::SetComplained(pqxx::work& tx, const std::string& group,
                                const std::vector<std::string>& ids, bool complained) {
  if (ids.empty()) return;
  tx.exec_prepared("in_staff_mark", group, PgArray(ids), complained);
}

void IntakeStore::InsertContract(pqxx::work& tx, const std::string& group,
                                 const v1::ServiceContract& c) {
  tx.exec_prepared("in_contract_insert", c.id(), group, c.estate_id(), c.unit_id(), c.summary(),
                   DateText(c.start_date()), DateText(c.end_date()), c.created_by(),
                   Micros(c.create_time()));
}

std::vector<v1::ServiceContract> IntakeStore::ListContracts(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate_id,
                                                            const std::string& unit_id,
                                                            const std::string& after, int limit) {
  std::vector<v1::ServiceContract> out;
  for (const auto& r :
       tx.exec_prepared("in_contract_list", group, estate_id, unit_id, after, limit)) {
    v1::ServiceContract c;
    c.set_id(r[0].as<std::string>());
    c.set_estate_id(r[1].as<std::string>());
    c.set_unit_id(r[2].as<std::string>());
    c.set_summary(r[3].as<std::string>());
    *c.mutable_start_date() = DateFromText(r[4].as<std::string>());
    if (std::string end = r[5].as<std::string>(); !end.empty())
      *c.mutable_end_date() = DateFromText(end);
    c.set_created_by(r[6].as<std::string>());
    *c.mutable_create_time() = ToProtoTime(absl::FromUnixMicros(r[7].as<int64_t>()));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> IntakeStore::ContractStartsInForce(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate_id,
                                                            const std::string& unit_id,
                                                            const std::string& day) {
  std::vector<std::string> out;
  if (!IsValidId(unit_id)) return out;
  for (const auto& r : tx.exec_prepared("in_contract_starts", group, estate_id, unit_id, day)) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

void IntakeStore::RecordItemLaunch(pqxx::work& tx, const std::string& group,
                                   const std::string& estate_id, const std::string& item_code,
                                   absl::Time at) {
  tx.exec_prepared("in_item_launch_put", group, estate_id, item_code, Micros(at));
}

std::optional<absl::Time> IntakeStore::ItemLaunch(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate_id,
                                                  const std::string& item_code) {
  auto res = tx.exec_prepared("in_item_launch_get", group, estate_id, item_code);
  if (res.empty()) return std::nullopt;
  return absl::FromUnixMicros(res[0][0].as<int64_t>());
}

v1::CallbackSettings IntakeStore::GetCallbackSettings(pqxx::work& tx, const std::string& group) {
  auto res = tx.exec_prepared("in_settings_get", group);
  if (res.empty()) return DefaultCallbackSettings();
  v1::CallbackSettings s;
  s.set_new_staff_days(res[0][0].as<int>());
  s.set_new_contract_days(res[0][1].as<int>());
  s.set_new_item_days(res[0][2].as<int>());
  return s;
}

void IntakeStore::PutCallbackSettings(pqxx::work& tx, const std::string& group,
                                      const v1::CallbackSettings& s, absl::Time now) {
  tx.exec_prepared("in_settings_put", group, s.new_staff_days(), s.new_contract_days(),
                   s.new_item_days(), Micros(now));
}

void IntakeStore::InsertCallback(pqxx::work& tx, const std::string& group, const v1::Callback& c) {
  tx.exec_prepared("in_callback_insert", c.id(), group, c.estate_id(), c.ticket_id(),
                   static_cast<int>(c.satisfaction()), c.comment(), c.agent_id(), c.reopened(),
                   Micros(c.call_time()));
}

void IntakeStore::InsertVerification(pqxx::work& tx, const std::string& group,
                                     const v1::ComplaintVerification& v) {
  tx.exec_prepared("in_verification_insert", v.id(), group, v.estate_id(), v.ticket_id(),
                   v.staff_id(), v.finding(), v.verified_by(), Micros(v.verify_time()));
}

bool IntakeStore::HotlineTicketNear(pqxx::work& tx, const std::string& group,
                                    const std::string& estate_id, const std::string& caller_hash,
                                    absl::Time from, absl::Time to) {
  return tx
      .exec_prepared1("in_hotline_near", group, estate_id, tx.esc_raw(caller_hash), Micros(from),
                      Micros(to))[0]
      .as<bool>();
}

bool IntakeStore::InsertUnrecordedCall(pqxx::work& tx, const std::string& group,
                                       const std::string& estate_id, const std::string& id,
                                       absl::Time call_at, const std::string& caller_hash,
                                       int duration_s, absl::Time now) {
  auto res = tx.exec_prepared("in_unrecorded_insert", id, group, estate_id, Micros(call_at),
                              tx.esc_raw(caller_hash), duration_s, Micros(now));
  return !res.empty();
}

void IntakeStore::UpsertResidentPhone(pqxx::work& tx, const std::string& group,
                                      const std::string& resident_id, const std::string& estate_id,
                                      const std::string& phone_hash, const ResidentTerms& terms,
                                      int64_t version) {
  std::string removed = terms.removed_at ? std::to_string(Micros(*terms.removed_at)) : "";
  tx.exec_prepared("in_resident_phone_upsert", group, resident_id, estate_id,
                   tx.esc_raw(phone_hash), version, terms.role, terms.lease_start, terms.lease_end,
                   terms.move_out_date, removed);
}

std::optional<bool> IntakeStore::ResidentPhone(pqxx::work& tx, const std::string& group,
                                               const std::string& estate_id,
                                               const std::string& phone_hash, absl::Time call_at,
                                               const std::string& call_day) {
  auto row = tx.exec_prepared1("in_resident_phone_known", group, estate_id, tx.esc_raw(phone_hash),
                               Micros(call_at), call_day);
  if (row[0].as<bool>()) return true;
  if (!row[1].as<bool>()) return std::nullopt;
  return false;
}

}  // namespace wuye::intake
