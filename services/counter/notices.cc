#include "services/counter/notices.h"

namespace wuye::counter {}  // namespace wuye::counter
