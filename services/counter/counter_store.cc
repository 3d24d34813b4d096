#include "services/counter/counter_store.h"

#include "shared/sql.h"
#include "shared/zone.h"

namespace wuye::counter {
namespace {

using sql::Text;

sql::Statements statements;

std::string DayParam(const std::optional<absl::CivilDay>& day) { return day ? DayText(*day) : ""; }

}  // namespace

CounterStore::CounterStore(Db& db) { statements.PrepareOn(db); }

// ---- settings -------------------------------------------------------------------------------

const sql::Statement kSettingsGet =
    statements.Add("ct_settings_get", "SELECT body FROM settings WHERE group_id = $1");

pb::Settings CounterStore::GetSettings(pqxx::work& tx, const std::string& group) {
  pqxx::result r = tx.exec_prepared(kSettingsGet, group);
  pb::Settings s;
  if (r.empty() || !s.ParseFromString(sql::Bytes(r[0][0]))) return DefaultSettings();
  return s;
}

const sql::Statement kSettingsPut = statements.Add(
    "ct_settings_put",
    "INSERT INTO settings (group_id, body, updated_at) VALUES ($1, $2, " WUYE_SQL_TIME("$3") ") "
    "ON CONFLICT (group_id) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at");

void CounterStore::PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s,
                               absl::Time now) {
  std::string body = s.SerializeAsString();
  tx.exec_prepared(kSettingsPut, group, pqxx::binarystring(body), sql::Micros(now));
}

// ---- the copies ------------------------------------------------------------------------------

const sql::Statement kEstateUpsert = statements.Add(
    "ct_estate_upsert",
    "INSERT INTO dir_estates (id, group_id, time_zone, version) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = EXCLUDED.version "
    "WHERE dir_estates.version < EXCLUDED.version AND dir_estates.group_id = EXCLUDED.group_id");

void CounterStore::UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                                const std::string& time_zone, int64_t version) {
  tx.exec_prepared(kEstateUpsert, id, group, time_zone, version);
}

const sql::Statement kUnitUpsert = statements.Add(
    "ct_unit_upsert",
    "INSERT INTO dir_units (id, group_id, estate_id, number, handed_over, handover_date, "
    "move_in_date, occupancy, version) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::date, "
    "NULLIF($7, '')::date, $8, $9) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, number = EXCLUDED.number, "
    "handed_over = EXCLUDED.handed_over, handover_date = EXCLUDED.handover_date, "
    "move_in_date = EXCLUDED.move_in_date, occupancy = EXCLUDED.occupancy, "
    "version = EXCLUDED.version "
    "WHERE dir_units.version < EXCLUDED.version AND dir_units.group_id = EXCLUDED.group_id");

void CounterStore::UpsertUnit(pqxx::work& tx, const std::string& group, const UnitCopy& u) {
  tx.exec_prepared(kUnitUpsert, u.id, group, u.estate_id, u.number, u.handed_over,
                   DayParam(u.handover_date), DayParam(u.move_in_date), u.occupancy, u.version);
}

const sql::Statement kResidentUpsert = statements.Add(
    "ct_resident_upsert",
    "INSERT INTO dir_residents (id, group_id, estate_id, unit_id, role, birth_date, "
    "move_out_date, version) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::date, "
    "NULLIF($7, '')::date, $8) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, unit_id = EXCLUDED.unit_id, "
    "role = EXCLUDED.role, birth_date = EXCLUDED.birth_date, "
    "move_out_date = EXCLUDED.move_out_date, version = EXCLUDED.version "
    "WHERE dir_residents.version < EXCLUDED.version "
    "AND dir_residents.group_id = EXCLUDED.group_id");

void CounterStore::UpsertResident(pqxx::work& tx, const std::string& group, const ResidentCopy& r) {
  tx.exec_prepared(kResidentUpsert, r.id, group, r.estate_id, r.unit_id, r.role,
                   DayParam(r.birth_date), DayParam(r.move_out_date), r.version);
}

// A removed resident is kept as a tombstone (role 0: no one's owner) so that an older
// update arriving late cannot bring them back.
const sql::Statement kResidentRemove = statements.Add(
    "ct_resident_remove",
    "UPDATE dir_residents SET role = 0, version = $3 WHERE id = $1 AND group_id = $2 "
    "AND version < $3");

void CounterStore::RemoveResident(pqxx::work& tx, const std::string& group, const std::string& id,
                                  int64_t version) {
  tx.exec_prepared(kResidentRemove, id, group, version);
}

const sql::Statement kStaffUpsert = statements.Add(
    "ct_staff_upsert",
    "INSERT INTO dir_staff (id, group_id, estate_ids, active, version) "
    "VALUES ($1, $2, $3::uuid[], $4, $5) "
    "ON CONFLICT (id) DO UPDATE SET estate_ids = EXCLUDED.estate_ids, active = EXCLUDED.active, "
    "version = EXCLUDED.version "
    "WHERE dir_staff.version < EXCLUDED.version AND dir_staff.group_id = EXCLUDED.group_id");

