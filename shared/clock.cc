#include "shared/clock.h"

namespace wuye {
namespace {
class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};
}  // namespace

const Clock& SystemClock() {
  static const RealClock kClock;
  return kClock;
}

}  // namespace wuye
