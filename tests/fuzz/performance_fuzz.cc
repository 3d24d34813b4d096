// Performance's arithmetic and inputs: any settings bytes through CheckSettings, any month
// through CheckMonth and the appeal window, any points through grading, the arrears KPI and
// CSV quoting. Never a crash; grades only ever rise with the score; the KPI is 0 at the
// baseline; a checked month survives its round trip through SQL's date text; a quoted CSV
// field has balanced quotes.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "services/performance/performance.h"
#include "shared/basis_points.h"
#include "shared/zone.h"
#include "tests/fuzz/fuzz.h"

namespace pb = wuye::performance::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  namespace perf = wuye::performance;

  pb::Settings settings;
  if (settings.ParseFromString(text)) (void)perf::CheckSettings(settings, "settings");

  wuye::common::v1::Month month;
  if (month.ParseFromString(text) && perf::CheckMonth(month, "month").ok()) {
    auto back = perf::MonthFromDate(perf::MonthDate(month));
    if (back.year() != month.year() || back.month() != month.month()) std::abort();
    (void)perf::AppealDeadline(month, wuye::EstateZone(text), 5);
    (void)perf::NextMonth(month);
  }

  if (size >= 8) {
    int32_t a, b;
    std::memcpy(&a, data, 4);
    std::memcpy(&b, data + 4, 4);
    int32_t lo = std::min(a, b) % 1000, hi = std::max(a, b) % 1000;
    if (lo <= hi && perf::GradeOf(lo).pay_percent > perf::GradeOf(hi).pay_percent) std::abort();
    (void)perf::ArrearsTeamPoints(a % 10001, -1000, 1000);
    if (perf::ArrearsTeamPoints(perf::kArrearsBaselineBp, -1000, 1000) != 0) std::abort();
    (void)wuye::BasisPoints(a < 0 ? 0 : a, b < 0 ? 0 : b, 0);
    (void)perf::SheetScore(100, {{a % 10001, false}, {b % 10001, (a & 1) != 0}});
  }

  std::string csv = perf::CsvField(text);
  if (std::count(csv.begin(), csv.end(), '"') % 2 != 0) std::abort();
  return 0;
}
