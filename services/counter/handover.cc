#include "services/counter/handover.h"

namespace wuye::counter {}  // namespace wuye::counter
