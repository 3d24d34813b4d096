#include "shared/auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace wuye {
namespace {

using json = nlohmann::json;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test";
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// The test's own base64url, independent of the code under test.
std::string B64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string HmacB64(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return B64(std::string_view(reinterpret_cast<char*>(mac), len));
}

// Hand-built HS256 token so tests can put anything in the header and claims.
std::string Craft(const json& header, const json& payload, std::string_view key = kSecret) {
  std::string input = absl::StrCat(B64(header.dump()), ".", B64(payload.dump()));
  return absl::StrCat(input, ".", HmacB64(key, input));
}

json GoodHeader() { return {{"alg", "HS256"}, {"typ", "JWT"}}; }

json GoodPayload() {
  return {{"iss", "wuye"},
          {"aud", "wuye"},
          {"sub", "user-1"},
          {"grp", "g1"},
          {"est", {"e1", "e2"}},
          {"roles", {"agent"}},
          {"iat", 1'700'000'000 - 60},
          {"exp", 1'700'000'000 + 3600}};
}

TokenClaims GoodClaims() {
  TokenClaims c;
  c.subject = "user-1";
  c.group_id = "g1";
  c.estate_ids = {"e1", "e2"};
  c.roles = {"agent", "technician"};
  c.issued_at = kNow - absl::Minutes(1);
  c.expires_at = kNow + absl::Hours(1);
  return c;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = GenerateEs256KeyPair();
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *keys;
    AuthConfig hs;
    hs.hs256_secret = kSecret;
    auto v = TokenVerifier::Create(hs);
    ASSERT_TRUE(v.ok()) << v.status();
    hs_only_ = *std::move(v);
    AuthConfig es;
    es.es256_public_key_pem = keys_.public_pem;
    v = TokenVerifier::Create(es);
    ASSERT_TRUE(v.ok()) << v.status();
    es_only_ = *std::move(v);
    AuthConfig both = hs;
    both.es256_public_key_pem = keys_.public_pem;
    v = TokenVerifier::Create(both);
    ASSERT_TRUE(v.ok()) << v.status();
    both_ = *std::move(v);
  }

  // Expects refusal with the given reason; every refusal must be
  // UNAUTHENTICATED.
  void ExpectRefused(const TokenVerifier& v, std::string_view token, std::string_view reason,
                     absl::Time now = kNow) {
    auto r = v.Verify(token, now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(), std::string("token: ").append(reason));
  }

  Es256KeyPair keys_;
  std::unique_ptr<TokenVerifier> hs_only_, es_only_, both_;
};

TEST_F(AuthTest, RoundTripHs256) {
  auto token = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(token.ok()) << token.status();
  auto caller = hs_only_->Verify(*token, kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "user-1");
  EXPECT_EQ(caller->group_id, "g1");
  EXPECT_EQ(caller->estate_ids, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_FALSE(caller->all_estates);
  EXPECT_EQ(caller->roles, (std::vector<std::string>{"agent", "technician"}));
  EXPECT_TRUE(both_->Verify(*token, kNow).ok());
}

TEST_F(AuthTest, RoundTripEs256WithRawSignature) {
  auto token = MintEs256(GoodClaims(), keys_.private_pem);
  ASSERT_TRUE(token.ok()) << token.status();
  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  // 64 raw bytes encode to 86 base64url characters.
  EXPECT_EQ(parts[2].size(), 86u);
  auto caller = es_only_->Verify(*token, kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "user-1");
  EXPECT_TRUE(both_->Verify(*token, kNow).ok());
}

TEST_F(AuthTest, TamperedPayloadRefused) {
  json evil = GoodPayload();
  evil["roles"] = {"platform_admin"};
  for (const auto* v : {hs_only_.get(), es_only_.get()}) {
    auto token = v == hs_only_.get() ? MintHs256(GoodClaims(), kSecret)
                                     : MintEs256(GoodClaims(), keys_.private_pem);
    ASSERT_TRUE(token.ok());
    std::vector<std::string> parts = absl::StrSplit(*token, '.');
    std::string forged = absl::StrCat(parts[0], ".", B64(evil.dump()), ".", parts[2]);
    ExpectRefused(*v, forged, "bad signature");
  }
}

TEST_F(AuthTest, TamperedSignatureRefused) {
  for (bool es : {false, true}) {
    auto token = es ? MintEs256(GoodClaims(), keys_.private_pem) : MintHs256(GoodClaims(), kSecret);
    ASSERT_TRUE(token.ok());
    std::string bad = *token;
    // Flip a middle character so the trailing-bits rule cannot interfere.
    char& c = bad[bad.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    ExpectRefused(*both_, bad, "bad signature");
  }
}

TEST_F(AuthTest, AlgNoneMissingAndUnknownRefused) {
  for (const char* alg :
       {"none", "None", "NONE", "nOnE", "HS512", "RS256", "hs256", "es256", "HS256 ", ""}) {
    SCOPED_TRACE(alg);
    ExpectRefused(*both_, Craft({{"alg", alg}}, GoodPayload()), "algorithm not allowed");
  }
  ExpectRefused(*both_, Craft({{"typ", "JWT"}}, GoodPayload()), "algorithm not allowed");
  ExpectRefused(*both_, Craft({{"alg", 256}}, GoodPayload()), "algorithm not allowed");
  // Classic unsigned form: empty signature part.
  std::string unsigned_token =
      absl::StrCat(B64(json{{"alg", "none"}}.dump()), ".", B64(GoodPayload().dump()), ".");
  ExpectRefused(*both_, unsigned_token, "malformed");
}

TEST_F(AuthTest, AlgorithmConfusionRefused) {
  // HMAC keyed with the public PEM: the verifier must use its own secret.
  auto token = MintHs256(GoodClaims(), keys_.public_pem);
  ASSERT_TRUE(token.ok()) << token.status();
  ExpectRefused(*both_, *token, "bad signature");
  ExpectRefused(*es_only_, *token, "algorithm not allowed");
}

TEST_F(AuthTest, AlgorithmWithoutMatchingKeyRefused) {
  auto es = MintEs256(GoodClaims(), keys_.private_pem);
  ASSERT_TRUE(es.ok());
  ExpectRefused(*hs_only_, *es, "algorithm not allowed");
  auto hs = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(hs.ok());
  ExpectRefused(*es_only_, *hs, "algorithm not allowed");
}

TEST_F(AuthTest, HeaderTypAndCrit) {
  EXPECT_TRUE(hs_only_->Verify(Craft({{"alg", "HS256"}}, GoodPayload()), kNow).ok());
  EXPECT_TRUE(hs_only_->Verify(Craft({{"alg", "HS256"}, {"kid", "k1"}}, GoodPayload()), kNow).ok());
  // RFC 9068 access tokens, as an OpenID provider issues them (the console's sign-in).
  for (const char* typ : {"JWT", "at+jwt", "application/at+jwt", "AT+JWT"}) {
    EXPECT_TRUE(hs_only_->Verify(Craft({{"alg", "HS256"}, {"typ", typ}}, GoodPayload()), kNow).ok()) << typ;
  }
  ExpectRefused(*hs_only_, Craft({{"alg", "HS256"}, {"typ", "JOSE"}}, GoodPayload()),
                "unsupported header");
  ExpectRefused(*hs_only_, Craft({{"alg", "HS256"}, {"typ", "id+jwt"}}, GoodPayload()),
                "unsupported header");
  ExpectRefused(*hs_only_, Craft({{"alg", "HS256"}, {"typ", 1}}, GoodPayload()),
                "unsupported header");
  ExpectRefused(*hs_only_, Craft({{"alg", "HS256"}, {"crit", {"exp"}}, {"exp", 1}}, GoodPayload()),
                "unsupported header");
  ExpectRefused(*hs_only_, Craft(json::array({"HS256"}), GoodPayload()), "malformed");
}

TEST_F(AuthTest, Es256SignatureFormat) {
  auto token = MintEs256(GoodClaims(), keys_.private_pem);
  ASSERT_TRUE(token.ok());
  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  std::string input = absl::StrCat(parts[0], ".", parts[1]);
  // 63 and 65 bytes, and a DER-looking blob: all wrong lengths for JWS ES256.
  for (size_t n : {63, 65, 72}) {
    ExpectRefused(*es_only_, absl::StrCat(input, ".", B64(std::string(n, '\x01'))),
                  "bad signature");
  }
  ExpectRefused(*es_only_, absl::StrCat(input, ".", B64(std::string(64, '\0'))), "bad signature");
}

TEST_F(AuthTest, ExpiryAndNotBefore) {
  json p = GoodPayload();
  p["exp"] = 1'700'000'000 - 31;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "expired");
  p["exp"] = 1'700'000'000 - 29;  // inside the 30 s leeway
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());

  p = GoodPayload();
  p.erase("exp");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing expiry");

  p = GoodPayload();
  p["nbf"] = 1'700'000'000 + 31;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "not yet valid");
  p["nbf"] = 1'700'000'000 + 29;
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());

  auto token = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(token.ok());
  ExpectRefused(*hs_only_, *token, "expired", kNow + absl::Hours(2));
}

// A token verified once is kept (its signature and claims are not checked again), but every
// call meets the clock: the same bytes expire, and a not-yet-valid one is not kept early.
TEST_F(AuthTest, AKeptTokenStillMeetsTheClockOnEveryCall) {
  auto token = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(token.ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(hs_only_->Verify(*token, kNow).ok());
  ExpectRefused(*hs_only_, *token, "expired", kNow + absl::Hours(2));
  EXPECT_TRUE(hs_only_->Verify(*token, kNow).ok()) << "a refusal by the clock keeps nothing out";

  json p = GoodPayload();
  p["nbf"] = 1'700'000'000 + 120;
  const std::string later = Craft(GoodHeader(), p);
  ExpectRefused(*hs_only_, later, "not yet valid");
  EXPECT_TRUE(hs_only_->Verify(later, kNow + absl::Minutes(2)).ok());
  ExpectRefused(*hs_only_, later, "not yet valid");

  // A claim refused is refused every time, after the clock as before.
  p = GoodPayload();
  p.erase("sub");
  const std::string anonymous = Craft(GoodHeader(), p);
  for (int i = 0; i < 2; ++i) ExpectRefused(*hs_only_, anonymous, "missing subject");
  ExpectRefused(*hs_only_, anonymous, "expired", kNow + absl::Hours(2));

  // Another verifier (another key) does not share what this one kept.
  AuthConfig other;
  other.hs256_secret = std::string(40, 'z');
  auto v = TokenVerifier::Create(other);
  ASSERT_TRUE(v.ok());
  ExpectRefused(**v, *token, "bad signature");
}

TEST_F(AuthTest, FloatDates) {
  json p = GoodPayload();
  p["exp"] = 1'700'000'000.5 + 3600;
  p["nbf"] = 1'699'999'999.25;
  p["iat"] = 1'699'999'999.25;
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());
  p["exp"] = 1'699'999'900.5;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "expired");
  p["exp"] = 1e300;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "bad claim");
}

TEST_F(AuthTest, IssuerAndAudience) {
  json p = GoodPayload();
  p["iss"] = "evil-issuer";
  auto r = hs_only_->Verify(Craft(GoodHeader(), p), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "token: wrong issuer");
  EXPECT_FALSE(absl::StrContains(r.status().message(), "evil"));
  p.erase("iss");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "wrong issuer");

  p = GoodPayload();
  p["aud"] = "other";
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "wrong audience");
  p["aud"] = {"other", "wuye"};
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());
  p["aud"] = {"other", "more"};
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "wrong audience");
  p["aud"] = json::array();
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "wrong audience");
  p["aud"] = {"wuye", 7};
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "bad claim");
  p.erase("aud");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "wrong audience");

  AuthConfig custom;
  custom.hs256_secret = kSecret;
  custom.issuer = "idp";
  custom.audience = "billing";
  auto v = TokenVerifier::Create(custom);
  ASSERT_TRUE(v.ok());
  TokenClaims c = GoodClaims();
  c.issuer = "idp";
  c.audience = "billing";
  auto token = MintHs256(c, kSecret);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE((*v)->Verify(*token, kNow).ok());
  ExpectRefused(*hs_only_, *token, "wrong issuer");
}

