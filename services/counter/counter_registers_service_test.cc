// The counter's keys and their loans and checks, cards, the registers over real gRPC
// (counter_test_fixture.h). Seeds: 003_… 2.3 and 篇3 一.3 (keys), 001_… 物业客服领班 1, 2, 4
// (visitor cards, umbrellas, storage, lost and found, IC cards).
#include <thread>

#include "services/counter/counter_test_fixture.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter::testing {
namespace {

// The area's fixture: CounterServiceTest with the calls its tests repeat.
class CounterRegistersTest : public CounterServiceTest {
 protected:
  pb::Key MakeKey(const std::string& number, const std::string& unit = "",
                  const std::string& estate = "", const std::string& token = "") {
    pb::CreateKeyRequest req;
    req.set_request_id(Rid());
    req.mutable_opens()->set_estate_id(estate.empty() ? estate_ : estate);
    if (unit.empty()) {
      req.mutable_opens()->set_common_area("plant room");
    } else {
      req.mutable_opens()->set_unit_id(unit);
    }
    req.set_number(number);
    pb::Key key;
    grpc::Status st = Call(&Stub::CreateKey, token.empty() ? manager_tok_ : token, req, &key);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return key;
  }

  pb::LendKeyRequest LendReq(const std::string& key_id) {
    pb::LendKeyRequest req;
    req.set_request_id(Rid());
    req.set_key_id(key_id);
    req.set_borrower_staff_id(agent_);
    req.set_purpose("read the water meters of the plant room");
    return req;
  }

  grpc::Status Lend(const std::string& key_id, const std::string& token, pb::KeyLoan* out) {
    return Call(&Stub::LendKey, token, LendReq(key_id), out);
  }

  grpc::Status Return(const std::string& key_id, const std::string& token, pb::KeyLoan* out) {
    pb::ReturnKeyRequest req;
    req.set_request_id(Rid());
    req.set_key_id(key_id);
    return Call(&Stub::ReturnKey, token, req, out);
  }

  pb::KeyState StateOf(const std::string& key_id) {
    pb::ListKeysRequest req;
    req.set_estate_id(estate_);
    req.set_page_size(1000);
    pb::ListKeysResponse resp;
    EXPECT_TRUE(Call(&Stub::ListKeys, manager_tok_, req, &resp).ok());
    for (const auto& k : resp.keys()) {
      if (k.id() == key_id) return k.state();
    }
    return pb::KEY_STATE_UNSPECIFIED;
  }

  grpc::Status Check(std::initializer_list<std::string> found, pb::KeyCheck* out,
                     const std::string& token = "") {
    pb::CheckKeysRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate_);
    for (const auto& n : found) req.add_found_numbers(n);
    return Call(&Stub::CheckKeys, token.empty() ? guard_tok_ : token, req, out);
  }

  pb::IssueCardRequest AccessCard(const std::string& number) {
    pb::IssueCardRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate_);
    req.set_kind(pb::CARD_KIND_ACCESS);
    req.set_number(number);
    req.set_unit_id(unit_);
    req.set_resident_id(owner_);
    return req;
  }

  pb::Card Issue(const pb::IssueCardRequest& req, const std::string& token = "") {
    pb::Card card;
    grpc::Status st = Call(&Stub::IssueCard, token.empty() ? agent_tok_ : token, req, &card);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return card;
  }

  grpc::Status ReturnCard(const std::string& number, pb::Card* out,
                          const std::string& token = "") {
    pb::ReturnCardRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate_);
    req.set_number(number);
    return Call(&Stub::ReturnCard, token.empty() ? agent_tok_ : token, req, out);
  }

  pb::ReportCardLostRequest LostReq(const std::string& number,
                                    const std::string& replacement = "") {
    pb::ReportCardLostRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate_);
    req.set_number(number);
    req.set_replacement_card_number(replacement);
    return req;
  }

  pb::CreateRegisterEntryRequest EntryReq(pb::RegisterKind kind, const std::string& what) {
    pb::CreateRegisterEntryRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate_);
    req.set_kind(kind);
    req.set_description(what);
    req.set_person_name("陈女士");
    return req;
  }

  pb::RegisterEntry Open(const pb::CreateRegisterEntryRequest& req, const std::string& token = "") {
    pb::RegisterEntry e;
    grpc::Status st =
        Call(&Stub::CreateRegisterEntry, token.empty() ? agent_tok_ : token, req, &e);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return e;
  }

  pb::CloseRegisterEntryRequest CloseReq(const std::string& id, const std::string& match = "") {
    pb::CloseRegisterEntryRequest req;
    req.set_request_id(Rid());
    req.set_entry_id(id);
    req.set_closed_to_name("陈女士");
    req.set_matched_entry_id(match);
    return req;
  }
};

// ---- keys -----------------------------------------------------------------------------------

