// Handlers of the counter: keys, cards, registers (docs/api/counter.md, "Keys, cards and
// registers"). Person names (a borrower's, a holder's, who handed in or took back an item)
// are stored and answered, never logged, put in an error or published.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/counter/counter_service.h"
#include "shared/field_mask.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter {
namespace {

namespace ev = ::wuye::events::v1;
using namespace roles;  // NOLINT(google-build-using-namespace)

// Keys (003_… 2.3): the desk, the office and the guards keep the cabinet.
const std::initializer_list<std::string_view> kKeyKeepers = {
    kAgent, kTeamLead, kSupervisor, kEstateManager, kSecurityGuard, kGroupAdmin};
// Lending and returning, and reading the cabinet and its loans: also technicians.
const std::initializer_list<std::string_view> kKeyUsers = {
    kAgent, kTeamLead, kSupervisor, kEstateManager, kSecurityGuard, kTechnician, kGroupAdmin};
// Cards and registers (001_… 物业客服领班 1, 2, 4): the desk and the guards.
const std::initializer_list<std::string_view> kDesk = {kAgent,         kTeamLead,      kSupervisor,
                                                       kEstateManager, kSecurityGuard, kGroupAdmin};

// NOT_FOUND naming `field` unless the estate is one of the caller's group.
absl::Status RequireKnownEstate(RegistersStore& store, pqxx::work& tx, const std::string& group,
                                const std::string& estate, absl::string_view field) {
  if (store.EstateKnown(tx, group, estate)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(field, ": no such estate"));
}

// A unit of `estate` in the counter's copy: NOT_FOUND `field` when unknown (or another
// group's), INVALID_ARGUMENT when of another estate.
absl::Status RequireUnitOf(CounterStore& store, pqxx::work& tx, const std::string& group,
                           const std::string& unit, const std::string& estate,
                           absl::string_view field) {
  auto u = store.GetUnit(tx, group, unit);
  if (!u) return absl::NotFoundError(absl::StrCat(field, ": no such unit"));
  if (u->estate_id != estate) return FieldError(field, "not a unit of the estate");
  return absl::OkStatus();
}

}  // namespace

