// Handlers of the counter: violations and disputes.
#include "services/counter/counter_service.h"

namespace wuye::counter {

grpc::Status CounterServiceImpl::CreateCase(Ctx*, const pb::CreateCaseRequest*, pb::Case*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetCase(Ctx*, const pb::GetCaseRequest*, pb::Case*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListCases(Ctx*, const pb::ListCasesRequest*,
                                           pb::ListCasesResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RecordCaseAction(Ctx*, const pb::RecordCaseActionRequest*,
                                                  pb::Case*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CloseCase(Ctx*, const pb::CloseCaseRequest*, pb::Case*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::InspectCase(Ctx*, const pb::InspectCaseRequest*, pb::Case*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

}  // namespace wuye::counter
