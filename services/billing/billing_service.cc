#include "services/billing/billing_service.h"

#include <algorithm>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/billing/billing.h"
#include "services/billing/billing_jobs.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/billing_events.pb.h"

namespace wuye::billing {
namespace {

using roles::kAgent;
using roles::kClinic;
using roles::kEstateManager;
using roles::kFinanceClerk;
using roles::kGroupAdmin;
using roles::kService;
using roles::kSupervisor;
using roles::kTeamLead;
using roles::kTechnician;

// Reader lists (need-to-know). A unit's bills, payments, account and reminders: finance, the
// estate's management and the front desk, which answers residents about what they owe and
// records their payments; never the field staff.
absl::Status RequireAccountReader(const RequestContext& rc) {
  return rc.RequireRole(
      {kGroupAdmin, kEstateManager, kFinanceClerk, kSupervisor, kTeamLead, kAgent, kService});
}
// An estate's arrears and its monthly collection report (totals: amounts and counts, no
// unit, resident, phone or ID): finance, the estate's management, and the desk's team lead,
// who supervises the chasing of management fees and tallies the arrears before the 5th of
// each month (001_…, 碧桂园客户部领班: 负责物业管理费催缴、追收的监督工作;
// 每月5日前统计欠管理费总表).
absl::Status RequireArrearsReader(const RequestContext& rc) {
  return rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk, kSupervisor, kTeamLead});
}
absl::Status RequireCollectionReader(const RequestContext& rc) {
  return rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk, kTeamLead});
}
// Billing runs: the roles that start them.
absl::Status RequireRunReader(const RequestContext& rc) {
  return rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk});
}

// Elderly-care emergency deposits: the clinic keeps them and pays the emergency centre
// (004_… 5.9); finance records it too.
absl::Status RequireDepositKeeper(const RequestContext& rc) {
  return rc.RequireRole({kGroupAdmin, kFinanceClerk, kClinic});
}

absl::Status CheckLabel(const std::string& text, absl::string_view field, size_t max) {
  if (text.empty()) return FieldError(field, "required");
  if (text.size() > max) return FieldError(field, absl::StrCat("at most ", max, " characters"));
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) return FieldError(field, "printable ASCII only");
  }
  return absl::OkStatus();
}

// An amount of money moved and how: both required.
absl::Status CheckMoneyMovement(int64_t amount_fen, v1::PaymentMethod method) {
  if (amount_fen <= 0 || amount_fen > 100000000) {
    return FieldError("amount_fen", "must be 1..100000000");
  }
  if (method == v1::PAYMENT_METHOD_UNSPECIFIED || !v1::PaymentMethod_IsValid(method)) {
    return FieldError("method", "required");
  }
  return absl::OkStatus();
}

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

// "billing.meter_reading.flagged" (version 1) and ".confirmed" (version 2), for the duty
// desk's finance clerk (docs/events.md).
void PublishFlagged(Outbox& outbox, pqxx::work& tx, const std::string& group,
                    const v1::MeterReading& r, bool confirmed, absl::Time now,
                    const std::string& trace_id) {
  wuye::events::v1::MeterReadingFlagged p;
  p.set_reading_id(r.id());
  p.set_estate_id(r.estate_id());
  p.set_unit_id(r.unit_id());
  p.set_meter_id(r.meter_id());
  switch (r.kind()) {
    case v1::METER_KIND_WATER:
      p.set_meter_kind("water");
      break;
    case v1::METER_KIND_ELECTRICITY:
      p.set_meter_kind("electricity");
      break;
    case v1::METER_KIND_GAS:
      p.set_meter_kind("gas");
      break;
    default:
      break;
  }
  *p.mutable_period() = r.period();
  p.set_consumption(r.consumption());
  p.set_confirmed(confirmed);
  *p.mutable_at() = ToProtoTime(now);
  outbox.Append(
      tx,
      {.type = confirmed ? "billing.meter_reading.confirmed" : "billing.meter_reading.flagged",
       .group_id = group,
       .estate_id = r.estate_id(),
       .subject = r.id(),
       .subject_version = confirmed ? 2 : 1,
       .payload = &p},
      now, trace_id);
}

}  // namespace

BillingServiceImpl::BillingServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock)
    : db_(db),
      store_(db),
      eldercare_(db),
      counter_money_(db),
      counter_store_(db),
      outbox_(db, "billing"),
      rpc_("billing", verifier, clock) {}

absl::StatusOr<EstateCopy> BillingServiceImpl::VisibleEstate(pqxx::work& tx,
                                                             const RequestContext& rc,
                                                             const std::string& estate_id,
                                                             absl::string_view field) {
  auto estate = store_.GetEstate(tx, rc.caller.group_id, estate_id);
  if (!estate) return absl::NotFoundError(absl::StrCat(field, ": no such estate"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate_id));
  return *estate;
}

absl::StatusOr<UnitCopy> BillingServiceImpl::VisibleUnit(pqxx::work& tx, const RequestContext& rc,
                                                         const std::string& unit_id,
                                                         absl::string_view field) {
  auto unit = store_.GetUnit(tx, rc.caller.group_id, unit_id);
  if (!unit) return absl::NotFoundError(absl::StrCat(field, ": no such unit"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id));
  return *unit;
}

