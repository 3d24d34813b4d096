#include "shared/phone_key.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/crypto.h"
#include "shared/secret.h"
#include "shared/status.h"

namespace wuye {

absl::StatusOr<std::string> NormalizeCallerPhone(absl::string_view text, absl::string_view field) {
  std::string digits;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (absl::ascii_isdigit(c)) {
      digits.push_back(c);
    } else if (!(c == '+' && i == 0) && c != ' ' && c != '-') {
      return FieldError(field, "digits, with an optional leading '+', spaces and dashes");
    }
  }
  // +86 138 0000 0000 and 138 0000 0000 are the same caller.
  if (digits.size() == 13 && digits.compare(0, 2, "86") == 0 && digits[2] == '1') {
    digits.erase(0, 2);
  }
  if (digits.size() < 7 || digits.size() > 15) return FieldError(field, "7 to 15 digits");
  return digits;
}

std::string HashPhone(absl::string_view key, absl::string_view normalized) {
  return HmacSha256(key, normalized);
}

absl::StatusOr<std::string> LoadPhoneKey(const char* env_value, const std::string& file_path) {
  std::string key, source;
  if (env_value != nullptr && *env_value != '\0') {
    key = env_value;
    source = "WUYE_INTAKE_PHONE_KEY";
  } else if (!file_path.empty()) {
    WUYE_ASSIGN_OR_RETURN(key, ReadSecretFile("phone_key_file", file_path, kMinPhoneKeyBytes));
    source = "phone_key_file";
  } else {
    return absl::InvalidArgumentError(
        "phone key: required: set WUYE_INTAKE_PHONE_KEY or --phone_key_file (at least 32 "
        "random bytes; scripts/services.sh makes one locally)");
  }
  if (key.size() < kMinPhoneKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": at least ", kMinPhoneKeyBytes, " bytes"));
  }
  return key;
}

}  // namespace wuye
