// gRPC handlers of wuye.billing.v1.BillingService: check input and permissions, call the
// domain and the store, publish events. Each handler is one RpcRunner::Run.
#pragma once

#include "services/billing/billing_store.h"
#include "services/billing/counter_money_flow.h"
#include "services/billing/counter_money_store.h"
#include "services/billing/eldercare_money_flow.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/billing/v1/billing.grpc.pb.h"

namespace wuye::billing {

class BillingServiceImpl final : public v1::BillingService::Service {
 public:
  BillingServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock);

  using Ctx = grpc::ServerContext;
  grpc::Status SetStandardPrice(Ctx*, const v1::SetStandardPriceRequest*,
                                v1::StandardPrice*) override;
  grpc::Status PublishEstatePrice(Ctx*, const v1::PublishEstatePriceRequest*,
                                  v1::EstatePrice*) override;
  grpc::Status ListEstatePrices(Ctx*, const v1::ListEstatePricesRequest*,
                                v1::ListEstatePricesResponse*) override;
  grpc::Status SetFeeSchedule(Ctx*, const v1::SetFeeScheduleRequest*, v1::FeeSchedule*) override;
  grpc::Status GetFeeSchedule(Ctx*, const v1::GetFeeScheduleRequest*, v1::FeeSchedule*) override;
  grpc::Status RecordMeterReading(Ctx*, const v1::RecordMeterReadingRequest*,
                                  v1::MeterReading*) override;
  grpc::Status ConfirmMeterReading(Ctx*, const v1::ConfirmMeterReadingRequest*,
                                   v1::MeterReading*) override;
  grpc::Status StartBillingRun(Ctx*, const v1::StartBillingRunRequest*, v1::BillingRun*) override;
  grpc::Status GetBillingRun(Ctx*, const v1::GetBillingRunRequest*, v1::BillingRun*) override;
  grpc::Status GetBill(Ctx*, const v1::GetBillRequest*, v1::Bill*) override;
  grpc::Status ListBills(Ctx*, const v1::ListBillsRequest*, v1::ListBillsResponse*) override;
  grpc::Status RecordPayment(Ctx*, const v1::RecordPaymentRequest*, v1::Payment*) override;
  grpc::Status ReversePayment(Ctx*, const v1::ReversePaymentRequest*, v1::Payment*) override;
  grpc::Status TakeDeposit(Ctx*, const v1::TakeDepositRequest*, v1::UnitAccount*) override;
  grpc::Status Refund(Ctx*, const v1::RefundRequest*, v1::UnitAccount*) override;
  grpc::Status GetPayment(Ctx*, const v1::GetPaymentRequest*, v1::Payment*) override;
  grpc::Status GetUnitAccount(Ctx*, const v1::GetUnitAccountRequest*, v1::UnitAccount*) override;
  grpc::Status CheckLedger(Ctx*, const v1::CheckLedgerRequest*, v1::LedgerCheck*) override;
  grpc::Status GetArrears(Ctx*, const v1::GetArrearsRequest*, v1::Arrears*) override;
  grpc::Status RecordReminder(Ctx*, const v1::RecordReminderRequest*, v1::Reminder*) override;
  grpc::Status ListReminders(Ctx*, const v1::ListRemindersRequest*,
                             v1::ListRemindersResponse*) override;
  grpc::Status ReportCollection(Ctx*, const v1::ReportCollectionRequest*,
                                v1::CollectionReport*) override;
  grpc::Status ReportClinicSettlement(Ctx*, const v1::ReportClinicSettlementRequest*,
                                      v1::ClinicSettlement*) override;
  grpc::Status LodgeEmergencyDeposit(Ctx*, const v1::LodgeEmergencyDepositRequest*,
                                     v1::UnitAccount*) override;
  grpc::Status ReturnEmergencyDeposit(Ctx*, const v1::ReturnEmergencyDepositRequest*,
                                      v1::UnitAccount*) override;
  grpc::Status SettleWithClinic(Ctx*, const v1::SettleWithClinicRequest*,
                                v1::ClinicPayment*) override;
  grpc::Status GetBillingSettings(Ctx*, const v1::GetBillingSettingsRequest*,
                                  v1::BillingSettings*) override;
  grpc::Status UpdateBillingSettings(Ctx*, const v1::UpdateBillingSettingsRequest*,
                                     v1::BillingSettings*) override;

  // How many open bills a unit's account lists (owed_fen counts them all); tests lower it.
  void set_account_bills_limit(int limit) { account_bills_limit_ = limit; }

 private:
  // The estate from the directory copy, or NOT_FOUND; PERMISSION_DENIED when the token
  // does not name it.
  absl::StatusOr<EstateCopy> VisibleEstate(pqxx::work& tx, const RequestContext& rc,
                                           const std::string& estate_id, absl::string_view field);
  // The unit's account as GetUnitAccount answers it.
  void FillAccount(pqxx::work& tx, const std::string& group, const UnitCopy& unit,
                   v1::UnitAccount* resp);
  absl::StatusOr<UnitCopy> VisibleUnit(pqxx::work& tx, const RequestContext& rc,
                                       const std::string& unit_id, absl::string_view field);
  absl::StatusOr<v1::Bill> VisibleBill(pqxx::work& tx, const RequestContext& rc,
                                       const std::string& bill_id, absl::string_view field);

  Db& db_;
  int account_bills_limit_ = 1000;
  BillingStore store_;
  EldercareMoneyFlow eldercare_;
  CounterMoneyFlow counter_money_;  // renovation deposits a payment settles
  CounterMoneyStore counter_store_;  // opening meter readings
  Outbox outbox_;
  RpcRunner rpc_;
};

}  // namespace wuye::billing
