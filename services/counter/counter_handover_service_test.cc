// The counter's hand-over, move-in and defects over real gRPC (counter_test_fixture.h).
#include <cstdio>

#include "absl/strings/escaping.h"
#include "services/counter/counter_test_fixture.h"
#include "shared/id_number.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter::testing {
namespace {

using absl::CivilDay;

// A valid GB 11643 number for a birth date.
std::string IdFor(CivilDay birth, const std::string& seq = "123") {
  char first17[18];
  std::snprintf(first17, sizeof first17, "110105%04d%02d%02d%s", static_cast<int>(birth.year()),
                birth.month(), birth.day(), seq.c_str());
  return std::string(first17) + IdCheckCharacter(first17);
}

pb::FileRef Ref(const std::string& uri) {
  pb::FileRef r;
  r.set_uri(uri);
  return r;
}

class CounterHandoverTest : public CounterServiceTest {
 protected:
  // The owner's number: born 1980-05-17 like `owner_`.
  const std::string id_number_ = IdFor(CivilDay(1980, 5, 17), "731");

  grpc::Status Create(const std::string& unit, pb::Handover* out, const std::string& tok = "",
                      const std::string& rid = "") {
    pb::CreateHandoverRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_unit_id(unit);
    *req.mutable_appointment_date() = MakeDate(2026, 11, 12);
    return Call(&Stub::CreateHandover, tok.empty() ? agent_tok_ : tok, req, out);
  }
  pb::Handover Create(const std::string& unit) {
    pb::Handover h;
    grpc::Status st = Create(unit, &h);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return h;
  }
  grpc::Status Register(const std::string& handover, const std::string& resident,
                        const std::string& id_number, pb::Handover* out,
                        const std::string& tok = "", const std::string& rid = "") {
    pb::RegisterOwnerRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_handover_id(handover);
    req.set_resident_id(resident);
    req.set_id_number(id_number);
    return Call(&Stub::RegisterOwner, tok.empty() ? agent_tok_ : tok, req, out);
  }
  grpc::Status Sign(const std::string& handover, pb::Date day, pb::Handover* out,
                    const std::string& tok = "") {
    pb::SignAgreementsRequest req;
    req.set_request_id(Rid());
    req.set_handover_id(handover);
    *req.add_agreements() = Ref("oss://estate/handover/1203/management-agreement.pdf");
    *req.mutable_handover_date() = day;
    return Call(&Stub::SignAgreements, tok.empty() ? agent_tok_ : tok, req, out);
  }
  grpc::Status Keys(const std::string& handover, pb::Handover* out, const std::string& tok = "") {
    pb::HandOverKeysRequest req;
    req.set_request_id(Rid());
    req.set_handover_id(handover);
    pb::KeySet* k = req.add_keys();
    k->set_kind("entrance door");
    k->set_count(3);
    *req.mutable_signature() = Ref("oss://estate/handover/1203/keys-signed.png");
    return Call(&Stub::HandOverKeys, tok.empty() ? agent_tok_ : tok, req, out);
  }
  grpc::Status Readings(const std::string& handover, pb::Handover* out,
                        const std::string& tok = "") {
    pb::RecordHandoverReadingsRequest req;
    req.set_request_id(Rid());
    req.set_handover_id(handover);
    pb::MeterValue* w = req.add_readings();
    w->set_kind(pb::METER_KIND_WATER);
    w->set_value("12.5");
    pb::MeterValue* e = req.add_readings();
    e->set_kind(pb::METER_KIND_ELECTRICITY);
    e->set_value("0031.07");
    return Call(&Stub::RecordHandoverReadings, tok.empty() ? tech_tok_ : tok, req, out);
  }
  grpc::Status Complete(const std::string& handover, pb::Handover* out,
                        const std::string& tok = "") {
    pb::CompleteInspectionRequest req;
    req.set_request_id(Rid());
    req.set_handover_id(handover);
    req.set_note("two defects recorded with the owner");
    return Call(&Stub::CompleteInspection, tok.empty() ? agent_tok_ : tok, req, out);
  }
  // A unit through to SIGNED on `day` (its owner registered).
  pb::Handover Signed(const std::string& unit, const std::string& owner, CivilDay day) {
    pb::Handover h = Create(unit);
    EXPECT_TRUE(Register(h.id(), owner, id_number_, &h).ok());
    grpc::Status st = Sign(h.id(), MakeDate(day.year(), day.month(), day.day()), &h);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return h;
  }
  grpc::Status Defect(const std::string& unit, const std::string& handover,
                      pb::DefectCategory category, pb::Defect* out, const std::string& tok = "",
                      const std::string& rid = "") {
    pb::CreateDefectRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_unit_id(unit);
    req.set_handover_id(handover);
    req.set_category(category);
    req.set_description("bathroom floor seeps into the flat below");
    *req.add_photos() = Ref("oss://estate/defects/1203/seep.jpg");
    return Call(&Stub::CreateDefect, tok.empty() ? agent_tok_ : tok, req, out);
  }
  grpc::Status Move(const pb::Defect& d, pb::DefectState to, const std::string& note,
                    pb::Defect* out, const std::string& tok = "", bool sign = false) {
    pb::UpdateDefectRequest req;
    req.set_request_id(Rid());
    req.set_id(d.id());
    req.set_state(to);
    req.set_note(note);
    req.set_version(d.version());
    if (sign) *req.mutable_signature() = Ref("oss://estate/defects/1203/accepted.png");
    return Call(&Stub::UpdateDefect, tok.empty() ? agent_tok_ : tok, req, out);
  }
  grpc::Status MoveIn(const std::string& unit, pb::Date day, pb::MoveIn* out,
                      pb::Occupancy occupancy = pb::OCCUPANCY_SELF_OCCUPIED,
                      const std::string& tok = "", const std::string& rid = "") {
    pb::RecordMoveInRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_unit_id(unit);
    req.set_occupancy(occupancy);
    *req.mutable_move_in_date() = day;
    return Call(&Stub::RecordMoveIn, tok.empty() ? agent_tok_ : tok, req, out);
  }

