// Dispatch's validation and clocks: any order bytes through PrepareWorkOrder, any policy
// through CheckPolicy and SpecFor, any signature through CheckSignature. Never a crash;
// a clock that starts never ends before it starts, and its warning comes no later than its
// deadline; an order that prepares once prepares again.
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "services/dispatch/work_order.h"
#include "shared/zone.h"
#include "tests/fuzz/fuzz.h"

namespace pb = wuye::dispatch::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1795000000);

  pb::WorkOrder order;
  if (order.ParseFromString(text) &&
      wuye::dispatch::PrepareWorkOrder(order, "work_order", now).ok()) {
    pb::WorkOrder again = order;
    if (!wuye::dispatch::PrepareWorkOrder(again, "work_order", now).ok()) std::abort();
  }

  pb::SlaPolicy over;
  if (over.ParseFromString(text) && wuye::dispatch::CheckPolicy(over, "policy").ok()) {
    pb::SlaPolicy policy = wuye::dispatch::MergePolicy(wuye::dispatch::DefaultPolicy(), over);
    absl::TimeZone zone = wuye::EstateZone(policy.time_zone());
    for (int p = 1; p <= 4; ++p) {
      for (int64_t offset : {int64_t{0}, int64_t{3600 * 13}, int64_t{3600 * 23 + 59 * 60}}) {
        absl::Time created = now + absl::Seconds(offset);
        auto spec =
            wuye::dispatch::SpecFor(policy, zone, static_cast<wuye::common::v1::Priority>(p),
                                    created, created + absl::Hours(48));
        absl::Duration warn = spec.window * policy.warning_percent() / 100;
        if (spec.window < absl::ZeroDuration() || warn > spec.window) std::abort();
      }
    }
  }

  pb::Signature signature;
  if (signature.ParseFromString(text)) {
    (void)wuye::dispatch::CheckSignature(signature, "signature", now);
  }
  return 0;
}
