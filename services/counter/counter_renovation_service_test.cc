// The counter's renovation: applications, consent, admissions, patrols, acceptance over real gRPC
// (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"

namespace wuye::counter::testing {
namespace {}  // namespace
}  // namespace wuye::counter::testing
