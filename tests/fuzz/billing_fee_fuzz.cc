// Billing's money maths: any schedule bytes through PrepareFeeSchedule and the tiered tariff,
// any text through the decimal parser. Never a crash; a parsed decimal formats back to the
// same value; a tiered charge is never negative for a valid tariff.
#include <cstdlib>
#include <string>

#include "services/billing/billing.h"
#include "tests/fuzz/fuzz.h"

namespace pb = wuye::billing::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  auto centi = wuye::billing::ParseCenti(text, "reading");
  if (centi.ok()) {
    auto back = wuye::billing::ParseCenti(wuye::billing::FormatCenti(*centi), "reading");
    if (!back.ok() || *back != *centi) std::abort();
  }

  pb::FeeSchedule schedule;
  if (schedule.ParseFromString(text) &&
      wuye::billing::PrepareFeeSchedule(schedule, "schedule").ok()) {
    for (const pb::Tariff& tariff : schedule.tariffs()) {
      if (!wuye::billing::CheckTariff(tariff, "schedule.tariffs").ok()) std::abort();
      for (int64_t used : {int64_t{0}, int64_t{1}, int64_t{99}, int64_t{12345}, int64_t{1} << 30}) {
        if (wuye::billing::TieredChargeFen(used, tariff) < 0) std::abort();
      }
    }
  }

  pb::Payment payment;
  if (payment.ParseFromString(text)) (void)wuye::billing::CheckPayment(payment, "payment");
  return 0;
}
