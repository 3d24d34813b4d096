// gRPC handlers of wuye.eldercare.v1.ElderCareService: check the caller and the input,
// call the domain and the store, seal and open health records, write the audit row and the
// events in the same transaction. Each handler is one RpcRunner::Run.
#pragma once

#include "services/eldercare/eldercare_store.h"
#include "shared/sealing.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"

namespace wuye::eldercare {

class ElderCareServiceImpl final : public v1::ElderCareService::Service {
 public:
  // `keys` must outlive the service.
  ElderCareServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                       const Keyring& keys);

  using Ctx = grpc::ServerContext;
  grpc::Status EnrolElder(Ctx*, const v1::EnrolElderRequest*, v1::Elder*) override;
  grpc::Status GetElder(Ctx*, const v1::GetElderRequest*, v1::Elder*) override;
  grpc::Status ListElders(Ctx*, const v1::ListEldersRequest*, v1::ListEldersResponse*) override;
  grpc::Status ExitElder(Ctx*, const v1::ExitElderRequest*, v1::Elder*) override;
  grpc::Status GetHealthCard(Ctx*, const v1::GetHealthCardRequest*, v1::HealthCard*) override;
  grpc::Status UpdateHealthCard(Ctx*, const v1::UpdateHealthCardRequest*,
                                v1::HealthRecordReceipt*) override;
  grpc::Status GetFamilyContacts(Ctx*, const v1::GetFamilyContactsRequest*,
                                 v1::FamilyContacts*) override;
  grpc::Status SetFamilyContacts(Ctx*, const v1::SetFamilyContactsRequest*,
                                 v1::HealthRecordReceipt*) override;
  grpc::Status RecordCheckup(Ctx*, const v1::RecordCheckupRequest*, v1::Checkup*) override;
  grpc::Status SetCarePlan(Ctx*, const v1::SetCarePlanRequest*, v1::Checkup*) override;
  grpc::Status GetCheckup(Ctx*, const v1::GetCheckupRequest*, v1::Checkup*) override;
  grpc::Status ListCheckups(Ctx*, const v1::ListCheckupsRequest*,
                            v1::ListCheckupsResponse*) override;
  grpc::Status RecordVisit(Ctx*, const v1::RecordVisitRequest*, v1::Visit*) override;
  grpc::Status ListDueVisits(Ctx*, const v1::ListDueVisitsRequest*,
                             v1::ListDueVisitsResponse*) override;
  grpc::Status RecordFamilyCall(Ctx*, const v1::RecordFamilyCallRequest*, v1::FamilyCall*) override;
  grpc::Status RecordCareDay(Ctx*, const v1::RecordCareDayRequest*, v1::CareDay*) override;
  grpc::Status RaiseEmergency(Ctx*, const v1::RaiseEmergencyRequest*, v1::Emergency*) override;
  grpc::Status RaiseSafetyCheck(Ctx*, const v1::RaiseSafetyCheckRequest*,
                                v1::SafetyCheck*) override;
  grpc::Status RecordSafetyCheckResult(Ctx*, const v1::RecordSafetyCheckResultRequest*,
                                       v1::SafetyCheck*) override;
  grpc::Status GetSafetyCheck(Ctx*, const v1::GetSafetyCheckRequest*, v1::SafetyCheck*) override;
  grpc::Status ListAuditEntries(Ctx*, const v1::ListAuditEntriesRequest*,
                                v1::ListAuditEntriesResponse*) override;
  grpc::Status RotateKeys(Ctx*, const v1::RotateKeysRequest*, v1::RotateKeysResponse*) override;
  grpc::Status SetFeeSettings(Ctx*, const v1::SetFeeSettingsRequest*, v1::FeeSettings*) override;
  grpc::Status GetFeeSettings(Ctx*, const v1::GetFeeSettingsRequest*, v1::FeeSettings*) override;

 private:
  // The fee settings of a level ("" estate: the group's) with the fees in force there.
  v1::FeeSettings FeeSettingsOf(pqxx::work& tx, const std::string& group,
                                const std::string& estate);
  // The caller's elder of an estate the token names: NOT_FOUND for another group's,
  // PERMISSION_DENIED for an estate not in the token.
  absl::StatusOr<v1::Elder> VisibleElder(pqxx::work& tx, const RequestContext& rc,
                                         const std::string& id, absl::string_view field,
                                         bool for_update = false);
  // The same, and FAILED_PRECONDITION (ELDER_NOT_ENROLLED) once the elder has exited.
  absl::StatusOr<v1::Elder> EnrolledElder(pqxx::work& tx, const RequestContext& rc,
                                          const std::string& id, absl::string_view field,
                                          bool for_update = false);
  // Today in the estate's time zone.
  absl::CivilDay Today(pqxx::work& tx, const RequestContext& rc, const std::string& estate);
  void Audit(pqxx::work& tx, const RequestContext& rc, const std::string& elder,
             const std::string& action, std::vector<std::string> fields, const std::string& purpose,
             bool break_glass = false);
  // A read that failed because a stored value did not open (tampered, moved, key missing)
  // is audited too, in a transaction of its own, and the failure returned.
  absl::Status AuditRefusedRead(const RequestContext& rc, absl::Status status,
                                const std::string& elder, const std::string& action);
  void Publish(pqxx::work& tx, const RequestContext& rc, const std::string& type,
               const std::string& estate, const std::string& subject, int64_t version,
               const google::protobuf::Message& payload);
  // RunOnce with a request whose strings are replaced by keyed digests: the idempotency
  // table keeps a hash of each request, which must not be a plain hash of an ID number or
  // a health value.
  absl::Status RunOnceKeyed(const RequestContext& rc, const google::protobuf::Message& request,
                            google::protobuf::Message* response,
                            const std::function<absl::Status(pqxx::work&)>& effect);

  Db& db_;
  const Keyring& keys_;
  EldercareStore store_;
  SealedRecords sealed_;
  Outbox outbox_;
  RpcRunner rpc_;
};

}  // namespace wuye::eldercare
