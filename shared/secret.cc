#include "shared/secret.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace wuye {

absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path,
                                           size_t min_bytes) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(errno == ENOENT ? "no such file" : "cannot read the file");
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // e.g. EISDIR
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (n < 0) return error("cannot read the file");
  text.erase(absl::StripTrailingAsciiWhitespace(text).size());
  if (text.empty()) return error("the file is empty");
  if (text.size() < min_bytes) return error(absl::StrCat("at least ", min_bytes, " bytes"));
  return text;
}

absl::StatusOr<std::string> ReadSecretFileOrEnv(absl::string_view flag, const std::string& path,
                                                const char* env) {
  absl::StatusOr<std::string> secret = ReadSecretFile(flag, path);
  if (secret.ok()) return secret;
  if (const char* value = std::getenv(env); value != nullptr && *value != '\0') return value;
  return secret;
}

}  // namespace wuye
