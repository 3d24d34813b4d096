#include "services/counter/cases.h"

namespace wuye::counter {}  // namespace wuye::counter