// 003_… 2.3: each key numbered (编号) and registered in the ledger (管理台帐).
TEST_F(CounterRegistersTest, KeysAreNumberedOncePerEstate_003_2_3) {
  pb::Key key = MakeKey("K-1203-1", unit_);
  EXPECT_EQ(key.state(), pb::KEY_STATE_IN_CABINET);
  EXPECT_EQ(key.estate_id(), estate_);
  EXPECT_EQ(key.opens().unit_id(), unit_);
  EXPECT_EQ(key.version(), 1);
  pb::Key plant = MakeKey("K-PLANT");
  EXPECT_EQ(plant.opens().common_area(), "plant room");

  pb::CreateKeyRequest dup;
  dup.set_request_id(Rid());
  dup.mutable_opens()->set_estate_id(estate_);
  dup.mutable_opens()->set_common_area("roof");
  dup.set_number("K-1203-1");
  pb::Key out;
  grpc::Status st = Call(&Stub::CreateKey, agent_tok_, dup, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(st), "KEY_NUMBER_TAKEN");
  // Another estate may use the number.
  MakeKey("K-1203-1", "", other_estate_, admin_tok_);

  // Bad fields, each named; a unit unknown or of another estate.
  pb::CreateKeyRequest bad = dup;
  bad.set_request_id(Rid());
  bad.set_number("");
  EXPECT_EQ(Field(Call(&Stub::CreateKey, agent_tok_, bad, &out)), "number");
  bad = dup;
  bad.set_request_id(Rid());
  bad.set_number("K-9");
  bad.mutable_opens()->clear_place();
  EXPECT_EQ(Field(Call(&Stub::CreateKey, agent_tok_, bad, &out)), "opens");
  bad.mutable_opens()->set_unit_id(NewId(absl::Now()));
  st = Call(&Stub::CreateKey, agent_tok_, bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "opens.unit_id: no such unit");
  std::string elsewhere = Unit(other_estate_, "501");
  bad.mutable_opens()->set_unit_id(elsewhere);
  EXPECT_EQ(Field(Call(&Stub::CreateKey, agent_tok_, bad, &out)), "opens.unit_id");
  EXPECT_EQ(Query("SELECT count(*) FROM office_keys"), 3);
}

TEST_F(CounterRegistersTest, CreateKeyHonoursRequestIds) {
  pb::CreateKeyRequest req;
  req.set_request_id(Rid());
  req.mutable_opens()->set_estate_id(estate_);
  req.mutable_opens()->set_common_area("roof");
  req.set_number("K-ROOF");
  pb::Key a, b;
  ASSERT_TRUE(Call(&Stub::CreateKey, agent_tok_, req, &a).ok());
  ASSERT_TRUE(Call(&Stub::CreateKey, agent_tok_, req, &b).ok());
  EXPECT_EQ(a.id(), b.id());
  req.set_label("changed");
  grpc::Status st = Call(&Stub::CreateKey, agent_tok_, req, &b);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  EXPECT_EQ(Query("SELECT count(*) FROM office_keys"), 1);
}

// 003_… 2.3 (借还、登记): a key is out once; it comes back once.
TEST_F(CounterRegistersTest, AKeyLentTwiceIsRefusedAndReturnedOnce_003_2_3) {
  pb::Key key = MakeKey("K-1203-1", unit_);
  pb::KeyLoan loan;
  pb::LendKeyRequest req = LendReq(key.id());
  *req.mutable_due_time() = ToProtoTime(clock_.Now() + absl::Hours(3));
  ASSERT_TRUE(Call(&Stub::LendKey, tech_tok_, req, &loan).ok());
  EXPECT_EQ(loan.key_id(), key.id());
  EXPECT_EQ(loan.estate_id(), estate_);
  EXPECT_EQ(loan.borrower_staff_id(), agent_);
  EXPECT_TRUE(loan.has_due_time());
  EXPECT_FALSE(loan.has_return_time());
  EXPECT_EQ(FromProtoTime(loan.lend_time()), clock_.Now());
  EXPECT_EQ(StateOf(key.id()), pb::KEY_STATE_LENT);

  // The same request again answers the same loan; another request is refused.
  pb::KeyLoan again;
  ASSERT_TRUE(Call(&Stub::LendKey, tech_tok_, req, &again).ok());
  EXPECT_EQ(again.id(), loan.id());
  grpc::Status st = Lend(key.id(), agent_tok_, &again);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "KEY_ALREADY_LENT");
  EXPECT_EQ(Query("SELECT count(*) FROM key_loans"), 1);

  pb::ListKeysRequest list;
  list.set_estate_id(estate_);
  list.set_state(pb::KEY_STATE_LENT);
  pb::ListKeysResponse keys;
  ASSERT_TRUE(Call(&Stub::ListKeys, tech_tok_, list, &keys).ok());
  ASSERT_EQ(keys.keys_size(), 1);
  EXPECT_EQ(keys.keys(0).current_loan_id(), loan.id());

  pb::KeyLoan back;
  ASSERT_TRUE(Return(key.id(), guard_tok_, &back).ok());
  EXPECT_EQ(back.id(), loan.id());
  EXPECT_EQ(back.received_by(), guard_);
  EXPECT_TRUE(back.has_return_time());
  EXPECT_EQ(StateOf(key.id()), pb::KEY_STATE_IN_CABINET);
  st = Return(key.id(), guard_tok_, &back);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "KEY_NOT_LENT");

  // Lent again, to a contractor by name (no phone): the ledger keeps both loans.
  pb::LendKeyRequest named = LendReq(key.id());
  named.clear_borrower_staff_id();
  named.set_borrower_name("王师傅");
  ASSERT_TRUE(Call(&Stub::LendKey, agent_tok_, named, &loan).ok());
  EXPECT_EQ(loan.borrower_name(), "王师傅");
  pb::ListKeyLoansRequest loans;
  loans.set_estate_id(estate_);
  loans.set_key_id(key.id());
  pb::ListKeyLoansResponse got;
  ASSERT_TRUE(Call(&Stub::ListKeyLoans, manager_tok_, loans, &got).ok());
  EXPECT_EQ(got.loans_size(), 2);
  loans.set_open_only(true);
  ASSERT_TRUE(Call(&Stub::ListKeyLoans, manager_tok_, loans, &got).ok());
  ASSERT_EQ(got.loans_size(), 1);
  EXPECT_EQ(got.loans(0).id(), loan.id());
}

