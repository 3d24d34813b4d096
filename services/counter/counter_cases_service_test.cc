// The counter's violation and dispute cases, their actions and inspections over real gRPC
// (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {}  // namespace
}  // namespace wuye::counter::testing
