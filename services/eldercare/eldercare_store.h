// The only code that knows eldercare's tables. Every call takes the caller's group and
// filters by it (the directory copy, settlement and rotation are the service's own work
// across groups). Encrypted values go in and out through SealedRecords, never in plain.
//
// One class over one file per aggregate, each statement declared beside the method that
// runs it: eldercare_store.cc (the directory copy), _elders.cc, _health.cc (health records,
// sealed values and their audit), _care.cc (checkups, visits, calls, care days), _money.cc
// (charges, the family-call fund, fees) and _safety.cc (emergencies, safety checks).
#pragma once

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/eldercare/eldercare.h"
#include "shared/sealing.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "shared/sql.h"
#include "wuye/eldercare/v1/eldercare.pb.h"

namespace wuye {
const MigrationSet& eldercare_migrations();
}

namespace wuye::eldercare {

struct ResidentCopy {
  std::string id, estate_id, unit_id;
  ResidentFacts facts;
  int64_t version = 0;
};

struct ElderInsert {
  v1::Elder elder;  // ids, dates, consent, schedule
  std::string id_digest;
};

struct AuditRow {
  std::string group_id, elder_id, actor;
  std::vector<std::string> actor_roles;
  std::string action;
  std::vector<std::string> fields;
  std::string purpose;
  bool break_glass = false;
  std::string trace_id;
};

struct ChargeRow {
  std::string charge_id, group_id, estate_id, elder_id;
  FeeLine line;
};

struct UnchargedDay {
  std::string id, group_id, estate_id, elder_id, unit_id, resident_id;
  v1::CareKind kind;
  absl::CivilDay day;
};

struct SealedRow {
  SealedPlace place;
  SealedValue value;
  std::string elder_id;  // whose record it is, for the audit trail
};

class EldercareStore {
 public:
  explicit EldercareStore(Db& db);

  // ---- the directory copy (versions only move forward)
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    const std::string& time_zone, int64_t version);
  void UpsertUnit(pqxx::work& tx, const std::string& group, const std::string& id,
                  const std::string& estate_id, int64_t version);
  void UpsertResident(pqxx::work& tx, const std::string& group, const ResidentCopy& r);
  std::optional<ResidentCopy> GetResident(pqxx::work& tx, const std::string& group,
                                          const std::string& id);
  // Whether the estate is in the copy.
  bool EstateKnown(pqxx::work& tx, const std::string& group, const std::string& estate);
  // The estate's time zone name; "" when the estate is not (yet) in the copy.
  std::string EstateZone(pqxx::work& tx, const std::string& group, const std::string& estate);

  // ---- elders
  void InsertElder(pqxx::work& tx, const ElderInsert& e, absl::Time now, v1::Elder* out);
  std::optional<v1::Elder> GetElder(pqxx::work& tx, const std::string& group, const std::string& id,
                                    bool for_update = false);
  bool EnrolledResidentExists(pqxx::work& tx, const std::string& group,
                              const std::string& resident_id);
  bool EnrolledIdDigestExists(pqxx::work& tx, const std::string& group, const std::string& digest);
  std::vector<v1::Elder> ListElders(pqxx::work& tx, const std::string& group,
                                    const std::string& estate, int state, const std::string& after,
                                    int limit);
  void ExitElder(pqxx::work& tx, const std::string& group, const std::string& id, absl::CivilDay on,
                 const std::string& reason, absl::Time now, v1::Elder* out);
  void SetNextVisit(pqxx::work& tx, const std::string& group, const std::string& id,
                    absl::CivilDay due, absl::Time now);
  int64_t BumpContactsVersion(pqxx::work& tx, const std::string& group, const std::string& id,
                              absl::Time now);
  int64_t ContactsVersion(pqxx::work& tx, const std::string& group, const std::string& id);
  // Up to `limit` enrolled elders of an estate with a visit due on or before `as_of`, by
  // due date then id, after (`after_due` "YYYY-MM-DD", `after_id`); "" and "" from the start.
  std::vector<v1::Elder> DueVisits(pqxx::work& tx, const std::string& group,
                                   const std::string& estate, absl::CivilDay as_of,
                                   const std::string& after_due, const std::string& after_id,
                                   int limit);
  std::vector<v1::Elder> EnrolledInEstate(pqxx::work& tx, const std::string& group,
                                          const std::string& estate);
  // Enrolled elders whose service year has run out by their estate's today at `now`,
  // locked (SKIP LOCKED) for renewal.
  std::vector<v1::Elder> DueRenewals(pqxx::work& tx, absl::Time now, int limit);
  void SetPaidThrough(pqxx::work& tx, const std::string& id, absl::CivilDay through,
                      absl::Time now);

  // ---- health card metadata (values are sealed)
  // {version, update time}; version 0 when none.
  std::pair<int64_t, absl::Time> CardMeta(pqxx::work& tx, const std::string& group,
                                          const std::string& elder);
  int64_t UpsertCardMeta(pqxx::work& tx, const std::string& group, const std::string& elder,
                         const std::string& actor, absl::Time now);