TEST_F(CounterRegistersTest, BadLoansAreRefusedByFieldAndChangeNothing) {
  pb::Key key = MakeKey("K-1");
  pb::KeyLoan out;
  pb::LendKeyRequest req = LendReq(key.id());
  req.set_borrower_name("王师傅");
  EXPECT_EQ(Field(Call(&Stub::LendKey, agent_tok_, req, &out)), "borrower_staff_id");
  req = LendReq(key.id());
  req.set_purpose("");
  EXPECT_EQ(Field(Call(&Stub::LendKey, agent_tok_, req, &out)), "purpose");
  req = LendReq(key.id());
  *req.mutable_due_time() = ToProtoTime(clock_.Now() - absl::Minutes(1));
  EXPECT_EQ(Field(Call(&Stub::LendKey, agent_tok_, req, &out)), "due_time");
  req = LendReq(key.id());
  req.set_borrower_staff_id(NewId(absl::Now()));
  grpc::Status st = Call(&Stub::LendKey, agent_tok_, req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  req = LendReq(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::LendKey, agent_tok_, req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Query("SELECT count(*) FROM key_loans"), 0);
  EXPECT_EQ(StateOf(key.id()), pb::KEY_STATE_IN_CABINET);
}

// Concurrent loans of one key with different request ids: exactly one wins.
TEST_F(CounterRegistersTest, ConcurrentLendsMakeOneLoan_003_2_3) {
  pb::Key key = MakeKey("K-1");
  constexpr int kCallers = 6;
  std::vector<grpc::Status> results(kCallers);
  std::vector<pb::LendKeyRequest> reqs;
  for (int i = 0; i < kCallers; ++i) reqs.push_back(LendReq(key.id()));
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      pb::KeyLoan out;
      results[i] = Call(&Stub::LendKey, agent_tok_, reqs[i], &out);
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const auto& st : results) {
    if (st.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(Reason(st), "KEY_ALREADY_LENT") << st.error_message();
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(Query("SELECT count(*) FROM key_loans"), 1);
}

// 003_… 2.3 (锁匙核对) and 篇3 一.3 (妥善保管各类钥匙): the count marks what is not there.
TEST_F(CounterRegistersTest, ACheckMarksMissingKeysWhichCannotBeLentUntilFound_003_2_3) {
  pb::Key k1 = MakeKey("K-1"), k2 = MakeKey("K-2"), k3 = MakeKey("K-3");
  pb::KeyLoan loan;
  ASSERT_TRUE(Lend(k2.id(), agent_tok_, &loan).ok());

  pb::KeyCheck check;
  ASSERT_TRUE(Check({"K-1"}, &check).ok());
  EXPECT_EQ(check.estate_id(), estate_);
  EXPECT_EQ(check.checked_by(), guard_);
  EXPECT_EQ(check.keys_registered(), 3);
  EXPECT_EQ(check.keys_found(), 1);
  EXPECT_EQ(check.keys_lent(), 1);
  ASSERT_EQ(check.missing_numbers_size(), 1);
  EXPECT_EQ(check.missing_numbers(0), "K-3");
  EXPECT_EQ(StateOf(k1.id()), pb::KEY_STATE_IN_CABINET);
  EXPECT_EQ(StateOf(k2.id()), pb::KEY_STATE_LENT);
  EXPECT_EQ(StateOf(k3.id()), pb::KEY_STATE_MISSING);

  grpc::Status st = Lend(k3.id(), agent_tok_, &loan);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "KEY_MISSING");
  EXPECT_EQ(Reason(Return(k3.id(), agent_tok_, &loan)), "KEY_NOT_LENT");

  // An unknown number is named by its index and changes nothing.
  st = Check({"K-1", "K-9", "K-3"}, &check);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "found_numbers[1]");
  // A lent key found in the cabinet: its loan must be closed first.
  EXPECT_EQ(Reason(Check({"K-2"}, &check)), "KEY_LENT");
  EXPECT_EQ(StateOf(k3.id()), pb::KEY_STATE_MISSING);
  EXPECT_EQ(Query("SELECT count(*) FROM key_checks"), 1);

  // Found by the next check: back in the cabinet, and lent again.
  ASSERT_TRUE(Check({"K-1", "K-3"}, &check).ok());
  EXPECT_EQ(check.missing_numbers_size(), 0);
  EXPECT_EQ(StateOf(k3.id()), pb::KEY_STATE_IN_CABINET);
  EXPECT_TRUE(Lend(k3.id(), agent_tok_, &loan).ok());
  pb::ListKeysRequest list;
  list.set_estate_id(estate_);
  pb::ListKeysResponse keys;
  ASSERT_TRUE(Call(&Stub::ListKeys, agent_tok_, list, &keys).ok());
  for (const auto& k : keys.keys()) EXPECT_TRUE(k.has_last_check_time()) << k.number();
}

