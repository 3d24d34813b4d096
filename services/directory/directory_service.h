// gRPC handlers of wuye.directory.v1.DirectoryService: check input and permissions, call
// the domain and the store, publish events. Each handler is one RpcRunner::Run.
#pragma once

#include "services/directory/directory_store.h"
#include "services/directory/unit_flow.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/directory/v1/directory.grpc.pb.h"

namespace wuye::directory {

class DirectoryServiceImpl final : public v1::DirectoryService::Service {
 public:
  // `phone_key` (intake's phone-hash key, shared/phone_key.h) keys the hash of a resident's
  // number in the resident events; empty: the events carry no hash.
  DirectoryServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                       std::string phone_key = "");

  using Ctx = grpc::ServerContext;
  grpc::Status CreateGroup(Ctx*, const v1::CreateGroupRequest*, v1::Group*) override;
  grpc::Status GetGroup(Ctx*, const v1::GetGroupRequest*, v1::Group*) override;
  grpc::Status CreateEstate(Ctx*, const v1::CreateEstateRequest*, v1::Estate*) override;
  grpc::Status GetEstate(Ctx*, const v1::GetEstateRequest*, v1::Estate*) override;
  grpc::Status ListEstates(Ctx*, const v1::ListEstatesRequest*, v1::ListEstatesResponse*) override;
  grpc::Status UpdateEstate(Ctx*, const v1::UpdateEstateRequest*, v1::Estate*) override;
  grpc::Status CreateBuilding(Ctx*, const v1::CreateBuildingRequest*, v1::Building*) override;
  grpc::Status GetBuilding(Ctx*, const v1::GetBuildingRequest*, v1::Building*) override;
  grpc::Status ListBuildings(Ctx*, const v1::ListBuildingsRequest*,
                             v1::ListBuildingsResponse*) override;
  grpc::Status CreateUnit(Ctx*, const v1::CreateUnitRequest*, v1::Unit*) override;
  grpc::Status GetUnit(Ctx*, const v1::GetUnitRequest*, v1::Unit*) override;
  grpc::Status ListUnits(Ctx*, const v1::ListUnitsRequest*, v1::ListUnitsResponse*) override;
  grpc::Status UpdateUnit(Ctx*, const v1::UpdateUnitRequest*, v1::Unit*) override;
  grpc::Status ImportUnits(Ctx*, const v1::ImportUnitsRequest*, v1::ImportUnitsResponse*) override;
  grpc::Status CreateResident(Ctx*, const v1::CreateResidentRequest*, v1::Resident*) override;
  grpc::Status GetResident(Ctx*, const v1::GetResidentRequest*, v1::Resident*) override;
  grpc::Status ListResidents(Ctx*, const v1::ListResidentsRequest*,
                             v1::ListResidentsResponse*) override;
  grpc::Status UpdateResident(Ctx*, const v1::UpdateResidentRequest*, v1::Resident*) override;
  grpc::Status DeleteResident(Ctx*, const v1::DeleteResidentRequest*,
                              v1::DeleteResidentResponse*) override;
  grpc::Status CreateStaff(Ctx*, const v1::CreateStaffRequest*, v1::Staff*) override;
  grpc::Status GetStaff(Ctx*, const v1::GetStaffRequest*, v1::Staff*) override;
  grpc::Status ListStaff(Ctx*, const v1::ListStaffRequest*, v1::ListStaffResponse*) override;
  grpc::Status UpdateStaff(Ctx*, const v1::UpdateStaffRequest*, v1::Staff*) override;
  grpc::Status CreateShift(Ctx*, const v1::CreateShiftRequest*, v1::Shift*) override;
  grpc::Status ListShifts(Ctx*, const v1::ListShiftsRequest*, v1::ListShiftsResponse*) override;
  grpc::Status DeleteShift(Ctx*, const v1::DeleteShiftRequest*, v1::DeleteShiftResponse*) override;
  // The working calendar (calendar_service.cc).
  grpc::Status ImportWorkCalendar(Ctx*, const v1::ImportWorkCalendarRequest*,
                                  v1::WorkCalendarChange*) override;
  grpc::Status WithdrawWorkCalendar(Ctx*, const v1::WithdrawWorkCalendarRequest*,
                                    v1::WorkCalendarChange*) override;
  grpc::Status GetWorkCalendar(Ctx*, const v1::GetWorkCalendarRequest*,
                               v1::WorkCalendarYear*) override;
  grpc::Status ExplainDeadline(Ctx*, const v1::ExplainDeadlineRequest*,
                               v1::ExplainDeadlineResponse*) override;

 private:
  // Appends "directory.<kind>.<what>" for `subject` to the outbox.
  void Publish(pqxx::work& tx, const RequestContext& rc, const std::string& type,
               const std::string& estate_id, const std::string& subject, int64_t version,
               const google::protobuf::Message& payload);
  // The estate, or NOT_FOUND; PERMISSION_DENIED when the token does not name it.
  absl::StatusOr<v1::Estate> VisibleEstate(pqxx::work& tx, const RequestContext& rc,
                                           const std::string& estate_id, absl::string_view field);
  // OK for the group's calendar (estate_id empty); else VisibleEstate's answer on field
  // `estate_id`, the estate copied to `estate` when given.
  absl::Status CalendarScope(pqxx::work& tx, const RequestContext& rc,
                             const std::string& estate_id, v1::Estate* estate);
  // Stores a year of the group's (estate_id empty) or an estate's calendar at `version`
  // ("" withdraws it) and publishes directory.calendar.changed, in `tx`.
  void StoreCalendar(pqxx::work& tx, const RequestContext& rc, const std::string& estate_id,
                     int year, const std::string& calendar, int64_t version);

  Db& db_;
  DirectoryStore store_;
  Outbox outbox_;
  RpcRunner rpc_;
  std::string phone_key_;
  UnitFlow units_;  // UpdateUnit's write path, shared with the counter's events
};

}  // namespace wuye::directory
