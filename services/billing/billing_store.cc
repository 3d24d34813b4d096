#include "services/billing/billing_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "shared/proto_time.h"

namespace wuye::billing {
namespace {

// Times cross the wire as Unix microseconds.
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define TS(param) "to_timestamp(" param "::float8 / 1000000)"
#define NIL_UUID "'00000000-0000-0000-0000-000000000000'::uuid"
#define AFTER(param) "COALESCE(NULLIF(" param ", '')::uuid, " NIL_UUID ")"

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
google::protobuf::Timestamp Stamp(const pqxx::field& f) {
  return ToProtoTime(absl::FromUnixMicros(f.as<int64_t>()));
}
std::string Str(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }

wuye::common::v1::Month MonthOfDate(const std::string& date) {  // "YYYY-MM-DD"
  wuye::common::v1::Month m;
  if (date.size() >= 7) {
    m.set_year(std::stoi(date.substr(0, 4)));
    m.set_month(std::stoi(date.substr(5, 2)));
  }
  return m;
}

constexpr char kBillCols[] =
    "id, estate_id, unit_id, kind, period::text, management_fen, lighting_fen, parking_fen, "
    "water_fen, electricity_fen, gas_fen, other_fen, item, source, amount_fen, paid_fen, " US(
        "issued_at") ", " US("due_at") ", EXISTS (SELECT 1 FROM bill_disputes d WHERE d.bill_id "
                                       "= bills.id::text AND d.group_id = bills.group_id AND "
                                       "d.open)";

v1::Bill BillRow(const pqxx::row& r) {
  v1::Bill b;
  b.set_id(Str(r[0]));
  b.set_estate_id(Str(r[1]));
  b.set_unit_id(Str(r[2]));
  b.set_kind(static_cast<v1::BillKind>(r[3].as<int>()));
  *b.mutable_period() = MonthOfDate(Str(r[4]));
  const char* names[] = {"management_fee", "stair_lighting", "parking",
                         "water",          "electricity",    "gas"};
  for (int i = 0; i < 6; ++i) {
    int64_t v = r[5 + i].as<int64_t>();
    if (v == 0) continue;
    auto* line = b.add_lines();
    line->set_item(names[i]);
    line->set_amount_fen(v);
  }
  if (int64_t other = r[11].as<int64_t>(); other != 0 || b.kind() == v1::BILL_KIND_CHARGE) {
    auto* line = b.add_lines();
    line->set_item(Str(r[12]));
    line->set_amount_fen(other);
  }
  b.set_source(Str(r[13]));
  b.set_amount_fen(r[14].as<int64_t>());
  b.set_paid_fen(r[15].as<int64_t>());
  *b.mutable_issue_time() = Stamp(r[16]);
  *b.mutable_due_time() = Stamp(r[17]);
  b.set_disputed(r[18].as<bool>());
  return b;
}

constexpr char kRunCols[] =
    "id, COALESCE(estate_id::text, ''), period::text, state, units_total, units_done, "
    "bills_issued, amount_fen, chunks_done, " US("created_at") ", COALESCE(" US(
        "finished_at") ", 0), group_id, COALESCE(cursor_estate::text, ''), "
                       "COALESCE(cursor_unit::text, ''), trace_id";

v1::BillingRun RunRowOf(const pqxx::row& r) {
  v1::BillingRun run;
  run.set_id(Str(r[0]));
  run.set_estate_id(Str(r[1]));
  *run.mutable_period() = MonthOfDate(Str(r[2]));
  run.set_state(static_cast<v1::RunState>(r[3].as<int>()));
  run.set_units_total(r[4].as<int64_t>());
  run.set_units_done(r[5].as<int64_t>());
  run.set_bills_issued(r[6].as<int64_t>());
  run.set_amount_fen(r[7].as<int64_t>());
  run.set_chunks_done(r[8].as<int>());
  *run.mutable_create_time() = Stamp(r[9]);
  if (r[10].as<int64_t>() != 0) *run.mutable_finish_time() = Stamp(r[10]);
  return run;
}

constexpr char kPaymentCols[] =
    "id, estate_id, unit_id, amount_fen, method, external_txn_no, COALESCE(bill_id::text, ''), "
    "credit_fen, " US("paid_at") ", reversed, reversal_reason";

constexpr char kReadingCols[] =
    "id, estate_id, unit_id, meter_id, kind, period::text, reading_centi, replaced, "
    "old_final_centi, consumption_centi, amount_fen, state, flag_reason, " US("recorded_at");

v1::MeterReading ReadingRow(const pqxx::row& r) {
  v1::MeterReading m;
  m.set_id(Str(r[0]));
  m.set_estate_id(Str(r[1]));
  m.set_unit_id(Str(r[2]));
  m.set_meter_id(Str(r[3]));
  m.set_kind(static_cast<v1::MeterKind>(r[4].as<int>()));
  *m.mutable_period() = MonthOfDate(Str(r[5]));
  m.set_reading(FormatCenti(r[6].as<int64_t>()));
  m.set_meter_replaced(r[7].as<bool>());
  if (m.meter_replaced()) m.set_old_meter_final(FormatCenti(r[8].as<int64_t>()));
  m.set_consumption(FormatCenti(r[9].as<int64_t>()));
  m.set_amount_fen(r[10].as<int64_t>());
  m.set_state(static_cast<v1::ReadingState>(r[11].as<int>()));
  m.set_flag_reason(Str(r[12]));
  *m.mutable_record_time() = Stamp(r[13]);
  return m;
}

constexpr char kReminderCols[] =
    "id, bill_id, estate_id, unit_id, channel, note, staff_id, " US("sent_at");

v1::Reminder ReminderRow(const pqxx::row& r) {
  v1::Reminder x;
  x.set_id(Str(r[0]));
  x.set_bill_id(Str(r[1]));
  x.set_estate_id(Str(r[2]));
  x.set_unit_id(Str(r[3]));
  x.set_channel(static_cast<v1::ReminderChannel>(r[4].as<int>()));
  x.set_note(Str(r[5]));
  x.set_staff_id(Str(r[6]));
  *x.mutable_send_time() = Stamp(r[7]);
  return x;
}

constexpr char kEstatePriceCols[] =
    "p.estate_id, p.item_code, s.name, p.price_fen, p.standard_price_fen, s.per, p.withdrawn, "
    "p.version, " US("p.effective_at");

v1::EstatePrice EstatePriceRow(const pqxx::row& r) {
  v1::EstatePrice p;
  p.set_estate_id(Str(r[0]));
  p.set_item_code(Str(r[1]));
  p.set_name(Str(r[2]));
  p.set_price_fen(r[3].as<int64_t>());
  p.set_standard_price_fen(r[4].as<int64_t>());
  p.set_per(Str(r[5]));
  p.set_withdrawn(r[6].as<bool>());
  p.set_version(r[7].as<int64_t>());
  *p.mutable_effective_time() = Stamp(r[8]);
  return p;
}

// The days of the month ($11) owed from the date in `col` under proration $16, as
// DaysOwed (billing.h): p.n is the divisor, p.ms/p.me the month's first day and the next
// month's.
std::string OwedDaysSql(const char* col) {
  return absl::StrCat("CASE WHEN ", col, " >= p.me THEN 0 WHEN ", col, " IS NULL OR ", col,
                      " <= p.ms THEN p.n WHEN $16 = 2 THEN LEAST(30, 31 - extract(day FROM ", col,
                      ")::int) WHEN $16 = 3 THEN p.n ELSE p.me - ", col, " END");
}

// The monthly bills of one chunk, set-based. The fees are MonthlyFees (billing.h) in SQL;
// the management fee is `area` × `rate`, prorated like ProrateHundredths over the days owed from
// the hand-over day (`hd`) and, for the stair lighting of a unit someone lives in, from the move-in
// day (`md`). Bill ids are the chunk's UUIDv7 prefix ($13) and the row's number, so they ascend
// like every other id. `guarded`: a unit's bill of the period may exist already (another run billed
// it), and ON CONFLICT skips it; unguarded, the insert is plain (a quarter faster: no speculative
// insertion), and a bill that exists after all fails the statement on the unique index.
std::string IssueChunkSql(bool guarded) {
  return absl::StrCat(
      "WITH p AS ("
      "  SELECT $11::date AS ms, ($11::date + interval '1 month')::date AS me,"
      "    CASE WHEN $16 = 2 THEN 30"
      "         ELSE ($11::date + interval '1 month')::date - $11::date END AS n"
      "), u AS ("
      "  SELECT id, area_centi AS area, type, occupancy,"
      "         COALESCE(NULLIF(($6::bigint[])[type], 0), $5) AS rate,"
      "         handover_date, move_in_date"
      "  FROM bl_units WHERE estate_id = $2 AND group_id = $1 AND id > ",
      AFTER("$3"),
      "    AND handed_over AND (handover_date IS NULL OR"
      "         handover_date < ($11::date + interval '1 month')::date)"
      "  ORDER BY id LIMIT $4"
      "), d AS ("
      "  SELECT u.*, p.n, ",
      OwedDaysSql("u.handover_date"), " AS hd, ", OwedDaysSql("u.move_in_date"),
      " AS md FROM u CROSS JOIN p"
      "), m AS ("
      "  SELECT unit_id,"
      "    sum(amount_fen) FILTER (WHERE kind = 1) AS water,"
      "    sum(amount_fen) FILTER (WHERE kind = 2) AS electricity,"
      "    sum(amount_fen) FILTER (WHERE kind = 3) AS gas"
      "  FROM meter_readings WHERE estate_id = $2 AND period = $11::date AND state = 1"
      "  GROUP BY unit_id"
      "), f AS ("
      "  SELECT u.id,"
      "    CASE WHEN u.type = ",
      kUnitTypeParking, " THEN 0 ELSE (u.area * u.rate * u.hd + 50 * u.n) / (100 * u.n)",
      " END AS management,"
      "    CASE WHEN u.type = ",
      kUnitTypeParking, " OR u.occupancy NOT IN (", kOccupancySelfOccupied, ", ", kOccupancyRented,
      ") THEN 0 ELSE ($7 * 100 * u.md + 50 * u.n) / (100 * u.n) END AS lighting,"
      "    (CASE WHEN u.type <> ",
      kUnitTypeParking, " THEN 0 WHEN u.occupancy = ", kOccupancyRented,
      " THEN $8 WHEN u.occupancy = ", kOccupancySelfOccupied,
      " THEN $9 ELSE $10 END * 100 * u.hd + 50 * u.n) / (100 * u.n) AS parking,"
      "    COALESCE(m.water, 0) AS water, COALESCE(m.electricity, 0) AS electricity,"
      "    COALESCE(m.gas, 0) AS gas,"
      "    row_number() OVER (ORDER BY u.id) AS n"
      "  FROM d u LEFT JOIN m ON m.unit_id = u.id"
      "), ins AS ("
      "  INSERT INTO bills (id, group_id, estate_id, unit_id, kind, period, management_fen,"
      "    lighting_fen, parking_fen, water_fen, electricity_fen, gas_fen, amount_fen,"
      "    issued_at, due_at, run_id)"
      "  SELECT ($14 || lpad(to_hex(n), 12, '0'))::uuid, $1, $2, id, 1, $11::date, management,"
      "    lighting, parking, water, electricity, gas,"
      "    management + lighting + parking + water + electricity + gas, ",
      TS("$12"), ", ", TS("$13"),
      ", $15"
      "  FROM f ORDER BY id",
      guarded ? "  ON CONFLICT (unit_id, period, kind, source) DO NOTHING" : "",
      "  RETURNING management_fen, lighting_fen, parking_fen, water_fen, electricity_fen, gas_fen"
      ") SELECT (SELECT count(*) FROM u), (SELECT id::text FROM u ORDER BY id DESC LIMIT 1),"
      "  count(*), COALESCE(sum(management_fen), 0), COALESCE(sum(lighting_fen), 0),"
      "  COALESCE(sum(parking_fen), 0), COALESCE(sum(water_fen), 0),"
      "  COALESCE(sum(electricity_fen), 0), COALESCE(sum(gas_fen), 0) FROM ins");
}

int32_t EstateLockKey(const std::string& estate) {
  // Stable across processes: the last 8 hex digits of the id (its random part).
  std::string hex;
  for (auto it = estate.rbegin(); it != estate.rend() && hex.size() < 8; ++it) {
    if (*it != '-') hex.insert(hex.begin(), *it);
  }
  return static_cast<int32_t>(
      static_cast<uint32_t>(std::stoul(hex.empty() ? "0" : hex, nullptr, 16)));
}

}  // namespace

BillingStore::BillingStore(Db& db) {
  auto prep = [&](const char* name, std::string sql) { db.Prepare(name, std::move(sql)); };
  // Directory copy.
  prep("bl_estate_upsert",
       "INSERT INTO bl_estates (id, group_id, fee_fen_per_m2, time_zone, version) "
       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
       "fee_fen_per_m2 = excluded.fee_fen_per_m2, time_zone = excluded.time_zone, "
       "version = excluded.version WHERE bl_estates.version < excluded.version "
       "AND bl_estates.group_id = excluded.group_id");
  prep("bl_units_upsert",
       "INSERT INTO bl_units (id, group_id, estate_id, area_centi, type, occupancy, "
       "handed_over, version, handover_date, move_in_date) SELECT i, g, e, a, t, o, h, v, "
       "NULLIF(hd, '')::date, NULLIF(md, '')::date FROM unnest($1::uuid[], $2::uuid[], "
       "$3::uuid[], $4::bigint[], $5::smallint[], $6::smallint[], $7::boolean[], $8::bigint[], "
       "$9::text[], $10::text[]) AS x(i, g, e, a, t, o, h, v, hd, md) "
       "ON CONFLICT (id) DO UPDATE SET area_centi = excluded.area_centi, type = excluded.type, "
       "occupancy = excluded.occupancy, handed_over = excluded.handed_over, "
       "handover_date = excluded.handover_date, move_in_date = excluded.move_in_date, "
       "version = excluded.version WHERE bl_units.version < excluded.version "
       "AND bl_units.group_id = excluded.group_id");
  prep("bl_resident_upsert",
       "INSERT INTO bl_residents (id, group_id, unit_id, owner, version) "
       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET unit_id = excluded.unit_id, "
       "owner = excluded.owner, version = excluded.version "
       "WHERE bl_residents.version < excluded.version AND bl_residents.group_id = "
       "excluded.group_id");
  prep("bl_estate_get",
       "SELECT id, fee_fen_per_m2, time_zone FROM bl_estates WHERE group_id = $1 AND id = $2");
  prep("bl_estate_next",
       absl::StrCat("SELECT id, fee_fen_per_m2, time_zone FROM bl_estates WHERE group_id = $1 "
                    "AND id > ",
                    AFTER("$2"), " ORDER BY id LIMIT 1"));
  prep("bl_unit_get",
       "SELECT id, estate_id, area_centi, type, occupancy, handed_over, version, "
       "COALESCE(handover_date::text, ''), COALESCE(move_in_date::text, '') FROM bl_units "
       "WHERE group_id = $1 AND id = $2");
  prep("bl_unit_lock", "SELECT 1 FROM bl_units WHERE group_id = $1 AND id = $2 FOR UPDATE");
  prep("bl_units_billable",
       "SELECT count(*) FROM bl_units WHERE group_id = $1 AND handed_over AND "
       "($2 = '' OR estate_id = NULLIF($2, '')::uuid) AND (handover_date IS NULL OR "
       "handover_date < ($3::date + interval '1 month')::date)");

  // Prices and schedules.
  prep("bl_std_price_put",
       "INSERT INTO standard_prices (group_id, item_code, name, price_fen, per, updated_at) "
       "VALUES ($1, $2, $3, $4, $5, " TS("$6") ") ON CONFLICT (group_id, item_code) DO UPDATE "
       "SET name = excluded.name, price_fen = excluded.price_fen, per = excluded.per, "
       "version = standard_prices.version + 1, updated_at = excluded.updated_at "
       "RETURNING item_code, name, price_fen, per, version, " US("updated_at"));
  prep("bl_estate_prices_of_item",
       "SELECT estate_id::text, price_fen FROM estate_prices "
       "WHERE group_id = $1 AND item_code = $2 AND NOT withdrawn ORDER BY estate_id");
  prep("bl_std_price_get",
       "SELECT item_code, name, price_fen, per, version, " US("updated_at") " FROM "
       "standard_prices WHERE group_id = $1 AND item_code = $2");
  prep("bl_estate_price_put",
       "INSERT INTO estate_prices (group_id, estate_id, item_code, price_fen, "
       "standard_price_fen, withdrawn, effective_at) VALUES ($1, $2, $3, $4, $5, $6, " TS("$7") ") "
       "ON CONFLICT (estate_id, item_code) DO UPDATE SET price_fen = excluded.price_fen, "
       "standard_price_fen = excluded.standard_price_fen, withdrawn = excluded.withdrawn, "
       "version = estate_prices.version + 1, effective_at = excluded.effective_at "
       "RETURNING version");
  prep("bl_estate_prices",
       absl::StrCat("SELECT ", kEstatePriceCols,
                    " FROM estate_prices p JOIN standard_prices s ON s.group_id = p.group_id AND "
                    "s.item_code = p.item_code WHERE p.group_id = $1 AND p.estate_id = $2 "
                    "AND ($3 = '' OR p.item_code = $3) ORDER BY p.item_code"));
  prep("bl_schedule_get",
       "SELECT schedule, version FROM fee_schedules WHERE group_id = $1 AND estate_id = $2");
  prep("bl_schedule_put",
       "INSERT INTO fee_schedules (group_id, estate_id, schedule) VALUES ($1, $2, $3) "
       "ON CONFLICT (estate_id) DO UPDATE SET schedule = excluded.schedule, "
       "version = fee_schedules.version + 1 WHERE fee_schedules.group_id = excluded.group_id "
       "RETURNING version");

  // Meters.
  prep("bl_lock_estate_shared", "SELECT pg_advisory_xact_lock_shared(7, $1::int)");
  prep("bl_lock_estate", "SELECT pg_advisory_xact_lock(7, $1::int)");
  prep("bl_reading_last",
       "SELECT reading_centi, consumption_centi FROM meter_readings WHERE unit_id = $1 AND "
       "meter_id = $2 AND state = 1 AND "
       "period < $3::date ORDER BY period DESC LIMIT 1");
  prep("bl_reading_later",
       "SELECT 1 FROM meter_readings WHERE unit_id = $1 AND meter_id = $2 AND period > $3::date "
       "LIMIT 1");
  prep("bl_monthly_bill_exists",
       "SELECT 1 FROM bills WHERE unit_id = $1 AND period = $2::date AND kind = 1 AND "
       "source = ''");
  prep("bl_reading_insert",
       absl::StrCat(
           "INSERT INTO meter_readings (id, group_id, estate_id, unit_id, meter_id, kind, "
           "period, reading_centi, replaced, old_final_centi, consumption_centi, amount_fen, "
           "state, flag_reason, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, "
           "$10, $11, $12, $13, $14, " TS("$15") ") ON CONFLICT (unit_id, meter_id, period) DO "
                                                 "NOTHING RETURNING ",
           kReadingCols));
  prep("bl_reading_get", absl::StrCat("SELECT ", kReadingCols,
                                      " FROM meter_readings WHERE group_id = $1 AND id = $2"));
  prep("bl_reading_get_locked",
       absl::StrCat("SELECT ", kReadingCols,
                    " FROM meter_readings WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("bl_reading_billable", absl::StrCat("UPDATE meter_readings SET state = 1 WHERE id = $1 "
                                           "RETURNING ",
                                           kReadingCols));

  // Runs.
  prep("bl_run_insert",
       absl::StrCat("INSERT INTO billing_runs (id, group_id, estate_id, period, state, "
                    "units_total, trace_id, created_at) VALUES ($1, $2, NULLIF($3, '')::uuid, "
                    "$4::date, 1, $5, $6, " TS("$7") ") RETURNING ",
                    kRunCols));
  prep("bl_run_get",
       absl::StrCat("SELECT ", kRunCols, " FROM billing_runs WHERE group_id = $1 AND id = $2"));
  prep("bl_run_active",
       "SELECT id FROM billing_runs WHERE group_id = $1 AND state < 3 AND period = $3::date AND "
       "estate_id IS NOT DISTINCT FROM NULLIF($2, '')::uuid LIMIT 1");
  prep("bl_run_claim", absl::StrCat("SELECT ", kRunCols,
                                    " FROM billing_runs WHERE state < 3 ORDER BY created_at "
                                    "LIMIT 1 FOR UPDATE SKIP LOCKED"));
  prep("bl_run_chunk", IssueChunkSql(true));
  prep("bl_run_chunk_first", IssueChunkSql(false));
  prep("bl_run_billed_before",
       "SELECT EXISTS (SELECT 1 FROM billing_runs WHERE group_id = $1 AND period = $2::date "
       "AND id <> $3 AND (estate_id IS NULL OR estate_id = $4))");
  prep("bl_run_advance",
       absl::StrCat("UPDATE billing_runs SET state = CASE WHEN $7 THEN 3 ELSE 2 END, "
                    "units_done = units_done + $2, bills_issued = bills_issued + $3, "
                    "amount_fen = amount_fen + $4, chunks_done = chunks_done + 1, "
                    "cursor_estate = NULLIF($5, '')::uuid, cursor_unit = NULLIF($6, '')::uuid, "
                    "finished_at = CASE WHEN $7 THEN " TS("$8") " END WHERE id = $1 RETURNING ",
                    kRunCols));

  // Bills.
  prep("bl_bill_get",
       absl::StrCat("SELECT ", kBillCols, " FROM bills WHERE group_id = $1 AND id = $2"));
  prep("bl_bill_list", absl::StrCat("SELECT ", kBillCols,
                                    " FROM bills WHERE group_id = $1 AND estate_id = $2 AND "
                                    "($3 = '' OR unit_id = NULLIF($3, '')::uuid) AND "
                                    "(NOT $4 OR paid_fen < amount_fen) AND id > ",
                                    AFTER("$5"), " ORDER BY id LIMIT $6"));
  prep("bl_unit_owed",
       "SELECT COALESCE(sum(amount_fen - paid_fen), 0), count(*) FROM bills WHERE group_id = $1 "
       "AND unit_id = $2 AND paid_fen < amount_fen");
  prep("bl_bills_open_locked",
       "SELECT id, " US("due_at") ", " US("issued_at") ", amount_fen - paid_fen FROM bills "
       "WHERE group_id = $1 AND unit_id = $2 AND paid_fen < amount_fen ORDER BY due_at, "
       "issued_at, id FOR UPDATE");
  prep("bl_bills_add_paid",
       "UPDATE bills b SET paid_fen = b.paid_fen + d.delta FROM unnest($1::uuid[], "
       "$2::bigint[]) AS d(id, delta) WHERE b.id = d.id");
  prep("bl_bill_charge_insert",
       "INSERT INTO bills (id, group_id, estate_id, unit_id, kind, period, other_fen, item, "
       "source, amount_fen, issued_at, due_at) VALUES ($1, $2, $3, $4, 2, $5::date, $8, $6, $7, "
       "$8, " TS("$9") ", " TS("$9") ")");

  // Payments.
  prep("bl_payment_insert",
       "INSERT INTO payments (id, group_id, estate_id, unit_id, amount_fen, method, "
       "external_txn_no, bill_id, credit_fen, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
       "NULLIF($8, '')::uuid, $9, " TS("$10") ") ON CONFLICT (group_id, method, external_txn_no) "
       "DO NOTHING RETURNING 1");
  prep("bl_payment_get",
       absl::StrCat("SELECT ", kPaymentCols, " FROM payments WHERE group_id = $1 AND id = $2"));
  prep("bl_payment_get_locked",
       absl::StrCat("SELECT ", kPaymentCols,
                    " FROM payments WHERE group_id = $1 AND id = $2 FOR UPDATE"));
  prep("bl_payment_by_txn",
       absl::StrCat("SELECT ", kPaymentCols,
                    " FROM payments WHERE group_id = $1 AND method = $2 AND external_txn_no = $3"));
  prep("bl_allocations",
       "SELECT bill_id, amount_fen FROM allocations WHERE payment_id = $1 ORDER BY bill_id");
  prep("bl_allocations_insert",
       "INSERT INTO allocations (payment_id, bill_id, amount_fen) SELECT $1, b, a FROM "
       "unnest($2::uuid[], $3::bigint[]) AS x(b, a)");
  prep("bl_payment_reverse",
       "UPDATE payments SET reversed = true, reversal_reason = $2, reversed_at = " TS("$3") " "
       "WHERE id = $1");

  // Ledger.
  prep("bl_ledger_txn",
       "INSERT INTO ledger_txns (id, group_id, estate_id, kind, ref, created_at) VALUES "
       "(gen_random_uuid(), "
       "$1, $2, $3, $4, " TS("$5") ") ON CONFLICT (group_id, ref) DO NOTHING RETURNING id");
  prep("bl_ledger_entries",
       "INSERT INTO ledger_entries (txn_id, group_id, account, unit_id, amount_fen) SELECT $1, "
       "$2, a, NULLIF(u, '')::uuid, x FROM unnest($3::text[], $4::text[], $5::bigint[]) AS "
       "e(a, u, x)");
  prep("bl_ledger_check",
       "WITH t AS (SELECT t.id, COALESCE(sum(e.amount_fen), 0) AS s, count(e.*) AS n, "
       "COALESCE(sum(e.amount_fen) FILTER (WHERE e.amount_fen > 0), 0) AS d FROM ledger_txns t "
       "LEFT JOIN ledger_entries e ON e.txn_id = t.id WHERE t.group_id = $1 GROUP BY t.id) "
       "SELECT count(*), COALESCE(sum(n), 0), COALESCE(sum(s), 0), COALESCE(sum(d), 0), "
       "count(*) FILTER (WHERE s <> 0 OR n < 2) FROM t");
  prep("bl_unit_liability",
       "SELECT COALESCE(-sum(amount_fen), 0) FROM ledger_entries WHERE unit_id = $2 AND "
       "account = $3 AND group_id = $1");

  // Arrears, disputes, reminders, reports.
  prep("bl_overdue",
       "SELECT floor(extract(epoch FROM " TS("$3") " - due_at) / 86400)::bigint AS days, "
       "sum(amount_fen - paid_fen), count(DISTINCT unit_id) FROM bills WHERE group_id = $1 AND "
       "estate_id = $2 AND paid_fen < amount_fen AND due_at <= " TS("$3") " GROUP BY days");
  prep("bl_overdue_units",
       "SELECT count(DISTINCT unit_id) FROM bills WHERE group_id = $1 AND estate_id = $2 AND "
       "paid_fen < amount_fen AND due_at <= " TS("$3"));
  prep("bl_dispute_upsert",
       "INSERT INTO bill_disputes (ticket_id, group_id, bill_id, open, version) VALUES ($1, $2, "
       "$3, $4, $5) ON CONFLICT (ticket_id) DO UPDATE SET bill_id = CASE WHEN excluded.bill_id "
       "= '' THEN bill_disputes.bill_id ELSE excluded.bill_id END, open = excluded.open, "
       "version = excluded.version WHERE bill_disputes.version < excluded.version AND "
       "bill_disputes.group_id = excluded.group_id");
  prep("bl_dispute_exists", "SELECT 1 FROM bill_disputes WHERE ticket_id = $1 AND group_id = $2");
  prep("bl_bill_disputed",
       "SELECT 1 FROM bill_disputes WHERE bill_id = $1 AND group_id = $2 AND open LIMIT 1");
  prep("bl_reminder_insert",
       absl::StrCat("INSERT INTO reminders (id, group_id, estate_id, unit_id, bill_id, channel, "
                    "note, staff_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " TS(
                        "$9") ") RETURNING ",
                    kReminderCols));
  prep("bl_reminders",
       absl::StrCat("SELECT ", kReminderCols,
                    " FROM reminders WHERE group_id = $1 AND bill_id = $2 ORDER BY sent_at, id"));
  // A month's figures as of $4: what payments made by then (and not reversed by then)
  // settled of its monthly bills; owners one per billed home (parking spaces are no owner of
  // their own), in arrears when a bill of the home is open past due at $4.
  prep("bl_collection",
       "WITH b AS (SELECT b.unit_id, b.amount_fen, b.due_at, COALESCE((SELECT sum(a.amount_fen) "
       "FROM allocations a JOIN payments p ON p.id = a.payment_id WHERE a.bill_id = b.id AND "
       "p.paid_at <= " TS("$4") " AND NOT (p.reversed AND COALESCE(p.reversed_at, p.paid_at) <= "
       TS("$4") ")), 0) AS paid FROM bills b WHERE b.group_id = $1 AND b.estate_id = $2 AND "
       "b.period = $3::date AND b.kind = 1), "
       "h AS (SELECT b.unit_id, bool_or(b.paid < b.amount_fen AND b.due_at <= " TS("$4") ") AS "
       "late FROM b JOIN bl_units u ON u.id = b.unit_id AND u.group_id = $1 WHERE u.type <> " +
           std::to_string(kUnitTypeParking) +
           " GROUP BY b.unit_id) "
           "SELECT (SELECT COALESCE(sum(amount_fen), 0) FROM b), (SELECT COALESCE(sum(paid), 0) "
           "FROM b), (SELECT count(*) FROM h), (SELECT count(*) FROM h WHERE late)");
  prep("bl_report_open",
       "INSERT INTO collection_reports (group_id, estate_id, period, version, final, due_at) "
       "VALUES ($1, $2, $3::date, 0, false, " TS("$4") ") ON CONFLICT (estate_id, period) DO "
       "UPDATE SET due_at = COALESCE(collection_reports.due_at, excluded.due_at) WHERE "
       "collection_reports.group_id = excluded.group_id");
  prep("bl_report_get",
       "SELECT version, final, " US("due_at") ", COALESCE(billed_fen, 0), "
       "COALESCE(collected_fen, 0), COALESCE(owners, 0), COALESCE(owners_in_arrears, 0), "
       "COALESCE(" US("as_of") ", 0) FROM collection_reports WHERE group_id = $1 AND "
       "estate_id = $2 AND period = $3::date FOR UPDATE");
  prep("bl_report_bump",
       "UPDATE collection_reports SET version = version + 1 WHERE estate_id = $1 AND "
       "period = $2::date RETURNING version");
  prep("bl_report_fix",
       "UPDATE collection_reports SET version = version + 1, final = true, billed_fen = $3, "
       "collected_fen = $4, owners = $5, owners_in_arrears = $6, as_of = " TS("$7") " WHERE "
       "estate_id = $1 AND period = $2::date RETURNING version");
  prep(
      "bl_report_due",
      absl::StrCat("WITH r AS (SELECT r.group_id, r.estate_id, r.period, r.due_at + "
                   "COALESCE(s.grace_days, 0) * interval '24 hours' AS close_at FROM "
                   "collection_reports r LEFT JOIN billing_settings s ON s.group_id = "
                   "r.group_id WHERE NOT r.final AND r.due_at <= ",
                   TS("$1"), ") SELECT c.group_id, c.estate_id, c.period::text, ", US("r.close_at"),
                   " FROM r JOIN collection_reports c ON c.estate_id = r.estate_id AND "
                   "c.period = r.period WHERE r.close_at <= ",
                   TS("$1"),
                   " AND NOT c.final ORDER BY r.close_at LIMIT 1 FOR UPDATE OF c "
                   "SKIP LOCKED"));

  // Settings.
  prep("bl_settings_get", "SELECT settings, version FROM billing_settings WHERE group_id = $1");
  prep("bl_settings_put",
       "INSERT INTO billing_settings (group_id, settings, grace_days) VALUES ($1, $2, $3) "
       "ON CONFLICT (group_id) DO UPDATE SET settings = excluded.settings, grace_days = "
       "excluded.grace_days, version = billing_settings.version + 1 RETURNING version");
}

// ---- directory copy ---------------------------------------------------------------------

void BillingStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                int64_t rate, const std::string& tz, int64_t version) {
  tx.exec_prepared("bl_estate_upsert", id, group, rate, tz, version);
}