TEST_F(CounterRegistersTest, KeysListInPages) {
  for (const char* n : {"K-1", "K-2", "K-3"}) MakeKey(n);
  pb::ListKeysRequest req;
  req.set_estate_id(estate_);
  req.set_page_size(2);
  pb::ListKeysResponse page;
  ASSERT_TRUE(Call(&Stub::ListKeys, agent_tok_, req, &page).ok());
  EXPECT_EQ(page.keys_size(), 2);
  ASSERT_FALSE(page.next_page_token().empty());
  req.set_page_token(page.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListKeys, agent_tok_, req, &page).ok());
  EXPECT_EQ(page.keys_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
  req.set_state(pb::KEY_STATE_MISSING);  // a token of other filters
  EXPECT_EQ(Field(Call(&Stub::ListKeys, agent_tok_, req, &page)), "page_token");
}

// ---- cards ----------------------------------------------------------------------------------

// 001_… 物业客服领班 4 (IC申领、退卡) and 1 (访客卡发放): issued to a unit or a visitor.
TEST_F(CounterRegistersTest, CardsAreIssuedOncePerNumberAndReturnedOnce_001_Lead_1_4) {
  pb::Card card = Issue(AccessCard("A-0001"));
  EXPECT_EQ(card.state(), pb::CARD_STATE_ISSUED);
  EXPECT_EQ(card.unit_id(), unit_);
  EXPECT_EQ(card.resident_id(), owner_);
  EXPECT_EQ(card.fee_fen(), 0);
  pb::Card got;
  ASSERT_TRUE(Call(&Stub::GetCard, guard_tok_, [&] {
    pb::GetCardRequest r;
    r.set_id(card.id());
    return r;
  }(), &got).ok());
  EXPECT_EQ(got.number(), "A-0001");

  pb::Card out;
  grpc::Status st = Call(&Stub::IssueCard, agent_tok_, AccessCard("A-0001"), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "CARD_IN_USE");

  pb::IssueCardRequest visitor;
  visitor.set_request_id(Rid());
  visitor.set_estate_id(estate_);
  visitor.set_kind(pb::CARD_KIND_VISITOR);
  visitor.set_number("V-07");
  visitor.set_holder_name("张先生");
  pb::Card v = Issue(visitor, guard_tok_);
  EXPECT_EQ(v.holder_name(), "张先生");

  ASSERT_TRUE(ReturnCard("A-0001", &out).ok());
  EXPECT_EQ(out.id(), card.id());
  EXPECT_EQ(out.state(), pb::CARD_STATE_RETURNED);
  EXPECT_TRUE(out.has_return_time());
  EXPECT_EQ(out.version(), 2);
  // Returned twice: not out.
  st = ReturnCard("A-0001", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "CARD_NOT_ISSUED");
  // A number never issued in the estate.
  st = ReturnCard("A-9999", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Field(st), "");
  EXPECT_EQ(Query("SELECT count(*) FROM cards WHERE state = 2"), 1);

  // The number is free again; its return now finds the new card.
  pb::Card second = Issue(AccessCard("A-0001"));
  EXPECT_NE(second.id(), card.id());
  ASSERT_TRUE(ReturnCard("A-0001", &out).ok());
  EXPECT_EQ(out.id(), second.id());

  pb::ListCardsRequest list;
  list.set_estate_id(estate_);
  list.set_kind(pb::CARD_KIND_ACCESS);
  pb::ListCardsResponse cards;
  ASSERT_TRUE(Call(&Stub::ListCards, agent_tok_, list, &cards).ok());
  EXPECT_EQ(cards.cards_size(), 2);
  list.clear_kind();
  list.set_state(pb::CARD_STATE_ISSUED);
  ASSERT_TRUE(Call(&Stub::ListCards, agent_tok_, list, &cards).ok());
  ASSERT_EQ(cards.cards_size(), 1);
  EXPECT_EQ(cards.cards(0).id(), v.id());
}

