#include "shared/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "shared/crypto.h"
#include "shared/ids.h"
#include "shared/status.h"

namespace wuye {
namespace {

// Token = base64url(version byte | 8-byte tag | last key); the tag binds the key to the
// filters and catches edited tokens.
constexpr char kVersion = 1;
constexpr size_t kTagSize = 8;

std::string Tag(absl::string_view last_key, absl::string_view filters) {
  std::string text = absl::StrCat("wuye-page-v1\n", filters, "\n", last_key);
  return Sha256(text).substr(0, kTagSize);
}

}  // namespace

absl::StatusOr<PageRequest> ParsePage(int32_t page_size, absl::string_view page_token,
                                      absl::string_view filters) {
  PageRequest page;
  if (page_size < 0) return FieldError("page_size", "must be >= 0");
  if (page_size > kMaxPageSize) {
    return FieldError("page_size", absl::StrCat("must be at most ", kMaxPageSize));
  }
  if (page_size > 0) page.size = page_size;
  if (page_token.empty()) return page;
  std::string raw;
  if (page_token.size() > 1024 || !absl::WebSafeBase64Unescape(page_token, &raw) ||
      raw.size() < 1 + kTagSize || raw[0] != kVersion) {
    return FieldError("page_token", "not a token this service issued");
  }
  absl::string_view tag = absl::string_view(raw).substr(1, kTagSize);
  absl::string_view key = absl::string_view(raw).substr(1 + kTagSize);
  if (tag != Tag(key, filters)) {
    return FieldError("page_token", "does not match this request's filters");
  }
  page.after = std::string(key);
  return page;
}

std::string NextPageToken(absl::string_view last_key, absl::string_view filters) {
  std::string raw = absl::StrCat(std::string(1, kVersion), Tag(last_key, filters), last_key);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PageRequest> ParseIdPage(int32_t page_size, absl::string_view page_token,
                                        absl::string_view filters) {
  absl::StatusOr<PageRequest> page = ParsePage(page_size, page_token, filters);
  if (page.ok() && !page->after.empty() && !IsValidId(page->after)) {
    return FieldError("page_token", "not a token this service issued");
  }
  return page;
}

std::string SortedPageKey(absl::string_view sort, absl::string_view id) {
  return absl::StrCat(sort, "/", id);
}

SortedKey SplitSortedKey(absl::string_view key) {
  size_t slash = key.rfind('/');
  if (slash == absl::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

absl::StatusOr<PageRequest> ParseSortedPage(int32_t page_size, absl::string_view page_token,
                                            absl::string_view filters,
                                            absl::FunctionRef<bool(absl::string_view)> valid_sort) {
  absl::StatusOr<PageRequest> page = ParsePage(page_size, page_token, filters);
  if (!page.ok() || page->after.empty()) return page;
  SortedKey key = SplitSortedKey(page->after);
  if (key.sort.empty() || key.sort.find('/') != std::string::npos || !IsValidId(key.id) ||
      !valid_sort(key.sort)) {
    return FieldError("page_token", "not a token this service issued");
  }
  return page;
}

}  // namespace wuye
