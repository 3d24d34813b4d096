// List paging (AIP-158): page_size and an opaque page_token that carries the last key of
// the previous page and a fingerprint of the filters it was made for.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wuye {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

struct PageRequest {
  int size = kDefaultPageSize;  // rows to return
  std::string after;            // return rows whose key is > this ("" = from the start)
};

// `filters` is any text that identifies the request's filters (e.g. "estate=…;state=…");
// a token made for other filters, or not made by us at all, is INVALID_ARGUMENT.
absl::StatusOr<PageRequest> ParsePage(int32_t page_size, absl::string_view page_token,
                                      absl::string_view filters);

// The token for the page after the one that ended at `last_key`.
std::string NextPageToken(absl::string_view last_key, absl::string_view filters);

}  // namespace wuye
