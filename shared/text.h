// Checks of text a caller sends: one meaning in every service. Limits count characters
// (Unicode code points), never bytes, so 200 Chinese characters fit a 200-character name.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wuye {

// Whether a field may be left empty. A required field that is blank (empty or only
// spaces, tabs and line breaks) is missing; an optional one may be empty or blank.
enum class Presence { kRequired, kOptional };

// Whether a field may span lines. A name, summary, code or reference is one line: no
// control character at all. Free text a person writes at a desk (a note, reason,
// description, answer, observation) may hold line breaks (LF or CR LF) and tabs.
enum class Lines { kOne, kMany };

// OK, or INVALID_ARGUMENT naming `field`: "required", "must be valid UTF-8", "at most
// <max_chars> characters", or "must not contain control characters" (for kMany: "... other
// than line breaks and tabs"). Control characters are U+0000..U+001F, U+007F and
// U+0080..U+009F.
absl::Status CheckText(absl::string_view value, absl::string_view field, int max_chars,
                       Presence presence, Lines lines);

// The code of a billable item (a standard price, a work order's paid service): 2..40
// characters of A-Z, 0-9 and '_'. Billing defines the codes and dispatch names them, so
// both check with this one rule.
absl::Status CheckItemCode(absl::string_view code, absl::string_view field);

// Free text that must not carry a phone or ID number (a handover's notes, a log, a task's
// words): INVALID_ARGUMENT naming `field`, "must not contain a phone or ID number", when it
// holds a run of 7 or more digits (ASCII or full-width), counting digits across single
// spaces and dashes ("138 0013 8000", "010-6914 0000", an 18-character ID number). A date
// written yyyy-mm-dd is not a number. The value is never repeated in the error.
absl::Status CheckNoPersonalNumbers(absl::string_view value, absl::string_view field);

// Text from outside that cannot be refused (a 12345 order's words) with every digit of
// each run CheckNoPersonalNumbers refuses replaced by '*' (one '*' for a full-width digit);
// the spaces and dashes between the groups, dates and shorter numbers stay as they were.
// The result always passes CheckNoPersonalNumbers and has as many characters as `value`.
std::string MaskPersonalNumbers(absl::string_view value);

// Number of code points of valid UTF-8 text; -1 when `text` is not valid UTF-8 (overlong
// forms, surrogates and values past U+10FFFF are invalid).
int Utf8Chars(absl::string_view text);

}  // namespace wuye