void BillingStore::UpsertUnits(pqxx::work& tx, const std::string& group,
                               const std::vector<UnitCopy>& units) {
  if (units.empty()) return;
  std::vector<std::string> ids, groups, estates, areas, types, occs, handed, versions, handover,
      move_in;
  auto day = [](const std::optional<absl::CivilDay>& d) {
    return d ? absl::FormatCivilTime(*d) : std::string();
  };
  for (const auto& u : units) {
    ids.push_back(u.id);
    groups.push_back(group);
    estates.push_back(u.estate_id);
    areas.push_back(std::to_string(u.facts.area_centi_m2));
    types.push_back(std::to_string(u.facts.type));
    occs.push_back(std::to_string(u.facts.occupancy));
    handed.push_back(u.facts.handed_over ? "t" : "f");
    versions.push_back(std::to_string(u.version));
    handover.push_back(day(u.facts.handover_day));
    move_in.push_back(day(u.facts.move_in_day));
  }
  tx.exec_prepared("bl_units_upsert", PgArray(ids), PgArray(groups), PgArray(estates),
                   PgArray(areas), PgArray(types), PgArray(occs), PgArray(handed),
                   PgArray(versions), PgArray(handover), PgArray(move_in));
}

void BillingStore::UpsertResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                  const std::string& unit_id, bool owner, int64_t version) {
  tx.exec_prepared("bl_resident_upsert", id, group, unit_id, owner, version);
}