TEST_F(AuthTest, SubjectRolesAndGroup) {
  json p = GoodPayload();
  p.erase("sub");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing subject");
  p["sub"] = "";
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing subject");

  p = GoodPayload();
  p.erase("roles");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing roles");
  p["roles"] = json::array();
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing roles");

  p = GoodPayload();
  p.erase("grp");
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing group");
  p["grp"] = "";
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "missing group");

  p = GoodPayload();
  p.erase("grp");
  p.erase("est");
  p["roles"] = {"platform_admin"};
  auto caller = hs_only_->Verify(Craft(GoodHeader(), p), kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_TRUE(caller->group_id.empty());
  EXPECT_TRUE(caller->estate_ids.empty());
  EXPECT_FALSE(caller->all_estates);
}

TEST_F(AuthTest, Estates) {
  json p = GoodPayload();
  p["est"] = {"*"};
  auto caller = hs_only_->Verify(Craft(GoodHeader(), p), kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_TRUE(caller->all_estates);
  EXPECT_TRUE(caller->CanSeeEstate("anything"));

  TokenClaims c = GoodClaims();
  c.estate_ids = {"*"};
  auto token = MintHs256(c, kSecret);
  ASSERT_TRUE(token.ok());
  caller = hs_only_->Verify(*token, kNow);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(caller->all_estates);

  p.erase("est");
  caller = hs_only_->Verify(Craft(GoodHeader(), p), kNow);
  ASSERT_TRUE(caller.ok());
  EXPECT_FALSE(caller->all_estates);
  EXPECT_FALSE(caller->CanSeeEstate("e1"));

  p["est"] = {"*", "e1"};
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "bad claim");
}

