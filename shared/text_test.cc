#include "shared/text.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shared/status.h"

namespace wuye {
namespace {

constexpr Presence kRequired = Presence::kRequired;
constexpr Presence kOptional = Presence::kOptional;

std::string Rule(const absl::Status& s) {
  std::string m(s.message());
  return m.substr(m.find(": ") + 2);
}

// Issue 21, item 3: one text check. Limits count characters (code points), not bytes.
TEST(CheckText, CountsCharactersNotBytes) {
  EXPECT_TRUE(CheckText("阳光花园", "n", 4, kRequired, Lines::kOne).ok());
  absl::Status s = CheckText("阳光花园小", "n", 4, kRequired, Lines::kOne);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(s), "n");
  EXPECT_EQ(Rule(s), "at most 4 characters");
  EXPECT_TRUE(CheckText("青霉素过敏", "f", 5, kRequired, Lines::kMany).ok());
  EXPECT_TRUE(CheckText("😀😀", "f", 2, kRequired, Lines::kOne).ok());  // 4-byte sequences
  EXPECT_FALSE(CheckText(std::string(11, 'x'), "f", 10, kOptional, Lines::kMany).ok());
}

TEST(CheckText, RequiredMeansNotBlank) {
  for (const char* blank : {"", " ", " \t", "\n", "\r\n "}) {
    SCOPED_TRACE(blank);
    absl::Status s = CheckText(blank, "ticket.summary", 10, kRequired, Lines::kMany);
    EXPECT_EQ(ErrorField(s), "ticket.summary");
    EXPECT_EQ(Rule(s), "required");
  }
  EXPECT_TRUE(CheckText("", "note", 10, kOptional, Lines::kOne).ok());
  EXPECT_TRUE(CheckText("  ", "note", 10, kOptional, Lines::kOne).ok());
}

TEST(CheckText, InvalidUtf8Refused) {
  for (const std::string& bad :
       {std::string("\xff\xfe"), std::string("abc\xe4\xb8"), std::string("\xc0\xaf"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\x80"),
        std::string("a\xe4x\xad")}) {
    absl::Status s = CheckText(bad, "f", 100, kOptional, Lines::kMany);
    EXPECT_EQ(Rule(s), "must be valid UTF-8");
    EXPECT_EQ(ErrorField(s), "f");
  }
  EXPECT_EQ(Utf8Chars("阳光a"), 3);
  EXPECT_EQ(Utf8Chars("\xff"), -1);
}

TEST(CheckText, OneLineRefusesEveryControlCharacter) {
  for (const std::string& bad :
       {std::string("a\nb"), std::string("a\tb"), std::string("a\r\nb"), std::string("a\x01"),
        std::string("a\x7f"), std::string("a\0b", 3), std::string("a\xc2\x85")}) {  // U+0085
    absl::Status s = CheckText(bad, "estate.name", 100, kRequired, Lines::kOne);
    EXPECT_EQ(ErrorField(s), "estate.name");
    EXPECT_EQ(Rule(s), "must not contain control characters");
  }
}

TEST(CheckText, FreeTextMayHoldLineBreaksAndTabs) {
  EXPECT_TRUE(CheckText("line\nnext", "note", 20, kRequired, Lines::kMany).ok());
  EXPECT_TRUE(CheckText("line\r\nnext\tcol", "note", 20, kRequired, Lines::kMany).ok());
  for (const std::string& bad : {std::string("a\rb"), std::string("a\x01"), std::string("a\x1b[2J"),
                                 std::string("a\x7f"), std::string("a\0b", 3)}) {
    absl::Status s = CheckText(bad, "reason", 100, kRequired, Lines::kMany);
    EXPECT_EQ(ErrorField(s), "reason");
    EXPECT_EQ(Rule(s), "must not contain control characters other than line breaks and tabs");
  }
}

// Free text a person writes (a handover's notes, a daily log) names a resident by ticket,
// never by phone or ID number (DESIGN.md §5: no phone or ID number in logs and events).
TEST(CheckNoPersonalNumbers, RefusesPhoneAndIdNumbersNotDatesAndCounts) {
  for (const std::string& bad :
       {std::string("call back 13800138000 tonight"), std::string("138 0013 8000"),
        std::string("desk 010-6914 0000"), std::string("ID 11010519491231002X"),
        std::string("\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90"
                    "\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98"),  // full-width digits
        std::string("1234567")}) {
    absl::Status s = CheckNoPersonalNumbers(bad, "notes");
    EXPECT_EQ(ErrorField(s), "notes") << bad;
    EXPECT_EQ(Rule(s), "must not contain a phone or ID number");
    EXPECT_EQ(s.message().find("0013"), std::string::npos);
  }
  for (const std::string& good :
       {std::string("lift in building 3 stopped at 09:30, 2 tickets open"),
        std::string("handed over on 2026-03-02, unit 1201"), std::string("123456"),
        std::string("12 34 56"), std::string("meters 1234  5678"), std::string("")}) {
    EXPECT_TRUE(CheckNoPersonalNumbers(good, "notes").ok()) << good;
  }
}

// Text from outside that cannot be refused (a 12345 order's words, intake) keeps no phone or
// ID number for the events (docs/events.md; 002_…, 3.2 保密性: 不得泄露客户隐私): the very
// runs CheckNoPersonalNumbers refuses, each digit masked, and nothing else touched.
TEST(MaskPersonalNumbers, MasksExactlyTheRunsTheCheckRefuses) {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"call back 13800138000 tonight", "call back *********** tonight"},
      {"138 0013 8000", "*** **** ****"},
      {"desk 010-6914 0000.", "desk ***-**** ****."},
      {"ID 11010519491231002X", "ID *****************X"},
      {"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90"
       "\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98",
       "********"},  // full-width digits: one '*' each
      {"电话13800138000，2026-03-02上门", "电话***********，2026-03-02上门"},
      {"1234567", "*******"},
      {"a 123 4567 b 12 34", "a *** **** b 12 34"},
      // Kept: a date, short numbers, runs broken by two spaces or another character.
      {"handed over on 2026-03-02, unit 1201", "handed over on 2026-03-02, unit 1201"},
      {"123456", "123456"},
      {"12 34 56", "12 34 56"},
      {"meters 1234  5678", "meters 1234  5678"},
      {"3-2-1201", "3-2-1201"},
      {"", ""},
  };
  for (const Case& c : cases) {
    std::string masked = MaskPersonalNumbers(c.in);
    EXPECT_EQ(masked, c.out) << c.in;
    EXPECT_TRUE(CheckNoPersonalNumbers(masked, "f").ok()) << c.in;
    // The same rule: masked exactly when refused.
    EXPECT_EQ(masked != c.in, !CheckNoPersonalNumbers(c.in, "f").ok()) << c.in;
    EXPECT_EQ(Utf8Chars(masked), Utf8Chars(c.in)) << c.in;
  }
  // A malformed byte ends a run and the scan reads on after it, in both.
  const std::string broken = std::string("x\xff") + "13800138000";
  EXPECT_EQ(MaskPersonalNumbers(broken), std::string("x\xff") + "***********");
  EXPECT_FALSE(CheckNoPersonalNumbers(broken, "f").ok());
}

// Billing's standard prices and dispatch's paid services name the same codes.
TEST(CheckItemCode, OneRuleForBillingAndDispatch) {
  EXPECT_TRUE(CheckItemCode("CLEAN_HOME_2", "code").ok());
  EXPECT_TRUE(CheckItemCode("AB", "code").ok());
  EXPECT_TRUE(CheckItemCode(std::string(40, 'A'), "code").ok());
  EXPECT_EQ(Rule(CheckItemCode("", "price.item_code")), "required");
  EXPECT_EQ(ErrorField(CheckItemCode("", "price.item_code")), "price.item_code");
  for (const std::string& bad : {std::string("A"), std::string(41, 'A'), std::string("clean"),
                                 std::string("A-B"), std::string("A B"), std::string("保洁")}) {
    absl::Status s = CheckItemCode(bad, "service_item_code");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(s), "service_item_code");
  }
}

}  // namespace
}  // namespace wuye
