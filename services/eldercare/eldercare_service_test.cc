// Eldercare over real gRPC against a real PostgreSQL database of its own: enrolment rules,
// roles and purposes on the health card, the audit trail, tenancy, request ids, fees, and
// confidentiality (pg_dump and logs hold no value written, tampered or moved ciphertexts
// are refused, key rotation).
#include "services/eldercare/eldercare_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/eldercare/consumers.h"
#include "services/eldercare/eldercare.h"
#include "services/eldercare/eldercare_jobs.h"
#include "shared/bus.h"
#include "shared/civil_date.h"
#include "shared/ids.h"
#include "shared/outbox.h"
#include "shared/proto_time.h"
#include "shared/redis.h"
#include "shared/server.h"
#include "shared/status.h"
#include "shared/testing/events.h"
#include "shared/testing/rpc_call.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"

ABSL_DECLARE_FLAG(std::string, eldercare_keys_file);
ABSL_DECLARE_FLAG(std::string, eldercare_lookup_key_file);

namespace wuye::eldercare {
namespace {

namespace ev = ::wuye::events::v1;
using Stub = v1::ElderCareService::Stub;
using ::wuye::testing::TestToken;

const std::string kLookupKey = absl::Base64Escape(std::string(32, 'L'));
std::string KeySpec(const std::string& id, char fill) {
  return absl::StrCat(id, ":", absl::Base64Escape(std::string(32, fill)));
}

// 2026-11-24 12:00 in Shanghai.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 24, 4, 0, 0), absl::UTCTimeZone());

// A valid ID number for a birth date.
std::string IdFor(absl::CivilDay dob, const std::string& seq = "123") {
  std::string first17 = absl::StrCat(
      "110105", absl::StrFormat("%04d%02d%02d", dob.year(), dob.month(), dob.day()), seq);
  return first17 + IdCheckCharacter(first17);
}

ev::CivilDate DirDate(absl::CivilDay d) { return CivilDateOf(d); }

class EldercareServiceTest : public ::testing::Test, protected ::wuye::testing::StubCaller<Stub> {
 protected:
  void SetUp() override {
    db_ = tdb_.Open(eldercare_migrations());
    verifier_ = std::move(*TokenVerifier::Create(::wuye::testing::TestAuthConfig()));
    keys_ = std::make_unique<Keyring>(*Keyring::Parse("eldercare", KeySpec("k1", 'a'), kLookupKey));
    StartService(*keys_);
    handler_ = MakeHandler(*db_);
    group_ = NewId(absl::Now());
    estate_ = NewId(absl::Now());
    other_estate_ = NewId(absl::Now());
    Directory("directory.estate.created", EstateOf(estate_, 1));
    Directory("directory.estate.created", EstateOf(other_estate_, 1));
    agent_ = Token({"agent"});
    nurse_ = Token({"nurse"});
    clinic_ = Token({"clinic"});
    manager_ = Token({"estate_manager"});
  }

  void StartService(const Keyring& keys) {
    host_.reset();
    service_ = std::make_unique<ElderCareServiceImpl>(*db_, *verifier_, clock_, keys);
    host_ = std::make_unique<ServiceHost>(ServerOptions{}, db_.get());
    host_->AddService(service_.get(), "wuye.eldercare.v1.ElderCareService");
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ElderCareService::NewStub(channel_);
  }

  // A token valid at the fake clock's time.
  std::string Token(const std::vector<std::string>& roles, const std::string& estate = "*") {
    TokenClaims claims;
    claims.subject = "staff-" + roles[0];
    claims.group_id = group_;
    claims.estate_ids = {estate};
    claims.roles = roles;
    claims.issued_at = clock_.Now() - absl::Minutes(1);
    claims.expires_at = clock_.Now() + absl::Hours(1);
    return *MintHs256(claims, ::wuye::testing::kTestSecret);
  }
  // Moves the clock on, and the usual tokens with it.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    agent_ = Token({"agent"});
    nurse_ = Token({"nurse"});
    clinic_ = Token({"clinic"});
    manager_ = Token({"estate_manager"});
  }

  // Applies a directory event through eldercare's consumer, as the bus would.
  void Directory(const std::string& type, const google::protobuf::Message& payload,
                 const std::string& group = "") {
    ev::Event e = ::wuye::testing::TestEvent(type, group.empty() ? group_ : group, payload);
    ASSERT_TRUE(::wuye::testing::Deliver(*db_, handler_, e).ok());
  }

  ev::EstateChanged EstateOf(const std::string& id, int64_t version) {
    ev::EstateChanged e;
    e.set_estate_id(id);
    e.set_time_zone("Asia/Shanghai");
    e.set_version(version);
    return e;
  }

  // A resident in the directory copy; returns its id.
  std::string Resident(absl::CivilDay dob, ev::ResidentRole role = ev::RESIDENT_ROLE_OWNER,
                       std::optional<std::pair<absl::CivilDay, absl::CivilDay>> lease = {},
                       const std::string& estate = "") {
    ev::ResidentChanged r;
    r.set_resident_id(NewId(absl::Now()));
    r.set_estate_id(estate.empty() ? estate_ : estate);
    r.set_unit_id(NewId(absl::Now()));
    *r.mutable_date_of_birth() = DirDate(dob);
    r.set_role(role);
    if (lease) {
      *r.mutable_lease_start() = DirDate(lease->first);
      *r.mutable_lease_end() = DirDate(lease->second);
    }
    r.set_version(1);
    Directory("directory.resident.created", r);
    return r.resident_id();
  }

  v1::EnrolElderRequest EnrolRequest(const std::string& resident, const std::string& id_number,
                                     const std::string& family_phone = "13812345678") {
    v1::EnrolElderRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_resident_id(resident);
    req.set_id_number(id_number);
    req.mutable_consent()->set_scope("home elderly care and health records");
    req.mutable_consent()->set_version("2026-01");
    *req.mutable_consent()->mutable_signed_at() = ToProtoTime(kStart - absl::Hours(1));
    req.mutable_consent()->set_signed_by("the elder");
    auto* c = req.add_family_contacts();
    c->set_name("Daughter Li");
    c->set_relation("daughter");
    c->set_phone(family_phone);
    return req;
  }

  // Enrols a fresh 70-year-old owner; returns the elder.
  v1::Elder Enrol(const std::string& id_seq = "123", const std::string& phone = "13812345678",
                  const std::string& estate = "") {
    absl::CivilDay dob(1956, 5, 17);
    auto req =
        EnrolRequest(Resident(dob, ev::RESIDENT_ROLE_OWNER, {}, estate), IdFor(dob, id_seq), phone);
    v1::Elder elder;
    grpc::Status st = Call(&Stub::EnrolElder, agent_, req, &elder);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return elder;
  }

  v1::HealthRecordReceipt WriteCard(const std::string& elder, const std::string& allergies,
                                    const std::string& history = "father: hypertension") {
    v1::UpdateHealthCardRequest req;
    req.set_request_id(NewId(absl::Now()));
    auto* card = req.mutable_card();
    card->set_elder_id(elder);
    card->set_blood_type("AB-");
    card->set_family_history(history);
    card->set_recent_illness("bronchitis in October");
    card->set_drug_allergies(allergies);
    card->set_food_taboos("no shellfish");
    v1::HealthRecordReceipt receipt;
    grpc::Status st = Call(&Stub::UpdateHealthCard, nurse_, req, &receipt);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return receipt;
  }

  grpc::Status ReadCard(const std::string& token, const std::string& elder, v1::HealthCard* card,
                        const std::string& purpose = "", const std::string& glass = "") {
    v1::GetHealthCardRequest req;
    req.set_elder_id(elder);
    req.set_purpose(purpose);
    req.set_break_glass_reason(glass);
    return Call(&Stub::GetHealthCard, token, req, card);
  }

  int Count(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }
  void Exec(const std::string& sql) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    tx.exec0(sql);
  }
  std::string Snapshot() {
    std::string out;
    for (const char* t : {"elders", "sealed_values", "health_cards", "checkups", "visits",
                          "family_calls", "care_days", "charges", "emergencies", "safety_checks",
                          "audit_log", "wuye_outbox", "wuye_idempotency"}) {
      absl::StrAppend(&out, t, "=", Count(absl::StrCat("SELECT count(*) FROM ", t)), " ");
    }
    return out;
  }

  // The events in the outbox, oldest first.
  std::vector<ev::Event> Events(const std::string& type = "") {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<ev::Event> out;
    for (const auto& r : tx.exec("SELECT envelope FROM wuye_outbox ORDER BY id")) {
      ev::Event e;
      e.ParseFromString(pqxx::binarystring(r[0]).str());
      if (type.empty() || e.type() == type) out.push_back(e);
    }
    return out;
  }
  std::vector<ev::ElderFeeCharged> Charges(const std::string& elder) {
    std::vector<ev::ElderFeeCharged> out;
    for (const auto& e : Events("eldercare.fee.charged")) {
      ev::ElderFeeCharged fee;
      e.payload().UnpackTo(&fee);
      if (fee.elder_id() == elder) out.push_back(fee);
    }
    return out;
  }