std::optional<EstateCopy> BillingStore::GetEstate(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  pqxx::result r = tx.exec_prepared("bl_estate_get", group, id);
  if (r.empty()) return std::nullopt;
  return EstateCopy{Str(r[0][0]), r[0][1].as<int64_t>(), Str(r[0][2])};
}

std::optional<EstateCopy> BillingStore::NextEstate(pqxx::work& tx, const std::string& group,
                                                   const std::string& after) {
  pqxx::result r = tx.exec_prepared("bl_estate_next", group, after);
  if (r.empty()) return std::nullopt;
  return EstateCopy{Str(r[0][0]), r[0][1].as<int64_t>(), Str(r[0][2])};
}

std::optional<UnitCopy> BillingStore::GetUnit(pqxx::work& tx, const std::string& group,
                                              const std::string& id) {
  pqxx::result r = tx.exec_prepared("bl_unit_get", group, id);
  if (r.empty()) return std::nullopt;
  UnitCopy u;
  u.id = Str(r[0][0]);
  u.estate_id = Str(r[0][1]);
  u.facts.area_centi_m2 = r[0][2].as<int64_t>();
  u.facts.type = r[0][3].as<int>();
  u.facts.occupancy = r[0][4].as<int>();
  u.facts.handed_over = r[0][5].as<bool>();
  u.version = r[0][6].as<int64_t>();
  absl::CivilDay day;
  if (absl::ParseCivilTime(Str(r[0][7]), &day)) u.facts.handover_day = day;
  if (absl::ParseCivilTime(Str(r[0][8]), &day)) u.facts.move_in_day = day;
  return u;
}

