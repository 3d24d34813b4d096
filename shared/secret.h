// The one reader of secret and key files (token secrets and keys, intake's phone key,
// eldercare's keys). Mounted Secrets and `echo key > file` end in a line break; only
// trailing white space (spaces, tabs, CR, LF) is removed, never anything inside or before.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wuye {

// The file's content without trailing white space. Errors are INVALID_ARGUMENT and name
// `flag` (the flag or option that named the file), never the content:
//   "<flag>: no such file", "<flag>: cannot read the file", "<flag>: the file is empty",
//   "<flag>: at least <min_bytes> bytes" (only when min_bytes > 0).
absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path,
                                           size_t min_bytes = 0);

// For tools with a default file (.local/jwt-secret): the file's secret when it can be
// read, else the environment variable `env` when set and not empty, else the file's error.
absl::StatusOr<std::string> ReadSecretFileOrEnv(absl::string_view flag, const std::string& path,
                                                const char* env);

}  // namespace wuye