TEST_F(CounterRegistersTest, BadCardsAreRefusedByFieldAndChangeNothing_001_Lead_4) {
  pb::Card out;
  pb::IssueCardRequest req = AccessCard("A-1");
  req.clear_unit_id();
  EXPECT_EQ(Field(Call(&Stub::IssueCard, agent_tok_, req, &out)), "unit_id");
  req = AccessCard("A-1");
  req.set_kind(pb::CARD_KIND_IC);
  req.set_unit_id(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::IssueCard, agent_tok_, req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req = AccessCard("A-1");
  req.set_unit_id(Unit(other_estate_, "501"));
  EXPECT_EQ(Field(Call(&Stub::IssueCard, agent_tok_, req, &out)), "unit_id");
  // A resident of another unit of the estate.
  std::string unit2 = Unit(estate_, "1204");
  req = AccessCard("A-1");
  req.set_unit_id(unit2);
  EXPECT_EQ(Field(Call(&Stub::IssueCard, agent_tok_, req, &out)), "resident_id");
  req = AccessCard("A-1");
  req.set_resident_id(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::IssueCard, agent_tok_, req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req = AccessCard("A-1");
  req.set_kind(pb::CARD_KIND_VISITOR);
  req.clear_resident_id();
  EXPECT_EQ(Field(Call(&Stub::IssueCard, agent_tok_, req, &out)), "holder_name");
  req = AccessCard("");
  EXPECT_EQ(Field(Call(&Stub::IssueCard, agent_tok_, req, &out)), "number");
  EXPECT_EQ(Query("SELECT count(*) FROM cards"), 0);
  // The resident is optional.
  req = AccessCard("A-1");
  req.clear_resident_id();
  EXPECT_TRUE(Call(&Stub::IssueCard, agent_tok_, req, &out).ok());
}

// 001_… 物业客服领班 4 (遗失补办赔偿): blocked at once for the gates, replaced with the fee.
TEST_F(CounterRegistersTest, ALostCardIsBlockedAndReplacedWithTheFee_001_Lead_4) {
  pb::IssueCardRequest ic = AccessCard("IC-0042");
  ic.set_kind(pb::CARD_KIND_IC);
  ic.set_holder_name("李小姐");
  pb::Card card = Issue(ic);

  pb::ReportCardLostRequest req = LostReq("IC-0042", "IC-0043");
  pb::Card lost;
  ASSERT_TRUE(Call(&Stub::ReportCardLost, agent_tok_, req, &lost).ok());
  EXPECT_EQ(lost.id(), card.id());
  EXPECT_EQ(lost.state(), pb::CARD_STATE_BLOCKED);
  EXPECT_TRUE(lost.has_block_time());
  ASSERT_FALSE(lost.replaced_by_card_id().empty());
  // Replayed: the same answer, no second block or card.
  pb::Card again;
  ASSERT_TRUE(Call(&Stub::ReportCardLost, agent_tok_, req, &again).ok());
  EXPECT_EQ(again.replaced_by_card_id(), lost.replaced_by_card_id());

  pb::GetCardRequest get;
  get.set_id(lost.replaced_by_card_id());
  pb::Card fresh;
  ASSERT_TRUE(Call(&Stub::GetCard, agent_tok_, get, &fresh).ok());
  EXPECT_EQ(fresh.state(), pb::CARD_STATE_ISSUED);
  EXPECT_EQ(fresh.number(), "IC-0043");
  EXPECT_EQ(fresh.kind(), pb::CARD_KIND_IC);
  EXPECT_EQ(fresh.unit_id(), unit_);
  EXPECT_EQ(fresh.resident_id(), owner_);
  EXPECT_EQ(fresh.holder_name(), "李小姐");
  EXPECT_EQ(fresh.replaces_card_id(), card.id());
  EXPECT_EQ(fresh.fee_fen(), 2000);  // the settings' default

  auto blocked = Published("counter.card.blocked");
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].subject(), card.id());
  EXPECT_EQ(blocked[0].estate_id(), estate_);
  EXPECT_EQ(blocked[0].group_id(), group_);
  EXPECT_EQ(blocked[0].subject_version(), 2);
  ev::CardBlocked b;
  ASSERT_TRUE(blocked[0].payload().UnpackTo(&b));
  EXPECT_EQ(b.card_id(), card.id());
  EXPECT_EQ(b.estate_id(), estate_);
  EXPECT_EQ(b.card_number(), "IC-0042");
  EXPECT_EQ(b.kind(), "ic");
  EXPECT_EQ(FromProtoTime(b.at()), clock_.Now());
  auto replaced = Published("counter.card.replaced");
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0].subject(), fresh.id());
  ev::CardReplaced r;
  ASSERT_TRUE(replaced[0].payload().UnpackTo(&r));
  EXPECT_EQ(r.card_id(), fresh.id());
  EXPECT_EQ(r.unit_id(), unit_);
  EXPECT_EQ(r.card_number(), "IC-0043");
  EXPECT_EQ(r.replaces_card_id(), card.id());
  EXPECT_EQ(r.fee_fen(), 2000);
  // No name in any event.
  for (const auto& e : {blocked[0], replaced[0]}) {
    EXPECT_EQ(e.SerializeAsString().find("李小姐"), std::string::npos);
  }

  // Lost again, or returned: the lost card is not out.
  pb::Card out;
  EXPECT_EQ(Reason(Call(&Stub::ReportCardLost, agent_tok_, LostReq("IC-0042"), &out)),
            "CARD_NOT_ISSUED");
  EXPECT_EQ(Reason(ReturnCard("IC-0042", &out)), "CARD_NOT_ISSUED");
  EXPECT_EQ(Call(&Stub::ReportCardLost, agent_tok_, LostReq("IC-7777"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Published("counter.card.blocked").size(), 1u);
}

TEST_F(CounterRegistersTest, AReplacementNumberInUseChangesNothing_001_Lead_4) {
  Issue(AccessCard("A-1"));
  Issue(AccessCard("A-2"));
  pb::Card out;
  grpc::Status st = Call(&Stub::ReportCardLost, agent_tok_, LostReq("A-1", "A-2"), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "CARD_IN_USE");
  EXPECT_EQ(Field(Call(&Stub::ReportCardLost, agent_tok_, LostReq("A-1", "A-1"), &out)),
            "replacement_card_number");
  EXPECT_EQ(Query("SELECT count(*) FROM cards WHERE state = 1"), 2);
  EXPECT_TRUE(Published("counter.card.blocked").empty());

  // A visitor card lost: blocked, replaced without a fee; without replacement only blocked.
  pb::IssueCardRequest visitor;
  visitor.set_request_id(Rid());
  visitor.set_estate_id(estate_);
  visitor.set_kind(pb::CARD_KIND_VISITOR);
  visitor.set_number("V-1");
  visitor.set_holder_name("张先生");
  Issue(visitor);
  ASSERT_TRUE(Call(&Stub::ReportCardLost, guard_tok_, LostReq("V-1", "V-2"), &out).ok());
  auto replaced = Published("counter.card.replaced");
  ASSERT_EQ(replaced.size(), 1u);
  ev::CardReplaced r;
  ASSERT_TRUE(replaced[0].payload().UnpackTo(&r));
  EXPECT_EQ(r.fee_fen(), 0);
  EXPECT_EQ(r.unit_id(), "");
  ASSERT_TRUE(Call(&Stub::ReportCardLost, agent_tok_, LostReq("A-1"), &out).ok());
  EXPECT_TRUE(out.replaced_by_card_id().empty());
  EXPECT_EQ(Published("counter.card.blocked").size(), 2u);
  EXPECT_EQ(Published("counter.card.replaced").size(), 1u);
}

// The fee follows the group's settings.
TEST_F(CounterRegistersTest, TheReplacementFeeIsTheSettings_001_Lead_4) {
  pb::UpdateSettingsRequest s;
  s.set_request_id(Rid());
  s.mutable_settings()->set_card_replacement_fee_fen(3500);
  s.mutable_update_mask()->add_paths("card_replacement_fee_fen");
  pb::Settings settings;
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, s, &settings).ok());
  Issue(AccessCard("A-1"));
  pb::Card out;
  ASSERT_TRUE(Call(&Stub::ReportCardLost, agent_tok_, LostReq("A-1", "A-2"), &out).ok());
  ev::CardReplaced r;
  ASSERT_TRUE(Published("counter.card.replaced")[0].payload().UnpackTo(&r));
  EXPECT_EQ(r.fee_fen(), 3500);
}