bool BillingStore::LockUnit(pqxx::work& tx, const std::string& group, const std::string& unit) {
  return !tx.exec_prepared("bl_unit_lock", group, unit).empty();
}

int64_t BillingStore::CountBillableUnits(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& period) {
  return tx.exec_prepared1("bl_units_billable", group, estate, period)[0].as<int64_t>();
}

// ---- prices and schedules -----------------------------------------------------------------

void BillingStore::PutStandardPrice(pqxx::work& tx, const std::string& group,
                                    const v1::StandardPrice& p, absl::Time now,
                                    v1::StandardPrice* out) {
  pqxx::row r = tx.exec_prepared1("bl_std_price_put", group, p.item_code(), p.name(), p.price_fen(),
                                  p.per(), Micros(now));
  out->set_item_code(Str(r[0]));
  out->set_name(Str(r[1]));
  out->set_price_fen(r[2].as<int64_t>());
  out->set_per(Str(r[3]));
  out->set_version(r[4].as<int64_t>());
  *out->mutable_update_time() = Stamp(r[5]);
}

std::vector<std::pair<std::string, int64_t>> BillingStore::EstatePricesOfItem(
    pqxx::work& tx, const std::string& group, const std::string& code) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : tx.exec_prepared("bl_estate_prices_of_item", group, code)) {
    out.emplace_back(Str(r[0]), r[1].as<int64_t>());
  }
  return out;
}

