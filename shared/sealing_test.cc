// AES-256-GCM sealing: round trip, binding to service, place and key, tampering, rotation,
// keys from the environment.
#include "shared/sealing.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "shared/status.h"

namespace wuye {
namespace {

std::string Key(char fill) { return absl::Base64Escape(std::string(32, fill)); }
const std::string kLookup = absl::Base64Escape(std::string(32, 'L'));

Keyring Ring(const std::string& spec) {
  auto ring = Keyring::Parse("eldercare", spec, kLookup);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *ring;
}

const SealedPlace kPlace{"g1", "health_cards", "row-1", "drug_allergies"};

TEST(SealingTest, RoundTripsWithTheActiveKeyAndAFreshNonce) {
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

TEST(SealingTest, AMovedOrAlteredCiphertextIsRejected) {
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

TEST(SealingTest, TheKeyIdIsBoundAndAMissingKeyIsNamed) {
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

TEST(SealingTest, RotationOpensOldValuesAndTheOldKeyCanGoAfterwards) {
  Keyring old_ring = Ring("k1:" + Key('a'));
  SealedValue v1 = *old_ring.Seal(kPlace, "shellfish");
  Keyring both = Ring("k2:" + Key('c') + ",k1:" + Key('a'));
  SealedValue v2 = *both.Seal(kPlace, *both.Open(kPlace, v1));
  EXPECT_EQ(v2.key_id, "k2");
  Keyring new_only = Ring("k2:" + Key('c'));
  EXPECT_EQ(*new_only.Open(kPlace, v2), "shellfish");
  EXPECT_FALSE(new_only.Open(kPlace, v1).ok());
}

TEST(SealingTest, BadKeyConfigurationsAreRefusedWithoutEchoingKeys) {
  EXPECT_EQ(Keyring::Parse("eldercare", "", kLookup).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Keyring::Parse("eldercare", "k1", kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("eldercare", "k1:" + absl::Base64Escape("short"), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("eldercare", "k 1:" + Key('a'), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("eldercare", "k1:" + Key('a') + ",k1:" + Key('b'), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("eldercare", "k1:" + Key('a'), "").ok());
  auto st = Keyring::Parse("eldercare", "k1:" + Key('a') + "x", kLookup);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.status().message()).find(Key('a')), std::string::npos);
}

TEST(SealingTest, DigestsAreKeyedAndStable) {
  Keyring a = Ring("k1:" + Key('a'));
  auto other =
      Keyring::Parse("eldercare", "k1:" + Key('a'), absl::Base64Escape(std::string(32, 'M')));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(a.Digest("11010519491231002X"), a.Digest("11010519491231002X"));
  EXPECT_NE(a.Digest("11010519491231002X"), a.Digest("110105196603071239"));
  EXPECT_NE(a.Digest("11010519491231002X"), other->Digest("11010519491231002X"));
  EXPECT_EQ(a.Digest("x").size(), 32u);
}

TEST(SealingTest, OneServicesCiphertextDoesNotOpenInAnothersRing) {
  auto elder = Keyring::Parse("eldercare", "k1:" + Key('a'), kLookup);
  auto counter = Keyring::Parse("counter", "k1:" + Key('a'), kLookup);
  ASSERT_TRUE(elder.ok() && counter.ok());
  EXPECT_EQ(counter->service(), "counter");
  SealedValue v = *elder->Seal(kPlace, "11010519491231002X");
  EXPECT_EQ(counter->Open(kPlace, v).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*elder->Open(kPlace, v), "11010519491231002X");
  EXPECT_FALSE(Keyring::Parse("", "k1:" + Key('a'), kLookup).ok());
  EXPECT_FALSE(Keyring::Parse("Counter", "k1:" + Key('a'), kLookup).ok());
}

TEST(SealingTest, FromTheEnvironmentByTheServicesName) {
  unsetenv("WUYE_COUNTER_KEYS");
  unsetenv("WUYE_COUNTER_LOOKUP_KEY");
  auto none = Keyring::FromEnvironment("counter", "", "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(none.status().message()).find("WUYE_COUNTER_KEYS"), std::string::npos);
  setenv("WUYE_COUNTER_KEYS", ("c1:" + Key('c')).c_str(), 1);
  setenv("WUYE_COUNTER_LOOKUP_KEY", kLookup.c_str(), 1);
  auto ring = Keyring::FromEnvironment("counter", "", "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active_key_id(), "c1");
  // Another service's variables are not this one's.
  EXPECT_FALSE(Keyring::FromEnvironment("eldercare", "", "").ok());
  unsetenv("WUYE_COUNTER_KEYS");
  unsetenv("WUYE_COUNTER_LOOKUP_KEY");
  auto missing = Keyring::FromEnvironment("counter", "/nonexistent/keys", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("counter_keys_file"), std::string::npos);
}

}  // namespace
}  // namespace wuye
