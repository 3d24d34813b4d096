// BillingStore: arrears, the complaints that dispute a bill, reminders, and the month's
// collection report and its close.
#include "absl/strings/str_cat.h"
#include "services/billing/billing_store.h"
#include "shared/sql.h"

namespace wuye::billing {
namespace {

using sql::Micros;
using sql::Stamp;
using sql::Text;
using sql::TimeOf;

// This file's statements, each declared beside the method that runs it; the store's
// constructor prepares them (shared/sql.h).
sql::Statements statements;

constexpr char kReminderCols[] =
    "id, bill_id, estate_id, unit_id, channel, note, staff_id, " WUYE_SQL_MICROS("sent_at");

v1::Reminder ReminderRow(const pqxx::row& r) {
  v1::Reminder x;
  x.set_id(Text(r[0]));
  x.set_bill_id(Text(r[1]));
  x.set_estate_id(Text(r[2]));
  x.set_unit_id(Text(r[3]));
  x.set_channel(static_cast<v1::ReminderChannel>(r[4].as<int>()));
  x.set_note(Text(r[5]));
  x.set_staff_id(Text(r[6]));
  *x.mutable_send_time() = Stamp(r[7]);
  return x;
}

}  // namespace

const sql::Statements& BillingStore::CollectionStatements() { return statements; }

// ---- arrears, disputes, reminders, reports ------------------------------------------------

const sql::Statement kOverdue = statements.Add(
    "bl_overdue",
    "SELECT floor(extract(epoch FROM " WUYE_SQL_TIME("$3") " - due_at) / 86400)::bigint AS days, "
    "sum(amount_fen - paid_fen), count(DISTINCT unit_id) FROM bills WHERE group_id = $1 AND "
    "estate_id = $2 AND paid_fen < amount_fen AND due_at <= " WUYE_SQL_TIME("$3") " "
    "GROUP BY days");

const sql::Statement kOverdueUnits = statements.Add(
    "bl_overdue_units",
    "SELECT count(DISTINCT unit_id) FROM bills WHERE group_id = $1 AND estate_id = $2 AND "
    "paid_fen < amount_fen AND due_at <= " WUYE_SQL_TIME("$3"));

std::vector<std::pair<int64_t, int64_t>> BillingStore::OverdueByDays(pqxx::work& tx,
                                                                     const std::string& group,
                                                                     const std::string& estate,
                                                                     absl::Time now,
                                                                     int32_t* units) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& r : tx.exec_prepared(kOverdue, group, estate, Micros(now))) {
    out.emplace_back(r[0].as<int64_t>(), r[1].as<int64_t>());
  }
  *units = tx.exec_prepared1(kOverdueUnits, group, estate, Micros(now))[0].as<int32_t>();
  return out;
}

const sql::Statement kDisputeUpsert = statements.Add(
    "bl_dispute_upsert",
    "INSERT INTO bill_disputes (ticket_id, group_id, bill_id, open, version) VALUES ($1, $2, "
    "$3, $4, $5) ON CONFLICT (ticket_id) DO UPDATE SET bill_id = CASE WHEN excluded.bill_id "
    "= '' THEN bill_disputes.bill_id ELSE excluded.bill_id END, open = excluded.open, "
    "version = excluded.version WHERE bill_disputes.version < excluded.version AND "
    "bill_disputes.group_id = excluded.group_id");

void BillingStore::UpsertDispute(pqxx::work& tx, const std::string& group,
                                 const std::string& ticket, const std::string& bill, bool open,
                                 int64_t version) {
  tx.exec_prepared(kDisputeUpsert, ticket, group, bill, open, version);
}

const sql::Statement kBillDisputed = statements.Add(
    "bl_bill_disputed",
    "SELECT 1 FROM bill_disputes WHERE bill_id = $1 AND group_id = $2 AND open LIMIT 1");

bool BillingStore::BillDisputed(pqxx::work& tx, const std::string& group, const std::string& bill) {
  return !tx.exec_prepared(kBillDisputed, bill, group).empty();
}

const sql::Statement kDisputeExists = statements.Add(
    "bl_dispute_exists", "SELECT 1 FROM bill_disputes WHERE ticket_id = $1 AND group_id = $2");

bool BillingStore::HasDispute(pqxx::work& tx, const std::string& group, const std::string& ticket) {
  return !tx.exec_prepared(kDisputeExists, ticket, group).empty();
}