std::optional<v1::StandardPrice> BillingStore::GetStandardPrice(pqxx::work& tx,
                                                                const std::string& group,
                                                                const std::string& code) {
  pqxx::result res = tx.exec_prepared("bl_std_price_get", group, code);
  if (res.empty()) return std::nullopt;
  const auto& r = res[0];
  v1::StandardPrice p;
  p.set_item_code(Str(r[0]));
  p.set_name(Str(r[1]));
  p.set_price_fen(r[2].as<int64_t>());
  p.set_per(Str(r[3]));
  p.set_version(r[4].as<int64_t>());
  *p.mutable_update_time() = Stamp(r[5]);
  return p;
}

void BillingStore::PutEstatePrice(pqxx::work& tx, const std::string& group,
                                  const v1::EstatePrice& p, absl::Time now, v1::EstatePrice* out) {
  tx.exec_prepared1("bl_estate_price_put", group, p.estate_id(), p.item_code(), p.price_fen(),
                    p.standard_price_fen(), p.withdrawn(), Micros(now));
  pqxx::result r = tx.exec_prepared("bl_estate_prices", group, p.estate_id(), p.item_code());
  *out = EstatePriceRow(r[0]);
}

std::vector<v1::EstatePrice> BillingStore::ListEstatePrices(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& estate) {
  std::vector<v1::EstatePrice> out;
  for (const auto& r : tx.exec_prepared("bl_estate_prices", group, estate, "")) {
    out.push_back(EstatePriceRow(r));
  }
  return out;
}

