// The counter's rules of keys and their loans and checks, cards, the registers.
#include "services/counter/registers.h"

#include <gtest/gtest.h>

namespace wuye::counter {
namespace {}  // namespace
}  // namespace wuye::counter