// ---- registers ------------------------------------------------------------------------------

// 001_… 物业客服领班 1 (雨伞租赁, 物品寄存): lent or left, and back once.
TEST_F(CounterRegistersTest, RegisterEntriesCloseOnce_001_Lead_1) {
  pb::CreateRegisterEntryRequest umbrella =
      EntryReq(pb::REGISTER_KIND_UMBRELLA, "black umbrella no. 4");
  *umbrella.mutable_due_time() = ToProtoTime(clock_.Now() + absl::Hours(24));
  umbrella.set_unit_id(unit_);
  pb::RegisterEntry u = Open(umbrella, guard_tok_);
  EXPECT_EQ(u.kind(), pb::REGISTER_KIND_UMBRELLA);
  EXPECT_EQ(u.opened_by(), guard_);
  EXPECT_EQ(u.unit_id(), unit_);
  EXPECT_FALSE(u.closed());
  pb::CreateRegisterEntryRequest storage = EntryReq(pb::REGISTER_KIND_STORAGE, "a parcel");
  storage.set_kept_at("locker 3");
  pb::RegisterEntry s = Open(storage);
  EXPECT_EQ(s.kept_at(), "locker 3");

  pb::RegisterEntry closed;
  ASSERT_TRUE(Call(&Stub::CloseRegisterEntry, agent_tok_, CloseReq(u.id()), &closed).ok());
  EXPECT_TRUE(closed.closed());
  EXPECT_EQ(closed.closed_to_name(), "陈女士");
  EXPECT_EQ(closed.closed_by(), agent_);
  EXPECT_TRUE(closed.has_close_time());
  grpc::Status st = Call(&Stub::CloseRegisterEntry, agent_tok_, CloseReq(u.id()), &closed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "ALREADY_CLOSED");

  pb::ListRegisterEntriesRequest list;
  list.set_estate_id(estate_);
  pb::ListRegisterEntriesResponse got;
  ASSERT_TRUE(Call(&Stub::ListRegisterEntries, guard_tok_, list, &got).ok());
  EXPECT_EQ(got.entries_size(), 2);
  list.set_open_only(true);
  ASSERT_TRUE(Call(&Stub::ListRegisterEntries, guard_tok_, list, &got).ok());
  ASSERT_EQ(got.entries_size(), 1);
  EXPECT_EQ(got.entries(0).id(), s.id());
  list.set_open_only(false);
  list.set_kind(pb::REGISTER_KIND_UMBRELLA);
  ASSERT_TRUE(Call(&Stub::ListRegisterEntries, guard_tok_, list, &got).ok());
  ASSERT_EQ(got.entries_size(), 1);
  EXPECT_EQ(got.entries(0).id(), u.id());
}