v1::FeeSchedule BillingStore::GetSchedule(pqxx::work& tx, const std::string& group,
                                          const std::string& estate) {
  v1::FeeSchedule s;
  pqxx::result r = tx.exec_prepared("bl_schedule_get", group, estate);
  if (!r.empty()) {
    pqxx::binarystring bytes(r[0][0]);
    s.ParseFromString(bytes.str());
    s.set_version(r[0][1].as<int64_t>());
  } else {
    s.set_due_day(15);
  }
  s.set_estate_id(estate);
  return s;
}

void BillingStore::PutSchedule(pqxx::work& tx, const std::string& group, const v1::FeeSchedule& s,
                               v1::FeeSchedule* out) {
  v1::FeeSchedule stored = s;
  stored.clear_version();
  pqxx::result r = tx.exec_prepared("bl_schedule_put", group, s.estate_id(),
                                    tx.esc_raw(stored.SerializeAsString()));
  *out = s;
  out->set_version(r.empty() ? 0 : r[0][0].as<int64_t>());
}

// ---- meters -----------------------------------------------------------------------------

void BillingStore::LockEstateForReading(pqxx::work& tx, const std::string& estate) {
  tx.exec_prepared("bl_lock_estate_shared", EstateLockKey(estate));
}

void BillingStore::LockEstateForRun(pqxx::work& tx, const std::string& estate) {
  tx.exec_prepared("bl_lock_estate", EstateLockKey(estate));
}

std::optional<PriorReading> BillingStore::LastBillableReading(pqxx::work& tx,
                                                              const std::string& unit,
                                                              const std::string& meter,
                                                              const std::string& period) {
  pqxx::result r = tx.exec_prepared("bl_reading_last", unit, meter, period);
  if (r.empty()) return std::nullopt;
  return PriorReading{r[0][0].as<int64_t>(), r[0][1].as<int64_t>()};
}

bool BillingStore::MonthlyBillExists(pqxx::work& tx, const std::string& unit,
                                     const std::string& period) {
  return !tx.exec_prepared("bl_monthly_bill_exists", unit, period).empty();
}

bool BillingStore::LaterReadingExists(pqxx::work& tx, const std::string& unit,
                                      const std::string& meter, const std::string& period) {
  return !tx.exec_prepared("bl_reading_later", unit, meter, period).empty();
}

bool BillingStore::InsertReading(pqxx::work& tx, const std::string& group,
                                 const v1::MeterReading& m, int64_t reading_centi,
                                 int64_t old_final_centi, int64_t consumption_centi, absl::Time now,
                                 v1::MeterReading* out) {
  pqxx::result r =
      tx.exec_prepared("bl_reading_insert", m.id(), group, m.estate_id(), m.unit_id(), m.meter_id(),
                       static_cast<int>(m.kind()), MonthStart(m.period()), reading_centi,
                       m.meter_replaced(), old_final_centi, consumption_centi, m.amount_fen(),
                       static_cast<int>(m.state()), m.flag_reason(), Micros(now));
  if (r.empty()) return false;
  *out = ReadingRow(r[0]);
  return true;
}

std::optional<v1::MeterReading> BillingStore::GetReading(pqxx::work& tx, const std::string& group,
                                                         const std::string& id, bool for_update) {
  pqxx::result r =
      tx.exec_prepared(for_update ? "bl_reading_get_locked" : "bl_reading_get", group, id);
  if (r.empty()) return std::nullopt;
  return ReadingRow(r[0]);
}

void BillingStore::MarkReadingBillable(pqxx::work& tx, const std::string& id,
                                       v1::MeterReading* out) {
  *out = ReadingRow(tx.exec_prepared1("bl_reading_billable", id));
}

// ---- runs -------------------------------------------------------------------------------

void BillingStore::InsertRun(pqxx::work& tx, const std::string& group, const std::string& id,
                             const std::string& estate, const std::string& period,
                             int64_t units_total, absl::Time now, const std::string& trace_id,
                             v1::BillingRun* out) {
  *out = RunRowOf(tx.exec_prepared1("bl_run_insert", id, group, estate, period, units_total,
                                    trace_id, Micros(now)));
}

std::optional<v1::BillingRun> BillingStore::GetRun(pqxx::work& tx, const std::string& group,
                                                   const std::string& id) {
  pqxx::result r = tx.exec_prepared("bl_run_get", group, id);
  if (r.empty()) return std::nullopt;
  return RunRowOf(r[0]);
}

std::optional<std::string> BillingStore::ActiveRun(pqxx::work& tx, const std::string& group,
                                                   const std::string& estate,
                                                   const std::string& period) {
  pqxx::result r = tx.exec_prepared("bl_run_active", group, estate, period);
  if (r.empty()) return std::nullopt;
  return Str(r[0][0]);
}

std::optional<RunRow> BillingStore::ClaimRun(pqxx::work& tx) {
  pqxx::result r = tx.exec_prepared("bl_run_claim");
  if (r.empty()) return std::nullopt;
  RunRow row;
  row.run = RunRowOf(r[0]);
  row.group_id = Str(r[0][11]);
  row.cursor_estate = Str(r[0][12]);
  row.cursor_unit = Str(r[0][13]);
  row.trace_id = Str(r[0][14]);
  return row;
}

