// gRPC handlers of wuye.performance.v1.PerformanceService: check input and permissions,
// call the domain and the store, publish events. Each handler is one RpcRunner::Run.
// The caller's staff id is its token's subject ("own line", "never for oneself").
#pragma once

#include "services/performance/performance_store.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/performance/v1/performance.grpc.pb.h"

namespace wuye::performance {

class PerformanceServiceImpl final : public pb::PerformanceService::Service {
 public:
  PerformanceServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock);

  using Ctx = grpc::ServerContext;
  grpc::Status ListRules(Ctx*, const pb::ListRulesRequest*, pb::ListRulesResponse*) override;
  grpc::Status UpdateRule(Ctx*, const pb::UpdateRuleRequest*, pb::Rule*) override;
  grpc::Status GetSettings(Ctx*, const pb::GetSettingsRequest*, pb::Settings*) override;
  grpc::Status UpdateSettings(Ctx*, const pb::UpdateSettingsRequest*, pb::Settings*) override;
  grpc::Status CreateManualEntry(Ctx*, const pb::CreateManualEntryRequest*, pb::Line*) override;
  grpc::Status GetSheet(Ctx*, const pb::GetSheetRequest*, pb::Sheet*) override;
  grpc::Status ListRankings(Ctx*, const pb::ListRankingsRequest*,
                            pb::ListRankingsResponse*) override;
  grpc::Status GetTeamSheet(Ctx*, const pb::GetTeamSheetRequest*, pb::TeamSheet*) override;
  grpc::Status ExportSheets(Ctx*, const pb::ExportSheetsRequest*,
                            pb::ExportSheetsResponse*) override;
  grpc::Status CreateAppeal(Ctx*, const pb::CreateAppealRequest*, pb::Appeal*) override;
  grpc::Status DecideAppeal(Ctx*, const pb::DecideAppealRequest*, pb::Appeal*) override;
  grpc::Status CloseMonth(Ctx*, const pb::CloseMonthRequest*, pb::CloseMonthResponse*) override;
  grpc::Status ListFormItems(Ctx*, const pb::ListFormItemsRequest*,
                             pb::ListFormItemsResponse*) override;
  grpc::Status UpdateFormItem(Ctx*, const pb::UpdateFormItemRequest*, pb::FormItem*) override;
  grpc::Status GetQualityLedger(Ctx*, const pb::GetQualityLedgerRequest*,
                                pb::QualityLedger*) override;
  grpc::Status ConfirmQualityLine(Ctx*, const pb::ConfirmQualityLineRequest*,
                                  pb::QualityLine*) override;
  grpc::Status ListCallFindings(Ctx*, const pb::ListCallFindingsRequest*,
                                pb::ListCallFindingsResponse*) override;
  grpc::Status DismissCallFinding(Ctx*, const pb::DismissCallFindingRequest*,
                                  pb::CallFinding*) override;

 private:
  // Checks estate_id and period of the estate-wide reads, and the caller's right to them.
  absl::Status CheckEstateRead(const RequestContext& rc, const std::string& estate_id,
                               const wuye::common::v1::Month& period);
  // CreateAppeal against a line of the office's quality ledger.
  absl::Status CreateQualityAppeal(RequestContext& rc, const pb::CreateAppealRequest& req,
                                   pb::Appeal* resp);

  Db& db_;
  PerformanceStore store_;
  Outbox outbox_;
  RpcRunner rpc_;
};

}  // namespace wuye::performance
