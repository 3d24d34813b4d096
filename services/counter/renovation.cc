#include "services/counter/renovation.h"

namespace wuye::counter {}  // namespace wuye::counter