ChunkResult BillingStore::IssueChunk(pqxx::work& tx, const std::string& group,
                                     const EstateCopy& estate, const v1::FeeSchedule& schedule,
                                     v1::Proration proration, const std::string& period,
                                     const std::string& after_unit, int limit, absl::Time issued,
                                     absl::Time due, const std::string& id_prefix,
                                     const std::string& run_id) {
  // Rates by unit type (index 1..6); 0 = the estate's rate.
  std::vector<std::string> rates(6, "0");
  for (const auto& r : schedule.type_rates()) {
    if (r.unit_type() >= 1 && r.unit_type() <= 6)
      rates[r.unit_type() - 1] = std::to_string(r.fen_per_m2());
  }
  auto issue = [&](pqxx::work& t, const char* statement) {
    return t.exec_prepared1(statement, group, estate.id, after_unit, limit, estate.fee_fen_per_m2,
                            PgArray(rates), schedule.stair_lighting_fen(),
                            schedule.parking_rented_fen(), schedule.parking_sold_fen(),
                            schedule.parking_vacant_fen(), period, Micros(issued), Micros(due),
                            id_prefix, run_id, static_cast<int>(proration));
  };
  // No other run ever billed this estate and period: nothing to skip. (A unit billed in
  // another estate before it moved here still has its bill: the plain insert fails on it,
  // and the chunk is issued again with the guard.)
  std::optional<pqxx::row> first;
  if (!tx.exec_prepared1("bl_run_billed_before", group, period, run_id, estate.id)[0].as<bool>()) {
    tx.exec("SAVEPOINT first_billing");
    try {
      first = issue(tx, "bl_run_chunk_first");
      tx.exec("RELEASE SAVEPOINT first_billing");
    } catch (const pqxx::unique_violation&) {
      tx.exec("ROLLBACK TO SAVEPOINT first_billing");
    }
  }
  pqxx::row r = first ? *first : issue(tx, "bl_run_chunk");
  ChunkResult c;
  c.units = r[0].as<int64_t>();
  c.last_unit = Str(r[1]);
  c.bills = r[2].as<int64_t>();
  c.management = r[3].as<int64_t>();
  c.lighting = r[4].as<int64_t>();
  c.parking = r[5].as<int64_t>();
  c.water = r[6].as<int64_t>();
  c.electricity = r[7].as<int64_t>();
  c.gas = r[8].as<int64_t>();
  return c;
}

void BillingStore::AdvanceRun(pqxx::work& tx, const std::string& run_id, const ChunkResult& c,
                              const std::string& cursor_estate, const std::string& cursor_unit,
                              bool done, absl::Time now, v1::BillingRun* out) {
  *out = RunRowOf(tx.exec_prepared1("bl_run_advance", run_id, c.units, c.bills, c.total(),
                                    cursor_estate, cursor_unit, done, Micros(now)));
}

// ---- bills ------------------------------------------------------------------------------

std::optional<v1::Bill> BillingStore::GetBill(pqxx::work& tx, const std::string& group,
                                              const std::string& id) {
  pqxx::result r = tx.exec_prepared("bl_bill_get", group, id);
  if (r.empty()) return std::nullopt;
  return BillRow(r[0]);
}

std::vector<v1::Bill> BillingStore::ListBills(pqxx::work& tx, const std::string& group,
                                              const std::string& estate, const std::string& unit,
                                              bool open_only, const std::string& after, int limit) {
  std::vector<v1::Bill> out;
  for (const auto& r :
       tx.exec_prepared("bl_bill_list", group, estate, unit, open_only, after, limit)) {
    out.push_back(BillRow(r));
  }
  return out;
}

int64_t BillingStore::UnitOwed(pqxx::work& tx, const std::string& group, const std::string& unit,
                               int64_t* open_bills) {
  pqxx::row r = tx.exec_prepared1("bl_unit_owed", group, unit);
  *open_bills = r[1].as<int64_t>();
  return r[0].as<int64_t>();
}

std::vector<OpenBill> BillingStore::LockOpenBills(pqxx::work& tx, const std::string& group,
                                                  const std::string& unit) {
  std::vector<OpenBill> out;
  for (const auto& r : tx.exec_prepared("bl_bills_open_locked", group, unit)) {
    out.push_back(OpenBill{Str(r[0]), absl::FromUnixMicros(r[1].as<int64_t>()),
                           absl::FromUnixMicros(r[2].as<int64_t>()), r[3].as<int64_t>()});
  }
  return out;
}

void BillingStore::AddPaid(pqxx::work& tx,
                           const std::vector<std::pair<std::string, int64_t>>& deltas) {
  if (deltas.empty()) return;
  std::vector<std::string> ids, amounts;
  for (const auto& [id, delta] : deltas) {
    ids.push_back(id);
    amounts.push_back(std::to_string(delta));
  }
  tx.exec_prepared("bl_bills_add_paid", PgArray(ids), PgArray(amounts));
}

void BillingStore::InsertChargeBill(pqxx::work& tx, const std::string& group, const std::string& id,
                                    const std::string& estate, const std::string& unit,
                                    const std::string& period, const std::string& item,
                                    const std::string& source, int64_t amount, absl::Time issued) {
  tx.exec_prepared("bl_bill_charge_insert", id, group, estate, unit, period, item, source, amount,
                   Micros(issued));
}

// ---- payments ---------------------------------------------------------------------------

namespace {
v1::Payment PaymentRow(pqxx::work& tx, const pqxx::row& r) {
  v1::Payment p;
  p.set_id(Str(r[0]));
  p.set_estate_id(Str(r[1]));
  p.set_unit_id(Str(r[2]));
  p.set_amount_fen(r[3].as<int64_t>());
  p.set_method(static_cast<v1::PaymentMethod>(r[4].as<int>()));
  p.set_external_txn_no(Str(r[5]));
  p.set_bill_id(Str(r[6]));
  p.set_credit_fen(r[7].as<int64_t>());
  *p.mutable_paid_time() = Stamp(r[8]);
  p.set_reversed(r[9].as<bool>());
  p.set_reversal_reason(Str(r[10]));
  for (const auto& a : tx.exec_prepared("bl_allocations", p.id())) {
    auto* alloc = p.add_allocations();
    alloc->set_bill_id(Str(a[0]));
    alloc->set_amount_fen(a[1].as<int64_t>());
  }
  return p;
}
}  // namespace

bool BillingStore::InsertPayment(pqxx::work& tx, const std::string& group, const v1::Payment& p) {
  pqxx::result r =
      tx.exec_prepared("bl_payment_insert", p.id(), group, p.estate_id(), p.unit_id(),
                       p.amount_fen(), static_cast<int>(p.method()), p.external_txn_no(),
                       p.bill_id(), p.credit_fen(), Micros(FromProtoTime(p.paid_time())));
  return !r.empty();
}

std::optional<v1::Payment> BillingStore::GetPayment(pqxx::work& tx, const std::string& group,
                                                    const std::string& id, bool for_update) {
  pqxx::result r =
      tx.exec_prepared(for_update ? "bl_payment_get_locked" : "bl_payment_get", group, id);
  if (r.empty()) return std::nullopt;
  return PaymentRow(tx, r[0]);
}

std::optional<v1::Payment> BillingStore::GetPaymentByTxn(pqxx::work& tx, const std::string& group,
                                                         int method, const std::string& txn_no) {
  pqxx::result r = tx.exec_prepared("bl_payment_by_txn", group, method, txn_no);
  if (r.empty()) return std::nullopt;
  return PaymentRow(tx, r[0]);
}

void BillingStore::InsertAllocations(
    pqxx::work& tx, const std::string& payment,
    const std::vector<std::pair<std::string, int64_t>>& allocations) {
  if (allocations.empty()) return;
  std::vector<std::string> ids, amounts;
  for (const auto& [id, amount] : allocations) {
    ids.push_back(id);
    amounts.push_back(std::to_string(amount));
  }
  tx.exec_prepared("bl_allocations_insert", payment, PgArray(ids), PgArray(amounts));
}