  static std::string Field(const grpc::Status& st) { return ErrorField(FromGrpcStatus(st)); }
  static std::string Reason(const grpc::Status& st) { return ErrorReason(FromGrpcStatus(st)); }

  ::wuye::testing::TestDatabase tdb_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<TokenVerifier> verifier_;
  FakeClock clock_{kStart};
  std::unique_ptr<Keyring> keys_;
  std::unique_ptr<ElderCareServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  EventHandler handler_;
  std::string group_, estate_, other_estate_, agent_, nurse_, clinic_, manager_;
};

// ---- Enrolment ------------------------------------------------------------------------

TEST_F(EldercareServiceTest, AnOwnerOfSixtyExactlyIsEnrolledAndCharged) {
  absl::CivilDay dob(1966, 11, 24);  // 60 today in Shanghai
  auto req = EnrolRequest(Resident(dob), IdFor(dob));
  v1::Elder elder;
  grpc::Status st = Call(&Stub::EnrolElder, agent_, req, &elder);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(elder.state(), v1::ELDER_STATE_ENROLLED);
  EXPECT_EQ(elder.estate_id(), estate_);
  EXPECT_EQ(elder.enrolled_on().day(), 24);
  EXPECT_EQ(elder.next_visit_due().month(), 12);
  EXPECT_EQ(elder.next_visit_due().day(), 1);
  EXPECT_EQ(elder.paid_through().year(), 2027);
  EXPECT_TRUE(elder.deposit_held());

  auto charges = Charges(elder.id());
  ASSERT_EQ(charges.size(), 4u);
  int64_t total = 0;
  std::set<std::string> ids;
  for (const auto& c : charges) {
    total += c.amount_fen();
    ids.insert(c.charge_id());
    EXPECT_EQ(c.unit_id(), elder.unit_id());
    EXPECT_EQ(c.payer(), ev::ELDER_FEE_PAYER_RESIDENT);
  }
  EXPECT_EQ(total, 415000);
  EXPECT_EQ(ids.size(), 4u);
  auto enrolled = Events("eldercare.elder.enrolled");
  ASSERT_EQ(enrolled.size(), 1u);
  ev::ElderStatusChanged status;
  ASSERT_TRUE(enrolled[0].payload().UnpackTo(&status));
  EXPECT_TRUE(status.enrolled());
  EXPECT_EQ(status.resident_id(), req.resident_id());
}

TEST_F(EldercareServiceTest, FiftyNineYearsAnd364DaysIsRefusedAndNothingWritten) {
  absl::CivilDay dob(1966, 11, 25);
  auto req = EnrolRequest(Resident(dob), IdFor(dob));
  std::string before = Snapshot();
  v1::Elder elder;
  grpc::Status st = Call(&Stub::EnrolElder, agent_, req, &elder);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "UNDER_60");
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(EldercareServiceTest, TenantsNeedALeaseOfAYear) {
  absl::CivilDay dob(1950, 1, 1);
  auto short_lease = Resident(dob, ev::RESIDENT_ROLE_TENANT,
                              std::pair{absl::CivilDay(2026, 6, 1), absl::CivilDay(2027, 5, 30)});
  v1::Elder elder;
  grpc::Status st = Call(&Stub::EnrolElder, agent_, EnrolRequest(short_lease, IdFor(dob)), &elder);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "LEASE_UNDER_A_YEAR");
  auto year = Resident(dob, ev::RESIDENT_ROLE_TENANT,
                       std::pair{absl::CivilDay(2026, 6, 1), absl::CivilDay(2027, 5, 31)});
  st = Call(&Stub::EnrolElder, agent_, EnrolRequest(year, IdFor(dob)), &elder);
  EXPECT_TRUE(st.ok()) << st.error_message();
  auto family = Resident(dob, ev::RESIDENT_ROLE_FAMILY);
  st = Call(&Stub::EnrolElder, agent_, EnrolRequest(family, IdFor(dob, "456")), &elder);
  EXPECT_EQ(Reason(st), "NOT_OWNER_OR_TENANT");
}

TEST_F(EldercareServiceTest, IdNumbersAreCheckedMatchedAndUnique) {
  absl::CivilDay dob(1950, 3, 4);
  std::string resident = Resident(dob);
  std::string good = IdFor(dob);
  std::string wrong_check = good.substr(0, 17) + (good[17] == '1' ? '2' : '1');
  v1::Elder elder;
  std::string before = Snapshot();
  grpc::Status st = Call(&Stub::EnrolElder, agent_, EnrolRequest(resident, wrong_check), &elder);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "id_number");
  EXPECT_EQ(st.error_message().find(wrong_check), std::string::npos);
  st = Call(&Stub::EnrolElder, agent_, EnrolRequest(resident, IdFor(absl::CivilDay(1950, 3, 5))),
            &elder);
  EXPECT_EQ(Reason(st), "ID_NUMBER_MISMATCH");
  EXPECT_EQ(Snapshot(), before);
  ASSERT_TRUE(Call(&Stub::EnrolElder, agent_, EnrolRequest(resident, good), &elder).ok());
  // The same ID number for another resident, and the same resident again.
  st = Call(&Stub::EnrolElder, agent_, EnrolRequest(Resident(dob), good), &elder);
  EXPECT_EQ(Reason(st), "ID_NUMBER_ENROLLED");
  st = Call(&Stub::EnrolElder, agent_, EnrolRequest(resident, IdFor(dob, "999")), &elder);
  EXPECT_EQ(Reason(st), "ALREADY_ENROLLED");
}

