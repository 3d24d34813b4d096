#include "shared/ids.h"

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace wuye {
namespace {

// The Unix milliseconds in an id's first 48 bits.
int64_t MillisOf(const std::string& id) {
  uint64_t ms = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(absl::StrCat(id.substr(0, 8), id.substr(9, 4)), &ms)) << id;
  return static_cast<int64_t>(ms);
}

int HexDigit(char c) {
  int value = 0;
  EXPECT_TRUE(absl::SimpleHexAtoi(std::string(1, c), &value)) << c;
  return value;
}

TEST(NewIdTest, IsACanonicalLowercaseUuidVersion7WithTheRfcVariant) {
  std::string id = NewId(absl::FromUnixMillis(1'700'000'000'000));

  ASSERT_TRUE(IsValidId(id)) << id;
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7') << id;                  // version nibble
  EXPECT_EQ(HexDigit(id[19]) & 0xC, 0x8) << id;  // variant bits 10xx
  EXPECT_EQ(id.find_first_of("ABCDEF"), std::string::npos) << id;
}

TEST(NewIdTest, CarriesTheTimeInUnixMillisecondsWhenTimeMovesForward) {
  // Ids are monotonic per process, so start after anything made before in this process.
  int64_t later = MillisOf(NewId(absl::FromUnixMillis(1'700'000'000'000))) + 1000;

  std::string id = NewId(absl::FromUnixMillis(later));

  EXPECT_EQ(MillisOf(id), later) << id;
}

TEST(NewIdTest, TenThousandIdsAtOneInstantAreStrictlyIncreasingAndValid) {
  const absl::Time now = absl::FromUnixMillis(1'710'000'000'000);
  std::vector<std::string> ids;
  ids.reserve(10000);
  for (int i = 0; i < 10000; ++i) ids.push_back(NewId(now));

  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(IsValidId(ids[i])) << ids[i];
    ASSERT_EQ(ids[i][14], '7') << ids[i];
    ASSERT_EQ(HexDigit(ids[i][19]) & 0xC, 0x8) << ids[i];
    if (i > 0) {
      ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
    }
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

// The random tail comes from a per-thread pool of OpenSSL's bytes: ids made by many threads
// at once are all distinct, and their tails are not one thread's bytes handed out twice.
TEST(NewIdTest, IdsFromManyThreadsAtOnceAreDistinct) {
  constexpr int kThreads = 8, kEach = 2000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) made[t].push_back(NewId(absl::Now()));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> ids, tails;
  for (const auto& list : made) {
    for (const auto& id : list) {
      ASSERT_TRUE(IsValidId(id)) << id;
      ids.insert(id);
      tails.insert(id.substr(19));  // variant and 62 random bits
    }
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kEach});
  EXPECT_EQ(tails.size(), size_t{kThreads * kEach});
}

TEST(NewIdTest, IdsAreOrderedByTime) {
  const absl::Time base = absl::FromUnixMillis(1'720'000'000'000);
  std::string previous = NewId(base);
  for (int step = 1; step <= 100; ++step) {
    std::string next = NewId(base + absl::Milliseconds(7 * step));
    ASSERT_LT(previous, next) << "step " << step;
    previous = next;
  }
}

TEST(NewIdTest, AClockThatStepsBackStillGivesIncreasingIds) {
  const absl::Time now = absl::FromUnixMillis(1'730'000'000'000);
  std::string first = NewId(now);
  std::string second = NewId(now - absl::Minutes(5));

  EXPECT_LT(first, second);
}

TEST(IsValidIdTest, AcceptsLowercaseAndUppercaseCanonicalUuids) {
  EXPECT_TRUE(IsValidId("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"));
  EXPECT_TRUE(IsValidId("0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B"));
  EXPECT_TRUE(IsValidId("00000000-0000-0000-0000-000000000000"));
}

TEST(IsValidIdTest, RejectsAnythingElse) {
  for (absl::string_view bad : {
           "",
           "0190a1b2c3d47e5f8a6b7c8d9e0f1a2b",        // no dashes
           "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2",     // one digit short
           "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2bc",   // one digit long
           "0190a1b2-c3d4-7e5f-8a6b_7c8d9e0f1a2b",    // wrong separator
           "0190a1b-2c3d4-7e5f-8a6b-7c8d9e0f1a2b",    // dash in the wrong place
           "0190a1g2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",    // not hex
           "{0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b}",  // braces
           " 190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",    // space
           "------------------------------------",
       }) {
    EXPECT_FALSE(IsValidId(bad)) << "'" << bad << "'";
  }
  EXPECT_FALSE(IsValidId(absl::string_view("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2\0", 36)));
}

}  // namespace
}  // namespace wuye
