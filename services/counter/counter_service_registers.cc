// Handlers of the counter: keys, cards, registers.
#include "services/counter/counter_service.h"

namespace wuye::counter {

grpc::Status CounterServiceImpl::CreateKey(Ctx*, const pb::CreateKeyRequest*, pb::Key*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListKeys(Ctx*, const pb::ListKeysRequest*, pb::ListKeysResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::LendKey(Ctx*, const pb::LendKeyRequest*, pb::KeyLoan*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ReturnKey(Ctx*, const pb::ReturnKeyRequest*, pb::KeyLoan*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListKeyLoans(Ctx*, const pb::ListKeyLoansRequest*,
                                              pb::ListKeyLoansResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CheckKeys(Ctx*, const pb::CheckKeysRequest*, pb::KeyCheck*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::IssueCard(Ctx*, const pb::IssueCardRequest*, pb::Card*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetCard(Ctx*, const pb::GetCardRequest*, pb::Card*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListCards(Ctx*, const pb::ListCardsRequest*,
                                           pb::ListCardsResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ReturnCard(Ctx*, const pb::ReturnCardRequest*, pb::Card*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ReportCardLost(Ctx*, const pb::ReportCardLostRequest*, pb::Card*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CreateRegisterEntry(Ctx*, const pb::CreateRegisterEntryRequest*,
                                                     pb::RegisterEntry*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListRegisterEntries(Ctx*, const pb::ListRegisterEntriesRequest*,
                                                     pb::ListRegisterEntriesResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CloseRegisterEntry(Ctx*, const pb::CloseRegisterEntryRequest*,
                                                    pb::RegisterEntry*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

}  // namespace wuye::counter