  int64_t Handovers() { return Query("SELECT count(*) FROM handovers"); }
  int64_t Outbox() { return Query("SELECT count(*) FROM wuye_outbox"); }

  // Rows of every table of the database whose text (a bytea column shows as hex) holds
  // `needle`, as text or as the hex of its bytes.
  std::vector<std::string> TablesHolding(const std::string& needle) {
    pqxx::connection conn(tdb_.url());
    pqxx::nontransaction tx(conn);
    std::vector<std::string> found;
    const std::string hex = absl::BytesToHexString(needle);
    for (const auto& row :
         tx.exec("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE'")) {
      const std::string table = row[0].as<std::string>();
      const int64_t n =
          tx.exec_params1("SELECT count(*) FROM " + tx.quote_name(table) +
                              " t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0",
                          needle, hex)[0]
              .as<int64_t>();
      if (n > 0) found.push_back(table);
    }
    return found;
  }
};

// ---- the whole flow ----------------------------------------------------------------------------

// 002_… 第七章 4: 业主登记 → 签约 → (交费, billing's) → 钥匙及资料交接 → 抄表 → 验房; 000_… 二.11
// and 003_… Q3: one defect under warranty sent to the developer, repaired, rejected once,
// repaired and accepted (the claim succeeded, +100 once confirmed); one past its warranty
// agreed with the owner.
TEST_F(CounterHandoverTest, TheWholeFlowWithTwoDefects_002_Chapter7_000_II_11_003_Q3) {
  pb::Handover h = Create(unit_);
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_NOTIFIED);
  EXPECT_EQ(h.estate_id(), estate_);
  EXPECT_EQ(h.created_by(), agent_);
  EXPECT_EQ(h.version(), 1);

  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h).ok());
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_REGISTERED);
  EXPECT_EQ(h.owner_resident_id(), owner_);

  // Handed over on 8 May (signed late at the desk): six months of warranty for lamps and
  // switches end on 7 November, five years for leakage run on.
  grpc::Status st = Sign(h.id(), MakeDate(2026, 5, 8), &h);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_SIGNED);
  auto handed = Published("counter.unit.handed_over");
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].subject(), unit_);
  EXPECT_EQ(handed[0].subject_version(), h.version());
  EXPECT_EQ(handed[0].estate_id(), estate_);
  ev::UnitHandedOver ho;
  ASSERT_TRUE(handed[0].payload().UnpackTo(&ho));
  EXPECT_EQ(ho.unit_id(), unit_);
  EXPECT_EQ(ho.estate_id(), estate_);
  EXPECT_EQ(ho.handover_id(), h.id());
  EXPECT_EQ(*CivilDayOf(ho.handover_date()), CivilDay(2026, 5, 8));

  ASSERT_TRUE(Keys(h.id(), &h).ok());
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_KEYS_HANDED_OVER);
  EXPECT_EQ(h.keys(0).count(), 3);
  ASSERT_TRUE(Readings(h.id(), &h).ok());  // a technician (工程部 抄表)
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_METERS_READ);
  EXPECT_EQ(h.readings(1).value(), "31.07");
  auto read = Published("counter.meters.read");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].subject(), h.id());
  ev::MetersRead mr;
  ASSERT_TRUE(read[0].payload().UnpackTo(&mr));
  EXPECT_EQ(mr.unit_id(), unit_);
  EXPECT_EQ(mr.handover_id(), h.id());
  ASSERT_EQ(mr.readings_size(), 2);
  EXPECT_EQ(mr.readings(0).meter(), "water");
  EXPECT_EQ(mr.readings(0).value(), "12.5");
  EXPECT_EQ(mr.readings(1).meter(), "electricity");
  EXPECT_EQ(FromProtoTime(mr.read_at()), clock_.Now());

  // The inspection finds two defects.
  pb::Defect leak, lamp;
  ASSERT_TRUE(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_LEAKAGE, &leak).ok());
  EXPECT_EQ(leak.state(), pb::DEFECT_STATE_RECORDED);
  EXPECT_TRUE(leak.under_warranty());
  EXPECT_EQ(
      CivilDay(leak.warranty_end().year(), leak.warranty_end().month(), leak.warranty_end().day()),
      CivilDay(2031, 5, 7));
  EXPECT_EQ(leak.history(0).change().actor().subject(), agent_);
  ASSERT_TRUE(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_LIGHTING_SWITCHES, &lamp, tech_tok_).ok());
  EXPECT_FALSE(lamp.under_warranty());
  EXPECT_EQ(lamp.warranty_end().month(), 11);
  EXPECT_EQ(lamp.warranty_end().day(), 7);

  ASSERT_TRUE(Complete(h.id(), &h).ok());
  EXPECT_EQ(h.state(), pb::HANDOVER_STATE_COMPLETED);
  EXPECT_EQ(h.inspection_note(), "two defects recorded with the owner");
  EXPECT_EQ(h.defects_open(), 2);

  // Under warranty: to the developer, repaired, rejected by the owner, repaired, accepted.
  st = Move(leak, pb::DEFECT_STATE_AGREED_WITH_OWNER, "owner pays", &leak);
  EXPECT_EQ(Reason(st), "UNDER_WARRANTY");
  ASSERT_TRUE(Move(leak, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter DEV-118", &leak).ok());
  ASSERT_TRUE(Move(leak, pb::DEFECT_STATE_REPAIRED, "", &leak, tech_tok_).ok());
  ASSERT_TRUE(Move(leak, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "still seeping", &leak).ok());
  ASSERT_TRUE(Move(leak, pb::DEFECT_STATE_REPAIRED, "", &leak, tech_tok_).ok());
  EXPECT_TRUE(Published("counter.defect.claim_succeeded").empty());
  st = Move(leak, pb::DEFECT_STATE_ACCEPTED, "", &leak, manager_tok_, /*sign=*/true);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(leak.state(), pb::DEFECT_STATE_ACCEPTED);
  ASSERT_EQ(leak.history_size(), 6);
  EXPECT_EQ(leak.history(2).state(), pb::DEFECT_STATE_REPAIRED);
  EXPECT_EQ(leak.history(3).change().reason(), "still seeping");
  EXPECT_EQ(leak.history(5).signature().uri(), "oss://estate/defects/1203/accepted.png");
  auto claims = Published("counter.defect.claim_succeeded");
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].subject(), leak.id());
  ev::DefectClaimSucceeded claim;
  ASSERT_TRUE(claims[0].payload().UnpackTo(&claim));
  EXPECT_EQ(claim.defect_id(), leak.id());
  EXPECT_EQ(claim.estate_id(), estate_);
  EXPECT_EQ(claim.unit_id(), unit_);
  EXPECT_EQ(claim.staff_id(), manager_);  // who recorded the acceptance
  EXPECT_EQ(FromProtoTime(claim.at()), clock_.Now());

  // Past warranty: agreed with the owner, repaired, accepted — no claim.
  st = Move(lamp, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter DEV-119", &lamp);
  EXPECT_EQ(Reason(st), "NOT_UNDER_WARRANTY");
  ASSERT_TRUE(Move(lamp, pb::DEFECT_STATE_AGREED_WITH_OWNER, "owner pays 80 yuan", &lamp).ok());
  ASSERT_TRUE(Move(lamp, pb::DEFECT_STATE_REPAIRED, "", &lamp).ok());
  ASSERT_TRUE(Move(lamp, pb::DEFECT_STATE_ACCEPTED, "", &lamp, "", true).ok());
  EXPECT_EQ(Published("counter.defect.claim_succeeded").size(), 1u);

  // Moved in on the day: the directory's occupancy and move-in day.
  pb::MoveIn m;
  ASSERT_TRUE(MoveIn(unit_, MakeDate(2026, 11, 9), &m).ok());
  EXPECT_EQ(m.occupancy(), pb::OCCUPANCY_SELF_OCCUPIED);
  EXPECT_EQ(m.recorded_by(), agent_);
  auto moved = Published("counter.unit.moved_in");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].subject(), unit_);
  EXPECT_EQ(moved[0].subject_version(), 1);
  ev::UnitMovedIn mi;
  ASSERT_TRUE(moved[0].payload().UnpackTo(&mi));
  EXPECT_EQ(mi.occupancy(), ev::OCCUPANCY_SELF_OCCUPIED);
  EXPECT_EQ(*CivilDayOf(mi.move_in_date()), CivilDay(2026, 11, 9));
  // Let later: the second move-in's version follows.
  ASSERT_TRUE(MoveIn(unit_, MakeDate(2026, 11, 9), &m, pb::OCCUPANCY_RENTED).ok());
  EXPECT_EQ(Published("counter.unit.moved_in")[1].subject_version(), 2);

  pb::GetHandoverRequest get;
  get.set_id(h.id());
  ASSERT_TRUE(Call(&Stub::GetHandover, inspector_tok_, get, &h).ok());
  EXPECT_EQ(h.defects_open(), 0);
  EXPECT_EQ(h.defects_closed(), 2);
  pb::ListHandoversRequest list;
  list.set_estate_id(estate_);
  list.set_state(pb::HANDOVER_STATE_COMPLETED);
  pb::ListHandoversResponse handovers;
  ASSERT_TRUE(Call(&Stub::ListHandovers, agent_tok_, list, &handovers).ok());
  ASSERT_EQ(handovers.handovers_size(), 1);
  EXPECT_EQ(handovers.handovers(0).id(), h.id());
  pb::ListDefectsRequest dl;
  dl.set_estate_id(estate_);
  dl.set_unit_id(unit_);
  dl.set_page_size(1);
  pb::ListDefectsResponse defects;
  ASSERT_TRUE(Call(&Stub::ListDefects, inspector_tok_, dl, &defects).ok());
  ASSERT_EQ(defects.defects_size(), 1);
  EXPECT_EQ(defects.defects(0).id(), leak.id());
  dl.set_page_token(defects.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListDefects, inspector_tok_, dl, &defects).ok());
  ASSERT_EQ(defects.defects_size(), 1);
  EXPECT_EQ(defects.defects(0).id(), lamp.id());
  EXPECT_TRUE(defects.next_page_token().empty());
}

