// The counter's rules of renovation: applications, consent, admissions, patrols, acceptance.
#include "services/counter/renovation.h"

#include <gtest/gtest.h>

namespace wuye::counter {
namespace {}  // namespace
}  // namespace wuye::counter
