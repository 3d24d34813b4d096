// List paging (AIP-158): page_size and an opaque page_token that carries the last key of
// the previous page and a fingerprint of the filters it was made for.
#pragma once

#include <string>
#include <utility>
#include <vector>

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

// ParsePage for a list keyed by id: a token whose key is not one of our ids is refused too.
absl::StatusOr<PageRequest> ParseIdPage(int32_t page_size, absl::string_view page_token,
                                        absl::string_view filters);

// Moves up to page.size of `rows` (fetched with LIMIT page.size + 1, so a further row means
// there is a next page) into `out`; returns the next page's token, "" on the last page.
template <class Row, class Repeated>
std::string FillPage(std::vector<Row> rows, const PageRequest& page, absl::string_view filters,
                     Repeated* out) {
  const bool more = static_cast<int>(rows.size()) > page.size;
  if (more) rows.resize(page.size);
  std::string token = more ? NextPageToken(rows.back().id(), filters) : "";
  for (auto& row : rows) *out->Add() = std::move(row);
  return token;
}

}  // namespace wuye
