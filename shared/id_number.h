// Mainland resident ID numbers (居民身份证号码, GB 11643-1999): the one check of the number a
// caller shows (eldercare's enrolment, the counter's owner registration). The number itself
// is never logged, returned in an error or published: callers seal it (shared/sealing.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace wuye {

// GB 11643 check character of the first 17 digits ("10X98765432" by weighted sum mod 11).
char IdCheckCharacter(absl::string_view first17);

// Validates an 18-character mainland ID number: 17 digits, a check character that matches
// (0-9 or X; a lower-case x is accepted), and a real birth date not after `today`. Returns
// the canonical form (upper-case X). Errors are INVALID_ARGUMENT naming `field` and never
// echo the value.
absl::StatusOr<std::string> CanonicalIdNumber(absl::string_view id, absl::string_view field,
                                              absl::CivilDay today);

// The birth date encoded in a canonical ID number.
absl::CivilDay IdBirthDate(absl::string_view canonical_id);

}  // namespace wuye