void CounterStore::UpsertStaff(pqxx::work& tx, const std::string& group, const StaffCopy& s) {
  tx.exec_prepared(kStaffUpsert, s.id, group, PgArray(s.estate_ids), s.active, s.version);
}

const sql::Statement kTicketUpsert = statements.Add(
    "ct_ticket_upsert",
    "INSERT INTO intake_tickets (id, group_id, estate_id, open, version) "
    "VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (id) DO UPDATE SET estate_id = EXCLUDED.estate_id, open = EXCLUDED.open, "
    "version = EXCLUDED.version WHERE intake_tickets.version < EXCLUDED.version "
    "AND intake_tickets.group_id = EXCLUDED.group_id");

void CounterStore::UpsertTicket(pqxx::work& tx, const std::string& group, const TicketCopy& t,
                                int64_t version) {
  tx.exec_prepared(kTicketUpsert, t.id, group, t.estate_id, t.open, version);
}

const sql::Statement kZone =
    statements.Add("ct_zone", "SELECT time_zone FROM dir_estates WHERE group_id = $1 AND id = $2");

absl::TimeZone CounterStore::Zone(pqxx::work& tx, const std::string& group,
                                  const std::string& estate) {
  pqxx::result r = tx.exec_prepared(kZone, group, estate);
  return EstateZone(r.empty() ? "" : Text(r[0][0]));
}

const sql::Statement kUnitGet =
    statements.Add("ct_unit_get",
                   "SELECT id, estate_id, number, handed_over, COALESCE(handover_date::text, ''), "
                   "COALESCE(move_in_date::text, ''), occupancy, version FROM dir_units "
                   "WHERE group_id = $1 AND id = $2");

std::optional<UnitCopy> CounterStore::GetUnit(pqxx::work& tx, const std::string& group,
                                              const std::string& id) {
  pqxx::result r = tx.exec_prepared(kUnitGet, group, id);
  if (r.empty()) return std::nullopt;
  UnitCopy u;
  u.id = Text(r[0][0]);
  u.estate_id = Text(r[0][1]);
  u.number = Text(r[0][2]);
  u.handed_over = r[0][3].as<bool>();
  u.handover_date = ParseDayText(Text(r[0][4]));
  u.move_in_date = ParseDayText(Text(r[0][5]));
  u.occupancy = r[0][6].as<int>();
  u.version = r[0][7].as<int64_t>();
  return u;
}

const sql::Statement kResidentGet =
    statements.Add("ct_resident_get",
                   "SELECT id, estate_id, unit_id, role, COALESCE(birth_date::text, ''), "
                   "COALESCE(move_out_date::text, ''), version FROM dir_residents "
                   "WHERE group_id = $1 AND id = $2");

std::optional<ResidentCopy> CounterStore::GetResident(pqxx::work& tx, const std::string& group,
                                                      const std::string& id) {
  pqxx::result r = tx.exec_prepared(kResidentGet, group, id);
  if (r.empty()) return std::nullopt;
  ResidentCopy c;
  c.id = Text(r[0][0]);
  c.estate_id = Text(r[0][1]);
  c.unit_id = Text(r[0][2]);
  c.role = r[0][3].as<int>();
  c.birth_date = ParseDayText(Text(r[0][4]));
  c.move_out_date = ParseDayText(Text(r[0][5]));
  c.version = r[0][6].as<int64_t>();
  return c;
}

const sql::Statement kStaffGet =
    statements.Add("ct_staff_get",
                   "SELECT id, estate_ids, active, version FROM dir_staff "
                   "WHERE group_id = $1 AND id = $2");

std::optional<StaffCopy> CounterStore::GetStaff(pqxx::work& tx, const std::string& group,
                                                const std::string& id) {
  pqxx::result r = tx.exec_prepared(kStaffGet, group, id);
  if (r.empty()) return std::nullopt;
  StaffCopy s;
  s.id = Text(r[0][0]);
  s.estate_ids = ParsePgArray(r[0][1]);
  s.active = r[0][2].as<bool>();
  s.version = r[0][3].as<int64_t>();
  return s;
}

const sql::Statement kTicketGet = statements.Add(
    "ct_ticket_get",
    "SELECT id, estate_id, open FROM intake_tickets WHERE group_id = $1 AND id = $2");

std::optional<TicketCopy> CounterStore::GetTicket(pqxx::work& tx, const std::string& group,
                                                  const std::string& id) {
  pqxx::result r = tx.exec_prepared(kTicketGet, group, id);
  if (r.empty()) return std::nullopt;
  return TicketCopy{Text(r[0][0]), Text(r[0][1]), r[0][2].as<bool>()};
}

const sql::Statement kUnitsCount = statements.Add(
    "ct_units_count", "SELECT count(*) FROM dir_units WHERE group_id = $1 AND estate_id = $2");

int32_t CounterStore::CountUnits(pqxx::work& tx, const std::string& group,
                                 const std::string& estate) {
  return tx.exec_prepared(kUnitsCount, group, estate)[0][0].as<int32_t>();
}

}  // namespace wuye::counter