absl::StatusOr<v1::Bill> BillingServiceImpl::VisibleBill(pqxx::work& tx, const RequestContext& rc,
                                                         const std::string& bill_id,
                                                         absl::string_view field) {
  auto bill = store_.GetBill(tx, rc.caller.group_id, bill_id);
  if (!bill) return absl::NotFoundError(absl::StrCat(field, ": no such bill"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(bill->estate_id()));
  return *bill;
}

// ---- Prices -------------------------------------------------------------------------------

grpc::Status BillingServiceImpl::SetStandardPrice(Ctx* ctx, const v1::SetStandardPriceRequest* req,
                                                  v1::StandardPrice* resp) {
  return rpc_.Run(ctx, "SetStandardPrice", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckStandardPrice(req->price(), "price"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) {
      const std::string& group = rc.caller.group_id;
      store_.PutStandardPrice(tx, group, req->price(), rc.now, resp);
      // One band for every price (004_… 5.6.1): a new standard price re-checks the estates'.
      for (const auto& [estate, price] : store_.EstatePricesOfItem(tx, group, resp->item_code())) {
        if (!CheckEstatePrice(price, resp->price_fen(), "price").ok()) {
          resp->add_estate_ids_outside_band(estate);
        }
      }
      wuye::events::v1::StandardPriceSet event;
      event.set_item_code(resp->item_code());
      event.set_name(resp->name());
      event.set_price_fen(resp->price_fen());
      event.set_per(resp->per());
      *event.mutable_effective_at() = resp->update_time();
      outbox_.Append(
          tx, {"billing.standard_price.set", group, "", resp->item_code(), resp->version(), &event},
          rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::PublishEstatePrice(Ctx* ctx,
                                                    const v1::PublishEstatePriceRequest* req,
                                                    v1::EstatePrice* resp) {
  return rpc_.Run(ctx, "PublishEstatePrice", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    const v1::EstatePrice& in = req->price();
    WUYE_RETURN_IF_ERROR(CheckId(in.estate_id(), "price.estate_id"));
    WUYE_RETURN_IF_ERROR(CheckItemCode(in.item_code(), "price.item_code"));
    if (!in.withdrawn() && in.price_fen() <= 0) return FieldError("price.price_fen", "must be > 0");
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, in.estate_id(), "price.estate_id").status());
      auto standard = store_.GetStandardPrice(tx, rc.caller.group_id, in.item_code());
      if (!standard) {
        return absl::NotFoundError("price.item_code: not on the group's standard price list");
      }
      v1::EstatePrice price = in;
      price.set_standard_price_fen(standard->price_fen());
      if (price.withdrawn() && price.price_fen() == 0) price.set_price_fen(standard->price_fen());
      WUYE_RETURN_IF_ERROR(
          CheckEstatePrice(price.price_fen(), standard->price_fen(), "price.price_fen"));
      store_.PutEstatePrice(tx, rc.caller.group_id, price, rc.now, resp);
      wuye::events::v1::PricePublished event;
      event.set_estate_id(resp->estate_id());
      event.set_item_code(resp->item_code());
      event.set_name(resp->name());
      event.set_price_fen(resp->price_fen());
      event.set_standard_price_fen(resp->standard_price_fen());
      event.set_per(resp->per());
      event.set_withdrawn(resp->withdrawn());
      *event.mutable_effective_at() = resp->effective_time();
      outbox_.Append(
          tx,
          {"billing.price.published", rc.caller.group_id, resp->estate_id(),
           absl::StrCat(resp->estate_id(), "/", resp->item_code()), resp->version(), &event},
          rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ListEstatePrices(Ctx* ctx, const v1::ListEstatePricesRequest* req,
                                                  v1::ListEstatePricesResponse* resp) {
  return rpc_.Run(ctx, "ListEstatePrices", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    // Keyed by item code, unique within the estate.
    const std::string filters = absl::StrCat("estate_prices;", req->estate_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParsePage(req->page_size(), req->page_token(), filters));
    if (!page.after.empty() && !CheckItemCode(page.after, "page_token").ok()) {
      return FieldError("page_token", "not a token this service issued");
    }
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, req->estate_id(), "estate_id").status());
      auto rows = store_.ListEstatePrices(tx, rc.caller.group_id, req->estate_id(), page.after,
                                          page.size + 1);
      resp->set_next_page_token(FillPageBy(std::move(rows), page, filters, resp->mutable_prices(),
                                           [](const v1::EstatePrice& p) { return p.item_code(); }));
      return absl::OkStatus();
    });
  });
}

// ---- Fee schedule and meters ---------------------------------------------------------------

grpc::Status BillingServiceImpl::SetFeeSchedule(Ctx* ctx, const v1::SetFeeScheduleRequest* req,
                                                v1::FeeSchedule* resp) {
  return rpc_.Run(ctx, "SetFeeSchedule", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    v1::FeeSchedule schedule = req->schedule();
    WUYE_RETURN_IF_ERROR(CheckId(schedule.estate_id(), "schedule.estate_id"));
    WUYE_RETURN_IF_ERROR(PrepareFeeSchedule(schedule, "schedule"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(
          VisibleEstate(tx, rc, schedule.estate_id(), "schedule.estate_id").status());
      store_.PutSchedule(tx, rc.caller.group_id, schedule, resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::GetFeeSchedule(Ctx* ctx, const v1::GetFeeScheduleRequest* req,
                                                v1::FeeSchedule* resp) {
  return rpc_.Run(ctx, "GetFeeSchedule", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, req->estate_id(), "estate_id").status());
      *resp = store_.GetSchedule(tx, rc.caller.group_id, req->estate_id());
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::RecordMeterReading(Ctx* ctx,
                                                    const v1::RecordMeterReadingRequest* req,
                                                    v1::MeterReading* resp) {
  return rpc_.Run(ctx, "RecordMeterReading", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk, kTechnician}));
    const v1::MeterReading& in = req->reading();
    WUYE_RETURN_IF_ERROR(CheckId(in.unit_id(), "reading.unit_id"));
    WUYE_RETURN_IF_ERROR(CheckLabel(in.meter_id(), "reading.meter_id", 32));
    if (in.kind() == v1::METER_KIND_UNSPECIFIED || !v1::MeterKind_IsValid(in.kind())) {
      return FieldError("reading.kind", "required");
    }
    WUYE_RETURN_IF_ERROR(CheckMonth(in.period(), "reading.period"));
    WUYE_ASSIGN_OR_RETURN(int64_t reading, ParseCenti(in.reading(), "reading.reading"));
    int64_t old_final = 0;
    if (in.meter_replaced()) {
      WUYE_ASSIGN_OR_RETURN(old_final, ParseCenti(in.old_meter_final(), "reading.old_meter_final"));
    } else if (!in.old_meter_final().empty()) {
      return FieldError("reading.old_meter_final", "only with meter_replaced");
    }
    const std::string period = MonthStart(in.period());
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, in.unit_id(), "reading.unit_id"));
      store_.LockEstateForReading(tx, unit.estate_id);
      if (store_.MonthlyBillExists(tx, unit.id, period)) {
        return Refused(
            "reading.period: the unit's bill for this month is issued; record the "
            "reading for a later month",
            "PERIOD_BILLED");
      }
      if (store_.LaterReadingExists(tx, unit.id, in.meter_id(), period)) {
        return Refused("reading.period: the meter has a reading of a later month",
                       "READING_OUT_OF_ORDER");
      }
      v1::FeeSchedule schedule = store_.GetSchedule(tx, rc.caller.group_id, unit.estate_id);
      const v1::Tariff* tariff = TariffFor(schedule, in.kind());
      if (tariff == nullptr) {
        return Refused("reading.kind: the estate has no tariff for this meter kind", "NO_TARIFF");
      }
      auto prior = store_.LastBillableReading(tx, unit.id, in.meter_id(), period);
      // A meter with no billable reading of its own yet is measured from the unit's opening
      // reading of its kind, taken at hand-over (counter.meters.read), if any.
      if (!prior && !in.meter_replaced()) {
        prior = counter_store_.OpeningReading(tx, unit.id, in.kind(), period);
      }
      WUYE_ASSIGN_OR_RETURN(ReadingOutcome outcome,
                            EvaluateReading(prior, reading, in.meter_replaced(), old_final));
      WUYE_RETURN_IF_ERROR(CheckConsumptionCeiling(outcome.consumption_centi, in.kind(),
                                                   store_.GetSettings(tx, rc.caller.group_id)));
      v1::MeterReading row = in;
      row.set_id(NewId(rc.now));
      row.set_estate_id(unit.estate_id);
      row.set_amount_fen(TieredChargeFen(outcome.consumption_centi, *tariff));
      row.set_state(outcome.flagged ? v1::READING_STATE_FLAGGED : v1::READING_STATE_BILLABLE);
      row.set_flag_reason(outcome.flag_reason);
      if (!store_.InsertReading(tx, rc.caller.group_id, row, reading, old_final,
                                outcome.consumption_centi, rc.now, resp)) {
        return absl::AlreadyExistsError("reading.period: the meter has a reading for this month");
      }
      if (resp->state() == v1::READING_STATE_FLAGGED) {
        PublishFlagged(outbox_, tx, rc.caller.group_id, *resp, false, rc.now, rc.trace_id);
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ConfirmMeterReading(Ctx* ctx,
                                                     const v1::ConfirmMeterReadingRequest* req,
                                                     v1::MeterReading* resp) {
  return rpc_.Run(ctx, "ConfirmMeterReading", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto reading = store_.GetReading(tx, rc.caller.group_id, req->id(), true);
      if (!reading) return absl::NotFoundError("id: no such reading");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(reading->estate_id()));
      if (reading->state() != v1::READING_STATE_FLAGGED) {
        return Refused("id: the reading is not flagged", "READING_NOT_FLAGGED");
      }
      store_.LockEstateForReading(tx, reading->estate_id());
      if (store_.MonthlyBillExists(tx, reading->unit_id(), MonthStart(reading->period()))) {
        return Refused(
            "id: the unit's bill for the reading's month is issued; the next "
            "month's reading will bill this consumption",
            "PERIOD_BILLED");
      }
      store_.MarkReadingBillable(tx, reading->id(), resp);
      PublishFlagged(outbox_, tx, rc.caller.group_id, *resp, true, rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// ---- Billing runs and bills -----------------------------------------------------------------

grpc::Status BillingServiceImpl::StartBillingRun(Ctx* ctx, const v1::StartBillingRunRequest* req,
                                                 v1::BillingRun* resp) {
  return rpc_.Run(ctx, "StartBillingRun", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    const bool whole_group = req->estate_id().empty();
    if (whole_group) {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
      if (!rc.caller.all_estates) {
        return absl::PermissionDeniedError(
            "a run of the whole group needs a token for every estate");
      }
    } else {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk, kEstateManager}));
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    }
    WUYE_RETURN_IF_ERROR(CheckMonth(req->period(), "period"));
    const std::string period = MonthStart(req->period());
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // A month that has begun in the estate's zone; a group run, in every estate's.
      std::vector<std::string> zones;
      if (whole_group) {
        zones = store_.EstateZones(tx, rc.caller.group_id);
      } else {
        WUYE_ASSIGN_OR_RETURN(EstateCopy estate,
                              VisibleEstate(tx, rc, req->estate_id(), "estate_id"));
        zones.push_back(estate.time_zone);
      }
      if (zones.empty()) zones.emplace_back();  // no estate yet: the default zone
      for (const std::string& zone : zones) {
        WUYE_RETURN_IF_ERROR(
            CheckBillablePeriod(req->period(), CurrentMonth(rc.now, EstateZone(zone)), "period"));
      }
      if (auto active = store_.ActiveRun(tx, rc.caller.group_id, req->estate_id(), period)) {
        return Refused(absl::StrCat("a run of this scope and month is under way: ", *active),
                       "RUN_IN_PROGRESS");
      }
      int64_t units = store_.CountBillableUnits(tx, rc.caller.group_id, req->estate_id(), period);
      store_.InsertRun(tx, rc.caller.group_id, NewId(rc.now), req->estate_id(), period, units,
                       rc.now, rc.trace_id, resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::GetBillingRun(Ctx* ctx, const v1::GetBillingRunRequest* req,
                                               v1::BillingRun* resp) {
  return rpc_.Run(ctx, "GetBillingRun", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireRunReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto run = store_.GetRun(tx, rc.caller.group_id, req->id());
      if (!run) return absl::NotFoundError("id: no such billing run");
      if (run->estate_id().empty()) {
        if (!rc.caller.all_estates) {
          return absl::PermissionDeniedError(
              "a run of the whole group needs a token for every "
              "estate");
        }
      } else {
        WUYE_RETURN_IF_ERROR(rc.RequireEstate(run->estate_id()));
      }
      *resp = *run;
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::GetBill(Ctx* ctx, const v1::GetBillRequest* req, v1::Bill* resp) {
  return rpc_.Run(ctx, "GetBill", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    // The care roles read the elderly-care bills they follow up, and no other bill.
    const absl::Status reader = RequireAccountReader(rc);
    const bool care_only = !reader.ok() && MaySeeCareDetail(rc.caller);
    if (!care_only) WUYE_RETURN_IF_ERROR(reader);
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(*resp, VisibleBill(tx, rc, req->id(), "id"));
      if (care_only && !absl::StartsWith(resp->source(), "eldercare:")) {
        resp->Clear();
        return absl::PermissionDeniedError(
            "billing.GetBill: care roles read elderly-care bills only");
      }
      MaskCareDetail(rc.caller, resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ListBills(Ctx* ctx, const v1::ListBillsRequest* req,
                                           v1::ListBillsResponse* resp) {
  return rpc_.Run(ctx, "ListBills", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireAccountReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters =
        absl::StrCat("bills;", req->estate_id(), ";", req->unit_id(), ";", req->open_only());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListBills(tx, rc.caller.group_id, req->estate_id(), req->unit_id(),
                                   req->open_only(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_bills()));
      for (auto& bill : *resp->mutable_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

// ---- Payments -------------------------------------------------------------------------------

grpc::Status BillingServiceImpl::RecordPayment(Ctx* ctx, const v1::RecordPaymentRequest* req,
                                               v1::Payment* resp) {
  return rpc_.Run(ctx, "RecordPayment", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk, kAgent, kService}));
    const v1::Payment& in = req->payment();
    WUYE_RETURN_IF_ERROR(CheckId(in.unit_id(), "payment.unit_id"));
    WUYE_RETURN_IF_ERROR(CheckPayment(in, "payment"));
    if (!in.bill_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(in.bill_id(), "payment.bill_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, in.unit_id(), "payment.unit_id"));
      const std::string& group = rc.caller.group_id;
      store_.LockUnit(tx, group, unit.id);
      // The same external transaction under another request_id: the payment it recorded.
      if (auto prior = store_.GetPaymentByTxn(tx, group, in.method(), in.external_txn_no())) {
        if (prior->unit_id() != in.unit_id() || prior->amount_fen() != in.amount_fen()) {
          return Refused("payment.external_txn_no: already recorded for another payment",
                         "EXTERNAL_TXN_REUSED");
        }
        *resp = *prior;
        return absl::OkStatus();
      }
      std::vector<OpenBill> open = store_.LockOpenBills(tx, group, unit.id);
      if (!in.bill_id().empty()) {
        auto bill = store_.GetBill(tx, group, in.bill_id());
        if (!bill || bill->unit_id() != unit.id) {
          return FieldError("payment.bill_id", "not a bill of this unit");
        }
      }
      AllocationPlan plan = Allocate(in.amount_fen(), in.bill_id(), open);
      v1::Payment payment = in;
      payment.set_id(NewId(rc.now));
      payment.set_estate_id(unit.estate_id);
      payment.set_credit_fen(plan.credit_fen);
      *payment.mutable_paid_time() = ToProtoTime(rc.now);
      if (!store_.InsertPayment(tx, group, payment)) {
        // A concurrent call recorded the same external transaction first and committed.
        auto prior = store_.GetPaymentByTxn(tx, group, in.method(), in.external_txn_no());
        if (!prior || prior->unit_id() != in.unit_id() || prior->amount_fen() != in.amount_fen()) {
          return Refused("payment.external_txn_no: already recorded for another payment",
                         "EXTERNAL_TXN_REUSED");
        }
        *resp = *prior;
        return absl::OkStatus();
      }
      store_.AddPaid(tx, plan.allocations);
      store_.InsertAllocations(tx, payment.id(), plan.allocations);
      store_.PostLedger(
          tx, group, unit.estate_id, "payment", absl::StrCat("payment:", payment.id()),
          PaymentPostings(unit.id, payment.method(), payment.amount_fen(), plan.credit_fen),
          rc.now);
      eldercare_.Collected(tx, group, unit.estate_id, payment.id(), plan.allocations, false,
                           rc.now);
      counter_money_.Collected(tx, group, unit.estate_id, payment.id(), plan.allocations, false,
                               rc.now);
      for (const auto& [bill, amount] : plan.allocations) {
        auto* a = payment.add_allocations();
        a->set_bill_id(bill);
        a->set_amount_fen(amount);
      }
      *resp = payment;
      wuye::events::v1::PaymentRecorded event;
      event.set_payment_id(payment.id());
      event.set_estate_id(payment.estate_id());
      event.set_unit_id(payment.unit_id());
      event.set_amount_fen(payment.amount_fen());
      event.set_method(MethodName(payment.method()));
      for (const auto& a : payment.allocations()) event.add_settled_bill_ids(a.bill_id());
      event.set_credit_fen(payment.credit_fen());
      *event.mutable_paid_at() = payment.paid_time();
      outbox_.Append(
          tx, {"billing.payment.recorded", group, payment.estate_id(), payment.id(), 1, &event},
          rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ReversePayment(Ctx* ctx, const v1::ReversePaymentRequest* req,
                                                v1::Payment* resp) {
  return rpc_.Run(ctx, "ReversePayment", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 200, Presence::kRequired, Lines::kMany));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto payment = store_.GetPayment(tx, group, req->id());
      if (!payment) return absl::NotFoundError("id: no such payment");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(payment->estate_id()));
      // The unit's lock first, as every money movement of the unit; then the payment again.
      store_.LockUnit(tx, group, payment->unit_id());
      payment = store_.GetPayment(tx, group, req->id(), true);
      if (payment->reversed()) return Refused("id: the payment is reversed already", "REVERSED");
      if (payment->credit_fen() > 0 &&
          store_.UnitLiability(tx, group, payment->unit_id(), "unit_credit") <
              payment->credit_fen()) {
        return Refused(
            "id: the credit this payment left on the unit has been refunded; the reversal "
            "would pay it out twice",
            "CREDIT_REFUNDED");
      }
      store_.LockOpenBills(tx, group, payment->unit_id());
      std::vector<std::pair<std::string, int64_t>> undo;
      int64_t settled = 0;
      for (const auto& a : payment->allocations()) {
        undo.emplace_back(a.bill_id(), -a.amount_fen());
        settled += a.amount_fen();
      }
      store_.AddPaid(tx, undo);
      store_.PostLedger(tx, group, payment->estate_id(), "reversal",
                        absl::StrCat("reversal:", payment->id()),
                        ReversalPostings(payment->unit_id(), payment->method(),
                                         payment->amount_fen(), settled, payment->credit_fen()),
                        rc.now);
      std::vector<std::pair<std::string, int64_t>> allocated;
      for (const auto& a : payment->allocations())
        allocated.emplace_back(a.bill_id(), a.amount_fen());
      eldercare_.Collected(tx, group, payment->estate_id(), payment->id(), allocated, true, rc.now);
      counter_money_.Collected(tx, group, payment->estate_id(), payment->id(), allocated, true,
                               rc.now);
      store_.MarkReversed(tx, payment->id(), req->reason(), rc.now);
      *resp = *store_.GetPayment(tx, group, payment->id());
      return absl::OkStatus();
    });
  });
}

// ---- Deposits and refunds ----------------------------------------------------------------

grpc::Status BillingServiceImpl::TakeDeposit(Ctx* ctx, const v1::TakeDepositRequest* req,
                                             v1::UnitAccount* resp) {
  return rpc_.Run(ctx, "TakeDeposit", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(CheckMoneyMovement(req->amount_fen(), req->method()));
    const std::string& txn = req->external_txn_no();
    if (txn.empty() || txn.size() > 64 ||
        !std::all_of(txn.begin(), txn.end(), [](char c) { return c >= 0x21 && c <= 0x7e; })) {
      return FieldError("external_txn_no", "1..64 printable ASCII characters");
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, req->unit_id(), "unit_id"));
      const std::string& group = rc.caller.group_id;
      store_.LockUnit(tx, group, unit.id);
      const std::string method = MethodName(req->method());
      if (!store_.PostLedger(tx, group, unit.estate_id, "deposit",
                             absl::StrCat("deposit:", method, ":", req->external_txn_no()),
                             DepositPostings(unit.id, req->method(), req->amount_fen()), rc.now)) {
        return Refused("external_txn_no: a deposit with this transaction number is recorded",
                       "EXTERNAL_TXN_REUSED");
      }
      FillAccount(tx, group, unit, resp);
      for (auto& bill : *resp->mutable_open_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::Refund(Ctx* ctx, const v1::RefundRequest* req,
                                        v1::UnitAccount* resp) {
  return rpc_.Run(ctx, "Refund", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (req->of() != v1::REFUND_OF_CREDIT && req->of() != v1::REFUND_OF_DEPOSIT) {
      return FieldError("of", "credit or deposit");
    }
    WUYE_RETURN_IF_ERROR(CheckMoneyMovement(req->amount_fen(), req->method()));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->reason(), "reason", 200, Presence::kRequired, Lines::kMany));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, req->unit_id(), "unit_id"));
      const std::string& group = rc.caller.group_id;
      const std::string account = RefundAccount(req->of());
      // The unit's lock serialises its money moves: the balance read below is the one paid.
      store_.LockUnit(tx, group, unit.id);
      int64_t held = store_.UnitLiability(tx, group, unit.id, account);
      if (req->amount_fen() > held) {
        return Refused(absl::StrCat("amount_fen: more than the unit has (", held, " fen)"),
                       "NOT_ENOUGH_HELD");
      }
      store_.PostLedger(tx, group, unit.estate_id, "refund", absl::StrCat("refund:", NewId(rc.now)),
                        RefundPostings(req->of(), unit.id, req->method(), req->amount_fen()),
                        rc.now);
      FillAccount(tx, group, unit, resp);
      for (auto& bill : *resp->mutable_open_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

void BillingServiceImpl::FillAccount(pqxx::work& tx, const std::string& group, const UnitCopy& unit,
                                     v1::UnitAccount* resp) {
  resp->set_unit_id(unit.id);
  resp->set_estate_id(unit.estate_id);
  int64_t open = 0;
  resp->set_owed_fen(store_.UnitOwed(tx, group, unit.id, &open));
  for (auto& b :
       store_.ListBills(tx, group, unit.estate_id, unit.id, true, "", account_bills_limit_)) {
    *resp->add_open_bills() = std::move(b);
  }
  resp->set_open_bills_truncated(open > resp->open_bills_size());
  resp->set_credit_fen(store_.UnitLiability(tx, group, unit.id, "unit_credit"));
  // Renovation deposits, and the elderly-care emergency deposit once it is paid, in hand or
  // lodged with the emergency centre (004_… 5.9).
  const int64_t at_centre = eldercare_.DepositAtEmergencyCentre(tx, group, unit.id);
  resp->set_deposits_held_fen(store_.UnitLiability(tx, group, unit.id, "deposit_held") +
                              store_.UnitLiability(tx, group, unit.id, "eldercare_deposit_held") +
                              at_centre);
  resp->set_deposit_at_emergency_centre_fen(at_centre);
}

grpc::Status BillingServiceImpl::GetPayment(Ctx* ctx, const v1::GetPaymentRequest* req,
                                            v1::Payment* resp) {
  return rpc_.Run(ctx, "GetPayment", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireAccountReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto payment = store_.GetPayment(tx, rc.caller.group_id, req->id());
      if (!payment) return absl::NotFoundError("id: no such payment");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(payment->estate_id()));
      *resp = *payment;
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::GetUnitAccount(Ctx* ctx, const v1::GetUnitAccountRequest* req,
                                                v1::UnitAccount* resp) {
  return rpc_.Run(ctx, "GetUnitAccount", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireAccountReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, req->unit_id(), "unit_id"));
      FillAccount(tx, group, unit, resp);
      for (auto& bill : *resp->mutable_open_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::CheckLedger(Ctx* ctx, const v1::CheckLedgerRequest* req,
                                             v1::LedgerCheck* resp) {
  return rpc_.Run(ctx, "CheckLedger", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      tx.exec("SET LOCAL statement_timeout = 120000");
      *resp = store_.CheckLedger(tx, rc.caller.group_id);
      return absl::OkStatus();
    });
  });
}

// ---- Arrears and reminders ------------------------------------------------------------------

grpc::Status BillingServiceImpl::GetArrears(Ctx* ctx, const v1::GetArrearsRequest* req,
                                            v1::Arrears* resp) {
  return rpc_.Run(ctx, "GetArrears", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireArrearsReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, req->estate_id(), "estate_id").status());
      int32_t units = 0;
      int64_t buckets[4] = {0, 0, 0, 0};
      for (const auto& [days, amount] :
           store_.OverdueByDays(tx, rc.caller.group_id, req->estate_id(), rc.now, &units)) {
        buckets[AgeBucket(days)] += amount;
      }
      resp->set_estate_id(req->estate_id());
      resp->set_days_0_30_fen(buckets[0]);
      resp->set_days_31_90_fen(buckets[1]);
      resp->set_days_91_180_fen(buckets[2]);
      resp->set_days_over_180_fen(buckets[3]);
      resp->set_units_in_arrears(units);
      *resp->mutable_as_of() = ToProtoTime(rc.now);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::RecordReminder(Ctx* ctx, const v1::RecordReminderRequest* req,
                                                v1::Reminder* resp) {
  return rpc_.Run(ctx, "RecordReminder", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk, kAgent}));
    const v1::Reminder& in = req->reminder();
    WUYE_RETURN_IF_ERROR(CheckId(in.bill_id(), "reminder.bill_id"));
    if (in.channel() == v1::REMINDER_CHANNEL_UNSPECIFIED ||
        !v1::ReminderChannel_IsValid(in.channel())) {
      return FieldError("reminder.channel", "required");
    }
    WUYE_RETURN_IF_ERROR(
        CheckText(in.note(), "reminder.note", 500, Presence::kOptional, Lines::kMany));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(v1::Bill bill, VisibleBill(tx, rc, in.bill_id(), "reminder.bill_id"));
      if (bill.paid_fen() >= bill.amount_fen()) {
        return Refused("reminder.bill_id: the bill is settled", "BILL_SETTLED");
      }
      if (store_.BillDisputed(tx, rc.caller.group_id, bill.id())) {
        return Refused(
            "reminder.bill_id: an open complaint disputes this bill; reminders are "
            "paused until it closes",
            "BILL_DISPUTED");
      }
      v1::Reminder row = in;
      row.set_id(NewId(rc.now));
      row.set_estate_id(bill.estate_id());
      row.set_unit_id(bill.unit_id());
      row.set_staff_id(rc.caller.subject);
      store_.InsertReminder(tx, rc.caller.group_id, row, rc.now, resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ListReminders(Ctx* ctx, const v1::ListRemindersRequest* req,
                                               v1::ListRemindersResponse* resp) {
  return rpc_.Run(ctx, "ListReminders", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireAccountReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->bill_id(), "bill_id"));
    // Ordered by send time, then id: the key is both, the time in µs.
    const std::string filters = absl::StrCat("reminders;", req->bill_id());
    int64_t after_micros = std::numeric_limits<int64_t>::min();
    WUYE_ASSIGN_OR_RETURN(
        PageRequest page,
        ParseSortedPage(req->page_size(), req->page_token(), filters, [&](absl::string_view sort) {
          return absl::SimpleAtoi(sort, &after_micros);
        }));
    const SortedKey after = SplitSortedKey(page.after);
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleBill(tx, rc, req->bill_id(), "bill_id").status());
      auto rows = store_.ListReminders(tx, rc.caller.group_id, req->bill_id(), after_micros,
                                       after.id, page.size + 1);
      resp->set_next_page_token(FillPageBy(
          std::move(rows), page, filters, resp->mutable_reminders(), [](const v1::Reminder& r) {
            return SortedPageKey(absl::StrCat(absl::ToUnixMicros(FromProtoTime(r.send_time()))),
                                 r.id());
          }));
      return absl::OkStatus();
    });
  });
}

// ---- Reports --------------------------------------------------------------------------------

grpc::Status BillingServiceImpl::ReportCollection(Ctx* ctx, const v1::ReportCollectionRequest* req,
                                                  v1::CollectionReport* resp) {
  return rpc_.Run(ctx, "ReportCollection", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireCollectionReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->period(), "period"));
    const std::string period = MonthStart(req->period());
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(EstateCopy estate,
                            VisibleEstate(tx, rc, req->estate_id(), "estate_id"));
      tx.exec("SET LOCAL statement_timeout = 60000");
      // A month with no monthly bill has no collection to report: fixing it at its close
      // would keep 0 of 0 (a rate of 100 %) for good, and performance would score it.
      if (!store_.HasMonthlyBills(tx, group, estate.id, period)) {
        return Refused("period: the estate has no monthly bill of this month", "MONTH_NOT_BILLED");
      }
      v1::FeeSchedule schedule = store_.GetSchedule(tx, group, estate.id);
      v1::BillingSettings settings = WithDefaults(store_.GetSettings(tx, group));
      absl::Time due = store_.OpenReport(
          tx, group, estate.id, period,
          DueTime(req->period(), schedule.due_day(), EstateZone(estate.time_zone)), resp);
      const absl::Time close = CollectionCloseTime(due, settings.collection_grace_days());
      resp->set_estate_id(estate.id);
      *resp->mutable_period() = req->period();
      *resp->mutable_close_time() = ToProtoTime(close);
      if (resp->final()) {  // fixed at the close: answered as it was fixed
        CollectionRates(resp);
        return absl::OkStatus();
      }
      if (rc.now >= close) {  // closed, and the worker has not fixed it yet
        FixCollection(tx, store_, outbox_, group, estate.id, req->period(), close, rc.now,
                      rc.trace_id, resp);
        return absl::OkStatus();
      }
      if (req->final()) {
        return Refused(absl::StrCat("final: the month closes at ", absl::FormatTime(close),
                                    " (its due day plus the group's grace)"),
                       "MONTH_NOT_CLOSED");
      }
      store_.CollectionFigures(tx, group, estate.id, period, rc.now, resp);
      CollectionRates(resp);
      *resp->mutable_as_of() = ToProtoTime(rc.now);
      resp->set_provisional(true);
      resp->set_version(store_.BumpReport(tx, estate.id, period));
      PublishCollection(tx, outbox_, group, *resp, rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// ---- Settings -------------------------------------------------------------------------------

grpc::Status BillingServiceImpl::GetBillingSettings(Ctx* ctx, const v1::GetBillingSettingsRequest*,
                                                    v1::BillingSettings* resp) {
  return rpc_.Run(ctx, "GetBillingSettings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk, kEstateManager, kTechnician}));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = WithDefaults(store_.GetSettings(tx, rc.caller.group_id));
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::UpdateBillingSettings(Ctx* ctx,
                                                       const v1::UpdateBillingSettingsRequest* req,
                                                       v1::BillingSettings* resp) {
  return rpc_.Run(ctx, "UpdateBillingSettings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
    if (!rc.caller.all_estates) {
      return absl::PermissionDeniedError(
          "the group's billing settings need a token for every estate");
    }
    WUYE_RETURN_IF_ERROR(CheckUpdateMask(req->update_mask(), v1::BillingSettings::descriptor(),
                                         {"collection_grace_days", "first_month_proration",
                                          "water_ceiling", "electricity_ceiling", "gas_ceiling"}));
    if (req->update_mask().paths().empty()) {
      WUYE_RETURN_IF_ERROR(CheckBillingSettings(req->settings(), "settings"));
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      // With a mask, the masked fields over the stored settings, checked as a whole.
      LockForUpdate(tx, absl::StrCat("billing_settings/", rc.caller.group_id));
      v1::BillingSettings merged = store_.GetSettings(tx, rc.caller.group_id);
      ApplyUpdateMask(req->settings(), req->update_mask(), &merged);
      merged.clear_version();
      WUYE_RETURN_IF_ERROR(CheckBillingSettings(merged, "settings"));
      v1::BillingSettings settings = WithDefaults(merged);
      settings.set_version(store_.PutSettings(tx, rc.caller.group_id, settings));
      *resp = settings;
      return absl::OkStatus();
    });
  });
}

// The month of an estate between the property office and its clinic (004_… 5.2, 5.12).
grpc::Status BillingServiceImpl::ReportClinicSettlement(
    Ctx* ctx, const v1::ReportClinicSettlementRequest* req, v1::ClinicSettlement* resp) {
  return rpc_.Run(ctx, "ReportClinicSettlement", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->period(), "period"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(EstateCopy estate,
                            VisibleEstate(tx, rc, req->estate_id(), "estate_id"));
      absl::TimeZone tz = EstateZone(estate.time_zone);
      const auto& m = req->period();
      absl::Time from = absl::FromCivil(absl::CivilMonth(m.year(), m.month()), tz);
      absl::Time to = absl::FromCivil(absl::CivilMonth(m.year(), m.month()) + 1, tz);
      *resp = eldercare_.Settlement(tx, rc.caller.group_id, estate.id, from, to);
      *resp->mutable_period() = m;
      *resp->mutable_as_of() = ToProtoTime(std::min(rc.now, to));
      return absl::OkStatus();
    });
  });
}

// ---- Elderly-care deposits and the clinic (004_… 5.9, 5.12) --------------------------------

grpc::Status BillingServiceImpl::LodgeEmergencyDeposit(Ctx* ctx,
                                                       const v1::LodgeEmergencyDepositRequest* req,
                                                       v1::UnitAccount* resp) {
  return rpc_.Run(ctx, "LodgeEmergencyDeposit", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDepositKeeper(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (req->amount_fen() <= 0 || req->amount_fen() > 100000000) {
      return FieldError("amount_fen", "must be 1..100000000");
    }
    WUYE_RETURN_IF_ERROR(CheckLabel(req->reference(), "reference", 64));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, req->unit_id(), "unit_id"));
      const std::string& group = rc.caller.group_id;
      store_.LockUnit(tx, group, unit.id);
      WUYE_RETURN_IF_ERROR(
          eldercare_.LodgeDeposit(tx, group, unit, req->amount_fen(), req->reference(), rc.now));
      FillAccount(tx, group, unit, resp);
      for (auto& bill : *resp->mutable_open_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::ReturnEmergencyDeposit(
    Ctx* ctx, const v1::ReturnEmergencyDepositRequest* req, v1::UnitAccount* resp) {
  return rpc_.Run(ctx, "ReturnEmergencyDeposit", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireDepositKeeper(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (req->amount_fen() <= 0 || req->amount_fen() > 100000000) {
      return FieldError("amount_fen", "must be 1..100000000");
    }
    if (req->from() != v1::DEPOSIT_BACK_FROM_EMERGENCY_CENTRE &&
        req->from() != v1::DEPOSIT_BACK_FROM_FAMILY) {
      return FieldError("from", "the emergency centre or the family");
    }
    WUYE_RETURN_IF_ERROR(CheckLabel(req->reference(), "reference", 64));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(UnitCopy unit, VisibleUnit(tx, rc, req->unit_id(), "unit_id"));
      const std::string& group = rc.caller.group_id;
      store_.LockUnit(tx, group, unit.id);
      WUYE_RETURN_IF_ERROR(eldercare_.DepositBack(tx, group, unit, req->amount_fen(), req->from(),
                                                  req->reference(), rc.now));
      FillAccount(tx, group, unit, resp);
      for (auto& bill : *resp->mutable_open_bills()) MaskCareDetail(rc.caller, &bill);
      return absl::OkStatus();
    });
  });
}

grpc::Status BillingServiceImpl::SettleWithClinic(Ctx* ctx, const v1::SettleWithClinicRequest* req,
                                                  v1::ClinicPayment* resp) {
  return rpc_.Run(ctx, "SettleWithClinic", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (req->direction() != v1::CLINIC_PAYMENT_DIRECTION_TO_CLINIC &&
        req->direction() != v1::CLINIC_PAYMENT_DIRECTION_FROM_CLINIC) {
      return FieldError("direction", "to or from the clinic");
    }
    WUYE_RETURN_IF_ERROR(CheckMoneyMovement(req->amount_fen(), req->method()));
    WUYE_RETURN_IF_ERROR(CheckLabel(req->reference(), "reference", 64));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(EstateCopy estate,
                            VisibleEstate(tx, rc, req->estate_id(), "estate_id"));
      WUYE_ASSIGN_OR_RETURN(
          int64_t outstanding,
          eldercare_.SettleWithClinic(tx, rc.caller.group_id, estate.id, req->direction(),
                                      req->amount_fen(), req->method(), req->reference(), rc.now));
      resp->set_estate_id(estate.id);
      resp->set_direction(req->direction());
      resp->set_amount_fen(req->amount_fen());
      resp->set_method(req->method());
      resp->set_reference(req->reference());
      resp->set_outstanding_fen(outstanding);
      *resp->mutable_paid_time() = ToProtoTime(rc.now);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::billing