TEST_F(EldercareServiceTest, BadInputIsRefusedNamingTheFieldAndNothingIsWritten) {
  absl::CivilDay dob(1950, 1, 1);
  std::string resident = Resident(dob);
  std::string before = Snapshot();
  struct Case {
    std::function<void(v1::EnrolElderRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_resident_id(""); }, "resident_id"},
      {[](auto& r) { r.set_resident_id("nope"); }, "resident_id"},
      {[](auto& r) { r.set_id_number(""); }, "id_number"},
      {[](auto& r) { r.clear_consent(); }, "consent"},
      {[](auto& r) { r.mutable_consent()->set_scope(""); }, "consent.scope"},
      {[](auto& r) { r.mutable_consent()->clear_signed_at(); }, "consent.signed_at"},
      {[](auto& r) {
         *r.mutable_consent()->mutable_signed_at() = ToProtoTime(kStart + absl::Hours(2));
       },
       "consent.signed_at"},
      {[](auto& r) { r.clear_family_contacts(); }, "family_contacts"},
      {[](auto& r) { r.mutable_family_contacts(0)->set_phone("12"); }, "family_contacts[0].phone"},
      {[](auto& r) { r.mutable_family_contacts(0)->set_name(""); }, "family_contacts[0].name"},
      {[](auto& r) { r.set_visit_every_days(91); }, "visit_every_days"},
      {[](auto& r) { r.set_request_id(""); }, "request_id"},
  };
  for (auto& c : cases) {
    auto req = EnrolRequest(resident, IdFor(dob));
    c.mutate(req);
    v1::Elder elder;
    grpc::Status st = Call(&Stub::EnrolElder, agent_, req, &elder);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(Field(st), c.field);
  }
  v1::Elder elder;
  auto unknown = EnrolRequest(NewId(absl::Now()), IdFor(dob));
  EXPECT_EQ(Call(&Stub::EnrolElder, agent_, unknown, &elder).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(EldercareServiceTest, ARetryReturnsTheFirstAnswerAndAReusedIdIsRefused) {
  absl::CivilDay dob(1950, 1, 1);
  auto req = EnrolRequest(Resident(dob), IdFor(dob));
  v1::Elder first, again;
  ASSERT_TRUE(Call(&Stub::EnrolElder, agent_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::EnrolElder, agent_, req, &again).ok());
  EXPECT_EQ(first.id(), again.id());
  EXPECT_EQ(Count("SELECT count(*) FROM elders"), 1);
  EXPECT_EQ(Charges(first.id()).size(), 4u);
  req.set_id_number(IdFor(dob, "777"));
  grpc::Status st = Call(&Stub::EnrolElder, agent_, req, &again);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  // The stored request hash is keyed: no plain SHA-256 of the ID number's request.
  EXPECT_EQ(Count("SELECT count(*) FROM wuye_idempotency WHERE response IS NOT NULL"), 1);
}

// ---- The health card: need to know, purposes, break-glass, audit --------------------------

TEST_F(EldercareServiceTest, TheCardIsReadInFullByCareRolesOnlyAndEveryAccessIsAudited) {
  v1::Elder elder = Enrol();
  v1::HealthRecordReceipt receipt = WriteCard(elder.id(), "penicillin");
  EXPECT_EQ(receipt.version(), 1);
  EXPECT_EQ(receipt.key_id(), "k1");

  for (std::string role : {"nurse", "care_worker", "clinic"}) {
    v1::HealthCard card;
    ASSERT_TRUE(ReadCard(Token({role}), elder.id(), &card).ok()) << role;
    EXPECT_EQ(card.view(), v1::CARD_VIEW_FULL);
    EXPECT_EQ(card.drug_allergies(), "penicillin");
    EXPECT_EQ(card.family_history(), "father: hypertension");
    EXPECT_EQ(card.version(), 1);
  }

  // The front desk: emergency part only, and only with a purpose.
  v1::HealthCard card;
  grpc::Status st = ReadCard(agent_, elder.id(), &card);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "purpose");
  ASSERT_TRUE(ReadCard(Token({"team_lead"}), elder.id(), &card, "ambulance called").ok());
  EXPECT_EQ(card.view(), v1::CARD_VIEW_EMERGENCY);
  EXPECT_EQ(card.blood_type(), "AB-");
  EXPECT_EQ(card.drug_allergies(), "penicillin");
  EXPECT_EQ(card.family_history(), "");
  EXPECT_EQ(card.recent_illness(), "");
  EXPECT_EQ(card.food_taboos(), "");

  // Break-glass: the whole card, flagged.
  ASSERT_TRUE(ReadCard(Token({"supervisor"}), elder.id(), &card, "", "elder collapsed").ok());
  EXPECT_EQ(card.view(), v1::CARD_VIEW_BREAK_GLASS);
  EXPECT_EQ(card.recent_illness(), "bronchitis in October");

  // Everyone else: denied, break-glass or not; and the front desk cannot write.
  for (std::string role : {"technician", "finance_clerk", "cleaner", "group_admin",
                           "security_guard", "quality_inspector"}) {
    EXPECT_EQ(ReadCard(Token({role}), elder.id(), &card, "curious", "curious").error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << role;
  }
  v1::UpdateHealthCardRequest write;
  write.set_request_id("agent-write");
  write.mutable_card()->set_elder_id(elder.id());
  v1::HealthRecordReceipt r;
  EXPECT_EQ(Call(&Stub::UpdateHealthCard, agent_, write, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The trail: 1 write + 3 full reads + 1 emergency read + 1 break-glass, newest first.
  v1::ListAuditEntriesRequest list;
  list.set_elder_id(elder.id());
  v1::ListAuditEntriesResponse trail;
  ASSERT_TRUE(Call(&Stub::ListAuditEntries, manager_, list, &trail).ok());
  std::vector<std::string> actions;
  for (const auto& a : trail.entries()) actions.push_back(a.action());
  EXPECT_EQ(actions,
            (std::vector<std::string>{"health_card.break_glass", "health_card.read",
                                      "health_card.read", "health_card.read", "health_card.read",
                                      "health_card.write", "enrolment.write"}));
  EXPECT_TRUE(trail.entries(0).break_glass());
  EXPECT_EQ(trail.entries(0).purpose(), "elder collapsed");
  EXPECT_EQ(trail.entries(0).actor(), "staff-supervisor");
  EXPECT_EQ(trail.entries(1).purpose(), "ambulance called");
  EXPECT_EQ(trail.entries(1).fields_size(), 2);
  list.set_break_glass_only(true);
  ASSERT_TRUE(Call(&Stub::ListAuditEntries, manager_, list, &trail).ok());
  EXPECT_EQ(trail.entries_size(), 1);
  EXPECT_EQ(Call(&Stub::ListAuditEntries, agent_, list, &trail).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(EldercareServiceTest, AnotherGroupOrEstateSeesAndChangesNothing) {
  v1::Elder elder = Enrol();
  WriteCard(elder.id(), "penicillin");
  std::string before = Snapshot();
  std::string stranger = TestToken(NewId(absl::Now()), {"*"}, {"nurse", "agent"});
  std::string elsewhere = Token({"nurse", "agent"}, other_estate_);
  v1::HealthCard card;
  EXPECT_EQ(ReadCard(stranger, elder.id(), &card).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReadCard(elsewhere, elder.id(), &card).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetElderRequest get;
  get.set_id(elder.id());
  v1::Elder e;
  EXPECT_EQ(Call(&Stub::GetElder, stranger, get, &e).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::UpdateHealthCardRequest write;
  write.set_request_id("x-write");
  write.mutable_card()->set_elder_id(elder.id());
  v1::HealthRecordReceipt r;
  EXPECT_EQ(Call(&Stub::UpdateHealthCard, stranger, write, &r).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::UpdateHealthCard, elsewhere, write, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ExitElderRequest exit;
  exit.set_request_id("x-exit");
  exit.set_elder_id(elder.id());
  exit.set_reason("moved away");
  EXPECT_EQ(Call(&Stub::ExitElder, stranger, exit, &e).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetFamilyContactsRequest contacts;
  contacts.set_elder_id(elder.id());
  contacts.set_purpose("call");
  v1::FamilyContacts fc;
  EXPECT_EQ(Call(&Stub::GetFamilyContacts, stranger, contacts, &fc).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Call(&Stub::GetElder, "", get, &e).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// ---- Confidentiality -----------------------------------------------------------------------

TEST_F(EldercareServiceTest, ATamperedOrMovedCiphertextIsReportedNotReturned) {
  v1::Elder a = Enrol("123");
  v1::Elder b = Enrol("456", "13700000000");
  WriteCard(a.id(), "aspirin-A");
  WriteCard(b.id(), "sulfa-B");
  // Moved: b's allergies now hold a's ciphertext.
  Exec(
      absl::StrCat("UPDATE sealed_values SET blob = (SELECT blob FROM sealed_values WHERE "
                   "record_id = '",
                   a.id(),
                   "' AND field = 'drug_allergies' AND record_table = "
                   "'health_cards') WHERE record_id = '",
                   b.id(), "' AND field = 'drug_allergies' AND record_table = 'health_cards'"));
  v1::HealthCard card;
  ::testing::internal::CaptureStderr();
  grpc::Status st = ReadCard(nurse_, b.id(), &card);
  std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(Reason(st), "CIPHERTEXT_REJECTED");
  EXPECT_EQ(card.drug_allergies(), "");
  EXPECT_NE(logs.find("eldercare.ciphertext_rejected"), std::string::npos);
  EXPECT_EQ(logs.find("aspirin-A"), std::string::npos);
  // Tampered: one bit of a's blood type.
  Exec(
      absl::StrCat("UPDATE sealed_values SET blob = overlay(blob placing "
                   "decode(lpad(to_hex(get_byte(blob, 14) # 1), 2, '0'), 'hex') from 15 for 1) "
                   "WHERE record_id = '",
                   a.id(), "' AND field = 'blood_type'"));
  st = ReadCard(nurse_, a.id(), &card);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS);
  // A key id relabelled to a key not loaded: named, not returned.
  v1::Elder c3 = Enrol("789", "13700000009");
  WriteCard(c3.id(), "iodine-C");
  Exec(absl::StrCat("UPDATE sealed_values SET key_id = 'k9' WHERE record_id = '", c3.id(),
                    "' AND field = 'food_taboos'"));
  st = ReadCard(nurse_, c3.id(), &card);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(Reason(st), "KEY_NOT_LOADED");
  // The front desk's emergency view opens only its two fields, so it still works.
  ASSERT_TRUE(ReadCard(agent_, c3.id(), &card, "ambulance called").ok());
  EXPECT_EQ(card.drug_allergies(), "iodine-C");
  // A refused read is audited as refused, never as returned.
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM audit_log WHERE elder_id = '", b.id(),
                               "' AND action = 'health_card.read'")),
            0);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM audit_log WHERE elder_id = '", b.id(),
                               "' AND action = 'health_card.read_refused' AND purpose = "
                               "'CIPHERTEXT_REJECTED'")),
            1);
}

TEST_F(EldercareServiceTest, NoValueWrittenAppearsInTheDatabaseDumpOrTheLogs) {
  const std::vector<std::string> secrets = {"Warfarin-allergy-7731", "grandmother-diabetes-5521",
                                            "pneumonia-march-8812",  "no-grapefruit-4410",
                                            "13698765432",           "ecg-irregular-3390",
                                            "plan-insulin-2231",     "seemed-confused-6621",
                                            "pressure-sore-9912",    "visit-bruise-1177"};
  absl::CivilDay dob(1955, 8, 8);
  std::string id_number = IdFor(dob, "314");
  ::testing::internal::CaptureStderr();
  auto req = EnrolRequest(Resident(dob), id_number, secrets[4]);
  v1::Elder elder;
  ASSERT_TRUE(Call(&Stub::EnrolElder, agent_, req, &elder).ok());
  ASSERT_TRUE(Call(&Stub::EnrolElder, agent_, req, &elder).ok());  // a retry
  v1::UpdateHealthCardRequest card;
  card.set_request_id("card-1");
  card.mutable_card()->set_elder_id(elder.id());
  card.mutable_card()->set_blood_type("B+");
  card.mutable_card()->set_drug_allergies(secrets[0]);
  card.mutable_card()->set_family_history(secrets[1]);
  card.mutable_card()->set_recent_illness(secrets[2]);
  card.mutable_card()->set_food_taboos(secrets[3]);
  v1::HealthRecordReceipt receipt;
  ASSERT_TRUE(Call(&Stub::UpdateHealthCard, nurse_, card, &receipt).ok());
  v1::RecordCheckupRequest checkup;
  checkup.set_request_id("checkup-1");
  checkup.mutable_checkup()->set_elder_id(elder.id());
  *checkup.mutable_checkup()->mutable_performed_on() = ToDate(absl::CivilDay(2026, 11, 20));
  checkup.mutable_checkup()->set_results(secrets[5]);
  v1::Checkup c;
  ASSERT_TRUE(Call(&Stub::RecordCheckup, clinic_, checkup, &c).ok());
  EXPECT_EQ(c.results(), "");
  v1::SetCarePlanRequest plan;
  plan.set_request_id("plan-1");
  plan.set_checkup_id(c.id());
  plan.set_care_plan(secrets[6]);
  ASSERT_TRUE(Call(&Stub::SetCarePlan, clinic_, plan, &c).ok());
  v1::RecordFamilyCallRequest call;
  call.set_request_id("call-1");
  call.set_elder_id(elder.id());
  call.set_what_was_seen(secrets[7]);
  v1::FamilyCall fc;
  ASSERT_TRUE(Call(&Stub::RecordFamilyCall, agent_, call, &fc).ok());
  v1::RecordCareDayRequest day;
  day.set_request_id("day-1");
  day.set_elder_id(elder.id());
  *day.mutable_day() = ToDate(absl::CivilDay(2026, 11, 24));
  day.set_kind(v1::CARE_KIND_SICKBED);
  day.set_supervision_note(secrets[8]);
  v1::CareDay cd;
  ASSERT_TRUE(Call(&Stub::RecordCareDay, nurse_, day, &cd).ok());
  v1::RecordVisitRequest visit;
  visit.set_request_id("visit-1");
  visit.set_elder_id(elder.id());
  visit.set_observations(secrets[9]);
  v1::Visit v;
  ASSERT_TRUE(Call(&Stub::RecordVisit, agent_, visit, &v).ok());
  // Reads, and a refused read, all logged.
  v1::HealthCard read;
  ASSERT_TRUE(ReadCard(nurse_, elder.id(), &read).ok());
  EXPECT_EQ(read.drug_allergies(), secrets[0]);
  EXPECT_FALSE(ReadCard(Token({"technician"}), elder.id(), &read).ok());
  v1::GetCheckupRequest get_checkup;
  get_checkup.set_id(c.id());
  get_checkup.set_purpose("review");
  ASSERT_TRUE(Call(&Stub::GetCheckup, clinic_, get_checkup, &c).ok());
  EXPECT_EQ(c.results(), secrets[5]);
  EXPECT_EQ(c.care_plan(), secrets[6]);
  v1::GetFamilyContactsRequest get_contacts;
  get_contacts.set_elder_id(elder.id());
  get_contacts.set_purpose("weekly call");
  v1::FamilyContacts contacts;
  ASSERT_TRUE(Call(&Stub::GetFamilyContacts, agent_, get_contacts, &contacts).ok());
  ASSERT_EQ(contacts.contacts_size(), 1);
  EXPECT_EQ(contacts.contacts(0).phone(), secrets[4]);
  std::string logs = ::testing::internal::GetCapturedStderr();

  std::string cmd =
      absl::StrCat("/usr/lib/postgresql/15/bin/pg_dump --no-owner '", tdb_.url(), "'");
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string dump;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) dump.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0);
  ASSERT_NE(dump.find("sealed_values"), std::string::npos);
  ASSERT_NE(dump.find(elder.id()), std::string::npos);  // the dump holds the rows

  std::vector<std::string> all = secrets;
  all.push_back(id_number);
  for (const std::string& s : all) {
    // bytea columns are dumped in hex: look for that form too.
    std::string hex = absl::BytesToHexString(s);
    EXPECT_EQ(dump.find(s), std::string::npos) << "dump holds a value";
    EXPECT_EQ(dump.find(hex), std::string::npos) << "dump holds a value in hex";
    EXPECT_EQ(logs.find(s), std::string::npos) << "logs hold a value";
  }
  EXPECT_NE(logs.find("eldercare.EnrolElder"), std::string::npos);  // the logs were captured
}

TEST_F(EldercareServiceTest, RotationReencryptsEveryRecordAndTheOldKeyCanGo) {
  v1::Elder elder = Enrol();
  WriteCard(elder.id(), "penicillin");
  v1::Elder second = Enrol("456", "13700000001");
  WriteCard(second.id(), "latex");
  int sealed = Count("SELECT count(*) FROM sealed_values");
  ASSERT_GT(sealed, 10);
  EXPECT_EQ(Count("SELECT count(*) FROM sealed_values WHERE key_id = 'k1'"), sealed);

  Keyring both =
      *Keyring::Parse("eldercare", KeySpec("k2", 'b') + "," + KeySpec("k1", 'a'), kLookupKey);
  StartService(both);
  std::string platform = TestToken("", {}, {"platform_admin"});
  v1::RotateKeysRequest rotate;
  rotate.set_batch_size(4);
  v1::RotateKeysResponse done;
  EXPECT_EQ(Call(&Stub::RotateKeys, manager_, rotate, &done).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  int calls = 0;
  do {
    rotate.set_request_id(absl::StrCat("rotate-", calls++));
    ASSERT_TRUE(Call(&Stub::RotateKeys, platform, rotate, &done).ok());
    EXPECT_EQ(done.active_key_id(), "k2");
  } while (done.remaining() > 0 && calls < 20);
  EXPECT_EQ(done.remaining(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM sealed_values WHERE key_id = 'k2'"), sealed);
  EXPECT_GE(Count("SELECT count(*) FROM audit_log WHERE action = 'key.rotate'"), 2);

  Keyring new_only = *Keyring::Parse("eldercare", KeySpec("k2", 'b'), kLookupKey);
  StartService(new_only);
  v1::HealthCard card;
  ASSERT_TRUE(ReadCard(nurse_, elder.id(), &card).ok());
  EXPECT_EQ(card.drug_allergies(), "penicillin");
  ASSERT_TRUE(ReadCard(nurse_, second.id(), &card).ok());
  EXPECT_EQ(card.drug_allergies(), "latex");
  v1::GetFamilyContactsRequest fc;
  fc.set_elder_id(second.id());
  fc.set_purpose("weekly call");
  v1::FamilyContacts contacts;
  ASSERT_TRUE(Call(&Stub::GetFamilyContacts, agent_, fc, &contacts).ok());
  EXPECT_EQ(contacts.contacts(0).phone(), "13700000001");
  // ID-number lookups survive rotation (the lookup key is separate).
  absl::CivilDay dob(1956, 5, 17);
  v1::Elder dup;
  grpc::Status st =
      Call(&Stub::EnrolElder, agent_, EnrolRequest(Resident(dob), IdFor(dob, "123")), &dup);
  EXPECT_EQ(Reason(st), "ID_NUMBER_ENROLLED");
}

TEST_F(EldercareServiceTest, TheServiceRefusesToStartWithoutAKey) {
  unsetenv("WUYE_ELDERCARE_KEYS");
  unsetenv("WUYE_ELDERCARE_LOOKUP_KEY");
  auto ring = KeyringFromEnvironment();
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  setenv("WUYE_ELDERCARE_KEYS", KeySpec("e1", 'z').c_str(), 1);
  setenv("WUYE_ELDERCARE_LOOKUP_KEY", kLookupKey.c_str(), 1);
  ring = KeyringFromEnvironment();
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active_key_id(), "e1");
  unsetenv("WUYE_ELDERCARE_KEYS");
  unsetenv("WUYE_ELDERCARE_LOOKUP_KEY");
  // Or from mounted files (a Kubernetes Secret volume).
  std::string dir = ::testing::TempDir();
  std::string keys_file = dir + "/eldercare-keys", lookup_file = dir + "/eldercare-lookup";
  std::FILE* f = std::fopen(keys_file.c_str(), "w");
  std::fprintf(f, "%s,%s\n", KeySpec("f2", 'y').c_str(), KeySpec("f1", 'x').c_str());
  std::fclose(f);
  f = std::fopen(lookup_file.c_str(), "w");
  std::fprintf(f, "%s\n", kLookupKey.c_str());
  std::fclose(f);
  absl::SetFlag(&FLAGS_eldercare_keys_file, keys_file);
  absl::SetFlag(&FLAGS_eldercare_lookup_key_file, lookup_file);
  ring = KeyringFromEnvironment();
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active_key_id(), "f2");
  EXPECT_TRUE(ring->Has("f1"));
  absl::SetFlag(&FLAGS_eldercare_keys_file, dir + "/missing");
  EXPECT_FALSE(KeyringFromEnvironment().ok());
  absl::SetFlag(&FLAGS_eldercare_keys_file, "");
  absl::SetFlag(&FLAGS_eldercare_lookup_key_file, "");
}

// ---- Care, fees, visits, emergencies, safety checks ---------------------------------------

TEST_F(EldercareServiceTest, CareDaysCheckupsAndExitAreChargedExactlyOnce) {
  v1::Elder elder = Enrol();
  v1::RecordCheckupRequest checkup;
  checkup.set_request_id("checkup-1");
  checkup.mutable_checkup()->set_elder_id(elder.id());
  *checkup.mutable_checkup()->mutable_performed_on() = ToDate(absl::CivilDay(2026, 11, 24));
  checkup.mutable_checkup()->set_results("normal");
  checkup.mutable_checkup()->set_cost_fen(28500);
  v1::Checkup c;
  ASSERT_TRUE(Call(&Stub::RecordCheckup, nurse_, checkup, &c).ok());
  ASSERT_TRUE(Call(&Stub::RecordCheckup, nurse_, checkup, &c).ok());  // retry
  EXPECT_EQ(c.cost_fen(), 28500);

  auto care_day = [&](absl::CivilDay d, v1::CareKind kind) {
    v1::RecordCareDayRequest req;
    req.set_request_id(absl::StrCat("day-", DayText(d)));
    req.set_elder_id(elder.id());
    *req.mutable_day() = ToDate(d);
    req.set_kind(kind);
    req.set_supervision_note("checked");
    v1::CareDay out;
    return Call(&Stub::RecordCareDay, nurse_, req, &out);
  };
  ASSERT_TRUE(care_day(absl::CivilDay(2026, 11, 24), v1::CARE_KIND_SICKBED).ok());
  Advance(absl::Hours(24));
  ASSERT_TRUE(care_day(absl::CivilDay(2026, 11, 25), v1::CARE_KIND_SICKBED).ok());
  Advance(absl::Hours(24));
  ASSERT_TRUE(care_day(absl::CivilDay(2026, 11, 26), v1::CARE_KIND_HOSPICE).ok());
  grpc::Status st = care_day(absl::CivilDay(2026, 11, 27), v1::CARE_KIND_HOSPICE);
  EXPECT_EQ(Field(st), "day");  // tomorrow
  v1::RecordCareDayRequest twice;
  twice.set_request_id("day-again");
  twice.set_elder_id(elder.id());
  *twice.mutable_day() = ToDate(absl::CivilDay(2026, 11, 26));
  twice.set_kind(v1::CARE_KIND_SICKBED);
  twice.set_supervision_note("again");
  v1::CareDay cd;
  EXPECT_EQ(Reason(Call(&Stub::RecordCareDay, nurse_, twice, &cd)), "CARE_DAY_RECORDED");

  // The settlement charges the days before today (11-24, 11-25), once.
  Settlement settlement(*db_, clock_);
  ASSERT_TRUE(settlement.Tick().ok());
  ASSERT_TRUE(settlement.Tick().ok());
  std::map<int, int64_t> fen;
  std::map<int, int> qty;
  for (const auto& ch : Charges(elder.id())) {
    fen[ch.kind()] += ch.amount_fen();
    qty[ch.kind()] += ch.quantity();
  }
  // The 300-yuan advance, settled at the actual cost (004_… 5.2.4, 多还少补).
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_CHECKUP], 30000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_CHECKUP_RETURN], 1500);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_SICKBED_DAYS], 16000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_HOSPICE_DAYS], 0);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE], 2000);

  // Exit: today's hospice day is charged and the deposit refunded in full.
  v1::ExitElderRequest exit;
  exit.set_request_id("exit-1");
  exit.set_elder_id(elder.id());
  exit.set_reason("moved to a daughter's home");
  v1::Elder exited;
  ASSERT_TRUE(Call(&Stub::ExitElder, agent_, exit, &exited).ok());
  ASSERT_TRUE(Call(&Stub::ExitElder, agent_, exit, &exited).ok());  // retry
  EXPECT_EQ(exited.state(), v1::ELDER_STATE_EXITED);
  EXPECT_FALSE(exited.deposit_held());
  exit.set_request_id("exit-2");
  EXPECT_EQ(Reason(Call(&Stub::ExitElder, agent_, exit, &exited)), "ELDER_NOT_ENROLLED");
  ASSERT_TRUE(settlement.Tick().ok());
  fen.clear();
  std::set<std::string> ids;
  int n = 0;
  for (const auto& ch : Charges(elder.id())) {
    fen[ch.kind()] += ch.amount_fen();
    ids.insert(ch.charge_id());
    ++n;
    if (ch.kind() == ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE) {
      EXPECT_EQ(ch.payer(), ev::ELDER_FEE_PAYER_CLINIC);
    }
  }
  EXPECT_EQ(static_cast<int>(ids.size()), n);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_HOSPICE_DAYS], 10000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_CLINIC_MANAGEMENT_FEE], 3000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT], 300000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_DEPOSIT_REFUND], 300000);
  // The refund names the deposit it returns: billing returns what of it was paid (5.9).
  std::string deposit, refunded;
  for (const auto& ch : Charges(elder.id())) {
    if (ch.kind() == ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT) deposit = ch.charge_id();
    if (ch.kind() == ev::ELDER_FEE_KIND_DEPOSIT_REFUND) refunded = ch.settles_charge_id();
  }
  EXPECT_FALSE(deposit.empty());
  EXPECT_EQ(refunded, deposit);
  EXPECT_EQ(Events("eldercare.elder.exited").size(), 1u);
}

