#include "shared/text.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/status.h"

namespace wuye {
namespace {

// Decodes one UTF-8 sequence at text[*i]; advances *i. -1 for a malformed sequence.
int32_t NextCodePoint(absl::string_view text, size_t* i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(*i);
  int len;
  int32_t cp;
  int32_t min;
  if (lead < 0x80) {
    ++*i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (*i + len > text.size()) return -1;
  for (int k = 1; k < len; ++k) {
    unsigned char b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += len;
  return cp;
}

bool IsControl(int32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

int Utf8Chars(absl::string_view text) {
  int n = 0;
  for (size_t i = 0; i < text.size(); ++n) {
    if (NextCodePoint(text, &i) < 0) return -1;
  }
  return n;
}

absl::Status CheckText(absl::string_view value, absl::string_view field, int max_chars,
                       Presence presence, Lines lines) {
  if (presence == Presence::kRequired && absl::StripAsciiWhitespace(value).empty()) {
    return FieldError(field, "required");
  }
  int chars = 0;
  bool control = false;
  for (size_t i = 0; i < value.size(); ++chars) {
    int32_t cp = NextCodePoint(value, &i);
    if (cp < 0) return FieldError(field, "must be valid UTF-8");
    if (!IsControl(cp)) continue;
    bool line_break = cp == '\n' || (cp == '\r' && i < value.size() && value[i] == '\n');
    if (lines == Lines::kOne || !(line_break || cp == '\t')) control = true;
  }
  if (chars > max_chars)
    return FieldError(field, absl::StrCat("at most ", max_chars, " characters"));
  if (control) {
    return FieldError(field, lines == Lines::kOne
                                 ? "must not contain control characters"
                                 : "must not contain control characters other than line breaks "
                                   "and tabs");
  }
  return absl::OkStatus();
}

absl::Status CheckItemCode(absl::string_view code, absl::string_view field) {
  if (code.empty()) return FieldError(field, "required");
  bool ok = code.size() >= 2 && code.size() <= 40;
  for (char c : code) {
    ok = ok && (absl::ascii_isupper(static_cast<unsigned char>(c)) ||
                absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) return FieldError(field, "2..40 characters of A-Z, 0-9 and _");
  return absl::OkStatus();
}

namespace {

bool IsDigit(int32_t cp) { return (cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19); }

// The one scanner behind CheckNoPersonalNumbers and MaskPersonalNumbers: calls
// `found(begin, end)` with the byte range of each run of 7 or more digits (ASCII or
// full-width, counted across single spaces and dashes) that is not a yyyy-mm-dd date, from
// its first digit to the end of its last. A malformed UTF-8 byte ends a run like any other
// character, and the scan reads on after it.
template <class Found>
void ScanPersonalNumbers(absl::string_view value, Found found) {
  // The run being read: its digit groups and the separator before each group after the
  // first (' ' or '-').
  std::vector<int> groups;
  std::string seps;
  int32_t pending_sep = 0;  // a separator seen after a digit, not yet followed by one
  size_t run_begin = 0, run_end = 0;
  auto finish = [&] {
    int digits = 0;
    for (int g : groups) digits += g;
    bool date =
        groups.size() == 3 && groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2 && seps == "--";
    if (digits >= 7 && !date) found(run_begin, run_end);
    groups.clear();
    seps.clear();
    pending_sep = 0;
  };
  size_t i = 0;
  while (i < value.size()) {
    const size_t at = i;
    int32_t cp = NextCodePoint(value, &i);
    if (cp < 0) ++i;  // NextCodePoint does not move past a malformed byte
    if (IsDigit(cp)) {
      if (groups.empty()) {
        groups.push_back(1);
        run_begin = at;
      } else if (pending_sep != 0) {
        seps.push_back(static_cast<char>(pending_sep));
        groups.push_back(1);
        pending_sep = 0;
      } else {
        ++groups.back();
      }
      run_end = i;
    } else if ((cp == ' ' || cp == '-') && !groups.empty() && pending_sep == 0) {
      pending_sep = cp;
    } else if (!groups.empty()) {
      finish();
    }
  }
  if (!groups.empty()) finish();
}

}  // namespace

absl::Status CheckNoPersonalNumbers(absl::string_view value, absl::string_view field) {
  bool found = false;
  ScanPersonalNumbers(value, [&](size_t, size_t) { found = true; });
  if (found) return FieldError(field, "must not contain a phone or ID number");
  return absl::OkStatus();
}

std::string MaskPersonalNumbers(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  size_t copied = 0;
  ScanPersonalNumbers(value, [&](size_t begin, size_t end) {
    out.append(value.data() + copied, begin - copied);
    for (size_t i = begin; i < end;) {
      const size_t at = i;
      if (IsDigit(NextCodePoint(value, &i))) {
        out.push_back('*');
      } else {
        out.append(value.data() + at, i - at);  // a space or dash between the groups
      }
    }
    copied = end;
  });
  out.append(value.data() + copied, value.size() - copied);
  return out;
}

}  // namespace wuye