// The ID number is sealed and digested, never returned, logged or published: no row of any
// table (the outbox's envelopes, the idempotency records included) holds it, except as the
// sealed bytes and the keyed digest, and the sealed bytes open to it.
TEST_F(CounterHandoverTest, TheIdNumberIsOnlySealedAndDigested) {
  pb::Handover h = Create(unit_);
  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h).ok());
  ASSERT_TRUE(Sign(h.id(), MakeDate(2026, 11, 9), &h).ok());
  ASSERT_TRUE(Keys(h.id(), &h).ok());
  ASSERT_TRUE(Readings(h.id(), &h).ok());
  ASSERT_TRUE(Complete(h.id(), &h).ok());
  EXPECT_EQ(h.DebugString().find(id_number_), std::string::npos);
  // The scan finds what is there (the hand-over's id, in its table, the outbox, …).
  EXPECT_FALSE(TablesHolding(h.id()).empty());
  EXPECT_TRUE(TablesHolding(id_number_).empty());
  EXPECT_TRUE(TablesHolding(id_number_.substr(6, 8)).empty());  // not even its birth date
  for (const std::string type : {"counter.unit.handed_over", "counter.meters.read"}) {
    for (const auto& e : Published(type)) {
      EXPECT_EQ(e.SerializeAsString().find(id_number_), std::string::npos);
    }
  }
  EXPECT_EQ(Query("SELECT count(*) FROM sealed_values WHERE record_table = 'handovers' AND "
                  "field = 'id_number' AND record_id = '" +
                  h.id() + "'"),
            1);
  EXPECT_EQ(Query("SELECT count(*) FROM handovers WHERE id_digest = decode('" +
                  absl::BytesToHexString(keys_->Digest(id_number_)) + "', 'hex')"),
            1);
  // The sealed bytes open, with the counter's keys, to the number, bound to their place.
  pqxx::connection conn(tdb_.url());
  pqxx::nontransaction tx(conn);
  pqxx::row row =
      tx.exec_params1("SELECT key_id, blob FROM sealed_values WHERE record_id = $1", h.id());
  SealedValue sealed{row[0].as<std::string>(), pqxx::binarystring(row[1]).str()};
  EXPECT_EQ(*keys_->Open({group_, "handovers", h.id(), "id_number"}, sealed), id_number_);
  EXPECT_FALSE(keys_->Open({group_, "handovers", NewId(absl::Now()), "id_number"}, sealed).ok());
}