void BillingStore::MarkReversed(pqxx::work& tx, const std::string& payment,
                                const std::string& reason, absl::Time now) {
  tx.exec_prepared("bl_payment_reverse", payment, reason, Micros(now));
}

// ---- ledger -----------------------------------------------------------------------------

bool BillingStore::PostLedger(pqxx::work& tx, const std::string& group, const std::string& estate,
                              const std::string& kind, const std::string& ref,
                              const std::vector<LedgerEntry>& entries, absl::Time now) {
  pqxx::result r = tx.exec_prepared("bl_ledger_txn", group, estate, kind, ref, Micros(now));
  if (r.empty()) return false;
  std::vector<std::string> accounts, units, amounts;
  for (const auto& e : entries) {
    if (e.amount_fen == 0) continue;
    accounts.push_back(e.account);
    units.push_back(e.unit_id);
    amounts.push_back(std::to_string(e.amount_fen));
  }
  tx.exec_prepared("bl_ledger_entries", Str(r[0][0]), group, PgArray(accounts), PgArray(units),
                   PgArray(amounts));
  return true;
}

v1::LedgerCheck BillingStore::CheckLedger(pqxx::work& tx, const std::string& group) {
  pqxx::row r = tx.exec_prepared1("bl_ledger_check", group);
  v1::LedgerCheck c;
  c.set_transactions(r[0].as<int64_t>());
  c.set_entries(r[1].as<int64_t>());
  c.set_sum_fen(r[2].as<int64_t>());
  c.set_debits_fen(r[3].as<int64_t>());
  c.set_unbalanced_transactions(r[4].as<int64_t>());
  c.set_balanced(c.sum_fen() == 0 && c.unbalanced_transactions() == 0);
  return c;
}

int64_t BillingStore::UnitLiability(pqxx::work& tx, const std::string& group,
                                    const std::string& unit, const std::string& account) {
  return tx.exec_prepared1("bl_unit_liability", group, unit, account)[0].as<int64_t>();
}

// ---- arrears, disputes, reminders, reports ------------------------------------------------

std::vector<std::pair<int64_t, int64_t>> BillingStore::OverdueByDays(pqxx::work& tx,
                                                                     const std::string& group,
                                                                     const std::string& estate,
                                                                     absl::Time now,
                                                                     int32_t* units) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& r : tx.exec_prepared("bl_overdue", group, estate, Micros(now))) {
    out.emplace_back(r[0].as<int64_t>(), r[1].as<int64_t>());
  }
  *units = tx.exec_prepared1("bl_overdue_units", group, estate, Micros(now))[0].as<int32_t>();
  return out;
}

void BillingStore::UpsertDispute(pqxx::work& tx, const std::string& group,
                                 const std::string& ticket, const std::string& bill, bool open,
                                 int64_t version) {
  tx.exec_prepared("bl_dispute_upsert", ticket, group, bill, open, version);
}

bool BillingStore::BillDisputed(pqxx::work& tx, const std::string& group, const std::string& bill) {
  return !tx.exec_prepared("bl_bill_disputed", bill, group).empty();
}

bool BillingStore::HasDispute(pqxx::work& tx, const std::string& group, const std::string& ticket) {
  return !tx.exec_prepared("bl_dispute_exists", ticket, group).empty();
}

void BillingStore::InsertReminder(pqxx::work& tx, const std::string& group, const v1::Reminder& r,
                                  absl::Time now, v1::Reminder* out) {
  *out = ReminderRow(tx.exec_prepared1("bl_reminder_insert", r.id(), group, r.estate_id(),
                                       r.unit_id(), r.bill_id(), static_cast<int>(r.channel()),
                                       r.note(), r.staff_id(), Micros(now)));
}

std::vector<v1::Reminder> BillingStore::ListReminders(pqxx::work& tx, const std::string& group,
                                                      const std::string& bill) {
  std::vector<v1::Reminder> out;
  for (const auto& r : tx.exec_prepared("bl_reminders", group, bill)) out.push_back(ReminderRow(r));
  return out;
}

void BillingStore::CollectionFigures(pqxx::work& tx, const std::string& group,
                                     const std::string& estate, const std::string& period,
                                     absl::Time as_of, v1::CollectionReport* out) {
  pqxx::row r = tx.exec_prepared1("bl_collection", group, estate, period, Micros(as_of));
  out->set_billed_fen(r[0].as<int64_t>());
  out->set_collected_fen(r[1].as<int64_t>());
  out->set_owners(r[2].as<int32_t>());
  out->set_owners_in_arrears(r[3].as<int32_t>());
}

absl::Time BillingStore::OpenReport(pqxx::work& tx, const std::string& group,
                                    const std::string& estate, const std::string& period,
                                    absl::Time due, v1::CollectionReport* out) {
  tx.exec_prepared("bl_report_open", group, estate, period, Micros(due));
  pqxx::row r = tx.exec_prepared1("bl_report_get", group, estate, period);
  out->set_version(r[0].as<int64_t>());
  out->set_final(r[1].as<bool>());
  if (out->final()) {
    out->set_billed_fen(r[3].as<int64_t>());
    out->set_collected_fen(r[4].as<int64_t>());
    out->set_owners(r[5].as<int32_t>());
    out->set_owners_in_arrears(r[6].as<int32_t>());
    *out->mutable_as_of() = Stamp(r[7]);
  }
  return absl::FromUnixMicros(r[2].as<int64_t>());
}

int64_t BillingStore::BumpReport(pqxx::work& tx, const std::string& estate,
                                 const std::string& period) {
  return tx.exec_prepared1("bl_report_bump", estate, period)[0].as<int64_t>();
}

int64_t BillingStore::FixReport(pqxx::work& tx, const std::string& estate,
                                const std::string& period, const v1::CollectionReport& report,
                                absl::Time as_of) {
  return tx
      .exec_prepared1("bl_report_fix", estate, period, report.billed_fen(), report.collected_fen(),
                      report.owners(), report.owners_in_arrears(), Micros(as_of))[0]
      .as<int64_t>();
}

std::optional<BillingStore::DueMonth> BillingStore::ClaimClosedMonth(pqxx::work& tx,
                                                                     absl::Time now) {
  pqxx::result r = tx.exec_prepared("bl_report_due", Micros(now));
  if (r.empty()) return std::nullopt;
  return DueMonth{Str(r[0][0]), Str(r[0][1]), Str(r[0][2]),
                  absl::FromUnixMicros(r[0][3].as<int64_t>())};
}

// ---- settings -----------------------------------------------------------------------------

v1::BillingSettings BillingStore::GetSettings(pqxx::work& tx, const std::string& group) {
  v1::BillingSettings s;
  pqxx::result r = tx.exec_prepared("bl_settings_get", group);
  if (!r.empty()) {
    pqxx::binarystring bytes(r[0][0]);
    s.ParseFromString(bytes.str());
    s.set_version(r[0][1].as<int64_t>());
  }
  return s;
}

int64_t BillingStore::PutSettings(pqxx::work& tx, const std::string& group,
                                  const v1::BillingSettings& s) {
  v1::BillingSettings stored = s;
  stored.clear_version();
  return tx
      .exec_prepared1("bl_settings_put", group, tx.esc_raw(stored.SerializeAsString()),
                      s.collection_grace_days())[0]
      .as<int64_t>();
}

}  // namespace wuye::billing
