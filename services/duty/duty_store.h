// The only code that knows the duty desk's tables. Every call takes the caller's group and
// filters by it; rules live in duty.h and permissions in the handlers.
#pragma once

#include "shared/migrate.h"

namespace wuye {
const MigrationSet& duty_migrations();
}