// ---- Elderly-care money (004_… 5.2) ------------------------------------------------------

// 004_… 备注 "关于各种收费金额,要根据当地人民消费水平酌情降低": each fee of 5.2 is a setting of the
// group with an estate override, the seed's figure by default; a fee of 0 is not charged.
TEST_F(EldercareServiceTest, FeesAreSettingsOfTheGroupWithAnEstateOverride) {
  std::string finance = Token({"finance_clerk"});
  v1::GetFeeSettingsRequest get;
  get.set_estate_id(estate_);
  v1::FeeSettings in_force;
  ASSERT_TRUE(Call(&Stub::GetFeeSettings, agent_, get, &in_force).ok());
  EXPECT_EQ(in_force.fees().service_year_fen(), 100000);
  EXPECT_EQ(in_force.fees().emergency_deposit_fen(), 300000);
  EXPECT_EQ(in_force.fees().clinic_management_day_fen(), 1000);
  EXPECT_EQ(in_force.version(), 0);

  v1::SetFeeSettingsRequest group_req;
  group_req.set_request_id(NewId(absl::Now()));
  group_req.mutable_fees()->set_service_year_fen(80000);
  group_req.mutable_fees()->set_sickbed_day_fen(6000);
  v1::FeeSettings out;
  EXPECT_EQ(Call(&Stub::SetFeeSettings, manager_, group_req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // the group's fees are finance's
  EXPECT_EQ(Call(&Stub::SetFeeSettings, agent_, group_req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::SetFeeSettings, finance, group_req, &out).ok());
  ASSERT_TRUE(Call(&Stub::SetFeeSettings, finance, group_req, &out).ok());  // retry
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.fees().service_year_fen(), 80000);
  EXPECT_FALSE(out.overrides().has_health_card_fen());

  v1::SetFeeSettingsRequest estate_req;
  estate_req.set_request_id(NewId(absl::Now()));
  estate_req.set_estate_id(estate_);
  estate_req.mutable_fees()->set_emergency_deposit_fen(200000);
  estate_req.mutable_fees()->set_health_card_fen(0);  // paid by the local government
  ASSERT_TRUE(Call(&Stub::SetFeeSettings, manager_, estate_req, &out).ok());
  EXPECT_EQ(out.fees().service_year_fen(), 80000);  // the group's
  EXPECT_EQ(out.fees().emergency_deposit_fen(), 200000);
  EXPECT_EQ(out.fees().health_card_fen(), 0);

  // Bad input, another estate, an unknown estate: refused, nothing changed.
  v1::SetFeeSettingsRequest bad = estate_req;
  bad.set_request_id(NewId(absl::Now()));
  bad.mutable_fees()->set_hospice_day_fen(-1);
  EXPECT_EQ(Field(Call(&Stub::SetFeeSettings, manager_, bad, &out)), "fees.hospice_day_fen");
  bad.mutable_fees()->set_hospice_day_fen(20000000);
  EXPECT_EQ(Field(Call(&Stub::SetFeeSettings, manager_, bad, &out)), "fees.hospice_day_fen");
  // 004_… 备注 ("酌情降低"): above the seed's 100 yuan a day is refused too.
  bad.mutable_fees()->set_hospice_day_fen(10001);
  EXPECT_EQ(Field(Call(&Stub::SetFeeSettings, manager_, bad, &out)), "fees.hospice_day_fen");
  bad.mutable_fees()->clear_hospice_day_fen();
  bad.set_estate_id(other_estate_);
  EXPECT_EQ(Call(&Stub::SetFeeSettings, Token({"estate_manager"}, estate_), bad, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  bad.set_estate_id(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::SetFeeSettings, finance, bad, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Enrolment charges the fees in force where the elder lives.
  std::map<int, int64_t> fen;
  for (const auto& ch : Charges(Enrol("123").id())) fen[ch.kind()] += ch.amount_fen();
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_SERVICE_YEAR], 80000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT], 200000);
  EXPECT_EQ(fen.count(ev::ELDER_FEE_KIND_HEALTH_CARD), 0u);
  fen.clear();
  for (const auto& ch : Charges(Enrol("124", "13812345679", other_estate_).id())) {
    fen[ch.kind()] += ch.amount_fen();
  }
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_SERVICE_YEAR], 80000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT], 300000);
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_HEALTH_CARD], 5000);

  // Another group's settings are its own.
  std::string other_group = NewId(absl::Now());
  TokenClaims claims;
  claims.subject = "rival";
  claims.group_id = other_group;
  claims.estate_ids = {"*"};
  claims.roles = {"finance_clerk"};
  claims.issued_at = clock_.Now() - absl::Minutes(1);
  claims.expires_at = clock_.Now() + absl::Hours(1);
  v1::GetFeeSettingsRequest group_get;
  ASSERT_TRUE(Call(&Stub::GetFeeSettings, *MintHs256(claims, ::wuye::testing::kTestSecret),
                   group_get, &in_force)
                  .ok());
  EXPECT_EQ(in_force.fees().service_year_fen(), 100000);
}

