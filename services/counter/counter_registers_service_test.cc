// The counter's keys and their loans and checks, cards, the registers over real gRPC
// (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {}  // namespace
}  // namespace wuye::counter::testing
