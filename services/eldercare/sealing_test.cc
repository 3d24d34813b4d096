// AES-256-GCM sealing: round trip, binding to place and key, tampering, rotation, keys.
#include "services/eldercare/sealing.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "shared/status.h"

namespace wuye::eldercare {
namespace {

std::string Key(char fill) { return absl::Base64Escape(std::string(32, fill)); }
const std::string kLookup = absl::Base64Escape(std::string(32, 'L'));

Keyring Ring(const std::string& spec) {
  auto ring = Keyring::Parse(spec, kLookup);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *ring;
}

const SealedPlace kPlace{"g1", "health_cards", "row-1", "drug_allergies"};

TEST(ElderSealingTest, RoundTripsWithTheActiveKeyAndAFreshNonce) {
  Keyring ring = Ring("k1:" + Key('a') + ",k0:" + Key('b'));
  EXPECT_EQ(ring.active_key_id(), "k1");
  auto a = ring.Seal(kPlace, "penicillin");
  auto b = ring.Seal(kPlace, "penicillin");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->key_id, "k1");
  EXPECT_NE(a->blob, b->blob);  // random nonce
  EXPECT_EQ(a->blob.find("penicillin"), std::string::npos);
  EXPECT_EQ(*ring.Open(kPlace, *a), "penicillin");
  EXPECT_EQ(*ring.Open(kPlace, *ring.Seal(kPlace, "")), "");
}

TEST(ElderSealingTest, AMovedOrAlteredCiphertextIsRejected) {
  Keyring ring = Ring("k1:" + Key('a'));
  SealedValue v = *ring.Seal(kPlace, "penicillin");
  for (SealedPlace other :
       {SealedPlace{"g2", kPlace.table, kPlace.row_id, kPlace.field},
        SealedPlace{kPlace.group_id, "checkups", kPlace.row_id, kPlace.field},
        SealedPlace{kPlace.group_id, kPlace.table, "row-2", kPlace.field},
        SealedPlace{kPlace.group_id, kPlace.table, kPlace.row_id, "blood_type"}}) {
    auto st = ring.Open(other, v);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(ErrorReason(st.status()), "CIPHERTEXT_REJECTED");
  }
  for (size_t i : {size_t{0}, size_t{12}, v.blob.size() - 1}) {
    SealedValue bad = v;
    bad.blob[i] ^= 0x01;
    EXPECT_EQ(ring.Open(kPlace, bad).status().code(), absl::StatusCode::kDataLoss) << i;
  }
  SealedValue short_blob{v.key_id, v.blob.substr(0, 10)};
  EXPECT_EQ(ring.Open(kPlace, short_blob).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ElderSealingTest, TheKeyIdIsBoundAndAMissingKeyIsNamed) {
  // Two rings that give the same bytes different ids: the id is part of the binding.
  Keyring a = Ring("k1:" + Key('a'));
  Keyring b = Ring("k2:" + Key('a'));
  SealedValue v = *a.Seal(kPlace, "O+");
  SealedValue relabelled{"k2", v.blob};
  EXPECT_EQ(b.Open(kPlace, relabelled).status().code(), absl::StatusCode::kDataLoss);
  auto missing = b.Open(kPlace, v);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ErrorReason(missing.status()), "KEY_NOT_LOADED");
}

TEST(ElderSealingTest, RotationOpensOldValuesAndTheOldKeyCanGoAfterwards) {
  Keyring old_ring = Ring("k1:" + Key('a'));
  SealedValue v1 = *old_ring.Seal(kPlace, "shellfish");
  Keyring both = Ring("k2:" + Key('c') + ",k1:" + Key('a'));
  SealedValue v2 = *both.Seal(kPlace, *both.Open(kPlace, v1));
  EXPECT_EQ(v2.key_id, "k2");
  Keyring new_only = Ring("k2:" + Key('c'));
  EXPECT_EQ(*new_only.Open(kPlace, v2), "shellfish");
  EXPECT_FALSE(new_only.Open(kPlace, v1).ok());
}

TEST(ElderSealingTest, BadKeyConfigurationsAreRefusedWithoutEchoingKeys) {
  EXPECT_EQ(Keyring::Parse("", kLookup).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Keyring::Parse("k1", kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("k1:" + absl::Base64Escape("short"), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("k 1:" + Key('a'), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("k1:" + Key('a') + ",k1:" + Key('b'), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("k1:" + Key('a'), "").ok());
  auto st = Keyring::Parse("k1:" + Key('a') + "x", kLookup);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.status().message()).find(Key('a')), std::string::npos);
}

TEST(ElderSealingTest, DigestsAreKeyedAndStable) {
  Keyring a = Ring("k1:" + Key('a'));
  auto other = Keyring::Parse("k1:" + Key('a'), absl::Base64Escape(std::string(32, 'M')));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(a.Digest("11010519491231002X"), a.Digest("11010519491231002X"));
  EXPECT_NE(a.Digest("11010519491231002X"), a.Digest("110105196603071239"));
  EXPECT_NE(a.Digest("11010519491231002X"), other->Digest("11010519491231002X"));
  EXPECT_EQ(a.Digest("x").size(), 32u);
}

}  // namespace
}  // namespace wuye::eldercare
