// The counter's rules of notices with their tickets, surveys and their responses.
#include "services/counter/notices.h"

#include <gtest/gtest.h>

namespace wuye::counter {
namespace {}  // namespace
}  // namespace wuye::counter