// 004_… 5.2.2 "亲情电话联系话费每人预缴100元由管理处负责保管与使用": each family call is paid from
// the prepaid fund, whose balance the elder shows, and the fund is topped up when it cannot
// pay the next call.
TEST_F(EldercareServiceTest, FamilyCallsDrawDownThePrepaidFundWhichIsToppedUp) {
  v1::Elder elder = Enrol();
  EXPECT_EQ(elder.family_call_fund_fen(), 10000);
  auto call = [&](std::optional<int64_t> cost, v1::FamilyCall* out) {
    v1::RecordFamilyCallRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_elder_id(elder.id());
    req.set_what_was_seen("well, eating normally");
    if (cost) req.set_cost_fen(*cost);
    return Call(&Stub::RecordFamilyCall, agent_, req, out);
  };
  v1::FamilyCall fc;
  ASSERT_TRUE(call(3000, &fc).ok());
  EXPECT_EQ(fc.cost_fen(), 3000);
  EXPECT_EQ(fc.fund_balance_fen(), 7000);
  EXPECT_FALSE(fc.topped_up());
  ASSERT_TRUE(call(std::nullopt, &fc).ok());  // the estate's call charge, 1 yuan
  EXPECT_EQ(fc.fund_balance_fen(), 6900);
  ASSERT_TRUE(call(6850, &fc).ok());  // 0.50 left: cannot pay the next call
  EXPECT_TRUE(fc.topped_up());
  EXPECT_EQ(fc.fund_balance_fen(), 10050);
  EXPECT_EQ(Field(call(-1, &fc)), "cost_fen");
  v1::GetElderRequest get;
  get.set_id(elder.id());
  v1::Elder after;
  ASSERT_TRUE(Call(&Stub::GetElder, agent_, get, &after).ok());
  EXPECT_EQ(after.family_call_fund_fen(), 10050);
  std::map<int, int64_t> fen;
  std::map<int, int> count;
  for (const auto& ch : Charges(elder.id())) {
    fen[ch.kind()] += ch.amount_fen();
    ++count[ch.kind()];
  }
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_FAMILY_CALL], 3000 + 100 + 6850);
  EXPECT_EQ(count[ev::ELDER_FEE_KIND_FAMILY_CALL_FUND], 2);  // prepaid, then topped up once
  EXPECT_EQ(fen[ev::ELDER_FEE_KIND_FAMILY_CALL_FUND], 20000);
}