// ---- keys -----------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::CreateKey(Ctx* ctx, const pb::CreateKeyRequest* req,
                                           pb::Key* resp) {
  return rpc_.Run(ctx, "CreateKey", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyKeepers));
    WUYE_RETURN_IF_ERROR(CheckNewKey(*req));
    const std::string& estate = req->opens().estate_id();
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_RETURN_IF_ERROR(RequireKnownEstate(registers_, tx, group, estate, "opens.estate_id"));
      if (req->opens().has_unit_id()) {
        WUYE_RETURN_IF_ERROR(
            RequireUnitOf(store_, tx, group, req->opens().unit_id(), estate, "opens.unit_id"));
      }
      pb::Key key;
      key.set_id(NewId(rc.now));
      key.set_estate_id(estate);
      *key.mutable_opens() = req->opens();
      key.set_number(req->number());
      key.set_label(req->label());
      key.set_state(pb::KEY_STATE_IN_CABINET);
      key.set_version(1);
      *key.mutable_create_time() = ToProtoTime(rc.now);
      if (!registers_.InsertKey(tx, group, key)) {
        return WithReason(absl::AlreadyExistsError("number: the estate has a key of this number"),
                          "KEY_NUMBER_TAKEN");
      }
      *resp = std::move(key);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListKeys(Ctx* ctx, const pb::ListKeysRequest* req,
                                          pb::ListKeysResponse* resp) {
  return rpc_.Run(ctx, "ListKeys", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyUsers));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!pb::KeyState_IsValid(req->state())) return FieldError("state", "not a key state");
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("keys;", req->estate_id(), ";", req->state());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = registers_.ListKeys(tx, rc.caller.group_id, req->estate_id(), req->state(),
                                      page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_keys()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::LendKey(Ctx* ctx, const pb::LendKeyRequest* req,
                                         pb::KeyLoan* resp) {
  return rpc_.Run(ctx, "LendKey", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyUsers));
    // The due time against now only for a new loan: a retry is answered as first.
    WUYE_RETURN_IF_ERROR(CheckLoanRequest(*req, absl::InfinitePast()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(CheckLoanRequest(*req, rc.now));
      const std::string& group = rc.caller.group_id;
      // The key's row lock decides between concurrent loans: the second one waits, then
      // reads the key lent.
      auto key = registers_.GetKey(tx, group, req->key_id(), RowLock::kLock);
      if (!key) return absl::NotFoundError("key_id: no such key");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(key->estate_id()));
      if (!req->borrower_staff_id().empty()) {
        // A member of staff of the key's estate who still works there.
        auto staff = store_.GetStaff(tx, group, req->borrower_staff_id());
        if (!staff || !staff->active ||
            std::find(staff->estate_ids.begin(), staff->estate_ids.end(), key->estate_id()) ==
                staff->estate_ids.end()) {
          return absl::NotFoundError("borrower_staff_id: no such member of the estate's staff");
        }
      }
      WUYE_RETURN_IF_ERROR(CanLend(key->state()));
      pb::KeyLoan loan;
      loan.set_id(NewId(rc.now));
      loan.set_key_id(key->id());
      loan.set_estate_id(key->estate_id());
      loan.set_borrower_staff_id(req->borrower_staff_id());
      loan.set_borrower_name(req->borrower_name());
      loan.set_purpose(req->purpose());
      *loan.mutable_lend_time() = ToProtoTime(rc.now);
      if (req->has_due_time()) *loan.mutable_due_time() = req->due_time();
      loan.set_lent_by(rc.caller.subject);
      registers_.InsertLoan(tx, group, loan);
      registers_.SetKeyState(tx, group, key->id(), pb::KEY_STATE_LENT, loan.id());
      *resp = std::move(loan);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ReturnKey(Ctx* ctx, const pb::ReturnKeyRequest* req,
                                           pb::KeyLoan* resp) {
  return rpc_.Run(ctx, "ReturnKey", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyUsers));
    WUYE_RETURN_IF_ERROR(CheckId(req->key_id(), "key_id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto key = registers_.GetKey(tx, group, req->key_id(), RowLock::kLock);
      if (!key) return absl::NotFoundError("key_id: no such key");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(key->estate_id()));
      WUYE_RETURN_IF_ERROR(CanReturn(key->state()));
      auto loan = registers_.CloseLoan(tx, group, key->id(), rc.now, rc.caller.subject);
      if (!loan) return absl::InternalError("a lent key without an open loan");
      registers_.SetKeyState(tx, group, key->id(), pb::KEY_STATE_IN_CABINET, "");
      *resp = std::move(*loan);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListKeyLoans(Ctx* ctx, const pb::ListKeyLoansRequest* req,
                                              pb::ListKeyLoansResponse* resp) {
  return rpc_.Run(ctx, "ListKeyLoans", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyUsers));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->key_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->key_id(), "key_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters =
        absl::StrCat("loans;", req->estate_id(), ";", req->key_id(), ";", req->open_only());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = registers_.ListLoans(tx, rc.caller.group_id, req->estate_id(), req->key_id(),
                                       req->open_only(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_loans()));
      return absl::OkStatus();
    });
  });
}

