#include "shared/id_number.h"

#include "absl/strings/ascii.h"
#include "shared/status.h"

namespace wuye {

char IdCheckCharacter(absl::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

absl::CivilDay IdBirthDate(absl::string_view id) {
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (id[i] - '0');
    return v;
  };
  return absl::CivilDay(num(6, 4), num(10, 2), num(12, 2));
}

absl::StatusOr<std::string> CanonicalIdNumber(absl::string_view id, absl::string_view field,
                                              absl::CivilDay today) {
  if (id.empty()) return FieldError(field, "required");
  if (id.size() != 18) return FieldError(field, "must be 18 characters");
  std::string out(id);
  for (int i = 0; i < 17; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(out[i]))) {
      return FieldError(field, "the first 17 characters must be digits");
    }
  }
  if (out[17] == 'x') out[17] = 'X';
  if (!absl::ascii_isdigit(static_cast<unsigned char>(out[17])) && out[17] != 'X') {
    return FieldError(field, "the last character must be a digit or X");
  }
  if (IdCheckCharacter(out) != out[17]) {
    return FieldError(field, "check character does not match (GB 11643)");
  }
  int year = (out[6] - '0') * 1000 + (out[7] - '0') * 100 + (out[8] - '0') * 10 + (out[9] - '0');
  int month = (out[10] - '0') * 10 + (out[11] - '0');
  int day = (out[12] - '0') * 10 + (out[13] - '0');
  absl::CivilDay birth(year, month, day);
  if (year < 1880 || birth.month() != month || birth.day() != day || birth > today) {
    return FieldError(field, "does not encode a real birth date");
  }
  return out;
}

}  // namespace wuye
