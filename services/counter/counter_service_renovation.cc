// Handlers of the counter: renovation.
#include "services/counter/counter_service.h"

namespace wuye::counter {

grpc::Status CounterServiceImpl::CreateRenovation(Ctx*, const pb::CreateRenovationRequest*,
                                                  pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetRenovation(Ctx*, const pb::GetRenovationRequest*,
                                               pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListRenovations(Ctx*, const pb::ListRenovationsRequest*,
                                                 pb::ListRenovationsResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::AddRenovationDocuments(Ctx*,
                                                        const pb::AddRenovationDocumentsRequest*,
                                                        pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::DecideRenovation(Ctx*, const pb::DecideRenovationRequest*,
                                                  pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GrantOvertime(Ctx*, const pb::GrantOvertimeRequest*,
                                               pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::AdmitWorkers(Ctx*, const pb::AdmitWorkersRequest*,
                                              pb::Admission*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RecordPatrol(Ctx*, const pb::RecordPatrolRequest*, pb::Patrol*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListPatrols(Ctx*, const pb::ListPatrolsRequest*,
                                             pb::ListPatrolsResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::AcceptRenovation(Ctx*, const pb::AcceptRenovationRequest*,
                                                  pb::Renovation*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

}  // namespace wuye::counter
