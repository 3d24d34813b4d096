// Ids: UUIDv7 (RFC 9562) strings. Time-ordered, so new rows land at the end of an index,
// and stored in PostgreSQL's 16-byte uuid type.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye {

// A new id whose first 48 bits are `now` in Unix milliseconds. Ids made by one process
// are strictly increasing, even within one millisecond.
std::string NewId(absl::Time now);

// True for a canonical lowercase or uppercase 8-4-4-4-12 hex UUID.
bool IsValidId(absl::string_view id);

// A required id in `field`: INVALID_ARGUMENT naming the field when empty or not one of ours.
absl::Status CheckId(absl::string_view id, absl::string_view field);

}  // namespace wuye