// 003_… 2.3 (锁匙核对): the count of the cabinet against the ledger.
grpc::Status CounterServiceImpl::CheckKeys(Ctx* ctx, const pb::CheckKeysRequest* req,
                                           pb::KeyCheck* resp) {
  return rpc_.Run(ctx, "CheckKeys", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kKeyKeepers));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_RETURN_IF_ERROR(
          RequireKnownEstate(registers_, tx, group, req->estate_id(), "estate_id"));
      // Every key of the estate locked: no loan or return moves while the count is written.
      auto keys = registers_.LockKeysForCheck(tx, group, req->estate_id());
      WUYE_ASSIGN_OR_RETURN(CheckPlan plan, PlanCheck(keys, req->found_numbers()));
      registers_.ApplyCheck(tx, group, plan, rc.now);
      pb::KeyCheck check;
      check.set_id(NewId(rc.now));
      check.set_estate_id(req->estate_id());
      *check.mutable_check_time() = ToProtoTime(rc.now);
      check.set_checked_by(rc.caller.subject);
      check.set_keys_registered(plan.registered);
      check.set_keys_found(plan.found);
      check.set_keys_lent(plan.lent);
      for (const auto& n : plan.missing_numbers) check.add_missing_numbers(n);
      registers_.InsertCheck(tx, group, check);
      *resp = std::move(check);
      return absl::OkStatus();
    });
  });
}

// ---- cards ----------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::IssueCard(Ctx* ctx, const pb::IssueCardRequest* req,
                                           pb::Card* resp) {
  return rpc_.Run(ctx, "IssueCard", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckNewCard(*req));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      const std::string& estate = req->estate_id();
      WUYE_RETURN_IF_ERROR(RequireKnownEstate(registers_, tx, group, estate, "estate_id"));
      if (!req->unit_id().empty()) {
        WUYE_RETURN_IF_ERROR(RequireUnitOf(store_, tx, group, req->unit_id(), estate, "unit_id"));
      }
      if (!req->resident_id().empty()) {
        // A resident of the unit still living there (a removed one is kept with no role).
        auto resident = store_.GetResident(tx, group, req->resident_id());
        absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, estate));
        if (!resident || resident->role == 0 ||
            (resident->move_out_date && *resident->move_out_date <= today)) {
          return absl::NotFoundError("resident_id: no such resident");
        }
        if (resident->unit_id != req->unit_id()) {
          return FieldError("resident_id", "not a resident of the unit");
        }
      }
      // One issue of a number at a time in the estate (the partial unique index is the
      // backstop).
      LockForUpdate(tx, absl::StrCat("counter-card/", group, "/", estate, "/", req->number()));
      if (registers_.NumberIssued(tx, group, estate, req->number())) {
        return WithReason(absl::FailedPreconditionError("number: a card of this number is out"),
                          "CARD_IN_USE");
      }
      pb::Card card;
      card.set_id(NewId(rc.now));
      card.set_estate_id(estate);
      card.set_kind(req->kind());
      card.set_number(req->number());
      card.set_unit_id(req->unit_id());
      card.set_resident_id(req->resident_id());
      card.set_holder_name(req->holder_name());
      card.set_state(pb::CARD_STATE_ISSUED);
      *card.mutable_issue_time() = ToProtoTime(rc.now);
      card.set_version(1);
      registers_.InsertCard(tx, group, card, rc.caller.subject);
      *resp = std::move(card);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetCard(Ctx* ctx, const pb::GetCardRequest* req, pb::Card* resp) {
  return rpc_.Run(ctx, "GetCard", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto card = registers_.GetCard(tx, rc.caller.group_id, req->id(), RowLock::kShare);
      if (!card) return absl::NotFoundError("id: no such card");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(card->estate_id()));
      *resp = std::move(*card);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListCards(Ctx* ctx, const pb::ListCardsRequest* req,
                                           pb::ListCardsResponse* resp) {
  return rpc_.Run(ctx, "ListCards", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!pb::CardKind_IsValid(req->kind())) return FieldError("kind", "not a card kind");
    if (!pb::CardState_IsValid(req->state())) return FieldError("state", "not a card state");
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("cards;", req->estate_id(), ";", req->kind(), ";",
                                             req->state(), ";", req->unit_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = registers_.ListCards(tx, rc.caller.group_id, *req, page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_cards()));
      return absl::OkStatus();
    });
  });
}

