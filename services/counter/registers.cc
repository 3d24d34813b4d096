#include "services/counter/registers.h"

namespace wuye::counter {}  // namespace wuye::counter
