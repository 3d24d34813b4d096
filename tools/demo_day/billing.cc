// Billing: the price list and the fee schedules (set first: dispatch quotes paid work from
// the prices billing publishes), the month's meter readings and billing run, and the
// payments of the day.
#include <algorithm>

#include "absl/strings/match.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::Status Day::BillingSetupStep() {
  std::string admin = Admin();
  for (const v1::PriceItem& it : script_->price()) {
    bpb::SetStandardPriceRequest req;
    req.set_request_id(absl::StrCat("demo-price-", it.code()));
    req.mutable_price()->set_item_code(it.code());
    req.mutable_price()->set_name(it.name());
    req.mutable_price()->set_price_fen(it.fen());
    req.mutable_price()->set_per(it.per());
    bpb::StandardPrice out;
    WUYE_RETURN_IF_ERROR(Call("billing.SetStandardPrice", admin, [&](auto* ctx) {
      return billing_->SetStandardPrice(ctx, req, &out);
    }));
  }
  {
    // The day's month is billed and paid today, after its due day (the 1st, below): a grace
    // of 31 days keeps the month open (provisional) until after it ends, so its collection
    // is not fixed before the day's bills and payments exist.
    bpb::UpdateBillingSettingsRequest req;
    req.set_request_id("demo-billing-settings");
    req.mutable_settings()->set_collection_grace_days(31);
    bpb::BillingSettings out;
    WUYE_RETURN_IF_ERROR(Call("billing.UpdateBillingSettings", admin, [&](auto* ctx) {
      return billing_->UpdateBillingSettings(ctx, req, &out);
    }));
  }
  for (auto& [key, es] : estates_) {
    bpb::SetFeeScheduleRequest fs;
    fs.set_request_id(absl::StrCat("demo-fees-", key));
    bpb::FeeSchedule* sch = fs.mutable_schedule();
    sch->set_estate_id(es.id);
    sch->set_stair_lighting_fen(key == "tower" ? 0 : 500);
    // Fees are paid in advance: due on the 1st, so the month's unpaid bills are in arrears
    // whatever the day (and the arrears share shows).
    sch->set_due_day(1);
    bpb::Tariff* water = sch->add_tariffs();
    water->set_kind(bpb::METER_KIND_WATER);
    auto* t1 = water->add_tiers();
    t1->set_up_to(20);
    t1->set_fen_per_unit(345);
    auto* t2 = water->add_tiers();
    t2->set_up_to(0);
    t2->set_fen_per_unit(483);
    bpb::Tariff* power = sch->add_tariffs();
    power->set_kind(bpb::METER_KIND_ELECTRICITY);
    auto* p1 = power->add_tiers();
    p1->set_up_to(0);
    p1->set_fen_per_unit(62);
    bpb::FeeSchedule out;
    // The estate reaches billing through the bus: NOT_FOUND until it has.
    WUYE_RETURN_IF_ERROR(CallWhenKnown("billing.SetFeeSchedule", admin, [&](auto* ctx) {
      return billing_->SetFeeSchedule(ctx, fs, &out);
    }));
    for (const v1::PriceItem& it : script_->price()) {
      bpb::PublishEstatePriceRequest pp;
      pp.set_request_id(absl::StrCat("demo-estate-price-", key, "-", it.code()));
      pp.mutable_price()->set_estate_id(es.id);
      pp.mutable_price()->set_item_code(it.code());
      pp.mutable_price()->set_price_fen(it.fen() * (100 + Plan(key).price_up_percent()) / 100);
      bpb::EstatePrice price;
      WUYE_RETURN_IF_ERROR(Call("billing.PublishEstatePrice", admin, [&](auto* ctx) {
        return billing_->PublishEstatePrice(ctx, pp, &price);
      }));
    }
  }
  Log("price list (2 items, estate prices within ±30 %) and fee schedules of 3 estates");
  return absl::OkStatus();
}

absl::Status Day::ReadingsStep() {
  // Water meters of the first handed-over units of each estate: last month's reading (the
  // baseline, billed nothing) and this month's. Readings are a function of the month, so a
  // rerun in the same month asks the same.
  std::string admin = Admin();
  absl::CivilMonth this_month(day_);
  int count = 0;
  for (auto& [key, es] : estates_) {
    int n = 0;
    for (const dirpb::Unit& u : es.units) {
      if (!u.handed_over() || u.type() == dirpb::UNIT_TYPE_PARKING) continue;
      if (++n > 12) break;
      int64_t rate = 8 + static_cast<int64_t>(Hash(es.unit_keys[u.id()]) % 9);  // m³ a month
      for (absl::CivilMonth m : {this_month - 1, this_month}) {
        int64_t months = (m.year() - 2020) * 12 + m.month();
        int64_t reading = 100 + n * 7 + months * rate;
        std::string mtext = absl::StrFormat("%04d-%02d", m.year(), m.month());
        bpb::RecordMeterReadingRequest req;
        req.set_request_id(absl::StrCat("demo-reading-", u.id(), "-W1-", mtext));
        bpb::MeterReading* r = req.mutable_reading();
        r->set_unit_id(u.id());
        r->set_meter_id("W1");
        r->set_kind(bpb::METER_KIND_WATER);
        r->mutable_period()->set_year(static_cast<int32_t>(m.year()));
        r->mutable_period()->set_month(m.month());
        r->set_reading(absl::StrCat(reading));
        bpb::MeterReading out;
        absl::Status st = CallWhenKnown("billing.RecordMeterReading", admin, [&](auto* ctx) {
          return billing_->RecordMeterReading(ctx, req, &out);
        });
        // A month billed already (the demo ran earlier in it) keeps its bill.
        if (!st.ok() && absl::StrContains(st.message(), "PERIOD_BILLED")) continue;
        if (st.code() == absl::StatusCode::kAlreadyExists) continue;
        WUYE_RETURN_IF_ERROR(st);
        ++count;
      }
    }
  }
  Log(absl::StrFormat("%d meter readings", count));
  return absl::OkStatus();
}

