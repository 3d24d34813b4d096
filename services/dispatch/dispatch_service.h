// gRPC handlers of wuye.dispatch.v1.DispatchService: check the caller and the input, call
// the domain and the store, write the events in the same transaction. Each handler is one
// RpcRunner::Run.
#pragma once

#include <functional>

#include "services/dispatch/work_order_flow.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/rpc.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"

namespace wuye::dispatch {

class DispatchServiceImpl final : public pb::DispatchService::Service {
 public:
  DispatchServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock);

  using Ctx = grpc::ServerContext;
  grpc::Status CreateWorkOrder(Ctx*, const pb::CreateWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status GetWorkOrder(Ctx*, const pb::GetWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status ListWorkOrders(Ctx*, const pb::ListWorkOrdersRequest*,
                              pb::ListWorkOrdersResponse*) override;
  grpc::Status AssignWorkOrder(Ctx*, const pb::AssignWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status AcceptWorkOrder(Ctx*, const pb::AcceptWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status DeclineWorkOrder(Ctx*, const pb::DeclineWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status AgreePrice(Ctx*, const pb::AgreePriceRequest*, pb::WorkOrder*) override;
  grpc::Status RecordProgress(Ctx*, const pb::RecordProgressRequest*, pb::WorkOrder*) override;
  grpc::Status SignWorkOrder(Ctx*, const pb::SignWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status CompleteWorkOrder(Ctx*, const pb::CompleteWorkOrderRequest*,
                                 pb::WorkOrder*) override;
  grpc::Status CancelWorkOrder(Ctx*, const pb::CancelWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status ExplainAssignment(Ctx*, const pb::ExplainAssignmentRequest*,
                                 pb::AssignmentDecision*) override;
  grpc::Status GetSlaPolicy(Ctx*, const pb::GetSlaPolicyRequest*, pb::SlaPolicy*) override;
  grpc::Status UpdateSlaPolicy(Ctx*, const pb::UpdateSlaPolicyRequest*, pb::SlaPolicy*) override;
  grpc::Status PauseWorkOrder(Ctx*, const pb::PauseWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status DecidePause(Ctx*, const pb::DecidePauseRequest*, pb::WorkOrder*) override;
  grpc::Status ResumeWorkOrder(Ctx*, const pb::ResumeWorkOrderRequest*, pb::WorkOrder*) override;
  grpc::Status GetPauseReasons(Ctx*, const pb::GetPauseReasonsRequest*,
                               pb::PauseReasons*) override;
  grpc::Status UpdatePauseReasons(Ctx*, const pb::UpdatePauseReasonsRequest*,
                                  pb::PauseReasons*) override;
  grpc::Status GetSlaReport(Ctx*, const pb::GetSlaReportRequest*, pb::SlaReport*) override;

 private:
  using Mutation = std::function<absl::Status(pqxx::work&, pb::WorkOrder&, const Act&)>;
  using AfterSave = std::function<absl::Status(pqxx::work&, const pb::WorkOrder&, const Act&)>;
  // Loads the caller's order for update (NOT_FOUND for another group's, PERMISSION_DENIED
  // for an estate not in the token), applies `change`, saves it and publishes its steps, all
  // under the request_id.
  absl::Status Change(const RequestContext& rc, const google::protobuf::Message& req,
                      pb::WorkOrder* resp, const std::string& id, const Mutation& change,
                      const AfterSave& after = nullptr);
  // `resident` (named in `field`) lives in the order's unit (in its estate for a
  // common-area order), by dispatch's copy of the directory.
  absl::Status CheckResident(pqxx::work& tx, const pb::WorkOrder& order,
                             const std::string& resident, const std::string& field);
  // The worker a call concerns: the caller, or for managers the named one.
  absl::StatusOr<std::string> WorkerOf(const RequestContext& rc, const std::string& staff_id,
                                       bool required_for_managers);

  Db& db_;
  WorkOrderFlow flow_;
  RpcRunner rpc_;
};

}  // namespace wuye::dispatch
