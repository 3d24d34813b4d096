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

}  // namespace
}  // namespace wuye