// 004_… 5.2.4 "全面体检的费用每人、每次300元由社区医疗保健室代收…按每次体检实际发生的费用进行
// 结算,多还少补" and 5.6: the advance, then the difference charged or returned.
TEST_F(EldercareServiceTest, TheCheckupAdvanceIsSettledAtActualCost) {
  v1::Elder elder = Enrol();
  auto checkup = [&](int64_t cost) {
    v1::RecordCheckupRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.mutable_checkup()->set_elder_id(elder.id());
    *req.mutable_checkup()->mutable_performed_on() = ToDate(absl::CivilDay(2026, 11, 24));
    req.mutable_checkup()->set_results("normal");
    req.mutable_checkup()->set_cost_fen(cost);
    v1::Checkup c;
    grpc::Status st = Call(&Stub::RecordCheckup, nurse_, req, &c);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return c;
  };
  auto since = [&](size_t n) {
    auto all = Charges(elder.id());
    return std::vector<ev::ElderFeeCharged>(all.begin() + static_cast<long>(n), all.end());
  };
  size_t n = Charges(elder.id()).size();
  v1::Checkup c = checkup(34500);  // dearer: the rest charged (少补)
  EXPECT_EQ(c.advance_fen(), 30000);
  EXPECT_EQ(c.cost_fen(), 34500);
  auto lines = since(n);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].kind(), ev::ELDER_FEE_KIND_CHECKUP);
  EXPECT_EQ(lines[0].amount_fen(), 30000);
  EXPECT_EQ(lines[1].kind(), ev::ELDER_FEE_KIND_CHECKUP_TOP_UP);
  EXPECT_EQ(lines[1].amount_fen(), 4500);
  EXPECT_EQ(lines[1].settles_charge_id(), lines[0].charge_id());
  n = Charges(elder.id()).size();
  checkup(26000);  // cheaper: the rest returned (多还)
  lines = since(n);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].kind(), ev::ELDER_FEE_KIND_CHECKUP_RETURN);
  EXPECT_EQ(lines[1].amount_fen(), 4000);
  EXPECT_EQ(lines[1].settles_charge_id(), lines[0].charge_id());
  n = Charges(elder.id()).size();
  EXPECT_EQ(checkup(0).cost_fen(), 30000);  // no cost given: the advance is the cost
  EXPECT_EQ(since(n).size(), 1u);
}

TEST_F(EldercareServiceTest, TheServiceYearIsRenewedOnItsAnniversary) {
  v1::Elder elder = Enrol();
  Settlement settlement(*db_, clock_);
  ASSERT_EQ(*settlement.Tick(), 0);
  Advance(absl::Hours(24 * 365));  // 2027-11-24
  ASSERT_EQ(*settlement.Tick(), 1);
  ASSERT_EQ(*settlement.Tick(), 0);
  int years = 0;
  for (const auto& ch : Charges(elder.id())) years += ch.kind() == ev::ELDER_FEE_KIND_SERVICE_YEAR;
  EXPECT_EQ(years, 2);
  v1::GetElderRequest get;
  get.set_id(elder.id());
  v1::Elder after;
  ASSERT_TRUE(Call(&Stub::GetElder, agent_, get, &after).ok());
  EXPECT_EQ(after.paid_through().year(), 2028);
}

