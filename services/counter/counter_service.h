// gRPC handlers of wuye.counter.v1.CounterService: check who and what, call the domain and
// the area's store, publish events. Each handler is one RpcRunner::Run; the handlers of
// each area are in their own file (counter_service_<area>.cc).
#pragma once

#include "services/counter/cases_store.h"
#include "services/counter/counter_store.h"
#include "services/counter/handover_store.h"
#include "services/counter/notices_store.h"
#include "services/counter/registers_store.h"
#include "services/counter/renovation_store.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "shared/sealing.h"
#include "wuye/counter/v1/counter.grpc.pb.h"

namespace wuye::counter {

class CounterServiceImpl final : public pb::CounterService::Service {
 public:
  // `keys` seals the ID numbers the counter takes (RegisterOwner); it must outlive the
  // service.
  CounterServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                     const Keyring& keys);

  using Ctx = grpc::ServerContext;
  // ---- hand-over, move-in, defects (counter_service_handover.cc)
  grpc::Status CreateHandover(Ctx*, const pb::CreateHandoverRequest*, pb::Handover*) override;
  grpc::Status GetHandover(Ctx*, const pb::GetHandoverRequest*, pb::Handover*) override;
  grpc::Status ListHandovers(Ctx*, const pb::ListHandoversRequest*,
                             pb::ListHandoversResponse*) override;
  grpc::Status RegisterOwner(Ctx*, const pb::RegisterOwnerRequest*, pb::Handover*) override;
  grpc::Status SignAgreements(Ctx*, const pb::SignAgreementsRequest*, pb::Handover*) override;
  grpc::Status HandOverKeys(Ctx*, const pb::HandOverKeysRequest*, pb::Handover*) override;
  grpc::Status RecordHandoverReadings(Ctx*, const pb::RecordHandoverReadingsRequest*,
                                      pb::Handover*) override;
  grpc::Status CompleteInspection(Ctx*, const pb::CompleteInspectionRequest*,
                                  pb::Handover*) override;
  grpc::Status RecordMoveIn(Ctx*, const pb::RecordMoveInRequest*, pb::MoveIn*) override;
  grpc::Status CreateDefect(Ctx*, const pb::CreateDefectRequest*, pb::Defect*) override;
  grpc::Status GetDefect(Ctx*, const pb::GetDefectRequest*, pb::Defect*) override;
  grpc::Status ListDefects(Ctx*, const pb::ListDefectsRequest*, pb::ListDefectsResponse*) override;
  grpc::Status UpdateDefect(Ctx*, const pb::UpdateDefectRequest*, pb::Defect*) override;
  // ---- renovation (counter_service_renovation.cc)
  grpc::Status CreateRenovation(Ctx*, const pb::CreateRenovationRequest*, pb::Renovation*) override;
  grpc::Status GetRenovation(Ctx*, const pb::GetRenovationRequest*, pb::Renovation*) override;
  grpc::Status ListRenovations(Ctx*, const pb::ListRenovationsRequest*,
                               pb::ListRenovationsResponse*) override;
  grpc::Status AddRenovationDocuments(Ctx*, const pb::AddRenovationDocumentsRequest*,
                                      pb::Renovation*) override;
  grpc::Status DecideRenovation(Ctx*, const pb::DecideRenovationRequest*, pb::Renovation*) override;
  grpc::Status GrantOvertime(Ctx*, const pb::GrantOvertimeRequest*, pb::Renovation*) override;
  grpc::Status AdmitWorkers(Ctx*, const pb::AdmitWorkersRequest*, pb::Admission*) override;
  grpc::Status RecordPatrol(Ctx*, const pb::RecordPatrolRequest*, pb::Patrol*) override;
  grpc::Status ListPatrols(Ctx*, const pb::ListPatrolsRequest*, pb::ListPatrolsResponse*) override;
  grpc::Status AcceptRenovation(Ctx*, const pb::AcceptRenovationRequest*, pb::Renovation*) override;
  // ---- violations and disputes (counter_service_cases.cc)
  grpc::Status CreateCase(Ctx*, const pb::CreateCaseRequest*, pb::Case*) override;
  grpc::Status GetCase(Ctx*, const pb::GetCaseRequest*, pb::Case*) override;
  grpc::Status ListCases(Ctx*, const pb::ListCasesRequest*, pb::ListCasesResponse*) override;
  grpc::Status RecordCaseAction(Ctx*, const pb::RecordCaseActionRequest*, pb::Case*) override;
  grpc::Status CloseCase(Ctx*, const pb::CloseCaseRequest*, pb::Case*) override;
  grpc::Status InspectCase(Ctx*, const pb::InspectCaseRequest*, pb::Case*) override;
  // ---- keys, cards, registers (counter_service_registers.cc)
  grpc::Status CreateKey(Ctx*, const pb::CreateKeyRequest*, pb::Key*) override;
  grpc::Status ListKeys(Ctx*, const pb::ListKeysRequest*, pb::ListKeysResponse*) override;
  grpc::Status LendKey(Ctx*, const pb::LendKeyRequest*, pb::KeyLoan*) override;
  grpc::Status ReturnKey(Ctx*, const pb::ReturnKeyRequest*, pb::KeyLoan*) override;
  grpc::Status ListKeyLoans(Ctx*, const pb::ListKeyLoansRequest*,
                            pb::ListKeyLoansResponse*) override;
  grpc::Status CheckKeys(Ctx*, const pb::CheckKeysRequest*, pb::KeyCheck*) override;
  grpc::Status IssueCard(Ctx*, const pb::IssueCardRequest*, pb::Card*) override;
  grpc::Status GetCard(Ctx*, const pb::GetCardRequest*, pb::Card*) override;
  grpc::Status ListCards(Ctx*, const pb::ListCardsRequest*, pb::ListCardsResponse*) override;
  grpc::Status ReturnCard(Ctx*, const pb::ReturnCardRequest*, pb::Card*) override;
  grpc::Status ReportCardLost(Ctx*, const pb::ReportCardLostRequest*, pb::Card*) override;
  grpc::Status CreateRegisterEntry(Ctx*, const pb::CreateRegisterEntryRequest*,
                                   pb::RegisterEntry*) override;
  grpc::Status ListRegisterEntries(Ctx*, const pb::ListRegisterEntriesRequest*,
                                   pb::ListRegisterEntriesResponse*) override;
  grpc::Status CloseRegisterEntry(Ctx*, const pb::CloseRegisterEntryRequest*,
                                  pb::RegisterEntry*) override;
  // ---- notices and surveys (counter_service_notices.cc)
  grpc::Status PublishNotice(Ctx*, const pb::PublishNoticeRequest*, pb::Notice*) override;
  grpc::Status GetNotice(Ctx*, const pb::GetNoticeRequest*, pb::Notice*) override;
  grpc::Status ListNotices(Ctx*, const pb::ListNoticesRequest*, pb::ListNoticesResponse*) override;
  grpc::Status LinkTickets(Ctx*, const pb::LinkTicketsRequest*, pb::Notice*) override;
  grpc::Status EndNotice(Ctx*, const pb::EndNoticeRequest*, pb::Notice*) override;
  grpc::Status CreateSurvey(Ctx*, const pb::CreateSurveyRequest*, pb::Survey*) override;
  grpc::Status GetSurvey(Ctx*, const pb::GetSurveyRequest*, pb::Survey*) override;
  grpc::Status ListSurveys(Ctx*, const pb::ListSurveysRequest*, pb::ListSurveysResponse*) override;
  grpc::Status RecordSurveyResponse(Ctx*, const pb::RecordSurveyResponseRequest*,
                                    pb::SurveyResponse*) override;
  grpc::Status GetSurveyResults(Ctx*, const pb::GetSurveyResultsRequest*,
                                pb::SurveyResults*) override;
  grpc::Status CloseSurvey(Ctx*, const pb::CloseSurveyRequest*, pb::SurveyResults*) override;
  // ---- settings (counter_service.cc)
  grpc::Status GetSettings(Ctx*, const pb::GetSettingsRequest*, pb::Settings*) override;
  grpc::Status UpdateSettings(Ctx*, const pb::UpdateSettingsRequest*, pb::Settings*) override;

 private:
  Db& db_;
  CounterStore store_;
  HandoverStore handovers_;
  RenovationStore renovations_;
  CasesStore cases_;
  RegistersStore registers_;
  NoticesStore notices_;
  Outbox outbox_;
  RpcRunner rpc_;
  const Keyring& keys_;
};

}  // namespace wuye::counter
