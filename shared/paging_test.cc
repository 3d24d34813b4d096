#include "shared/paging.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "shared/status.h"

namespace wuye {
namespace {

constexpr char kFilters[] = "estate=e1;state=active";

// Asserts that `page` is INVALID_ARGUMENT naming `field`.
void ExpectRefused(const absl::StatusOr<PageRequest>& page, absl::string_view field) {
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(page.status()), std::string(field));
}

TEST(ParsePageTest, NoSizeAndNoTokenStartFromTheBeginningWithTheDefaultSize) {
  absl::StatusOr<PageRequest> page = ParsePage(0, "", kFilters);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->size, kDefaultPageSize);
  EXPECT_EQ(page->size, 50);
  EXPECT_EQ(page->after, "");
}

TEST(ParsePageTest, APositiveSizeUpToTheMaximumIsKept) {
  ASSERT_TRUE(ParsePage(1, "", kFilters).ok());
  EXPECT_EQ(ParsePage(1, "", kFilters)->size, 1);
  EXPECT_EQ(ParsePage(kMaxPageSize, "", kFilters)->size, 1000);
}

TEST(ParsePageTest, NegativeSizeIsRefusedOnPageSize) {
  ExpectRefused(ParsePage(-1, "", kFilters), "page_size");
}

TEST(ParsePageTest, SizeAboveTheMaximumIsRefusedOnPageSize) {
  ExpectRefused(ParsePage(kMaxPageSize + 1, "", kFilters), "page_size");
}

TEST(ParsePageTest, NextPageTokenRoundTripsTheLastKey) {
  const std::vector<std::string> keys = {"0190a1b2-0000-7000-8000-000000000001", "a",
                                         "with space/and?=&", std::string("nul\0inside", 10),
                                         "末尾"};
  for (const std::string& key : keys) {
    std::string token = NextPageToken(key, kFilters);
    absl::StatusOr<PageRequest> page = ParsePage(20, token, kFilters);

    ASSERT_TRUE(page.ok()) << key << ": " << page.status();
    EXPECT_EQ(page->after, key);
    EXPECT_EQ(page->size, 20);
  }
}

TEST(ParsePageTest, TokensAreUrlSafe) {
  std::string token = NextPageToken(std::string(200, '\xff'), kFilters);

  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << token;
}

TEST(ParsePageTest, TokenMadeForOtherFiltersIsRefusedOnPageToken) {
  std::string token = NextPageToken("key-17", kFilters);

  ExpectRefused(ParsePage(0, token, "estate=e2;state=active"), "page_token");
  ExpectRefused(ParsePage(0, token, ""), "page_token");
}

TEST(ParsePageTest, GarbageTokenIsRefused) {
  ExpectRefused(ParsePage(0, "not a token!", kFilters), "page_token");
  ExpectRefused(ParsePage(0, "AAAA", kFilters), "page_token");
  ExpectRefused(ParsePage(0, std::string(2000, 'A'), kFilters), "page_token");
}

TEST(ParsePageTest, TruncatedTokenIsRefused) {
  std::string token = NextPageToken("0190a1b2-0000-7000-8000-000000000001", kFilters);

  for (size_t len : {size_t{1}, size_t{4}, size_t{12}, token.size() / 2, token.size() - 1}) {
    ExpectRefused(ParsePage(0, token.substr(0, len), kFilters), "page_token");
  }
}

TEST(ParsePageTest, TokenWithAnyOneCharacterChangedIsRefused) {
  std::string token = NextPageToken("0190a1b2-0000-7000-8000-000000000001", kFilters);

  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    absl::StatusOr<PageRequest> page = ParsePage(0, tampered, kFilters);
    // The last character may carry unused base64 bits; an edit there that decodes to the
    // same bytes is the same token.
    std::string raw;
    std::string original_raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &original_raw));
    if (absl::WebSafeBase64Unescape(tampered, &raw) && raw == original_raw) continue;
    ExpectRefused(page, "page_token");
  }
}

TEST(ParsePageTest, TokenWithTheKeyEditedIsRefused) {
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(NextPageToken("key-100", kFilters), &raw));
  raw.back() = '9';  // "key-109": same tag, other key

  ExpectRefused(ParsePage(0, absl::WebSafeBase64Escape(raw), kFilters), "page_token");
}

constexpr char kId[] = "0190a1b2-0000-7000-8000-000000000001";

bool IsDigits(absl::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == absl::string_view::npos;
}

TEST(SortedPageTest, KeyRoundTripsThroughTheToken) {
  std::string token = NextPageToken(SortedPageKey("12", kId), kFilters);
  absl::StatusOr<PageRequest> page = ParseSortedPage(5, token, kFilters, IsDigits);

  ASSERT_TRUE(page.ok()) << page.status();
  SortedKey key = SplitSortedKey(page->after);
  EXPECT_EQ(key.sort, "12");
  EXPECT_EQ(key.id, kId);
}

TEST(SortedPageTest, NoTokenStartsFromTheBeginning) {
  absl::StatusOr<PageRequest> page = ParseSortedPage(0, "", kFilters, IsDigits);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->after, "");
  EXPECT_EQ(SplitSortedKey(page->after).sort, "");
  EXPECT_EQ(SplitSortedKey(page->after).id, "");
}

TEST(SortedPageTest, AKeyWithABadSortPartOrIdIsRefused) {
  // Tags carry no secret, so a caller can make a well-tagged token for any key: the key's
  // parts are checked as well.
  for (const std::string& key :
       {SortedPageKey("x1", kId), SortedPageKey("", kId), SortedPageKey("12", "not-an-id"),
        std::string(kId), SortedPageKey("1/2", kId)}) {
    ExpectRefused(ParseSortedPage(0, NextPageToken(key, kFilters), kFilters, IsDigits),
                  "page_token");
  }
}

TEST(SortedPageTest, ATokenForOtherFiltersIsRefused) {
  std::string token = NextPageToken(SortedPageKey("12", kId), kFilters);

  ExpectRefused(ParseSortedPage(0, token, "estate=e2;state=active", IsDigits), "page_token");
}

struct Row {
  std::string id_;
  int rank;
  const std::string& id() const { return id_; }
};

TEST(FillPageTest, AFullPageWithMoreRowsGivesTheLastKeptRowsKey) {
  std::vector<Row> rows = {{"a", 1}, {"b", 1}, {"c", 2}};
  PageRequest page;
  page.size = 2;
  std::vector<Row> out_rows;
  struct Out {
    std::vector<Row>* rows;
    Row* Add() { return &rows->emplace_back(); }
  } out{&out_rows};

  std::string token = FillPageBy(rows, page, kFilters, &out,
                                 [](const Row& r) { return SortedPageKey("1", r.id()); });

  ASSERT_EQ(out_rows.size(), 2u);
  EXPECT_EQ(ParsePage(0, token, kFilters)->after, "1/b");
  out_rows.clear();
  EXPECT_EQ(FillPage(rows, page, kFilters, &out), NextPageToken("b", kFilters));
  out_rows.clear();
  page.size = 3;
  EXPECT_EQ(FillPage(rows, page, kFilters, &out), "");
  EXPECT_EQ(out_rows.size(), 3u);
}

}  // namespace
}  // namespace wuye
