// List paging (AIP-158): page_size and an opaque page_token that carries the last key of
// the previous page and a fingerprint of the filters it was made for.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
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

// A list ordered by something other than its id (rankings by rank, visits by due date) keys
// its pages by the sort value and the id, the id breaking ties so that the order is total:
// the key is "<sort>/<id>" (a sort value has no '/').
std::string SortedPageKey(absl::string_view sort, absl::string_view id);

// The two parts of a SortedPageKey; both empty for the first page.
struct SortedKey {
  std::string sort;
  std::string id;
};
SortedKey SplitSortedKey(absl::string_view key);

// ParsePage for a list keyed by SortedPageKey: a token whose id part is not one of our ids,
// or whose sort part `valid_sort` refuses, is refused too.
absl::StatusOr<PageRequest> ParseSortedPage(int32_t page_size, absl::string_view page_token,
                                            absl::string_view filters,
                                            absl::FunctionRef<bool(absl::string_view)> valid_sort);

// Moves up to page.size of `rows` (fetched with LIMIT page.size + 1, so a further row means
// there is a next page) into `out`; returns the next page's token, made from `key_of` of the
// page's last row, "" on the last page.
template <class Row, class Repeated, class KeyOf>
std::string FillPageBy(std::vector<Row> rows, const PageRequest& page, absl::string_view filters,
                       Repeated* out, KeyOf key_of) {
  const bool more = static_cast<int>(rows.size()) > page.size;
  if (more) rows.resize(page.size);
  std::string token = more ? NextPageToken(key_of(rows.back()), filters) : "";
  for (auto& row : rows) *out->Add() = std::move(row);
  return token;
}

// FillPageBy for a list keyed by id.
template <class Row, class Repeated>
std::string FillPage(std::vector<Row> rows, const PageRequest& page, absl::string_view filters,
                     Repeated* out) {
  return FillPageBy(std::move(rows), page, filters, out,
                    [](const Row& row) { return std::string(row.id()); });
}

}  // namespace wuye