TEST_F(AuthTest, WrongClaimTypesRefused) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"exp", "1700003600"},   {"exp", true}, {"exp", nullptr},   {"nbf", "0"},
      {"iat", json::array()},  {"sub", 42},   {"roles", "agent"}, {"roles", {"agent", 1}},
      {"roles", {""}},         {"grp", 5},    {"est", "e1"},      {"est", {"e1", nullptr}},
      {"aud", json::object()},
  };
  for (const auto& [claim, value] : cases) {
    SCOPED_TRACE(claim + "=" + value.dump());
    json p = GoodPayload();
    p[claim] = value;
    ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "bad claim");
  }
  // A payload that is valid JSON but not an object.
  std::string input = absl::StrCat(B64(GoodHeader().dump()), ".", B64("[1,2,3]"));
  ExpectRefused(*hs_only_, absl::StrCat(input, ".", HmacB64(kSecret, input)), "malformed");
}

TEST_F(AuthTest, MalformedEncodingRefused) {
  std::string good = Craft(GoodHeader(), GoodPayload());
  ASSERT_TRUE(hs_only_->Verify(good, kNow).ok());
  std::vector<std::string> parts = absl::StrSplit(good, '.');

  auto resign = [](const std::string& h, const std::string& p) {
    std::string input = absl::StrCat(h, ".", p);
    return absl::StrCat(input, ".", HmacB64(kSecret, input));
  };
  // Padding, standard-alphabet characters, whitespace, non-canonical bits.
  ExpectRefused(*hs_only_, resign(parts[0] + "=", parts[1]), "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(parts[0], ".", parts[1], ".", parts[2], "="), "malformed");
  std::string plus = parts[1];
  plus[3] = '+';
  ExpectRefused(*hs_only_, resign(parts[0], plus), "malformed");
  ExpectRefused(*hs_only_, resign(parts[0], " " + parts[1]), "malformed");
  // "e30" is "{}"; "e31" carries non-zero unused bits.
  EXPECT_EQ(B64("{}"), "e30");
  ExpectRefused(*hs_only_, resign("e31", parts[1]), "malformed");
  ExpectRefused(*hs_only_, resign(parts[0], parts[1] + "A"), "malformed");
  ExpectRefused(*hs_only_, resign(B64("not json"), parts[1]), "malformed");
}

TEST_F(AuthTest, SegmentsAndSize) {
  std::string good = Craft(GoodHeader(), GoodPayload());
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ExpectRefused(*hs_only_, "", "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(parts[0], ".", parts[1]), "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(good, ".", parts[2]), "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(good, "."), "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(".", parts[1], ".", parts[2]), "malformed");
  ExpectRefused(*hs_only_, absl::StrCat(parts[0], "..", parts[2]), "malformed");

  json p = GoodPayload();
  p["pad"] = std::string(7000, 'x');
  std::string big = Craft(GoodHeader(), p);
  ASSERT_GT(big.size(), 8192u);
  ExpectRefused(*hs_only_, big, "too large");
  p["pad"] = std::string(5000, 'x');
  std::string fits = Craft(GoodHeader(), p);
  ASSERT_LE(fits.size(), 8192u);
  EXPECT_TRUE(hs_only_->Verify(fits, kNow).ok());
}

TEST_F(AuthTest, MessagesNeverEchoToken) {
  json p = GoodPayload();
  p["sub"] = "secret-subject-value";
  p["iss"] = "secret-issuer-value";
  std::string token = Craft(GoodHeader(), p, "wrong-key-wrong-key-wrong-key-wrong");
  for (const TokenVerifier* v : {hs_only_.get(), es_only_.get(), both_.get()}) {
    auto r = v->Verify(token, kNow);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(absl::StartsWith(r.status().message(), "token: "));
    EXPECT_FALSE(absl::StrContains(r.status().message(), "secret-"));
    EXPECT_FALSE(absl::StrContains(r.status().message(), token.substr(0, 10)));
  }
}

TEST(TokenVerifierCreate, RefusesUnusableConfig) {
  AuthConfig none;
  EXPECT_EQ(TokenVerifier::Create(none).status().code(), absl::StatusCode::kInvalidArgument);

  AuthConfig short_secret;
  short_secret.hs256_secret = std::string(31, 'k');
  auto r = TokenVerifier::Create(short_secret);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "32 bytes"));

  AuthConfig garbage;
  garbage.es256_public_key_pem = "-----BEGIN PUBLIC KEY-----\nnope\n";
  EXPECT_EQ(TokenVerifier::Create(garbage).status().code(), absl::StatusCode::kInvalidArgument);

  // A private key PEM is not a public key.
  auto keys = GenerateEs256KeyPair();
  ASSERT_TRUE(keys.ok());
  AuthConfig priv;
  priv.es256_public_key_pem = keys->private_pem;
  EXPECT_EQ(TokenVerifier::Create(priv).status().code(), absl::StatusCode::kInvalidArgument);

  // A well-formed EC key on the wrong curve.
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, p384);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  AuthConfig wrong_curve;
  wrong_curve.es256_public_key_pem.assign(data, len);
  BIO_free(bio);
  EVP_PKEY_free(p384);
  r = TokenVerifier::Create(wrong_curve);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "P-256"));

  AuthConfig ok;
  ok.hs256_secret = std::string(32, 'k');
  EXPECT_TRUE(TokenVerifier::Create(ok).ok());
}

