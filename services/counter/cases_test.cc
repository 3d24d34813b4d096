// The counter's rules of violation and dispute cases, their actions and inspections.
#include "services/counter/cases.h"

#include <gtest/gtest.h>

namespace wuye::counter {
namespace {}  // namespace
}  // namespace wuye::counter