// 001_… 物业客服领班 2 (失物招领、寻物启事): an item handed in answers a loss reported.
TEST_F(CounterRegistersTest, AFoundItemClosesTheLossItAnswers_001_Lead_2) {
  pb::RegisterEntry found = Open(EntryReq(pb::REGISTER_KIND_FOUND_ITEM, "a brown wallet"));
  pb::RegisterEntry lost = Open(EntryReq(pb::REGISTER_KIND_LOST_REPORT, "wallet, brown"));
  pb::RegisterEntry umbrella = Open(EntryReq(pb::REGISTER_KIND_UMBRELLA, "umbrella"));
  pb::CreateRegisterEntryRequest far = EntryReq(pb::REGISTER_KIND_LOST_REPORT, "a key ring");
  far.set_estate_id(other_estate_);
  pb::RegisterEntry elsewhere = Open(far, admin_tok_);

  pb::RegisterEntry out;
  EXPECT_EQ(Field(Call(&Stub::CloseRegisterEntry, agent_tok_, CloseReq(found.id(), umbrella.id()),
                       &out)),
            "matched_entry_id");
  EXPECT_EQ(Field(Call(&Stub::CloseRegisterEntry, agent_tok_,
                       CloseReq(found.id(), elsewhere.id()), &out)),
            "matched_entry_id");
  EXPECT_EQ(Call(&Stub::CloseRegisterEntry, agent_tok_,
                 CloseReq(found.id(), NewId(absl::Now())), &out)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Query("SELECT count(*) FROM register_entries WHERE closed"), 0);

  ASSERT_TRUE(
      Call(&Stub::CloseRegisterEntry, agent_tok_, CloseReq(found.id(), lost.id()), &out).ok());
  EXPECT_TRUE(out.closed());
  EXPECT_EQ(out.matched_entry_id(), lost.id());
  pb::ListRegisterEntriesRequest list;
  list.set_estate_id(estate_);
  list.set_kind(pb::REGISTER_KIND_LOST_REPORT);
  pb::ListRegisterEntriesResponse got;
  ASSERT_TRUE(Call(&Stub::ListRegisterEntries, agent_tok_, list, &got).ok());
  ASSERT_EQ(got.entries_size(), 1);
  EXPECT_TRUE(got.entries(0).closed());
  EXPECT_EQ(got.entries(0).matched_entry_id(), found.id());
  // The loss report is closed with it.
  EXPECT_EQ(Reason(Call(&Stub::CloseRegisterEntry, agent_tok_, CloseReq(lost.id()), &out)),
            "ALREADY_CLOSED");
}

TEST_F(CounterRegistersTest, BadEntriesAreRefusedByFieldAndChangeNothing_001_Lead_1_2) {
  pb::RegisterEntry out;
  auto req = EntryReq(pb::REGISTER_KIND_FOUND_ITEM, "a phone");
  *req.mutable_due_time() = ToProtoTime(clock_.Now() + absl::Hours(1));
  EXPECT_EQ(Field(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &out)), "due_time");
  req = EntryReq(pb::REGISTER_KIND_UNSPECIFIED, "x");
  EXPECT_EQ(Field(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &out)), "kind");
  req = EntryReq(pb::REGISTER_KIND_STORAGE, "");
  EXPECT_EQ(Field(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &out)), "description");
  req = EntryReq(pb::REGISTER_KIND_STORAGE, "a box");
  req.set_person_name("陈 13800138000");
  grpc::Status st = Call(&Stub::CreateRegisterEntry, agent_tok_, req, &out);
  EXPECT_EQ(Field(st), "person_name");
  EXPECT_EQ(st.error_message().find("13800138000"), std::string::npos);
  req = EntryReq(pb::REGISTER_KIND_STORAGE, "a box");
  req.set_unit_id(NewId(absl::Now()));
  EXPECT_EQ(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  auto close = CloseReq(NewId(absl::Now()));
  close.set_closed_to_name("");
  EXPECT_EQ(Field(Call(&Stub::CloseRegisterEntry, agent_tok_, close, &out)), "closed_to_name");
  EXPECT_EQ(Query("SELECT count(*) FROM register_entries"), 0);

  // Request ids: one entry per id; another request under it is refused.
  req = EntryReq(pb::REGISTER_KIND_STORAGE, "a box");
  pb::RegisterEntry a, b;
  ASSERT_TRUE(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &a).ok());
  ASSERT_TRUE(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &b).ok());
  EXPECT_EQ(a.id(), b.id());
  req.set_description("two boxes");
  EXPECT_EQ(Reason(Call(&Stub::CreateRegisterEntry, agent_tok_, req, &b)), "REQUEST_ID_REUSED");
  EXPECT_EQ(Query("SELECT count(*) FROM register_entries"), 1);
}

// ---- tenancy, estates and roles -------------------------------------------------------------

