#include "services/intake/phone_key.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shared/secret.h"
#include "shared/status.h"

namespace wuye::intake {

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

}  // namespace wuye::intake
