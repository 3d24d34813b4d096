// The counter's rules of hand-over, move-in and defects.
#include "services/counter/handover.h"

#include <gtest/gtest.h>

namespace wuye::counter {
namespace {}  // namespace
}  // namespace wuye::counter