TEST_F(CounterRegistersTest, AnotherGroupSeesNothingAndChangesNothing) {
  pb::Key key = MakeKey("K-1");
  pb::Card card = Issue(AccessCard("A-1"));
  pb::RegisterEntry entry = Open(EntryReq(pb::REGISTER_KIND_FOUND_ITEM, "a phone"));

  pb::KeyLoan loan;
  EXPECT_EQ(Lend(key.id(), foreign_tok_, &loan).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Return(key.id(), foreign_tok_, &loan).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::CreateKeyRequest create;
  create.set_request_id(Rid());
  create.mutable_opens()->set_estate_id(estate_);
  create.mutable_opens()->set_common_area("roof");
  create.set_number("K-X");
  pb::Key k;
  EXPECT_EQ(Call(&Stub::CreateKey, foreign_tok_, create, &k).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::KeyCheck check;
  EXPECT_EQ(Check({}, &check, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::GetCardRequest get;
  get.set_id(card.id());
  pb::Card out;
  EXPECT_EQ(Call(&Stub::GetCard, foreign_tok_, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReturnCard("A-1", &out, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::ReportCardLostRequest lost = LostReq("A-1");
  EXPECT_EQ(Call(&Stub::ReportCardLost, foreign_tok_, lost, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::IssueCardRequest issue = AccessCard("A-2");
  EXPECT_EQ(Call(&Stub::IssueCard, foreign_tok_, issue, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::RegisterEntry e;
  EXPECT_EQ(Call(&Stub::CloseRegisterEntry, foreign_tok_, CloseReq(entry.id()), &e).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::CreateRegisterEntry, foreign_tok_,
                 EntryReq(pb::REGISTER_KIND_STORAGE, "a box"), &e)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::ListKeysRequest keys;
  keys.set_estate_id(estate_);
  pb::ListKeysResponse listed;
  ASSERT_TRUE(Call(&Stub::ListKeys, foreign_tok_, keys, &listed).ok());
  EXPECT_EQ(listed.keys_size(), 0);
  pb::ListCardsRequest cards;
  cards.set_estate_id(estate_);
  pb::ListCardsResponse cards_out;
  ASSERT_TRUE(Call(&Stub::ListCards, foreign_tok_, cards, &cards_out).ok());
  EXPECT_EQ(cards_out.cards_size(), 0);

  EXPECT_EQ(StateOf(key.id()), pb::KEY_STATE_IN_CABINET);
  EXPECT_EQ(Query("SELECT count(*) FROM office_keys"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM key_checks"), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM cards WHERE state = 1"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM register_entries WHERE NOT closed"), 1);
  EXPECT_TRUE(Published("counter.card.blocked").empty());
}

TEST_F(CounterRegistersTest, AnotherEstatesTokenIsRefused) {
  pb::Key key = MakeKey("K-1");
  pb::Card card = Issue(AccessCard("A-1"));
  pb::RegisterEntry entry = Open(EntryReq(pb::REGISTER_KIND_FOUND_ITEM, "a phone"));
  const std::string& tok = other_estate_tok_;
  auto denied = [](const grpc::Status& st) {
    return st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  pb::KeyLoan loan;
  EXPECT_TRUE(denied(Lend(key.id(), tok, &loan)));
  pb::KeyCheck check;
  EXPECT_TRUE(denied(Check({}, &check, tok)));
  pb::ListKeysRequest keys;
  keys.set_estate_id(estate_);
  pb::ListKeysResponse listed;
  EXPECT_TRUE(denied(Call(&Stub::ListKeys, tok, keys, &listed)));
  pb::GetCardRequest get;
  get.set_id(card.id());
  pb::Card out;
  EXPECT_TRUE(denied(Call(&Stub::GetCard, tok, get, &out)));
  EXPECT_TRUE(denied(ReturnCard("A-1", &out, tok)));
  EXPECT_TRUE(denied(Call(&Stub::ReportCardLost, tok, LostReq("A-1"), &out)));
  EXPECT_TRUE(denied(Call(&Stub::IssueCard, tok, AccessCard("A-2"), &out)));
  pb::RegisterEntry e;
  EXPECT_TRUE(denied(Call(&Stub::CloseRegisterEntry, tok, CloseReq(entry.id()), &e)));
  EXPECT_TRUE(
      denied(Call(&Stub::CreateRegisterEntry, tok, EntryReq(pb::REGISTER_KIND_STORAGE, "x"), &e)));
  EXPECT_EQ(StateOf(key.id()), pb::KEY_STATE_IN_CABINET);
  EXPECT_EQ(Query("SELECT count(*) FROM cards WHERE state = 1"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM register_entries"), 1);
}

TEST_F(CounterRegistersTest, RolesDecideWhoKeepsKeysCardsAndRegisters) {
  auto denied = [](const grpc::Status& st) {
    return st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  pb::Key key = MakeKey("K-1", "", "", guard_tok_);  // guards keep the cabinet
  pb::KeyLoan loan;
  // A technician lends and returns, but neither registers keys nor checks them.
  pb::CreateKeyRequest create;
  create.set_request_id(Rid());
  create.mutable_opens()->set_estate_id(estate_);
  create.mutable_opens()->set_common_area("roof");
  create.set_number("K-2");
  pb::Key k;
  EXPECT_TRUE(denied(Call(&Stub::CreateKey, tech_tok_, create, &k)));
  pb::KeyCheck check;
  EXPECT_TRUE(denied(Check({"K-1"}, &check, tech_tok_)));
  // Finance clerks and inspectors have no part in the cabinet, the cards or the registers.
  for (const std::string& tok : {finance_tok_, inspector_tok_}) {
    EXPECT_TRUE(denied(Lend(key.id(), tok, &loan)));
    EXPECT_TRUE(denied(Call(&Stub::CreateKey, tok, create, &k)));
    pb::ListKeysRequest keys;
    keys.set_estate_id(estate_);
    pb::ListKeysResponse listed;
    EXPECT_TRUE(denied(Call(&Stub::ListKeys, tok, keys, &listed)));
    pb::Card out;
    EXPECT_TRUE(denied(Call(&Stub::IssueCard, tok, AccessCard("A-1"), &out)));
    pb::RegisterEntry e;
    EXPECT_TRUE(denied(
        Call(&Stub::CreateRegisterEntry, tok, EntryReq(pb::REGISTER_KIND_STORAGE, "x"), &e)));
    pb::ListRegisterEntriesRequest list;
    list.set_estate_id(estate_);
    pb::ListRegisterEntriesResponse entries;
    EXPECT_TRUE(denied(Call(&Stub::ListRegisterEntries, tok, list, &entries)));
  }
  // A technician does not issue cards.
  pb::Card out;
  EXPECT_TRUE(denied(Call(&Stub::IssueCard, tech_tok_, AccessCard("A-1"), &out)));
  // Guards, agents, supervisors and managers do.
  Issue(AccessCard("A-1"), guard_tok_);
  Issue(AccessCard("A-2"), supervisor_tok_);
  Issue(AccessCard("A-3"), manager_tok_);
  EXPECT_TRUE(Lend(key.id(), tech_tok_, &loan).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM office_keys"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM cards"), 3);
}

}  // namespace
}  // namespace wuye::counter::testing
