// The counter's rules of keys and their loans and checks, cards, the registers. Pure: no I/O, no
// clock.
//
// Seeds: 003_… 2.3 (锁匙核对、调试、编号、分类、存放、借还、登记 with a ledger) and 篇3 一.3
// (妥善保管各类钥匙); 001_… 物业客服领班 1 (访客卡发放、制作、赔偿, 雨伞租赁, 物品寄存), 2
// (失物招领、寻物启事), 4 (IC申领、退卡、遗失补办赔偿).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/counter/counter.h"

namespace wuye::counter {

// ---- keys -------------------------------------------------------------------------------

// The fields of a new key (the places' existence is the handler's): `opens` with its estate
// and a unit id or a common area in words; the number; the label.
absl::Status CheckNewKey(const pb::CreateKeyRequest& req);

// The fields of a loan: the key id, one borrower (a staff id or a name), the purpose, a due
// time after `now` when given.
absl::Status CheckLoanRequest(const pb::LendKeyRequest& req, absl::Time now);

// Whether a key in `state` may be lent: FAILED_PRECONDITION KEY_ALREADY_LENT (out on a
// loan) or KEY_MISSING (the last check did not find it; a check that finds it puts it back).
absl::Status CanLend(pb::KeyState state);
// Whether a key in `state` may be returned: FAILED_PRECONDITION KEY_NOT_LENT.
absl::Status CanReturn(pb::KeyState state);

// A key as the check sees it.
struct KeyAtCheck {
  std::string id, number;
  pb::KeyState state = pb::KEY_STATE_UNSPECIFIED;
};
// What a check (核对) changes: each key's new state, and its counts.
struct CheckPlan {
  struct Change {
    std::string id;
    pb::KeyState state;
  };
  std::vector<Change> changes;  // every key of the estate, with its state after the check
  int32_t registered = 0, found = 0, lent = 0;
  std::vector<std::string> missing_numbers;  // sorted
};
// The check of `keys` (every key of the estate) against the numbers found in the cabinet:
// a found key is IN_CABINET (a MISSING one found again too), a lent key stays LENT, every
// other key is MISSING. INVALID_ARGUMENT naming `found_numbers[i]` for a number that is no
// key of the estate or is listed twice; FAILED_PRECONDITION KEY_LENT for a key found in the
// cabinet while its loan is open (return it first: the loan's record must close).
absl::StatusOr<CheckPlan> PlanCheck(const std::vector<KeyAtCheck>& keys,
                                    const google::protobuf::RepeatedPtrField<std::string>& found);

// ---- cards ------------------------------------------------------------------------------

// The fields of a card to issue (whether the unit and resident exist is the handler's): the
// estate, kind and number; ACCESS and IC need `unit_id` (`resident_id` optional), VISITOR a
// `holder_name` (unit optional, no resident); a holder name is at most 50 characters.
absl::Status CheckNewCard(const pb::IssueCardRequest& req);

// A card number: required, at most 32 characters, one line.
absl::Status CheckCardNumber(absl::string_view number, absl::string_view field);

// Whether a card in `state` may be returned or reported lost: FAILED_PRECONDITION
// CARD_NOT_ISSUED when it is not out (returned or blocked).
absl::Status CardIsOut(pb::CardState state, absl::string_view field);

// The fee of a replacement card (001_… 物业客服领班 4, 遗失补办赔偿): the settings' fee for an
// ACCESS or IC card, none for a VISITOR card.
int64_t ReplacementFee(pb::CardKind kind, const pb::Settings& settings);

// "access", "ic", "visitor" (the events' words).
std::string CardKindWord(pb::CardKind kind);

// ---- registers --------------------------------------------------------------------------

// The fields of a new entry: the estate, kind, description (one to 500 characters, no phone
// or ID number), the person's name (one to 50), an optional unit id, where it is kept (at
// most 100), and a due time only for STORAGE and UMBRELLA, after `now`.
absl::Status CheckNewEntry(const pb::CreateRegisterEntryRequest& req, absl::Time now);

// The fields of a closing: the entry id, to whom (one to 50 characters), an optional match.
absl::Status CheckCloseEntry(const pb::CloseRegisterEntryRequest& req);

// An entry as a closing sees it.
struct EntryAtClose {
  std::string id, estate_id;
  pb::RegisterKind kind = pb::REGISTER_KIND_UNSPECIFIED;
  bool closed = false;
};
// Whether `entry` may be closed, and with `match` (null: no match): FAILED_PRECONDITION
// ALREADY_CLOSED for a closed entry (either of them); INVALID_ARGUMENT `matched_entry_id`
// unless one is a FOUND_ITEM and the other a LOST_REPORT of the same estate.
absl::Status CanClose(const EntryAtClose& entry, const EntryAtClose* match);

}  // namespace wuye::counter
