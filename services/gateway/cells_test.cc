#include "services/gateway/cells.h"

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shared/status.h"
#include "shared/testing/test_env.h"

namespace wuye::gateway {
namespace {

using ::wuye::testing::TestToken;

constexpr char kEastGroup[] = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
constexpr char kOtherGroup[] = "0190a1b2-c3d4-7e5f-8a6b-000000000001";

TEST(ParseCellsTest, CellsAndPlacements) {
  auto table = ParseCells(absl::StrCat("# cells of the group's region\n",
                                       "cell east wuye-{name}.east:{port}\n",
                                       "cell west-2 10.0.0.7:{port}  # the second\n\n",
                                       "group ", absl::AsciiStrToUpper(std::string(kEastGroup)), " east\n",
                                       "group ", kOtherGroup, " home\n"));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->cells.size(), 2u);
  EXPECT_EQ(table->cells.at("east"), "wuye-{name}.east:{port}");
  EXPECT_EQ(table->groups.at(kEastGroup), "east");  // ids in capitals are the same ids
  EXPECT_EQ(table->groups.at(kOtherGroup), "home");
}

TEST(ParseCellsTest, EveryBadLineIsNamed) {
  struct Case {
    std::string text, says;
  } cases[] = {
      {"cell east\n", "line 1"},
      {"route east 1.2.3.4:5\n", "line 1"},
      {"cell east a:1\ncell east b:1\n", "defined twice"},
      {"cell home a:1\n", "own cell"},
      {"cell East a:1\n", "a-z"},
      {"cell east nohostport\n", "host:port"},
      {"group not-a-uuid east\n", "UUID"},
      {absl::StrCat("group ", kEastGroup, " east\n"), "not defined"},
      // A group lives in one cell: never two.
      {absl::StrCat("cell east a:1\ncell west b:1\ngroup ", kEastGroup, " east\ngroup ",
                    kEastGroup, " west\n"),
       "line 4: the group is placed twice"},
  };
  for (const Case& c : cases) {
    auto table = ParseCells(c.text);
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(table.status()), "cells_file");
    EXPECT_TRUE(absl::StrContains(table.status().message(), c.says))
        << c.text << " → " << table.status().message();
  }
}

TEST(GroupOfBearerTest, ReadsTheGroupClaimWithoutVerifying) {
  EXPECT_EQ(GroupOfBearer("Bearer " + TestToken(kEastGroup, {"*"}, {"agent"})), kEastGroup);
  EXPECT_EQ(GroupOfBearer("BEARER " + TestToken(kEastGroup, {"*"}, {"agent"})), kEastGroup);
  EXPECT_EQ(GroupOfBearer("Bearer " + TestToken("", {"*"}, {"platform_admin"})), "");
  EXPECT_EQ(GroupOfBearer(""), "");
  EXPECT_EQ(GroupOfBearer("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(GroupOfBearer("Bearer not.a.jwt"), "");
  EXPECT_EQ(GroupOfBearer("Bearer a.eyJncnAiOjV9.c"), "");  // {"grp":5}
}

class CellRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/cells-", getpid(), "-", counter_++);
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) {
    std::ofstream(path_) << text;
  }
  CellRouter Router() {
    return CellRouter(
        path_,
        [this](const std::string& service, const std::string& address) {
          made_.push_back(service + "@" + address);
          return std::make_unique<grpc::GenericStub>(
              grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
        },
        absl::ZeroDuration());
  }

  static inline int counter_ = 0;
  std::string path_;
  std::vector<std::string> made_;
  grpc::GenericStub* const home_ = reinterpret_cast<grpc::GenericStub*>(0x1);
};

TEST_F(CellRouterTest, AGroupsCallsGoToItsCellAndTheRestStayHome) {
  Write(absl::StrCat("cell east wuye-{name}.east:{port}\ngroup ", kEastGroup, " east\n"));
  CellRouter router = Router();
  ASSERT_TRUE(router.Load().ok());
  std::string cell;
  auto east = router.Pick("intake", "Bearer " + TestToken(kEastGroup, {"*"}, {"agent"}), "",
                          home_, &cell);
  ASSERT_TRUE(east.ok());
  EXPECT_NE(*east, home_);
  EXPECT_EQ(cell, "east");
  EXPECT_EQ(made_, std::vector<std::string>{"intake@wuye-{name}.east:{port}"});
  // The same stub next time: one channel per cell and service.
  EXPECT_EQ(*router.Pick("intake", "Bearer " + TestToken(kEastGroup, {"*"}, {"agent"}), "", home_),
            *east);
  EXPECT_EQ(made_.size(), 1u);
  // A group the file does not place, and a call with no token, stay home.
  EXPECT_EQ(*router.Pick("intake", "Bearer " + TestToken(kOtherGroup, {"*"}, {"agent"}), "", home_,
                         &cell),
            home_);
  EXPECT_EQ(cell, "home");
  EXPECT_EQ(*router.Pick("intake", "", "", home_), home_);
  // A group's token decides even when a header names another cell.
  EXPECT_EQ(*router.Pick("intake", "Bearer " + TestToken(kOtherGroup, {"*"}, {"agent"}), "east",
                         home_),
            home_);
}

TEST_F(CellRouterTest, APlatformCallNamesItsCellAndAnUnknownOneIsRefused) {
  Write("cell east a:{port}\n");
  CellRouter router = Router();
  ASSERT_TRUE(router.Load().ok());
  const std::string root = "Bearer " + TestToken("", {"*"}, {"platform_admin"});
  EXPECT_NE(*router.Pick("directory", root, "east", home_), home_);
  EXPECT_EQ(*router.Pick("directory", root, "home", home_), home_);
  auto unknown = router.Pick("directory", root, "west", home_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(unknown.status()), "x-wuye-cell");
}

TEST_F(CellRouterTest, AnEditIsFollowedAndABadEditKeepsTheTableItHad) {
  Write("cell east a:{port}\n");
  CellRouter router = Router();
  ASSERT_TRUE(router.Load().ok());
  const std::string token = "Bearer " + TestToken(kEastGroup, {"*"}, {"agent"});
  EXPECT_EQ(*router.Pick("intake", token, "", home_), home_);
  // The group moves in (its data was moved first: docs/scaling.md, "Moving a group").
  sleep(1);  // a new mtime
  Write(absl::StrCat("cell east a:{port}\ngroup ", kEastGroup, " east\n"));
  EXPECT_NE(*router.Pick("intake", token, "", home_), home_);
  sleep(1);
  Write("cell east a:{port}\ngroup nonsense east\n");
  EXPECT_NE(*router.Pick("intake", token, "", home_), home_) << "a bad edit changes nothing";
}

TEST(CellRouterOneCellTest, WithoutAFileEveryCallStaysHomeAndACellHeaderIsRefused) {
  CellRouter router("", nullptr);
  ASSERT_TRUE(router.Load().ok());
  auto* home = reinterpret_cast<grpc::GenericStub*>(0x1);
  EXPECT_EQ(*router.Pick("intake", "", "", home), home);
  EXPECT_EQ(*router.Pick("intake", "", "home", home), home);
  EXPECT_FALSE(router.Pick("intake", "", "east", home).ok());
}

TEST(CellRouterLoadTest, AMissingOrBadFileStopsTheStart) {
  CellRouter missing("/nonexistent/cells", nullptr);
  EXPECT_EQ(missing.Load().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wuye::gateway