absl::Status Day::BillingRunStep() {
  std::string admin = Admin();
  for (auto& [key, es] : estates_) {
    bpb::StartBillingRunRequest req;
    req.set_request_id(MonthRid(absl::StrCat("billing-run-", key)));
    req.set_estate_id(es.id);
    *req.mutable_period() = MonthOf(day_);
    bpb::BillingRun run;
    WUYE_RETURN_IF_ERROR(Call("billing.StartBillingRun", admin, [&](auto* ctx) {
      return billing_->StartBillingRun(ctx, req, &run);
    }));
    WUYE_RETURN_IF_ERROR(Until("billing run done", [&]() -> absl::StatusOr<bool> {
      bpb::GetBillingRunRequest get;
      get.set_id(run.id());
      WUYE_RETURN_IF_ERROR(Call("billing.GetBillingRun", admin, [&](auto* ctx) {
        return billing_->GetBillingRun(ctx, get, &run);
      }));
      return run.state() == bpb::RUN_STATE_DONE;
    }));
    Log(absl::StrFormat("billing run %s %s: %d units, %d bills issued now, %s yuan", key,
                        month_text_, run.units_total(), run.bills_issued(),
                        Yuan(run.amount_fen())));
  }
  return absl::OkStatus();
}

absl::Status Day::PaymentsStep() {
  std::string admin = Admin();
  const bpb::PaymentMethod kMethods[] = {bpb::PAYMENT_METHOD_WECHAT_PAY, bpb::PAYMENT_METHOD_ALIPAY,
                                         bpb::PAYMENT_METHOD_BANK_TRANSFER,
                                         bpb::PAYMENT_METHOD_CASH, bpb::PAYMENT_METHOD_CARD};
  bool half_told = false;
  int done_all = 0;
  for (auto& entry : estates_) {
    const std::string& key = entry.first;
    Estate& es = entry.second;
    // The month's bills, in a stable order of the units.
    std::vector<bpb::Bill> bills;
    bpb::ListBillsRequest lb;
    lb.set_estate_id(es.id);
    lb.set_page_size(1000);
    do {
      bpb::ListBillsResponse page;
      WUYE_RETURN_IF_ERROR(Call("billing.ListBills", admin,
                                [&](auto* ctx) { return billing_->ListBills(ctx, lb, &page); }));
      for (const auto& b : page.bills()) {
        if (b.kind() == bpb::BILL_KIND_MONTHLY && b.period().year() == day_.year() &&
            b.period().month() == day_.month()) {
          bills.push_back(b);
        }
      }
      lb.set_page_token(page.next_page_token());
    } while (!lb.page_token().empty());
    // Who pays: a stable pseudo-random order of the units (the same in every database).
    auto order = [&](const bpb::Bill& b) {
      const std::string& k = es.unit_keys[b.unit_id()];
      return std::make_pair(Hash(k), k);
    };
    std::sort(bills.begin(), bills.end(),
              [&](const bpb::Bill& a, const bpb::Bill& b) { return order(a) < order(b); });
    size_t paying = bills.size() * Plan(key).pay_percent() / 100;
    for (size_t i = 0; i < paying; ++i) {
      if (!half_told && key == "sunny" && i == paying / 2) {
        half_told = true;
        Step("payments-half");
      }
      const bpb::Bill& b = bills[i];
      bpb::RecordPaymentRequest req;
      req.set_request_id(MonthRid(absl::StrCat("pay-", b.unit_id())));
      bpb::Payment* p = req.mutable_payment();
      p->set_unit_id(b.unit_id());
      p->set_amount_fen(b.amount_fen());
      p->set_method(kMethods[Hash(es.unit_keys[b.unit_id()]) % 5]);
      p->set_external_txn_no(absl::StrCat(month_text_, "-", b.unit_id()));
      p->set_bill_id(b.id());
      bpb::Payment out;
      WUYE_RETURN_IF_ERROR(Call("billing.RecordPayment", admin, [&](auto* ctx) {
        return billing_->RecordPayment(ctx, req, &out);
      }));
      if (i == 0 && key == "sunny") {
        // The resident's app sends it again (a timeout on their side): same request_id.
        bpb::Payment again;
        WUYE_RETURN_IF_ERROR(Call("billing.RecordPayment (again)", admin, [&](auto* ctx) {
          return billing_->RecordPayment(ctx, req, &again);
        }));
        s_.duplicate_payment_id = out.id();
        s_.duplicate_recorded_once = again.id() == out.id();
      }
      ++done_all;
    }
    for (auto& f : s_.estates) {
      if (f.estate_id == es.id) {
        f.bills_issued = static_cast<int>(bills.size());
        f.payments = static_cast<int>(paying);
      }
    }
  }
  s_.payments_recorded = done_all;
  Log(absl::StrFormat("%d payments (one sent twice with the same request_id)", done_all));
  return absl::OkStatus();
}

}  // namespace wuye::demo