// 001_… 物业客服领班 4 (退卡).
grpc::Status CounterServiceImpl::ReturnCard(Ctx* ctx, const pb::ReturnCardRequest* req,
                                            pb::Card* resp) {
  return rpc_.Run(ctx, "ReturnCard", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckCardNumber(req->number(), "number"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto card = registers_.LockCardByNumber(tx, group, req->estate_id(), req->number());
      if (!card) {
        return absl::NotFoundError("number: no card of this number was issued in the estate");
      }
      WUYE_RETURN_IF_ERROR(CardIsOut(card->state(), "number"));
      *resp = registers_.ReturnCard(tx, group, card->id(), rc.now);
      return absl::OkStatus();
    });
  });
}

// 001_… 物业客服领班 1 and 4 (访客卡赔偿, IC 遗失补办赔偿): blocked at once, replaced on request.
grpc::Status CounterServiceImpl::ReportCardLost(Ctx* ctx, const pb::ReportCardLostRequest* req,
                                                pb::Card* resp) {
  return rpc_.Run(ctx, "ReportCardLost", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckCardNumber(req->number(), "number"));
    const std::string& replacement = req->replacement_card_number();
    if (!replacement.empty()) {
      WUYE_RETURN_IF_ERROR(CheckCardNumber(replacement, "replacement_card_number"));
      if (replacement == req->number()) {
        return FieldError("replacement_card_number", "must differ from the lost card's number");
      }
    }
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      const std::string& estate = req->estate_id();
      auto lost = registers_.LockCardByNumber(tx, group, estate, req->number());
      if (!lost) {
        return absl::NotFoundError("number: no card of this number was issued in the estate");
      }
      WUYE_RETURN_IF_ERROR(CardIsOut(lost->state(), "number"));
      pb::Card fresh;
      if (!replacement.empty()) {
        LockForUpdate(tx, absl::StrCat("counter-card/", group, "/", estate, "/", replacement));
        if (registers_.NumberIssued(tx, group, estate, replacement)) {
          return WithReason(absl::FailedPreconditionError(
                                "replacement_card_number: a card of this number is out"),
                            "CARD_IN_USE");
        }
        fresh.set_id(NewId(rc.now));
        fresh.set_estate_id(estate);
        fresh.set_kind(lost->kind());
        fresh.set_number(replacement);
        fresh.set_unit_id(lost->unit_id());
        fresh.set_resident_id(lost->resident_id());
        fresh.set_holder_name(lost->holder_name());
        fresh.set_state(pb::CARD_STATE_ISSUED);
        *fresh.mutable_issue_time() = ToProtoTime(rc.now);
        fresh.set_replaces_card_id(lost->id());
        fresh.set_fee_fen(ReplacementFee(lost->kind(), store_.GetSettings(tx, group)));
        fresh.set_version(1);
        registers_.InsertCard(tx, group, fresh, rc.caller.subject);
      }
      *resp = registers_.BlockCard(tx, group, lost->id(), rc.now, fresh.id());

      ev::CardBlocked blocked;
      blocked.set_card_id(resp->id());
      blocked.set_estate_id(estate);
      blocked.set_card_number(resp->number());
      blocked.set_kind(CardKindWord(resp->kind()));
      *blocked.mutable_at() = ToProtoTime(rc.now);
      outbox_.Append(tx,
                     {"counter.card.blocked", group, estate, resp->id(), resp->version(), &blocked},
                     rc.now, rc.trace_id);
      if (!fresh.id().empty()) {
        ev::CardReplaced replaced;
        replaced.set_card_id(fresh.id());
        replaced.set_estate_id(estate);
        replaced.set_unit_id(fresh.unit_id());
        replaced.set_card_number(fresh.number());
        replaced.set_replaces_card_id(lost->id());
        replaced.set_fee_fen(fresh.fee_fen());
        *replaced.mutable_at() = ToProtoTime(rc.now);
        outbox_.Append(
            tx, {"counter.card.replaced", group, estate, fresh.id(), fresh.version(), &replaced},
            rc.now, rc.trace_id);
      }
      return absl::OkStatus();
    });
  });
}

// ---- registers ------------------------------------------------------------------------------

