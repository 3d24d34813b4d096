// The counter's hand-over, move-in and defects over real gRPC (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {}  // namespace
}  // namespace wuye::counter::testing