  // ---- checkups, visits, calls, care days
  void InsertCheckup(pqxx::work& tx, const std::string& group, const v1::Checkup& c,
                     absl::Time now);
  std::optional<v1::Checkup> GetCheckup(pqxx::work& tx, const std::string& group,
                                        const std::string& id, bool for_update = false);
  void SetCarePlanMeta(pqxx::work& tx, const std::string& group, const std::string& id,
                       std::optional<absl::CivilDay> follow_up_on);
  std::vector<v1::Checkup> ListCheckups(pqxx::work& tx, const std::string& group,
                                        const std::string& elder, const std::string& after,
                                        int limit);
  void InsertVisit(pqxx::work& tx, const std::string& group, const v1::Visit& v,
                   const std::string& visitor, absl::Time now);
  void InsertFamilyCall(pqxx::work& tx, const std::string& group, const v1::FamilyCall& c,
                        const std::string& caller, absl::Time now);
  // False when the elder already has a care day on that date.
  bool InsertCareDay(pqxx::work& tx, const std::string& group, const std::string& estate,
                     const v1::CareDay& d, absl::Time now);
  // Care days not yet charged: of one elder (all), or of every elder before their estate's
  // today at `now` (locked, SKIP LOCKED, at most `limit`).
  std::vector<UnchargedDay> UnchargedDaysOf(pqxx::work& tx, const std::string& group,
                                            const std::string& elder);
  std::vector<UnchargedDay> UnchargedDaysBefore(pqxx::work& tx, absl::Time now, int limit);
  void MarkCharged(pqxx::work& tx, const std::vector<std::string>& day_ids,
                   const std::string& charge_id);

  // ---- charges and the family-call fund
  void InsertCharge(pqxx::work& tx, const ChargeRow& c, absl::Time now);
  // The elder's latest charge of a kind: {charge id, amount}.
  std::optional<std::pair<std::string, int64_t>> LastChargeOfKind(pqxx::work& tx,
                                                                  const std::string& group,
                                                                  const std::string& elder,
                                                                  int kind);
  // Adds `delta` to the elder's family-call fund; returns the balance after it.
  int64_t AddToFund(pqxx::work& tx, const std::string& group, const std::string& elder,
                    int64_t delta, absl::Time now);

  // ---- fee settings ("" estate: the group's)
  // The level's own overrides and their version (0 when never set).
  std::pair<v1::ElderFees, int64_t> GetFees(pqxx::work& tx, const std::string& group,
                                            const std::string& estate);
  int64_t PutFees(pqxx::work& tx, const std::string& group, const std::string& estate,
                  const v1::ElderFees& fees, absl::Time now);
  // The fees in force for an estate.
  Fees FeesFor(pqxx::work& tx, const std::string& group, const std::string& estate);

  // Charges recorded for an elder: kind → total fen.
  std::map<int, int64_t> ChargeTotals(pqxx::work& tx, const std::string& group,
                                      const std::string& elder);

  // ---- emergencies and safety checks
  void InsertEmergency(pqxx::work& tx, const std::string& group, const v1::Emergency& e,
                       const std::string& raised_by);
  void InsertSafetyCheck(pqxx::work& tx, const std::string& group, const v1::SafetyCheck& c,
                         const std::vector<v1::Elder>& homes);
  std::optional<v1::SafetyCheck> GetSafetyCheck(pqxx::work& tx, const std::string& group,
                                                const std::string& id, bool for_update = false);
  // False when the elder's home is not part of the check.
  bool RecordSafetyResult(pqxx::work& tx, const std::string& check, const std::string& elder,
                          bool safe, absl::Time now);
  void CompleteSafetyCheck(pqxx::work& tx, const std::string& id, absl::Time now);

  // ---- audit
  void InsertAudit(pqxx::work& tx, const AuditRow& a, absl::Time now);
  std::vector<v1::AuditEntry> ListAudit(pqxx::work& tx, const std::string& group,
                                        const std::string& elder, bool break_glass_only,
                                        const std::string& after, int limit);

  // ---- sealed values
  void PutSealed(pqxx::work& tx, const SealedPlace& place, const SealedValue& value,
                 const std::string& elder_id, absl::Time now);
  // field → sealed value of one record.
  std::map<std::string, SealedValue> GetSealed(pqxx::work& tx, const std::string& group,
                                               const std::string& table, const std::string& record);
  // Values under another key than `active`, locked (SKIP LOCKED), at most `limit`.
  std::vector<SealedRow> SealedNotUnder(pqxx::work& tx, const std::string& active, int limit);
  int64_t CountNotUnder(pqxx::work& tx, const std::string& active);

 private:
  // The statements of each file, prepared by the constructor.
  static const sql::Statements& DirectoryCopyStatements();  // eldercare_store.cc
  static const sql::Statements& ElderStatements();          // eldercare_store_elders.cc
  static const sql::Statements& HealthStatements();         // eldercare_store_health.cc
  static const sql::Statements& CareStatements();           // eldercare_store_care.cc
  static const sql::Statements& MoneyStatements();          // eldercare_store_money.cc
  static const sql::Statements& SafetyStatements();         // eldercare_store_safety.cc
};

// Encrypted fields of records: seals on write, opens on read, through the store.
class SealedRecords {
 public:
  SealedRecords(EldercareStore& store, const Keyring& keys) : store_(store), keys_(keys) {}

  absl::Status Write(pqxx::work& tx, const std::string& group, const std::string& elder,
                     const std::string& table, const std::string& record,
                     const std::vector<std::pair<std::string, std::string>>& fields,
                     absl::Time now);
  // field → plaintext of the fields named in `only` (every field when empty): a caller
  // decrypts no more than it may see. A field never written is absent. A value that fails
  // to open is DATA_LOSS (or INTERNAL for a key not loaded) and nothing is returned.
  absl::StatusOr<std::map<std::string, std::string>> Read(
      pqxx::work& tx, const std::string& group, const std::string& table, const std::string& record,
      const std::vector<std::string>& only = {});
  const Keyring& keys() const { return keys_; }

 private:
  EldercareStore& store_;
  const Keyring& keys_;
};

}  // namespace wuye::eldercare
