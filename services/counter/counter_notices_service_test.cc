// The counter's notices with their tickets, surveys and their responses over real gRPC
// (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {}  // namespace
}  // namespace wuye::counter::testing
