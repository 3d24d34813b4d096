// Handlers of the counter: hand-over, move-in, defects.
#include "services/counter/counter_service.h"

namespace wuye::counter {

grpc::Status CounterServiceImpl::CreateHandover(Ctx*, const pb::CreateHandoverRequest*,
                                                pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetHandover(Ctx*, const pb::GetHandoverRequest*, pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListHandovers(Ctx*, const pb::ListHandoversRequest*,
                                               pb::ListHandoversResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RegisterOwner(Ctx*, const pb::RegisterOwnerRequest*,
                                               pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::SignAgreements(Ctx*, const pb::SignAgreementsRequest*,
                                                pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::HandOverKeys(Ctx*, const pb::HandOverKeysRequest*, pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RecordHandoverReadings(Ctx*,
                                                        const pb::RecordHandoverReadingsRequest*,
                                                        pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CompleteInspection(Ctx*, const pb::CompleteInspectionRequest*,
                                                    pb::Handover*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RecordMoveIn(Ctx*, const pb::RecordMoveInRequest*, pb::MoveIn*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CreateDefect(Ctx*, const pb::CreateDefectRequest*, pb::Defect*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetDefect(Ctx*, const pb::GetDefectRequest*, pb::Defect*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListDefects(Ctx*, const pb::ListDefectsRequest*,
                                             pb::ListDefectsResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::UpdateDefect(Ctx*, const pb::UpdateDefectRequest*, pb::Defect*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

}  // namespace wuye::counter