// 001_… 物业客服领班 1 (雨伞租赁, 物品寄存) and 2 (失物招领, 寻物启事).
grpc::Status CounterServiceImpl::CreateRegisterEntry(Ctx* ctx,
                                                     const pb::CreateRegisterEntryRequest* req,
                                                     pb::RegisterEntry* resp) {
  return rpc_.Run(ctx, "CreateRegisterEntry", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    // The due time against now only for a new entry: a retry is answered as first.
    WUYE_RETURN_IF_ERROR(CheckNewEntry(*req, absl::InfinitePast()));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(CheckNewEntry(*req, rc.now));
      const std::string& group = rc.caller.group_id;
      WUYE_RETURN_IF_ERROR(
          RequireKnownEstate(registers_, tx, group, req->estate_id(), "estate_id"));
      if (!req->unit_id().empty()) {
        WUYE_RETURN_IF_ERROR(
            RequireUnitOf(store_, tx, group, req->unit_id(), req->estate_id(), "unit_id"));
      }
      pb::RegisterEntry entry;
      entry.set_id(NewId(rc.now));
      entry.set_estate_id(req->estate_id());
      entry.set_kind(req->kind());
      entry.set_description(req->description());
      entry.set_person_name(req->person_name());
      entry.set_unit_id(req->unit_id());
      entry.set_kept_at(req->kept_at());
      if (req->has_due_time()) *entry.mutable_due_time() = req->due_time();
      *entry.mutable_open_time() = ToProtoTime(rc.now);
      entry.set_opened_by(rc.caller.subject);
      registers_.InsertEntry(tx, group, entry);
      *resp = std::move(entry);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListRegisterEntries(Ctx* ctx,
                                                     const pb::ListRegisterEntriesRequest* req,
                                                     pb::ListRegisterEntriesResponse* resp) {
  return rpc_.Run(ctx, "ListRegisterEntries", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!pb::RegisterKind_IsValid(req->kind())) return FieldError("kind", "not a register kind");
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters =
        absl::StrCat("entries;", req->estate_id(), ";", req->kind(), ";", req->open_only());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = registers_.ListEntries(tx, rc.caller.group_id, req->estate_id(), req->kind(),
                                         req->open_only(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_entries()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::CloseRegisterEntry(Ctx* ctx,
                                                    const pb::CloseRegisterEntryRequest* req,
                                                    pb::RegisterEntry* resp) {
  return rpc_.Run(ctx, "CloseRegisterEntry", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(kDesk));
    WUYE_RETURN_IF_ERROR(CheckCloseEntry(*req));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      const std::string& matched = req->matched_entry_id();
      // Both rows locked in id order, so two closings of a pair cannot deadlock.
      std::optional<pb::RegisterEntry> entry, match;
      if (!matched.empty() && matched < req->entry_id()) {
        match = registers_.GetEntry(tx, group, matched, RowLock::kLock);
      }
      entry = registers_.GetEntry(tx, group, req->entry_id(), RowLock::kLock);
      if (!entry) return absl::NotFoundError("entry_id: no such entry");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(entry->estate_id()));
      if (!matched.empty() && !(matched < req->entry_id())) {
        match = registers_.GetEntry(tx, group, matched, RowLock::kLock);
      }
      if (!matched.empty() && !match) {
        return absl::NotFoundError("matched_entry_id: no such entry");
      }
      EntryAtClose e{entry->id(), entry->estate_id(), entry->kind(), entry->closed()};
      std::optional<EntryAtClose> m;
      if (match) m = EntryAtClose{match->id(), match->estate_id(), match->kind(), match->closed()};
      WUYE_RETURN_IF_ERROR(CanClose(e, m ? &*m : nullptr));
      *resp = registers_.CloseEntry(tx, group, entry->id(), req->closed_to_name(), rc.now,
                                    rc.caller.subject, matched);
      if (match) {
        registers_.CloseEntry(tx, group, match->id(), req->closed_to_name(), rc.now,
                              rc.caller.subject, entry->id());
      }
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