// ---- bad cases ---------------------------------------------------------------------------------

TEST_F(CounterHandoverTest, EachStepOnlyFromThePreviousState_002_Chapter7_4) {
  pb::Handover h = Create(unit_), out;
  const int64_t outbox = Outbox();
  grpc::Status st = Sign(h.id(), MakeDate(2026, 11, 9), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(Reason(Keys(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(Reason(Readings(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(Reason(Complete(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h).ok());
  EXPECT_EQ(Reason(Register(h.id(), owner_, id_number_, &out)), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(Reason(Keys(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  ASSERT_TRUE(Sign(h.id(), MakeDate(2026, 11, 9), &h).ok());
  EXPECT_EQ(Reason(Sign(h.id(), MakeDate(2026, 11, 9), &out)), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(Reason(Readings(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  ASSERT_TRUE(Keys(h.id(), &h).ok());
  EXPECT_EQ(Reason(Complete(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  ASSERT_TRUE(Readings(h.id(), &h).ok());
  EXPECT_EQ(Reason(Readings(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  ASSERT_TRUE(Complete(h.id(), &h).ok());
  EXPECT_EQ(Reason(Complete(h.id(), &out)), "HANDOVER_OUT_OF_ORDER");
  EXPECT_EQ(h.version(), 6);
  // Only the two events of the steps that went through.
  EXPECT_EQ(Outbox(), outbox + 2);
}

TEST_F(CounterHandoverTest, OnlyTheUnitsOwnerWithAValidIdNumberIsRegistered) {
  pb::Handover h = Create(unit_), out;
  const std::string tenant =
      Resident(unit_, estate_, ev::RESIDENT_ROLE_TENANT, CivilDay(1980, 5, 17));
  const std::string family = Resident(unit_, estate_, ev::RESIDENT_ROLE_FAMILY);
  const std::string other_unit = Unit(estate_, "1204");
  const std::string other_owner =
      Resident(other_unit, estate_, ev::RESIDENT_ROLE_OWNER, CivilDay(1980, 5, 17));
  // An owner who moved out (the directory's move-out day is past).
  ev::ResidentChanged left;
  left.set_resident_id(NewId(absl::Now()));
  left.set_estate_id(estate_);
  left.set_unit_id(unit_);
  left.set_role(ev::RESIDENT_ROLE_OWNER);
  *left.mutable_date_of_birth() = CivilDateOf(CivilDay(1980, 5, 17));
  *left.mutable_move_out_date() = CivilDateOf(CivilDay(2026, 10, 1));
  left.set_version(1);
  ASSERT_TRUE(Deliver("directory.resident.created", group_, left, estate_).ok());

  for (const std::string& who : {tenant, family, other_owner, left.resident_id()}) {
    grpc::Status st = Register(h.id(), who, id_number_, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(Reason(st), "NOT_THE_OWNER");
  }
  EXPECT_EQ(Register(h.id(), NewId(absl::Now()), id_number_, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  std::string wrong_check = id_number_;
  wrong_check.back() = wrong_check.back() == '0' ? '1' : '0';
  const std::string other_birth = IdFor(CivilDay(1980, 5, 18), "731");
  for (const std::string& bad :
       {wrong_check, other_birth, std::string("11010519800517"), std::string()}) {
    grpc::Status st = Register(h.id(), owner_, bad, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(Field(st), "id_number");
    if (!bad.empty()) {
      EXPECT_EQ(st.error_message().find(bad), std::string::npos);
    }
  }
  // An owner whose date of birth the directory does not know: the number's check alone.
  const std::string unknown_birth = Resident(unit_, estate_, ev::RESIDENT_ROLE_OWNER);
  // Nothing changed by the refusals.
  EXPECT_EQ(Query("SELECT count(*) FROM sealed_values"), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM handovers WHERE state = 1"), 1);
  grpc::Status st = Register(h.id(), unknown_birth, other_birth, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.owner_resident_id(), unknown_birth);
}

TEST_F(CounterHandoverTest, HandOverDaysAndMoveInDays) {
  pb::Handover h = Create(unit_), out;
  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h).ok());
  // Today on the estate's clock is 9 November; the 10th is the future.
  grpc::Status st = Sign(h.id(), MakeDate(2026, 11, 10), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "handover_date");
  EXPECT_EQ(Field(Sign(h.id(), MakeDate(2026, 2, 30), &out)), "handover_date");
  EXPECT_TRUE(Published("counter.unit.handed_over").empty());

  pb::MoveIn m;
  st = MoveIn(unit_, MakeDate(2026, 11, 9), &m);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_HANDED_OVER");

  ASSERT_TRUE(Sign(h.id(), MakeDate(2026, 11, 2), &h).ok());
  st = MoveIn(unit_, MakeDate(2026, 11, 1), &m);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "move_in_date");
  EXPECT_EQ(Field(MoveIn(unit_, MakeDate(2026, 11, 10), &m)), "move_in_date");
  EXPECT_EQ(Field(MoveIn(unit_, MakeDate(2026, 11, 5), &m, pb::OCCUPANCY_UNSPECIFIED)),
            "occupancy");
  EXPECT_EQ(Query("SELECT count(*) FROM move_ins"), 0);
  EXPECT_TRUE(Published("counter.unit.moved_in").empty());
  EXPECT_TRUE(MoveIn(unit_, MakeDate(2026, 11, 2), &m).ok());  // the hand-over day itself

  // A unit the directory had handed over before: its day counts.
  const std::string old = Unit(estate_, "1501", CivilDay(2025, 3, 1));
  EXPECT_EQ(Field(MoveIn(old, MakeDate(2025, 2, 28), &m)), "move_in_date");
  EXPECT_TRUE(MoveIn(old, MakeDate(2025, 3, 1), &m, pb::OCCUPANCY_RENTED).ok());
}

TEST_F(CounterHandoverTest, OneOpenHandOverAndNoneForAUnitHandedOver) {
  pb::Handover h = Create(unit_), out;
  grpc::Status st = Create(unit_, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "ALREADY_OPEN");
  // The directory says this one was handed over last year.
  const std::string old = Unit(estate_, "1501", CivilDay(2025, 3, 1));
  EXPECT_EQ(Reason(Create(old, &out)), "ALREADY_HANDED_OVER");
  EXPECT_EQ(Handovers(), 1);
  // Once signed, the unit is handed over even before the directory says so; completed, a
  // new one is still refused.
  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h).ok());
  ASSERT_TRUE(Sign(h.id(), MakeDate(2026, 11, 9), &h).ok());
  EXPECT_EQ(Reason(Create(unit_, &out)), "ALREADY_HANDED_OVER");
  ASSERT_TRUE(Keys(h.id(), &h).ok());
  ASSERT_TRUE(Readings(h.id(), &h).ok());
  ASSERT_TRUE(Complete(h.id(), &h).ok());
  EXPECT_EQ(Reason(Create(unit_, &out)), "ALREADY_HANDED_OVER");
  EXPECT_EQ(Handovers(), 1);
  // Unknown unit, bad fields.
  EXPECT_EQ(Create(NewId(absl::Now()), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Field(Create("nope", &out)), "unit_id");
  pb::CreateHandoverRequest req;
  req.set_request_id(Rid());
  req.set_unit_id(Unit(estate_, "1701"));
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &out)), "appointment_date");
  *req.mutable_appointment_date() = MakeDate(2026, 13, 1);
  EXPECT_EQ(Field(Call(&Stub::CreateHandover, agent_tok_, req, &out)), "appointment_date");
  EXPECT_EQ(Handovers(), 1);
}

TEST_F(CounterHandoverTest, FieldsOfTheStepsAreChecked) {
  pb::Handover h = Signed(unit_, owner_, CivilDay(2026, 11, 9)), out;
  pb::HandOverKeysRequest keys;
  keys.set_request_id(Rid());
  keys.set_handover_id(h.id());
  EXPECT_EQ(Field(Call(&Stub::HandOverKeys, agent_tok_, keys, &out)), "keys");
  pb::KeySet* k = keys.add_keys();
  k->set_kind("mailbox");
  k->set_count(0);
  EXPECT_EQ(Field(Call(&Stub::HandOverKeys, agent_tok_, keys, &out)), "keys[0].count");
  k->set_count(2);
  EXPECT_EQ(Field(Call(&Stub::HandOverKeys, agent_tok_, keys, &out)), "signature");
  ASSERT_TRUE(Keys(h.id(), &h).ok());
  pb::RecordHandoverReadingsRequest readings;
  readings.set_request_id(Rid());
  readings.set_handover_id(h.id());
  EXPECT_EQ(Field(Call(&Stub::RecordHandoverReadings, tech_tok_, readings, &out)), "readings");
  pb::MeterValue* gas = readings.add_readings();
  gas->set_kind(pb::METER_KIND_GAS);
  gas->set_value("1.234");
  EXPECT_EQ(Field(Call(&Stub::RecordHandoverReadings, tech_tok_, readings, &out)),
            "readings[0].value");
  gas->set_value("1.2");
  *readings.add_readings() = *gas;
  EXPECT_EQ(Field(Call(&Stub::RecordHandoverReadings, tech_tok_, readings, &out)),
            "readings[1].kind");
  pb::SignAgreementsRequest sign;
  sign.set_request_id(Rid());
  sign.set_handover_id(h.id());
  *sign.mutable_handover_date() = MakeDate(2026, 11, 9);
  EXPECT_EQ(Field(Call(&Stub::SignAgreements, agent_tok_, sign, &out)), "agreements");
  EXPECT_TRUE(Published("counter.meters.read").empty());
}

TEST_F(CounterHandoverTest, DefectsNeedAHandedOverUnitAndFollowTheirMoves) {
  pb::Defect d;
  grpc::Status st = Defect(unit_, "", pb::DEFECT_CATEGORY_LEAKAGE, &d);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_HANDED_OVER");
  pb::Handover h = Signed(unit_, owner_, CivilDay(2026, 11, 9));
  EXPECT_EQ(Field(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_UNSPECIFIED, &d)), "category");
  const std::string other = Unit(estate_, "1801", CivilDay(2025, 1, 1));
  EXPECT_EQ(Field(Defect(other, h.id(), pb::DEFECT_CATEGORY_LEAKAGE, &d)), "handover_id");
  EXPECT_EQ(Defect(unit_, NewId(absl::Now()), pb::DEFECT_CATEGORY_LEAKAGE, &d).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::CreateDefectRequest bad;
  bad.set_request_id(Rid());
  bad.set_unit_id(unit_);
  bad.set_category(pb::DEFECT_CATEGORY_LEAKAGE);
  bad.set_description("call me on 138 0013 8000");
  EXPECT_EQ(Field(Call(&Stub::CreateDefect, agent_tok_, bad, &d)), "description");
  EXPECT_EQ(Query("SELECT count(*) FROM defects"), 0);

  // Reported later, without the hand-over: the unit's day still starts the warranty.
  ASSERT_TRUE(Defect(other, "", pb::DEFECT_CATEGORY_DOORS_WINDOWS, &d).ok());
  EXPECT_TRUE(d.under_warranty());  // 24 months from 1 January 2025
  EXPECT_EQ(d.warranty_end().year(), 2026);
  EXPECT_EQ(d.warranty_end().month(), 12);
  EXPECT_EQ(d.warranty_end().day(), 31);
  pb::Defect out;
  st = Move(d, pb::DEFECT_STATE_REPAIRED, "", &out);
  EXPECT_EQ(Reason(st), "ILLEGAL_STATE_MOVE");
  EXPECT_EQ(Field(Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "", &out)), "note");
  ASSERT_TRUE(Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter 11-3", &d).ok());
  pb::Defect stale = d;
  stale.set_version(1);
  st = Move(stale, pb::DEFECT_STATE_REPAIRED, "", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  ASSERT_TRUE(Move(d, pb::DEFECT_STATE_REPAIRED, "", &d).ok());
  EXPECT_EQ(Field(Move(d, pb::DEFECT_STATE_ACCEPTED, "", &out)), "signature");
  EXPECT_EQ(Field(Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "", &out)), "note");  // rejection
  ASSERT_TRUE(Move(d, pb::DEFECT_STATE_WITHDRAWN, "not a defect after all", &d).ok());
  EXPECT_EQ(Reason(Move(d, pb::DEFECT_STATE_REPAIRED, "", &out)), "DEFECT_CLOSED");
  EXPECT_EQ(Field(Move(d, pb::DEFECT_STATE_RECORDED, "", &out)), "state");
  EXPECT_TRUE(Published("counter.defect.claim_succeeded").empty());
  EXPECT_EQ(d.version(), 4);
}

// ---- request ids, tenancy, roles ---------------------------------------------------------------

TEST_F(CounterHandoverTest, RequestIdsReplayTheFirstAnswer) {
  pb::Handover a, b;
  ASSERT_TRUE(Create(unit_, &a, "", "create-1").ok());
  ASSERT_TRUE(Create(unit_, &b, "", "create-1").ok());
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(Handovers(), 1);
  const std::string other = Unit(estate_, "1901");
  grpc::Status st = Create(other, &b, "", "create-1");
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");

  ASSERT_TRUE(Register(a.id(), owner_, id_number_, &a, "", "reg-1").ok());
  ASSERT_TRUE(Register(a.id(), owner_, id_number_, &b, "", "reg-1").ok());
  EXPECT_EQ(b.version(), a.version());
  EXPECT_EQ(Reason(Register(a.id(), owner_, IdFor(CivilDay(1980, 5, 17), "555"), &b, "", "reg-1")),
            "REQUEST_ID_REUSED");
  EXPECT_EQ(Query("SELECT count(*) FROM sealed_values"), 1);

  ASSERT_TRUE(Sign(a.id(), MakeDate(2026, 11, 9), &a).ok());
  pb::MoveIn m1, m2;
  ASSERT_TRUE(MoveIn(unit_, MakeDate(2026, 11, 9), &m1, pb::OCCUPANCY_RENTED, "", "move-1").ok());
  ASSERT_TRUE(MoveIn(unit_, MakeDate(2026, 11, 9), &m2, pb::OCCUPANCY_RENTED, "", "move-1").ok());
  EXPECT_EQ(m1.id(), m2.id());
  EXPECT_EQ(Published("counter.unit.moved_in").size(), 1u);

  pb::Defect d1, d2;
  ASSERT_TRUE(Defect(unit_, a.id(), pb::DEFECT_CATEGORY_LEAKAGE, &d1, "", "defect-1").ok());
  ASSERT_TRUE(Defect(unit_, a.id(), pb::DEFECT_CATEGORY_LEAKAGE, &d2, "", "defect-1").ok());
  EXPECT_EQ(d1.id(), d2.id());
  EXPECT_EQ(Query("SELECT count(*) FROM defects"), 1);
}

TEST_F(CounterHandoverTest, AnotherGroupSeesNothingAndChangesNothing) {
  pb::Handover h = Signed(unit_, owner_, CivilDay(2026, 11, 9)), out;
  pb::Defect d;
  ASSERT_TRUE(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_LEAKAGE, &d).ok());
  const int64_t outbox = Outbox();
  pb::GetHandoverRequest get;
  get.set_id(h.id());
  EXPECT_EQ(Call(&Stub::GetHandover, foreign_tok_, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Keys(h.id(), &out, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Create(unit_, &out, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::MoveIn m;
  EXPECT_EQ(
      MoveIn(unit_, MakeDate(2026, 11, 9), &m, pb::OCCUPANCY_RENTED, foreign_tok_).error_code(),
      grpc::StatusCode::NOT_FOUND);
  pb::Defect dout;
  EXPECT_EQ(Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter", &dout, foreign_tok_).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::GetDefectRequest gd;
  gd.set_id(d.id());
  EXPECT_EQ(Call(&Stub::GetDefect, foreign_tok_, gd, &dout).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::ListHandoversRequest list;
  list.set_estate_id(estate_);
  pb::ListHandoversResponse lr;
  ASSERT_TRUE(Call(&Stub::ListHandovers, foreign_tok_, list, &lr).ok());
  EXPECT_EQ(lr.handovers_size(), 0);
  EXPECT_EQ(Outbox(), outbox);
  EXPECT_EQ(Handovers(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM move_ins"), 0);
}

TEST_F(CounterHandoverTest, AnotherEstatesTokenAndRolesThatMayNotAreRefused) {
  pb::Handover h = Create(unit_), out;
  pb::GetHandoverRequest get;
  get.set_id(h.id());
  EXPECT_EQ(Call(&Stub::GetHandover, other_estate_tok_, get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Register(h.id(), owner_, id_number_, &out, other_estate_tok_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string unit2 = Unit(estate_, "2001");
  EXPECT_EQ(Create(unit2, &out, other_estate_tok_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::ListHandoversRequest list;
  list.set_estate_id(estate_);
  pb::ListHandoversResponse lr;
  EXPECT_EQ(Call(&Stub::ListHandovers, other_estate_tok_, list, &lr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Roles: a guard or the finance clerk has no desk work here; a technician reads meters
  // but does not register owners; an inspector reads but does not move defects.
  EXPECT_EQ(Create(unit2, &out, guard_tok_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetHandover, finance_tok_, get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::ListHandovers, guard_tok_, list, &lr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Register(h.id(), owner_, id_number_, &out, tech_tok_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Handovers(), 1);
  ASSERT_TRUE(Register(h.id(), owner_, id_number_, &h, supervisor_tok_).ok());
  ASSERT_TRUE(Sign(h.id(), MakeDate(2026, 11, 9), &h, manager_tok_).ok());
  ASSERT_TRUE(Keys(h.id(), &h, admin_tok_).ok());
  EXPECT_EQ(Readings(h.id(), &out, guard_tok_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Readings(h.id(), &h, tech_tok_).ok());
  pb::Defect d, dout;
  ASSERT_TRUE(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_LEAKAGE, &d).ok());
  EXPECT_EQ(Defect(unit_, h.id(), pb::DEFECT_CATEGORY_LEAKAGE, &dout, inspector_tok_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter", &dout, inspector_tok_).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      Move(d, pb::DEFECT_STATE_SENT_TO_DEVELOPER, "letter", &dout, other_estate_tok_).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  pb::GetDefectRequest gd;
  gd.set_id(d.id());
  EXPECT_TRUE(Call(&Stub::GetDefect, inspector_tok_, gd, &dout).ok());
  EXPECT_EQ(Call(&Stub::GetDefect, guard_tok_, gd, &dout).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::ListDefectsRequest dl;
  dl.set_estate_id(estate_);
  pb::ListDefectsResponse dr;
  EXPECT_EQ(Call(&Stub::ListDefects, other_estate_tok_, dl, &dr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(dout.state(), pb::DEFECT_STATE_RECORDED);
}

}  // namespace
}  // namespace wuye::counter::testing