const sql::Statement kReminderInsert = statements.Add(
    "bl_reminder_insert",
    absl::StrCat("INSERT INTO reminders (id, group_id, estate_id, unit_id, bill_id, channel, "
                 "note, staff_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ",
                 WUYE_SQL_TIME("$9"), ") RETURNING ", kReminderCols));

void BillingStore::InsertReminder(pqxx::work& tx, const std::string& group, const v1::Reminder& r,
                                  absl::Time now, v1::Reminder* out) {
  *out = ReminderRow(tx.exec_prepared1(kReminderInsert, r.id(), group, r.estate_id(), r.unit_id(),
                                       r.bill_id(), static_cast<int>(r.channel()), r.note(),
                                       r.staff_id(), Micros(now)));
}

const sql::Statement kReminders = statements.Add(
    "bl_reminders", absl::StrCat("SELECT ", kReminderCols,
                                 " FROM reminders WHERE group_id = $1 AND bill_id = $2 AND (",
                                 WUYE_SQL_MICROS("sent_at"), ", id) > ($3::bigint, ",
                                 WUYE_SQL_AFTER("$4"), ") ORDER BY sent_at, id LIMIT $5"));

std::vector<v1::Reminder> BillingStore::ListReminders(pqxx::work& tx, const std::string& group,
                                                      const std::string& bill, int64_t after_micros,
                                                      const std::string& after_id, int limit) {
  std::vector<v1::Reminder> out;
  for (const auto& r : tx.exec_prepared(kReminders, group, bill, after_micros, after_id, limit)) {
    out.push_back(ReminderRow(r));
  }
  return out;
}

// A month's figures as of $4: what payments made by then (and not reversed by then)
// settled of its monthly bills; owners one per billed home (parking spaces are no owner of
// their own), in arrears when a bill of the home is open past due at $4.
const sql::Statement kCollection = statements.Add(
    "bl_collection",
    absl::StrCat(
        "WITH b AS (SELECT b.unit_id, b.amount_fen, b.due_at, COALESCE((SELECT "
        "sum(a.amount_fen) FROM allocations a JOIN payments p ON p.id = a.payment_id "
        "WHERE a.bill_id = b.id AND p.paid_at <= ",
        WUYE_SQL_TIME("$4"),
        " AND NOT (p.reversed AND COALESCE(p.reversed_at, p.paid_at) <= ", WUYE_SQL_TIME("$4"),
        ")), 0) AS paid FROM bills b WHERE b.group_id = $1 AND b.estate_id = $2 AND "
        "b.period = $3::date AND b.kind = 1), "
        "h AS (SELECT b.unit_id, bool_or(b.paid < b.amount_fen AND b.due_at <= ",
        WUYE_SQL_TIME("$4"),
        ") AS late FROM b JOIN bl_units u ON u.id = b.unit_id AND u.group_id = $1 "
        "WHERE u.type <> ",
        kUnitTypeParking,
        " GROUP BY b.unit_id) "
        "SELECT (SELECT COALESCE(sum(amount_fen), 0) FROM b), (SELECT "
        "COALESCE(sum(paid), 0) FROM b), (SELECT count(*) FROM h), (SELECT count(*) "
        "FROM h WHERE late)"));

void BillingStore::CollectionFigures(pqxx::work& tx, const std::string& group,
                                     const std::string& estate, const std::string& period,
                                     absl::Time as_of, v1::CollectionReport* out) {
  pqxx::row r = tx.exec_prepared1(kCollection, group, estate, period, Micros(as_of));
  out->set_billed_fen(r[0].as<int64_t>());
  out->set_collected_fen(r[1].as<int64_t>());
  out->set_owners(r[2].as<int32_t>());
  out->set_owners_in_arrears(r[3].as<int32_t>());
}

const sql::Statement kHasMonthlyBills = statements.Add(
    "bl_has_monthly_bills",
    "SELECT EXISTS (SELECT 1 FROM bills WHERE group_id = $1 AND estate_id = $2 AND "
    "period = $3::date AND kind = 1)");

bool BillingStore::HasMonthlyBills(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, const std::string& period) {
  return tx.exec_prepared1(kHasMonthlyBills, group, estate, period)[0].as<bool>();
}