TEST_F(EldercareServiceTest, VisitsAreDueThenOverdueAndAVisitReschedules) {
  v1::Elder elder = Enrol();
  v1::ListDueVisitsRequest due;
  due.set_estate_id(estate_);
  v1::ListDueVisitsResponse list;
  ASSERT_TRUE(Call(&Stub::ListDueVisits, agent_, due, &list).ok());
  EXPECT_EQ(list.visits_size(), 0);
  *due.mutable_as_of() = ToDate(absl::CivilDay(2026, 12, 3));
  ASSERT_TRUE(Call(&Stub::ListDueVisits, agent_, due, &list).ok());
  ASSERT_EQ(list.visits_size(), 1);
  EXPECT_TRUE(list.visits(0).overdue());
  EXPECT_EQ(list.visits(0).days_overdue(), 2);
  Advance(absl::Hours(24 * 9));  // 2026-12-03
  v1::RecordVisitRequest visit;
  visit.set_request_id("visit-1");
  visit.set_elder_id(elder.id());
  visit.set_care_plan_followed(true);
  v1::Visit v;
  ASSERT_TRUE(Call(&Stub::RecordVisit, Token({"care_worker"}), visit, &v).ok());
  EXPECT_EQ(v.next_visit_due().day(), 10);
  list.Clear();
  ASSERT_TRUE(Call(&Stub::ListDueVisits, agent_, due, &list).ok());
  EXPECT_EQ(list.visits_size(), 0);
  EXPECT_EQ(Call(&Stub::RecordVisit, Token({"technician"}), visit, &v).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(EldercareServiceTest, EmergenciesAndSafetyChecksAreRaisedAndTracked) {
  v1::Elder a = Enrol("123");
  v1::Elder b = Enrol("456", "13700000002");
  Enrol("789", "13700000003", other_estate_);
  v1::RaiseEmergencyRequest emergency;
  emergency.set_request_id("em-1");
  emergency.set_elder_id(a.id());
  v1::Emergency em;
  ASSERT_TRUE(Call(&Stub::RaiseEmergency, Token({"security_guard"}), emergency, &em).ok());
  auto raised = Events("eldercare.emergency.raised");
  ASSERT_EQ(raised.size(), 1u);
  ev::ElderEmergency payload;
  ASSERT_TRUE(raised[0].payload().UnpackTo(&payload));
  EXPECT_EQ(payload.unit_id(), a.unit_id());
  EXPECT_EQ(raised[0].subject(), em.id());

  v1::RaiseSafetyCheckRequest raise;
  raise.set_request_id("typhoon-1");
  raise.set_estate_id(estate_);
  raise.set_reason("typhoon Haikui");
  v1::SafetyCheck check;
  EXPECT_EQ(Call(&Stub::RaiseSafetyCheck, agent_, raise, &check).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::RaiseSafetyCheck, Token({"supervisor"}), raise, &check).ok());
  EXPECT_EQ(check.homes(), 2);
  EXPECT_EQ(check.state(), v1::SAFETY_CHECK_STATE_OPEN);
  EXPECT_EQ(Events("eldercare.safety_check.raised").size(), 1u);
  auto record = [&](const std::string& elder, bool safe) {
    v1::RecordSafetyCheckResultRequest r;
    r.set_request_id("check-" + elder);
    r.set_check_id(check.id());
    r.set_elder_id(elder);
    r.set_safe(safe);
    return Call(&Stub::RecordSafetyCheckResult, agent_, r, &check);
  };
  ASSERT_TRUE(record(a.id(), true).ok());
  EXPECT_EQ(check.checked(), 1);
  EXPECT_EQ(record(NewId(absl::Now()), true).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(record(b.id(), false).ok());
  EXPECT_EQ(check.state(), v1::SAFETY_CHECK_STATE_COMPLETED);
  EXPECT_EQ(check.unsafe(), 1);
}

TEST_F(EldercareServiceTest, DirectoryEventsArriveAndEldercareEventsLeaveThroughTheBus) {
  // A stand-in directory: its own database and outbox, relayed to a stream of the test's.
  static const MigrationSet kNone{"bustest", {}};
  ::wuye::testing::TestDatabase peer_db;
  auto peer = peer_db.Open(kNone);
  std::atomic<int> charges{0}, enrolled{0};
  ::wuye::testing::TestBus bus;
  std::string directory_stream = bus.Stream("d");
  std::string eldercare_stream = bus.Stream("e");
  const RedisOptions& redis = bus.redis();
  bus.Relay(peer_db.url(), directory_stream);
  bus.Relay(tdb_.url(), eldercare_stream);
  bus.Consume(*db_, "eldercare", directory_stream, "directory", MakeHandler(*db_));
  bus.Consume(*peer, "billing", eldercare_stream, "eldercare",
              [&](pqxx::work&, const ev::Event& e) {
                if (e.type() == "eldercare.fee.charged") ++charges;
                if (e.type() == "eldercare.elder.enrolled") ++enrolled;
                return absl::OkStatus();
              });

  absl::CivilDay dob(1950, 1, 1);
  ev::ResidentChanged r;
  r.set_resident_id(NewId(absl::Now()));
  r.set_estate_id(estate_);
  r.set_unit_id(NewId(absl::Now()));
  *r.mutable_date_of_birth() = DirDate(dob);
  r.set_role(ev::RESIDENT_ROLE_OWNER);
  r.set_version(1);
  Outbox directory_outbox(*peer, "directory");
  ASSERT_TRUE(peer->Transact([&](pqxx::work& tx) {
                    directory_outbox.Append(
                        tx, {"directory.resident.created", group_, estate_, r.resident_id(), 1, &r},
                        absl::Now(), "trace");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(::wuye::testing::WaitFor(
      [&] {
        return Count(absl::StrCat("SELECT count(*) FROM dir_residents WHERE id = '",
                                  r.resident_id(), "'")) == 1;
      },
      absl::Seconds(20)));
  v1::Elder elder;
  ASSERT_TRUE(
      Call(&Stub::EnrolElder, agent_, EnrolRequest(r.resident_id(), IdFor(dob)), &elder).ok());
  EXPECT_TRUE(
      ::wuye::testing::WaitFor([&] { return charges == 4 && enrolled == 1; }, absl::Seconds(20)));
  bus.Stop();
  RedisConnection conn(redis);
  (void)conn.Command({"DEL", directory_stream, eldercare_stream});
}

TEST_F(EldercareServiceTest, EachMethodRefusesTheWrongRolesBeforeLookingAtTheInput) {
  v1::Elder elder = Enrol();
  std::string before = Snapshot();
  auto denied = [](const grpc::Status& st) {
    return st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  std::string nurse = Token({"nurse"}), tech = Token({"technician"});
  std::string finance = Token({"finance_clerk"});
  v1::Elder e;
  v1::EnrolElderRequest enrol;
  EXPECT_TRUE(denied(Call(&Stub::EnrolElder, nurse, enrol, &e)));
  v1::ExitElderRequest exit;
  exit.set_elder_id(elder.id());
  EXPECT_TRUE(denied(Call(&Stub::ExitElder, nurse, exit, &e)));
  v1::GetElderRequest get;
  get.set_id(elder.id());
  EXPECT_TRUE(denied(Call(&Stub::GetElder, tech, get, &e)));
  v1::RecordCheckupRequest checkup;
  v1::Checkup c;
  EXPECT_TRUE(denied(Call(&Stub::RecordCheckup, agent_, checkup, &c)));
  v1::SetCarePlanRequest plan;
  EXPECT_TRUE(denied(Call(&Stub::SetCarePlan, nurse, plan, &c)));
  v1::GetCheckupRequest get_checkup;
  EXPECT_TRUE(denied(Call(&Stub::GetCheckup, agent_, get_checkup, &c)));
  v1::RecordCareDayRequest day;
  v1::CareDay cd;
  EXPECT_TRUE(denied(Call(&Stub::RecordCareDay, agent_, day, &cd)));
  v1::RecordFamilyCallRequest call;
  v1::FamilyCall fc;
  EXPECT_TRUE(denied(Call(&Stub::RecordFamilyCall, nurse, call, &fc)));
  v1::GetFamilyContactsRequest contacts;
  v1::FamilyContacts out;
  EXPECT_TRUE(denied(Call(&Stub::GetFamilyContacts, tech, contacts, &out)));
  v1::SetFamilyContactsRequest update;
  v1::HealthRecordReceipt receipt;
  EXPECT_TRUE(denied(Call(&Stub::SetFamilyContacts, nurse, update, &receipt)));
  v1::RaiseEmergencyRequest emergency;
  v1::Emergency em;
  EXPECT_TRUE(denied(Call(&Stub::RaiseEmergency, finance, emergency, &em)));
  v1::ListDueVisitsRequest due;
  v1::ListDueVisitsResponse visits;
  EXPECT_TRUE(denied(Call(&Stub::ListDueVisits, finance, due, &visits)));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(EldercareServiceTest, FamilyContactsAreReplacedAndReadWithAPurpose) {
  v1::Elder elder = Enrol();
  v1::SetFamilyContactsRequest update;
  update.set_request_id("contacts-1");
  update.set_elder_id(elder.id());
  auto* c = update.add_contacts();
  c->set_name("Son Wang");
  c->set_relation("son");
  c->set_phone("+86 139-1111-2222");
  v1::HealthRecordReceipt receipt;
  ASSERT_TRUE(Call(&Stub::SetFamilyContacts, agent_, update, &receipt).ok());
  EXPECT_EQ(receipt.version(), 2);
  v1::GetFamilyContactsRequest get;
  get.set_elder_id(elder.id());
  v1::FamilyContacts contacts;
  EXPECT_EQ(Field(Call(&Stub::GetFamilyContacts, agent_, get, &contacts)), "purpose");
  get.set_purpose("weekly family call");
  ASSERT_TRUE(Call(&Stub::GetFamilyContacts, agent_, get, &contacts).ok());
  ASSERT_EQ(contacts.contacts_size(), 1);
  EXPECT_EQ(contacts.contacts(0).phone(), "+8613911112222");
  EXPECT_EQ(contacts.version(), 2);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM audit_log WHERE elder_id = '", elder.id(),
                               "' AND action LIKE 'family_contacts.%'")),
            2);
}

TEST_F(EldercareServiceTest, ConcurrentRetriesEnrolOnceAndListsPage) {
  absl::CivilDay dob(1950, 1, 1);
  auto req = EnrolRequest(Resident(dob), IdFor(dob));
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<std::string> ids(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + agent_);
      v1::Elder elder;
      if (stub_->EnrolElder(&ctx, req, &elder).ok()) ids[i] = elder.id();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_FALSE(ids[0].empty());
  EXPECT_EQ(Count("SELECT count(*) FROM elders"), 1);
  EXPECT_EQ(Charges(ids[0]).size(), 4u);

  Enrol("456", "13700000004");
  Enrol("789", "13700000005");
  v1::ListEldersRequest list;
  list.set_estate_id(estate_);
  list.set_page_size(2);
  v1::ListEldersResponse page1, page2;
  ASSERT_TRUE(Call(&Stub::ListElders, agent_, list, &page1).ok());
  ASSERT_EQ(page1.elders_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListElders, agent_, list, &page2).ok());
  ASSERT_EQ(page2.elders_size(), 1);
  EXPECT_TRUE(page2.next_page_token().empty());
  list.set_state(v1::ELDER_STATE_EXITED);  // another filter: the token is refused
  EXPECT_EQ(Field(Call(&Stub::ListElders, agent_, list, &page2)), "page_token");
  list.clear_page_token();
  ASSERT_TRUE(Call(&Stub::ListElders, agent_, list, &page2).ok());
  EXPECT_EQ(page2.elders_size(), 0);
  list.set_state(v1::ELDER_STATE_ENROLLED);
  list.set_page_size(10);
  ASSERT_TRUE(Call(&Stub::ListElders, agent_, list, &page2).ok());
  EXPECT_EQ(page2.elders_size(), 3);
}

TEST_F(EldercareServiceTest, TheDirectoryCopyIgnoresStaleVersions) {
  absl::CivilDay dob(1950, 1, 1);
  ev::ResidentChanged r;
  r.set_resident_id(NewId(absl::Now()));
  r.set_estate_id(estate_);
  r.set_unit_id(NewId(absl::Now()));
  *r.mutable_date_of_birth() = DirDate(dob);
  r.set_role(ev::RESIDENT_ROLE_OWNER);
  r.set_version(2);
  Directory("directory.resident.updated", r);
  r.set_role(ev::RESIDENT_ROLE_FAMILY);
  r.set_version(1);
  Directory("directory.resident.created", r);  // late and stale
  v1::Elder elder;
  EXPECT_TRUE(
      Call(&Stub::EnrolElder, agent_, EnrolRequest(r.resident_id(), IdFor(dob)), &elder).ok());
  // Another group's event never touches this group's copy.
  r.set_version(3);
  Directory("directory.resident.updated", r, NewId(absl::Now()));
  EXPECT_EQ(
      Count(absl::StrCat("SELECT version FROM dir_residents WHERE id = '", r.resident_id(), "'")),
      2);
}

// ---- Update masks and paging (API v1 hygiene) -----------------------------------------------

TEST_F(EldercareServiceTest, AnUpdateMaskWritesOnlyItsFieldsOfTheHealthCard) {
  v1::Elder elder = Enrol();
  WriteCard(elder.id(), "penicillin");
  v1::UpdateHealthCardRequest masked;
  masked.set_request_id("card-mask-1");
  auto* card = masked.mutable_card();
  card->set_elder_id(elder.id());
  card->set_drug_allergies("aspirin");
  card->set_blood_type("O+");  // not in the mask: ignored
  masked.mutable_update_mask()->add_paths("drug_allergies");
  v1::HealthRecordReceipt receipt;
  ASSERT_TRUE(Call(&Stub::UpdateHealthCard, nurse_, masked, &receipt).ok());
  EXPECT_EQ(receipt.version(), 2);
  v1::HealthCard read;
  ASSERT_TRUE(ReadCard(nurse_, elder.id(), &read).ok());
  EXPECT_EQ(read.drug_allergies(), "aspirin");
  EXPECT_EQ(read.blood_type(), "AB-");
  EXPECT_EQ(read.family_history(), "father: hypertension");
  EXPECT_EQ(read.recent_illness(), "bronchitis in October");
  EXPECT_EQ(read.food_taboos(), "no shellfish");

  // The same request_id with another mask is another request.
  masked.mutable_update_mask()->add_paths("blood_type");
  grpc::Status reused = Call(&Stub::UpdateHealthCard, nurse_, masked, &receipt);
  EXPECT_EQ(Field(reused), "request_id");
  EXPECT_EQ(Reason(reused), "REQUEST_ID_REUSED");

  // Bad paths, and a merged card that fails the checks, change nothing, and the error
  // carries no health value.
  const std::string before = Snapshot();
  int n = 0;
  for (const char* path : {"elder_id", "version", "view", "update_time", "no_such_field"}) {
    v1::UpdateHealthCardRequest bad;
    bad.set_request_id(absl::StrCat("card-mask-bad-", ++n));
    bad.mutable_card()->set_elder_id(elder.id());
    bad.mutable_update_mask()->add_paths(path);
    grpc::Status st = Call(&Stub::UpdateHealthCard, nurse_, bad, &receipt);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_EQ(Field(st), "update_mask") << path;
  }
  v1::UpdateHealthCardRequest too_long;
  too_long.set_request_id("card-mask-long");
  too_long.mutable_card()->set_elder_id(elder.id());
  too_long.mutable_card()->set_family_history(std::string(2001, 'x'));
  too_long.mutable_update_mask()->add_paths("family_history");
  grpc::Status st = Call(&Stub::UpdateHealthCard, nurse_, too_long, &receipt);
  EXPECT_EQ(Field(st), "card.family_history");
  for (const char* value : {"aspirin", "AB-", "bronchitis", "shellfish", "xxxx"}) {
    EXPECT_EQ(st.error_message().find(value), std::string::npos) << value;
  }
  EXPECT_EQ(Snapshot(), before);

  // Without a mask the card is replaced whole, as before.
  v1::UpdateHealthCardRequest whole;
  whole.set_request_id("card-whole");
  whole.mutable_card()->set_elder_id(elder.id());
  whole.mutable_card()->set_blood_type("O+");
  ASSERT_TRUE(Call(&Stub::UpdateHealthCard, nurse_, whole, &receipt).ok());
  ASSERT_TRUE(ReadCard(nurse_, elder.id(), &read).ok());
  EXPECT_EQ(read.blood_type(), "O+");
  EXPECT_EQ(read.drug_allergies(), "");
  EXPECT_EQ(read.family_history(), "");
}

TEST_F(EldercareServiceTest, DueVisitsPageEveryElderOnceByDueDateThenId) {
  // Five elders due on three days, two pairs sharing a day: ties are broken by id.
  std::vector<std::string> enrolled;
  const char* seqs[] = {"101", "102", "103", "104", "105"};
  for (int i = 0; i < 5; ++i) {
    enrolled.push_back(Enrol(seqs[i], absl::StrCat("1381234560", i)).id());
    if (i % 2 == 1) Advance(absl::Hours(24));
  }
  std::vector<std::string> expected = enrolled;
  std::sort(expected.begin(), expected.begin() + 2);
  std::sort(expected.begin() + 2, expected.begin() + 4);
  v1::ListDueVisitsRequest due;
  due.set_estate_id(estate_);
  *due.mutable_as_of() = ToDate(absl::CivilDay(2027, 1, 1));
  due.set_page_size(2);
  std::vector<std::string> seen;
  std::string first_token;
  for (int page = 0; page < 10; ++page) {
    v1::ListDueVisitsResponse list;
    ASSERT_TRUE(Call(&Stub::ListDueVisits, agent_, due, &list).ok());
    EXPECT_LE(list.visits_size(), 2);
    for (const auto& v : list.visits()) seen.push_back(v.elder_id());
    if (page == 0) first_token = list.next_page_token();
    if (list.next_page_token().empty()) break;
    due.set_page_token(list.next_page_token());
  }
  EXPECT_EQ(seen, expected);
  // The token is for the same estate and as_of only.
  due.set_page_token(first_token);
  *due.mutable_as_of() = ToDate(absl::CivilDay(2027, 1, 2));
  v1::ListDueVisitsResponse list;
  grpc::Status st = Call(&Stub::ListDueVisits, agent_, due, &list);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "page_token");
  due.clear_as_of();
  EXPECT_EQ(Field(Call(&Stub::ListDueVisits, agent_, due, &list)), "page_token");
  due.clear_page_token();
  due.set_page_size(1001);
  EXPECT_EQ(Field(Call(&Stub::ListDueVisits, agent_, due, &list)), "page_size");
}

}  // namespace
}  // namespace wuye::eldercare