// Issue 20, item 4: in production a service holds no key that can mint tokens.
TEST_F(AuthTest, ProductionRefusesHs256) {
  AuthConfig prod;
  prod.production = true;
  prod.hs256_secret = kSecret;
  prod.es256_public_key_pem = keys_.public_pem;
  auto refused = TokenVerifier::Create(prod);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "HS256 secret is refused"));
  EXPECT_FALSE(absl::StrContains(refused.status().message(), kSecret));
  prod.hs256_secret.clear();
  prod.es256_public_key_pem.clear();
  EXPECT_EQ(TokenVerifier::Create(prod).status().code(), absl::StatusCode::kInvalidArgument);

  prod.es256_public_key_pem = keys_.public_pem;
  auto v = TokenVerifier::Create(prod);
  ASSERT_TRUE(v.ok()) << v.status();
  auto hs = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(hs.ok());
  ExpectRefused(**v, *hs, "algorithm not allowed");
  ExpectRefused(**v, Craft(GoodHeader(), GoodPayload()), "algorithm not allowed");
  auto es = MintEs256(GoodClaims(), keys_.private_pem);
  ASSERT_TRUE(es.ok());
  auto caller = (*v)->Verify(*es, kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, "user-1");
}

// A rotation: the services accept the old and the new public key until the old key's
// last token has expired.
TEST_F(AuthTest, SeveralPublicKeysForARotation) {
  auto next = GenerateEs256KeyPair();
  auto stranger = GenerateEs256KeyPair();
  ASSERT_TRUE(next.ok() && stranger.ok());
  AuthConfig both_keys;
  both_keys.production = true;
  both_keys.es256_public_key_pem = absl::StrCat(keys_.public_pem, "\n", next->public_pem);
  auto v = TokenVerifier::Create(both_keys);
  ASSERT_TRUE(v.ok()) << v.status();
  for (const std::string& pem : {keys_.private_pem, next->private_pem}) {
    auto token = MintEs256(GoodClaims(), pem);
    ASSERT_TRUE(token.ok());
    EXPECT_TRUE((*v)->Verify(*token, kNow).ok());
  }
  auto forged = MintEs256(GoodClaims(), stranger->private_pem);
  ASSERT_TRUE(forged.ok());
  ExpectRefused(**v, *forged, "bad signature");

  // One bad block spoils the file: a half-edited key file fails at start, not at a call.
  both_keys.es256_public_key_pem = absl::StrCat(
      keys_.public_pem, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  EXPECT_EQ(TokenVerifier::Create(both_keys).status().code(), absl::StatusCode::kInvalidArgument);
  std::string many;
  for (int i = 0; i < 9; ++i) many += keys_.public_pem;
  both_keys.es256_public_key_pem = many;
  EXPECT_EQ(TokenVerifier::Create(both_keys).status().code(), absl::StatusCode::kInvalidArgument);
}

// Issue 20, item 15: a token lives at most max_lifetime (12 h by default), counted from its
// iat, which may not lie in the future; without iat, from now.
TEST_F(AuthTest, LifetimeIsBounded) {
  constexpr int64_t kNowSec = 1'700'000'000;
  json p = GoodPayload();
  p["iat"] = kNowSec + 31;
  p["exp"] = kNowSec + 3600;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "issued in the future");
  p["iat"] = kNowSec + 29;  // clock skew inside the leeway
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());

  p["iat"] = kNowSec - 60;
  p["exp"] = kNowSec - 60 + 12 * 3600;
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());
  p["exp"] = kNowSec - 60 + 12 * 3600 + 1;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "lifetime too long");
  p["iat"] = kNowSec - 400 * 86400;  // an old iat does not help a far exp
  p["exp"] = kNowSec + 3600;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "lifetime too long");

  p.erase("iat");
  p["exp"] = kNowSec + 11 * 3600;
  EXPECT_TRUE(hs_only_->Verify(Craft(GoodHeader(), p), kNow).ok());
  p["exp"] = kNowSec + 13 * 3600;
  ExpectRefused(*hs_only_, Craft(GoodHeader(), p), "lifetime too long");

  TokenClaims ten_years = GoodClaims();
  ten_years.expires_at = kNow + absl::Hours(24 * 3650);
  for (bool es : {false, true}) {
    auto token = es ? MintEs256(ten_years, keys_.private_pem) : MintHs256(ten_years, kSecret);
    ASSERT_TRUE(token.ok());
    ExpectRefused(*both_, *token, "lifetime too long");
  }

  AuthConfig short_lived;
  short_lived.hs256_secret = kSecret;
  short_lived.max_lifetime = absl::Minutes(30);
  auto v = TokenVerifier::Create(short_lived);
  ASSERT_TRUE(v.ok());
  auto hour = MintHs256(GoodClaims(), kSecret);
  ASSERT_TRUE(hour.ok());
  ExpectRefused(**v, *hour, "lifetime too long");
  short_lived.max_lifetime = absl::ZeroDuration();
  EXPECT_EQ(TokenVerifier::Create(short_lived).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Mint, RefusesBadInput) {
  EXPECT_EQ(MintHs256(GoodClaims(), "short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MintEs256(GoodClaims(), "not a pem").status().code(),
            absl::StatusCode::kInvalidArgument);
  TokenClaims c = GoodClaims();
  c.subject.clear();
  EXPECT_FALSE(MintHs256(c, kSecret).ok());
  c = GoodClaims();
  c.group_id.clear();
  EXPECT_FALSE(MintHs256(c, kSecret).ok());
  c.roles = {"platform_admin"};
  EXPECT_TRUE(MintHs256(c, kSecret).ok());
  c = GoodClaims();
  c.subject = "\xff\xfe";  // not UTF-8: must not throw
  EXPECT_EQ(MintHs256(c, kSecret).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Caller, RoleAndEstateChecks) {
  Caller c;
  c.roles = {"agent", "technician"};
  c.estate_ids = {"e1", "e2"};
  EXPECT_TRUE(c.HasRole(roles::kAgent));
  EXPECT_FALSE(c.HasRole(roles::kGroupAdmin));
  EXPECT_TRUE(c.HasAnyRole({roles::kGroupAdmin, roles::kTechnician}));
  EXPECT_FALSE(c.HasAnyRole({roles::kGroupAdmin, roles::kPlatformAdmin}));
  EXPECT_FALSE(c.HasAnyRole({}));
  EXPECT_TRUE(c.CanSeeEstate("e2"));
  EXPECT_FALSE(c.CanSeeEstate("e3"));
  EXPECT_FALSE(c.CanSeeEstate(""));
  c.all_estates = true;
  EXPECT_TRUE(c.CanSeeEstate("e3"));
}

}  // namespace
}  // namespace wuye