const sql::Statement kReportOpen = statements.Add(
    "bl_report_open",
    "INSERT INTO collection_reports (group_id, estate_id, period, version, final, due_at) "
    "VALUES ($1, $2, $3::date, 0, false, " WUYE_SQL_TIME("$4") ") "
    "ON CONFLICT (estate_id, period) DO "
    "UPDATE SET due_at = COALESCE(collection_reports.due_at, excluded.due_at) WHERE "
    "collection_reports.group_id = excluded.group_id");

const sql::Statement kReportGet = statements.Add(
    "bl_report_get",
    "SELECT version, final, " WUYE_SQL_MICROS("due_at") ", COALESCE(billed_fen, 0), "
    "COALESCE(collected_fen, 0), COALESCE(owners, 0), COALESCE(owners_in_arrears, 0), "
    "COALESCE(" WUYE_SQL_MICROS("as_of") ", 0) FROM collection_reports WHERE group_id = $1 AND "
    "estate_id = $2 AND period = $3::date FOR UPDATE");

absl::Time BillingStore::OpenReport(pqxx::work& tx, const std::string& group,
                                    const std::string& estate, const std::string& period,
                                    absl::Time due, v1::CollectionReport* out) {
  tx.exec_prepared(kReportOpen, group, estate, period, Micros(due));
  pqxx::row r = tx.exec_prepared1(kReportGet, group, estate, period);
  out->set_version(r[0].as<int64_t>());
  out->set_final(r[1].as<bool>());
  if (out->final()) {
    out->set_billed_fen(r[3].as<int64_t>());
    out->set_collected_fen(r[4].as<int64_t>());
    out->set_owners(r[5].as<int32_t>());
    out->set_owners_in_arrears(r[6].as<int32_t>());
    *out->mutable_as_of() = Stamp(r[7]);
  }
  return TimeOf(r[2]);
}

const sql::Statement kReportBump =
    statements.Add("bl_report_bump",
                   "UPDATE collection_reports SET version = version + 1 WHERE estate_id = $1 AND "
                   "period = $2::date RETURNING version");

int64_t BillingStore::BumpReport(pqxx::work& tx, const std::string& estate,
                                 const std::string& period) {
  return tx.exec_prepared1(kReportBump, estate, period)[0].as<int64_t>();
}

const sql::Statement kReportFix = statements.Add(
    "bl_report_fix",
    "UPDATE collection_reports SET version = version + 1, final = true, billed_fen = $3, "
    "collected_fen = $4, owners = $5, owners_in_arrears = $6, "
    "as_of = " WUYE_SQL_TIME("$7") " WHERE "
    "estate_id = $1 AND period = $2::date RETURNING version");

int64_t BillingStore::FixReport(pqxx::work& tx, const std::string& estate,
                                const std::string& period, const v1::CollectionReport& report,
                                absl::Time as_of) {
  return tx
      .exec_prepared1(kReportFix, estate, period, report.billed_fen(), report.collected_fen(),
                      report.owners(), report.owners_in_arrears(), Micros(as_of))[0]
      .as<int64_t>();
}

const sql::Statement kReportDue = statements.Add(
    "bl_report_due",
    "WITH r AS (SELECT r.group_id, r.estate_id, r.period, r.due_at + "
    "COALESCE(s.grace_days, 0) * interval '24 hours' AS close_at FROM "
    "collection_reports r LEFT JOIN billing_settings s ON s.group_id = "
    "r.group_id WHERE NOT r.final AND r.due_at <= " WUYE_SQL_TIME("$1") ") "
    "SELECT c.group_id, c.estate_id, c.period::text, " WUYE_SQL_MICROS("r.close_at") " "
    "FROM r JOIN collection_reports c ON c.estate_id = r.estate_id AND "
    "c.period = r.period WHERE r.close_at <= " WUYE_SQL_TIME("$1") " "
    "AND NOT c.final ORDER BY r.close_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED");

std::optional<BillingStore::DueMonth> BillingStore::ClaimClosedMonth(pqxx::work& tx,
                                                                     absl::Time now) {
  pqxx::result r = tx.exec_prepared(kReportDue, Micros(now));
  if (r.empty()) return std::nullopt;
  return DueMonth{Text(r[0][0]), Text(r[0][1]), Text(r[0][2]), TimeOf(r[0][3])};
}

}  // namespace wuye::billing
