#include "shared/field_mask.h"

#include <string>

#include "gtest/gtest.h"
#include "shared/status.h"
#include "wuye/directory/v1/directory.pb.h"

namespace wuye {
namespace {

using wuye::directory::v1::Staff;

Staff Stored() {
  Staff s;
  s.set_id("s1");
  s.set_name("Wang");
  s.set_active(true);
  s.add_roles(wuye::directory::v1::STAFF_ROLE_AGENT);
  s.add_home_estate_ids("e1");
  s.mutable_start_date()->set_year(2024);
  s.set_version(3);
  return s;
}

Staff Update() {
  Staff s;
  s.set_name("Li");
  s.add_roles(wuye::directory::v1::STAFF_ROLE_TEAM_LEAD);
  s.add_home_estate_ids("e2");
  return s;
}

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask m;
  for (const char* p : paths) m.add_paths(p);
  return m;
}

TEST(CheckUpdateMaskTest, AnEmptyMaskAndUpdatablePathsPass) {
  EXPECT_TRUE(CheckUpdateMask(Mask({}), Staff::descriptor(), {"name"}).ok());
  EXPECT_TRUE(
      CheckUpdateMask(Mask({"name", "roles"}), Staff::descriptor(), {"name", "roles"}).ok());
}

TEST(CheckUpdateMaskTest, AnUnknownPathIsRefusedOnUpdateMask) {
  absl::Status st = CheckUpdateMask(Mask({"name", "no_such_field"}), Staff::descriptor(), {"name"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(st), "update_mask");
  EXPECT_NE(st.message().find("no_such_field"), absl::string_view::npos) << st;
}

TEST(CheckUpdateMaskTest, AKnownFieldThatIsNotUpdatableIsRefused) {
  for (const char* path : {"id", "group_id", "version", "create_time", "start_date.year"}) {
    absl::Status st =
        CheckUpdateMask(Mask({path}), Staff::descriptor(), {"name", "roles", "start_date"});
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(ErrorField(st), "update_mask") << path;
  }
}

TEST(CheckUpdateMaskTest, AnUnknownPathIsQuotedShortAndEscaped) {
  std::string path(500, 'x');
  path += "\n\x01";
  google::protobuf::FieldMask m;
  m.add_paths(path);
  absl::Status st = CheckUpdateMask(m, Staff::descriptor(), {"name"});
  EXPECT_EQ(ErrorField(st), "update_mask");
  EXPECT_LT(st.message().size(), 200u);
  EXPECT_EQ(st.message().find('\n'), absl::string_view::npos);
}

TEST(ApplyUpdateMaskTest, NoPathsReplacesTheWholeResource) {
  Staff stored = Stored();
  ApplyUpdateMask(Update(), Mask({}), &stored);
  EXPECT_EQ(stored.SerializeAsString(), Update().SerializeAsString());
}

TEST(ApplyUpdateMaskTest, OnlyTheMaskedFieldsChange) {
  Staff stored = Stored();
  ApplyUpdateMask(Update(), Mask({"name"}), &stored);
  EXPECT_EQ(stored.name(), "Li");
  EXPECT_EQ(stored.id(), "s1");
  EXPECT_TRUE(stored.active());
  EXPECT_EQ(stored.version(), 3);
  EXPECT_EQ(stored.start_date().year(), 2024);
  ASSERT_EQ(stored.roles_size(), 1);
  EXPECT_EQ(stored.roles(0), wuye::directory::v1::STAFF_ROLE_AGENT);
}

TEST(ApplyUpdateMaskTest, AMaskedFieldLeftUnsetIsCleared) {
  Staff stored = Stored();
  ApplyUpdateMask(Update(), Mask({"active", "start_date"}), &stored);
  EXPECT_FALSE(stored.active());
  EXPECT_FALSE(stored.has_start_date());
  EXPECT_EQ(stored.name(), "Wang");
}

TEST(ApplyUpdateMaskTest, AMaskedRepeatedFieldIsReplacedNotAppended) {
  Staff stored = Stored();
  ApplyUpdateMask(Update(), Mask({"roles", "home_estate_ids"}), &stored);
  ASSERT_EQ(stored.roles_size(), 1);
  EXPECT_EQ(stored.roles(0), wuye::directory::v1::STAFF_ROLE_TEAM_LEAD);
  ASSERT_EQ(stored.home_estate_ids_size(), 1);
  EXPECT_EQ(stored.home_estate_ids(0), "e2");
}

TEST(ApplyUpdateMaskTest, AMaskedMessageFieldIsReplacedNotMerged) {
  Staff stored = Stored();
  stored.mutable_start_date()->set_month(5);
  Staff update;
  update.mutable_start_date()->set_year(2025);
  ApplyUpdateMask(update, Mask({"start_date"}), &stored);
  EXPECT_EQ(stored.start_date().year(), 2025);
  EXPECT_EQ(stored.start_date().month(), 0);
}

}  // namespace
}  // namespace wuye
