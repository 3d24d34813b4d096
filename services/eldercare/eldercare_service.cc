#include "services/eldercare/eldercare_service.h"

#include <google/protobuf/descriptor.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/eldercare/eldercare.h"
#include "services/eldercare/eldercare_jobs.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"
#include "wuye/events/v1/eldercare_events.pb.h"

namespace wuye::eldercare {
namespace {

namespace ev = ::wuye::events::v1;
using roles::kAgent;
using roles::kCareWorker;
using roles::kClinic;
using roles::kEstateManager;
using roles::kFinanceClerk;
using roles::kGroupAdmin;
using roles::kNurse;
using roles::kPlatformAdmin;
using roles::kQualityInspector;
using roles::kSecurityGuard;
using roles::kSupervisor;
using roles::kTeamLead;

bool IsFrontDesk(const Caller& c) { return c.HasAnyRole({kAgent, kTeamLead, kSupervisor}); }
bool IsClinical(const Caller& c) { return c.HasAnyRole({kNurse, kCareWorker, kClinic}); }

absl::CivilDay CivilOf(const v1::Date& d) { return absl::CivilDay(d.year(), d.month(), d.day()); }

// Replaces every string of `msg` (recursively) by the hex of its keyed digest.
void KeyStrings(google::protobuf::Message* msg, const Keyring& keys) {
  const auto* desc = msg->GetDescriptor();
  const auto* refl = msg->GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    using FD = google::protobuf::FieldDescriptor;
    if (f->cpp_type() == FD::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int j = 0; j < refl->FieldSize(*msg, f); ++j) {
          refl->SetRepeatedString(
              msg, f, j, absl::BytesToHexString(keys.Digest(refl->GetRepeatedString(*msg, f, j))));
        }
      } else if (f->name() != "request_id") {
        refl->SetString(msg, f, absl::BytesToHexString(keys.Digest(refl->GetString(*msg, f))));
      }
    } else if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int j = 0; j < refl->FieldSize(*msg, f); ++j) {
          KeyStrings(refl->MutableRepeatedMessage(msg, f, j), keys);
        }
      } else if (refl->HasField(*msg, f)) {
        KeyStrings(refl->MutableMessage(msg, f), keys);
      }
    }
  }
}

absl::Status NotEnrolled() {
  return WithReason(absl::FailedPreconditionError("elder: no longer enrolled"),
                    "ELDER_NOT_ENROLLED");
}

// A purpose or reason: required text of at most 500 characters.
absl::Status CheckPurpose(const std::string& text, absl::string_view field) {
  return CheckText(text, field, 500, Presence::kRequired, Lines::kMany);
}

// A time of an observation: default `now`, never in the future.
absl::StatusOr<absl::Time> PastTime(const google::protobuf::Timestamp& ts, absl::Time now,
                                    absl::string_view field) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return now;
  absl::Time t = FromProtoTime(ts);
  if (t > now + absl::Minutes(5)) return FieldError(field, "must not be in the future");
  if (t < now - absl::Hours(24 * 366)) return FieldError(field, "more than a year ago");
  return t;
}

}  // namespace

ElderCareServiceImpl::ElderCareServiceImpl(Db& db, const TokenVerifier& verifier,
                                           const Clock& clock, const Keyring& keys)
    : db_(db),
      keys_(keys),
      store_(db),
      sealed_(store_, keys),
      outbox_(db, "eldercare"),
      rpc_("eldercare", verifier, clock) {}

absl::StatusOr<v1::Elder> ElderCareServiceImpl::VisibleElder(pqxx::work& tx,
                                                             const RequestContext& rc,
                                                             const std::string& id,
                                                             absl::string_view field,
                                                             bool for_update) {
  auto elder = store_.GetElder(tx, rc.caller.group_id, id, for_update);
  if (!elder) return absl::NotFoundError(absl::StrCat(field, ": no such elder"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(elder->estate_id()));
  return *elder;
}

absl::StatusOr<v1::Elder> ElderCareServiceImpl::EnrolledElder(pqxx::work& tx,
                                                              const RequestContext& rc,
                                                              const std::string& id,
                                                              absl::string_view field,
                                                              bool for_update) {
  WUYE_ASSIGN_OR_RETURN(v1::Elder elder, VisibleElder(tx, rc, id, field, for_update));
  if (elder.state() != v1::ELDER_STATE_ENROLLED) return NotEnrolled();
  return elder;
}

absl::CivilDay ElderCareServiceImpl::Today(pqxx::work& tx, const RequestContext& rc,
                                           const std::string& estate) {
  return absl::ToCivilDay(rc.now, EstateZone(store_.EstateZone(tx, rc.caller.group_id, estate)));
}

void ElderCareServiceImpl::Audit(pqxx::work& tx, const RequestContext& rc, const std::string& elder,
                                 const std::string& action, std::vector<std::string> fields,
                                 const std::string& purpose, bool break_glass) {
  AuditRow row{rc.caller.group_id, elder,   rc.caller.subject, rc.caller.roles, action,
               std::move(fields),  purpose, break_glass,       rc.trace_id};
  store_.InsertAudit(tx, row, rc.now);
}

absl::Status ElderCareServiceImpl::AuditRefusedRead(const RequestContext& rc, absl::Status status,
                                                    const std::string& elder,
                                                    const std::string& action) {
  std::string reason = ErrorReason(status);
  if (!elder.empty() && (reason == "CIPHERTEXT_REJECTED" || reason == "KEY_NOT_LOADED")) {
    absl::Status audited = db_.Transact([&](pqxx::work& tx) {
      Audit(tx, rc, elder, action, {}, reason);
      return absl::OkStatus();
    });
    if (!audited.ok()) LogError("eldercare.audit_failed").Str("elder", elder);
  }
  return status;
}

void ElderCareServiceImpl::Publish(pqxx::work& tx, const RequestContext& rc,
                                   const std::string& type, const std::string& estate,
                                   const std::string& subject, int64_t version,
                                   const google::protobuf::Message& payload) {
  outbox_.Append(tx, {type, rc.caller.group_id, estate, subject, version, &payload}, rc.now,
                 rc.trace_id);
}

absl::Status ElderCareServiceImpl::RunOnceKeyed(
    const RequestContext& rc, const google::protobuf::Message& request,
    google::protobuf::Message* response, const std::function<absl::Status(pqxx::work&)>& effect) {
  std::unique_ptr<google::protobuf::Message> keyed(request.New());
  keyed->CopyFrom(request);
  KeyStrings(keyed.get(), keys_);
  return RunOnce(db_, rc.Key(), *keyed, response, effect);
}

// ---- Enrolment ----------------------------------------------------------------------------

grpc::Status ElderCareServiceImpl::EnrolElder(Ctx* ctx, const v1::EnrolElderRequest* req,
                                              v1::Elder* resp) {
  return rpc_.Run(ctx, "EnrolElder", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->resident_id(), "resident_id"));
    // The ID's birth date may be "today" anywhere on Earth; the zone check follows.
    WUYE_ASSIGN_OR_RETURN(std::string id_number,
                          CanonicalIdNumber(req->id_number(), "id_number",
                                            absl::ToCivilDay(rc.now, absl::UTCTimeZone()) + 1));
    if (!req->has_consent()) return FieldError("consent", "required");
    WUYE_RETURN_IF_ERROR(CheckConsent(req->consent(), "consent", rc.now));
    v1::FamilyContacts contacts;
    *contacts.mutable_contacts() = req->family_contacts();
    WUYE_RETURN_IF_ERROR(CheckFamilyContacts(contacts.mutable_contacts(), "family_contacts"));
    int every = req->visit_every_days() == 0 ? kDefaultVisitEveryDays : req->visit_every_days();
    if (every < 1 || every > kMaxVisitEveryDays) {
      return FieldError("visit_every_days", "1 to 90 days");
    }
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto resident = store_.GetResident(tx, group, req->resident_id());
      if (!resident) return absl::NotFoundError("resident_id: no such resident");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(resident->estate_id));
      absl::CivilDay today = Today(tx, rc, resident->estate_id);
      WUYE_RETURN_IF_ERROR(CheckEligible(resident->facts, today));
      if (IdBirthDate(id_number) != *resident->facts.date_of_birth) {
        return WithReason(absl::FailedPreconditionError(
                              "id_number: its birth date is not the resident's date of birth"),
                          "ID_NUMBER_MISMATCH");
      }
      if (store_.EnrolledResidentExists(tx, group, resident->id)) {
        return WithReason(absl::FailedPreconditionError("resident_id: already enrolled"),
                          "ALREADY_ENROLLED");
      }
      std::string digest = keys_.Digest(id_number);
      if (store_.EnrolledIdDigestExists(tx, group, digest)) {
        return WithReason(
            absl::FailedPreconditionError("id_number: already enrolled for another resident"),
            "ID_NUMBER_ENROLLED");
      }
      ElderInsert in;
      v1::Elder& e = in.elder;
      e.set_id(NewId(rc.now));
      e.set_group_id(group);
      e.set_estate_id(resident->estate_id);
      e.set_unit_id(resident->unit_id);
      e.set_resident_id(resident->id);
      *e.mutable_enrolled_on() = ToDate(today);
      *e.mutable_consent() = req->consent();
      e.set_visit_every_days(every);
      *e.mutable_next_visit_due() = ToDate(NextVisitDue(today, every));
      *e.mutable_paid_through() = ToDate(OneYearAfter(today));
      in.id_digest = digest;
      store_.InsertElder(tx, in, rc.now, resp);
      WUYE_RETURN_IF_ERROR(sealed_.Write(
          tx, group, resp->id(), "elders", resp->id(),
          {{"id_number", id_number}, {"family_contacts", contacts.SerializeAsString()}}, rc.now));
      Audit(tx, rc, resp->id(), "enrolment.write", {"id_number", "family_contacts"}, "enrolment");
      ChargeTarget target{group, resp->estate_id(), resp->unit_id(), resp->resident_id(),
                          resp->id()};
      Fees fees = store_.FeesFor(tx, group, resp->estate_id());
      for (const FeeLine& line : EnrolmentCharges(today, fees)) {
        PublishCharge(tx, store_, outbox_, target, line, rc.now, rc.trace_id);
        if (line.kind == ev::ELDER_FEE_KIND_FAMILY_CALL_FUND) {
          store_.AddToFund(tx, group, resp->id(), line.amount_fen, rc.now);
        }
      }
      *resp = *store_.GetElder(tx, group, resp->id());
      ev::ElderStatusChanged status;
      status.set_elder_id(resp->id());
      status.set_estate_id(resp->estate_id());
      status.set_unit_id(resp->unit_id());
      status.set_resident_id(resp->resident_id());
      status.set_enrolled(true);
      *status.mutable_at() = ToProtoTime(rc.now);
      Publish(tx, rc, "eldercare.elder.enrolled", resp->estate_id(), resp->id(), resp->version(),
              status);
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::GetElder(Ctx* ctx, const v1::GetElderRequest* req,
                                            v1::Elder* resp) {
  return rpc_.Run(ctx, "GetElder", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse,
                                         kCareWorker, kClinic, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(*resp, VisibleElder(tx, rc, req->id(), "id"));
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::ListElders(Ctx* ctx, const v1::ListEldersRequest* req,
                                              v1::ListEldersResponse* resp) {
  return rpc_.Run(ctx, "ListElders", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse,
                                         kCareWorker, kClinic, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!v1::ElderState_IsValid(req->state())) return FieldError("state", "unknown state");
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("elders;", req->estate_id(), ";", req->state());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListElders(tx, rc.caller.group_id, req->estate_id(), req->state(),
                                    page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_elders()));
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::ExitElder(Ctx* ctx, const v1::ExitElderRequest* req,
                                             v1::Elder* resp) {
  return rpc_.Run(ctx, "ExitElder", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    WUYE_RETURN_IF_ERROR(CheckPurpose(req->reason(), "reason"));
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                            EnrolledElder(tx, rc, req->elder_id(), "elder_id", true));
      absl::CivilDay today = Today(tx, rc, elder.estate_id());
      // Final charges: every care day not yet charged, then the deposit back in full.
      ChargeCareDays(tx, store_, outbox_, store_.UnchargedDaysOf(tx, group, elder.id()), rc.now,
                     rc.trace_id);
      ChargeTarget target{group, elder.estate_id(), elder.unit_id(), elder.resident_id(),
                          elder.id()};
      // The deposit charged at enrolment goes back; billing returns what of it was paid.
      if (auto deposit =
              store_.LastChargeOfKind(tx, group, elder.id(), ev::ELDER_FEE_KIND_EMERGENCY_DEPOSIT);
          elder.deposit_held() && deposit) {
        PublishCharge(tx, store_, outbox_, target, DepositRefund(deposit->second, deposit->first),
                      rc.now, rc.trace_id);
      }
      store_.ExitElder(tx, group, elder.id(), today, req->reason(), rc.now, resp);
      ev::ElderStatusChanged status;
      status.set_elder_id(resp->id());
      status.set_estate_id(resp->estate_id());
      status.set_unit_id(resp->unit_id());
      status.set_resident_id(resp->resident_id());
      status.set_enrolled(false);
      *status.mutable_at() = ToProtoTime(rc.now);
      Publish(tx, rc, "eldercare.elder.exited", resp->estate_id(), resp->id(), resp->version(),
              status);
      return absl::OkStatus();
    });
  });
}

// ---- Health card and contacts -------------------------------------------------------------

grpc::Status ElderCareServiceImpl::GetHealthCard(Ctx* ctx, const v1::GetHealthCardRequest* req,
                                                 v1::HealthCard* resp) {
  return rpc_.Run(ctx, "GetHealthCard", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    const Caller& c = rc.caller;
    bool break_glass = !req->break_glass_reason().empty();
    v1::CardView view;
    if (IsClinical(c)) {
      view = v1::CARD_VIEW_FULL;
      break_glass = false;  // no glass to break: the card is theirs to read
    } else if (break_glass && (IsFrontDesk(c) || c.HasRole(kEstateManager))) {
      view = v1::CARD_VIEW_BREAK_GLASS;
    } else if (IsFrontDesk(c)) {
      view = v1::CARD_VIEW_EMERGENCY;
    } else {
      return absl::PermissionDeniedError(
          "eldercare.GetHealthCard: only nurses, care workers and the clinic read the health "
          "card; the front desk sees its emergency part with a purpose");
    }
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    if (view == v1::CARD_VIEW_BREAK_GLASS) {
      WUYE_RETURN_IF_ERROR(CheckPurpose(req->break_glass_reason(), "break_glass_reason"));
    } else if (view == v1::CARD_VIEW_EMERGENCY) {
      WUYE_RETURN_IF_ERROR(CheckPurpose(req->purpose(), "purpose"));
    } else {
      WUYE_RETURN_IF_ERROR(
          CheckText(req->purpose(), "purpose", 500, Presence::kOptional, Lines::kMany));
    }
    absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder, VisibleElder(tx, rc, req->elder_id(), "elder_id"));
      std::vector<std::string> read = {"blood_type", "drug_allergies"};
      if (view != v1::CARD_VIEW_EMERGENCY) {
        read = {"blood_type", "family_history", "recent_illness", "drug_allergies", "food_taboos"};
      }
      WUYE_ASSIGN_OR_RETURN(auto fields,
                            sealed_.Read(tx, c.group_id, "health_cards", elder.id(), read));
      auto [version, updated] = store_.CardMeta(tx, c.group_id, elder.id());
      resp->Clear();
      resp->set_elder_id(elder.id());
      resp->set_view(view);
      resp->set_version(version);
      if (version > 0) *resp->mutable_update_time() = ToProtoTime(updated);
      resp->set_blood_type(fields["blood_type"]);
      resp->set_drug_allergies(fields["drug_allergies"]);
      resp->set_family_history(fields["family_history"]);
      resp->set_recent_illness(fields["recent_illness"]);
      resp->set_food_taboos(fields["food_taboos"]);
      Audit(tx, rc, elder.id(), break_glass ? "health_card.break_glass" : "health_card.read",
            std::move(read), break_glass ? req->break_glass_reason() : req->purpose(), break_glass);
      return absl::OkStatus();
    });
    if (!st.ok()) resp->Clear();
    return AuditRefusedRead(rc, st, req->elder_id(), "health_card.read_refused");
  });
}

grpc::Status ElderCareServiceImpl::UpdateHealthCard(Ctx* ctx,
                                                    const v1::UpdateHealthCardRequest* req,
                                                    v1::HealthRecordReceipt* resp) {
  return rpc_.Run(
      ctx, "UpdateHealthCard", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kNurse, kClinic}));
        const v1::HealthCard& card = req->card();
        const google::protobuf::FieldMask& mask = req->update_mask();
        WUYE_RETURN_IF_ERROR(CheckId(card.elder_id(), "card.elder_id"));
        WUYE_RETURN_IF_ERROR(CheckUpdateMask(
            mask, v1::HealthCard::descriptor(),
            {"blood_type", "family_history", "recent_illness", "drug_allergies", "food_taboos"}));
        if (mask.paths().empty()) WUYE_RETURN_IF_ERROR(CheckHealthCard(card, "card"));
        return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
          const std::string& group = rc.caller.group_id;
          WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                                EnrolledElder(tx, rc, card.elder_id(), "card.elder_id", true));
          // With a mask, the masked fields over the decrypted stored card, checked as a whole
          // card (the checks name fields, never values). The elder's row, locked above,
          // serialises the card's updates, so two merges never start from the same card.
          v1::HealthCard merged;
          std::vector<std::string> written = {"blood_type", "family_history", "recent_illness",
                                              "drug_allergies", "food_taboos"};
          if (!mask.paths().empty()) {
            WUYE_ASSIGN_OR_RETURN(auto stored,
                                  sealed_.Read(tx, group, "health_cards", elder.id(), written));
            merged.set_blood_type(stored["blood_type"]);
            merged.set_family_history(stored["family_history"]);
            merged.set_recent_illness(stored["recent_illness"]);
            merged.set_drug_allergies(stored["drug_allergies"]);
            merged.set_food_taboos(stored["food_taboos"]);
            written.assign(mask.paths().begin(), mask.paths().end());
          }
          ApplyUpdateMask(card, mask, &merged);
          WUYE_RETURN_IF_ERROR(CheckHealthCard(merged, "card"));
          int64_t version = store_.UpsertCardMeta(tx, group, elder.id(), rc.caller.subject, rc.now);
          WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "health_cards", elder.id(),
                                             {{"blood_type", merged.blood_type()},
                                              {"family_history", merged.family_history()},
                                              {"recent_illness", merged.recent_illness()},
                                              {"drug_allergies", merged.drug_allergies()},
                                              {"food_taboos", merged.food_taboos()}},
                                             rc.now));
          Audit(tx, rc, elder.id(), "health_card.write", std::move(written), "");
          resp->set_elder_id(elder.id());
          resp->set_record("health_card");
          resp->set_version(version);
          resp->set_key_id(keys_.active_key_id());
          *resp->mutable_update_time() = ToProtoTime(rc.now);
          return absl::OkStatus();
        });
      });
}

grpc::Status ElderCareServiceImpl::GetFamilyContacts(Ctx* ctx,
                                                     const v1::GetFamilyContactsRequest* req,
                                                     v1::FamilyContacts* resp) {
  return rpc_.Run(ctx, "GetFamilyContacts", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kNurse, kCareWorker, kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    WUYE_RETURN_IF_ERROR(CheckPurpose(req->purpose(), "purpose"));
    absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder, VisibleElder(tx, rc, req->elder_id(), "elder_id"));
      WUYE_ASSIGN_OR_RETURN(auto fields,
                            sealed_.Read(tx, group, "elders", elder.id(), {"family_contacts"}));
      resp->Clear();
      if (!resp->ParseFromString(fields["family_contacts"])) {
        return absl::DataLossError("elders.family_contacts: unreadable after decryption");
      }
      resp->set_elder_id(elder.id());
      resp->set_version(store_.ContactsVersion(tx, group, elder.id()));
      Audit(tx, rc, elder.id(), "family_contacts.read", {"family_contacts"}, req->purpose());
      return absl::OkStatus();
    });
    if (!st.ok()) resp->Clear();
    return AuditRefusedRead(rc, st, req->elder_id(), "family_contacts.read_refused");
  });
}

grpc::Status ElderCareServiceImpl::SetFamilyContacts(Ctx* ctx,
                                                     const v1::SetFamilyContactsRequest* req,
                                                     v1::HealthRecordReceipt* resp) {
  return rpc_.Run(
      ctx, "SetFamilyContacts", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager}));
        WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
        v1::FamilyContacts contacts;
        *contacts.mutable_contacts() = req->contacts();
        WUYE_RETURN_IF_ERROR(CheckFamilyContacts(contacts.mutable_contacts(), "contacts"));
        return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
          const std::string& group = rc.caller.group_id;
          WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                                EnrolledElder(tx, rc, req->elder_id(), "elder_id", true));
          WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "elders", elder.id(),
                                             {{"family_contacts", contacts.SerializeAsString()}},
                                             rc.now));
          int64_t version = store_.BumpContactsVersion(tx, group, elder.id(), rc.now);
          Audit(tx, rc, elder.id(), "family_contacts.write", {"family_contacts"}, "");
          resp->set_elder_id(elder.id());
          resp->set_record("family_contacts");
          resp->set_version(version);
          resp->set_key_id(keys_.active_key_id());
          *resp->mutable_update_time() = ToProtoTime(rc.now);
          return absl::OkStatus();
        });
      });
}

// ---- Checkups and care plans -------------------------------------------------------------

grpc::Status ElderCareServiceImpl::RecordCheckup(Ctx* ctx, const v1::RecordCheckupRequest* req,
                                                 v1::Checkup* resp) {
  return rpc_.Run(ctx, "RecordCheckup", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kNurse, kClinic}));
    const v1::Checkup& in = req->checkup();
    WUYE_RETURN_IF_ERROR(CheckId(in.elder_id(), "checkup.elder_id"));
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay performed,
                          DayOf(in.performed_on(), "checkup.performed_on"));
    WUYE_RETURN_IF_ERROR(
        CheckText(in.results(), "checkup.results", 10000, Presence::kRequired, Lines::kMany));
    if (in.cost_fen() < 0 || in.cost_fen() > kCheckupMaxFen) {
      return FieldError("checkup.cost_fen", "1 to 1000000 fen");
    }
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                            EnrolledElder(tx, rc, in.elder_id(), "checkup.elder_id"));
      if (performed > Today(tx, rc, elder.estate_id())) {
        return FieldError("checkup.performed_on", "must not be in the future");
      }
      // 004_… 5.2.4: the advance is collected for the clinic, then settled at actual cost.
      int64_t advance = store_.FeesFor(tx, group, elder.estate_id()).checkup_advance;
      WUYE_ASSIGN_OR_RETURN(int64_t cost, CheckupCost(in.cost_fen(), advance));
      v1::Checkup c;
      c.set_id(NewId(rc.now));
      c.set_elder_id(elder.id());
      c.set_estate_id(elder.estate_id());
      *c.mutable_performed_on() = ToDate(performed);
      c.set_cost_fen(cost);
      c.set_advance_fen(advance);
      store_.InsertCheckup(tx, group, c, rc.now);
      WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "checkups", c.id(),
                                         {{"results", in.results()}}, rc.now));
      Audit(tx, rc, elder.id(), "checkup.write", {"results"}, "");
      ChargeTarget target{group, elder.estate_id(), elder.unit_id(), elder.resident_id(),
                          elder.id()};
      std::string advance_id;
      if (advance > 0) {
        advance_id = PublishCharge(tx, store_, outbox_, target, CheckupAdvance(advance, performed),
                                   rc.now, rc.trace_id);
      }
      if (auto settle = CheckupSettlement(advance, cost, advance_id)) {
        PublishCharge(tx, store_, outbox_, target, *settle, rc.now, rc.trace_id);
      }
      *resp = *store_.GetCheckup(tx, group, c.id());
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::SetCarePlan(Ctx* ctx, const v1::SetCarePlanRequest* req,
                                               v1::Checkup* resp) {
  return rpc_.Run(ctx, "SetCarePlan", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->checkup_id(), "checkup_id"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->care_plan(), "care_plan", 10000, Presence::kRequired, Lines::kMany));
    std::optional<absl::CivilDay> follow_up;
    if (req->has_follow_up_on()) {
      WUYE_ASSIGN_OR_RETURN(follow_up, DayOf(req->follow_up_on(), "follow_up_on"));
    }
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto checkup = store_.GetCheckup(tx, group, req->checkup_id(), true);
      if (!checkup) return absl::NotFoundError("checkup_id: no such checkup");
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                            EnrolledElder(tx, rc, checkup->elder_id(), "checkup_id"));
      WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "checkups", checkup->id(),
                                         {{"care_plan", req->care_plan()}}, rc.now));
      store_.SetCarePlanMeta(tx, group, checkup->id(), follow_up);
      Audit(tx, rc, elder.id(), "care_plan.write", {"care_plan"}, "");
      *resp = *store_.GetCheckup(tx, group, checkup->id());
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::GetCheckup(Ctx* ctx, const v1::GetCheckupRequest* req,
                                              v1::Checkup* resp) {
  return rpc_.Run(ctx, "GetCheckup", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kNurse, kCareWorker, kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    WUYE_RETURN_IF_ERROR(CheckPurpose(req->purpose(), "purpose"));
    std::string elder;
    absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto checkup = store_.GetCheckup(tx, group, req->id());
      if (!checkup) return absl::NotFoundError("id: no such checkup");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(checkup->estate_id()));
      elder = checkup->elder_id();
      WUYE_ASSIGN_OR_RETURN(auto fields, sealed_.Read(tx, group, "checkups", checkup->id()));
      *resp = *checkup;
      resp->set_results(fields["results"]);
      resp->set_care_plan(fields["care_plan"]);
      Audit(tx, rc, checkup->elder_id(), "checkup.read", {"results", "care_plan"}, req->purpose());
      return absl::OkStatus();
    });
    if (!st.ok()) resp->Clear();
    return AuditRefusedRead(rc, st, elder, "checkup.read_refused");
  });
}

grpc::Status ElderCareServiceImpl::ListCheckups(Ctx* ctx, const v1::ListCheckupsRequest* req,
                                                v1::ListCheckupsResponse* resp) {
  return rpc_.Run(ctx, "ListCheckups", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse, kCareWorker, kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    const std::string filters = absl::StrCat("checkups;", req->elder_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleElder(tx, rc, req->elder_id(), "elder_id").status());
      auto rows =
          store_.ListCheckups(tx, rc.caller.group_id, req->elder_id(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_checkups()));
      return absl::OkStatus();
    });
  });
}

// ---- Visits, family calls, care days -------------------------------------------------------

grpc::Status ElderCareServiceImpl::RecordVisit(Ctx* ctx, const v1::RecordVisitRequest* req,
                                               v1::Visit* resp) {
  return rpc_.Run(ctx, "RecordVisit", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kNurse, kCareWorker}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    WUYE_ASSIGN_OR_RETURN(absl::Time at, PastTime(req->visited_at(), rc.now, "visited_at"));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->observations(), "observations", 5000, Presence::kOptional, Lines::kMany));
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                            EnrolledElder(tx, rc, req->elder_id(), "elder_id", true));
      std::string zone = store_.EstateZone(tx, group, elder.estate_id());
      absl::CivilDay visited = absl::ToCivilDay(at, EstateZone(zone));
      absl::CivilDay next = NextVisitDue(visited, elder.visit_every_days());
      // A late-recorded older visit does not move the schedule back.
      if (next < CivilOf(elder.next_visit_due()) &&
          visited < CivilOf(elder.next_visit_due()) - elder.visit_every_days()) {
        next = CivilOf(elder.next_visit_due());
      }
      resp->set_id(NewId(rc.now));
      resp->set_elder_id(elder.id());
      *resp->mutable_visited_at() = ToProtoTime(at);
      resp->set_care_plan_followed(req->care_plan_followed());
      *resp->mutable_next_visit_due() = ToDate(next);
      store_.InsertVisit(tx, group, *resp, rc.caller.subject, rc.now);
      store_.SetNextVisit(tx, group, elder.id(), next, rc.now);
      if (!req->observations().empty()) {
        WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "visits", resp->id(),
                                           {{"observations", req->observations()}}, rc.now));
        Audit(tx, rc, elder.id(), "visit.write", {"observations"}, "");
      }
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::ListDueVisits(Ctx* ctx, const v1::ListDueVisitsRequest* req,
                                                 v1::ListDueVisitsResponse* resp) {
  return rpc_.Run(ctx, "ListDueVisits", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole(
        {kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse, kCareWorker, kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    std::optional<absl::CivilDay> as_of;
    if (req->has_as_of()) {
      WUYE_ASSIGN_OR_RETURN(as_of, DayOf(req->as_of(), "as_of"));
    }
    // Ordered by due date, then elder id: the page key is both.
    const std::string filters =
        absl::StrCat("due_visits;", req->estate_id(), ";", as_of ? DayText(*as_of) : "");
    absl::CivilDay after_due;
    WUYE_ASSIGN_OR_RETURN(
        PageRequest page,
        ParseSortedPage(req->page_size(), req->page_token(), filters, [&](absl::string_view sort) {
          return absl::ParseCivilTime(sort, &after_due);
        }));
    const SortedKey after = SplitSortedKey(page.after);
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      absl::CivilDay day = as_of ? *as_of : Today(tx, rc, req->estate_id());
      std::vector<v1::DueVisit> rows;
      for (const v1::Elder& e :
           store_.DueVisits(tx, rc.caller.group_id, req->estate_id(), day,
                            after.id.empty() ? "" : DayText(after_due), after.id, page.size + 1)) {
        v1::DueVisit& v = rows.emplace_back();
        v.set_elder_id(e.id());
        v.set_unit_id(e.unit_id());
        *v.mutable_due() = e.next_visit_due();
        int late = static_cast<int>(day - CivilOf(e.next_visit_due()));
        v.set_overdue(late > 0);
        v.set_days_overdue(late > 0 ? late : 0);
      }
      resp->set_next_page_token(FillPageBy(
          std::move(rows), page, filters, resp->mutable_visits(), [](const v1::DueVisit& v) {
            return SortedPageKey(DayText(CivilOf(v.due())), v.elder_id());
          }));
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::RecordFamilyCall(Ctx* ctx,
                                                    const v1::RecordFamilyCallRequest* req,
                                                    v1::FamilyCall* resp) {
  return rpc_.Run(
      ctx, "RecordFamilyCall", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor}));
        WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
        WUYE_ASSIGN_OR_RETURN(absl::Time at, PastTime(req->called_at(), rc.now, "called_at"));
        WUYE_RETURN_IF_ERROR(CheckText(req->what_was_seen(), "what_was_seen", 5000,
                                       Presence::kRequired, Lines::kMany));
        if (req->has_cost_fen() && (req->cost_fen() < 0 || req->cost_fen() > kMaxFamilyCallFen)) {
          return FieldError("cost_fen", "0 to 100000 fen");
        }
        return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
          const std::string& group = rc.caller.group_id;
          WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                                EnrolledElder(tx, rc, req->elder_id(), "elder_id", true));
          resp->set_id(NewId(rc.now));
          resp->set_elder_id(elder.id());
          *resp->mutable_called_at() = ToProtoTime(at);
          // 004_… 5.2.2: the office pays the call from the prepaid fund, and has it topped up
          // when it cannot pay the next one.
          Fees fees = store_.FeesFor(tx, group, elder.estate_id());
          int64_t cost = FamilyCallCost(
              req->has_cost_fen() ? std::optional<int64_t>(req->cost_fen()) : std::nullopt, fees);
          ChargeTarget target{group, elder.estate_id(), elder.unit_id(), elder.resident_id(),
                              elder.id()};
          int64_t balance = elder.family_call_fund_fen();
          if (cost > 0) {
            PublishCharge(tx, store_, outbox_, target, FamilyCallCharge(cost), rc.now, rc.trace_id);
            balance = store_.AddToFund(tx, group, elder.id(), -cost, rc.now);
          }
          if (FundNeedsTopUp(balance, fees)) {
            FeeLine top_up = FamilyCallFundTopUp(fees);
            PublishCharge(tx, store_, outbox_, target, top_up, rc.now, rc.trace_id);
            balance = store_.AddToFund(tx, group, elder.id(), top_up.amount_fen, rc.now);
            resp->set_topped_up(true);
          }
          resp->set_cost_fen(cost);
          resp->set_fund_balance_fen(balance);
          store_.InsertFamilyCall(tx, group, *resp, rc.caller.subject, rc.now);
          WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "family_calls", resp->id(),
                                             {{"what_was_seen", req->what_was_seen()}}, rc.now));
          Audit(tx, rc, elder.id(), "family_call.write", {"what_was_seen"}, "");
          return absl::OkStatus();
        });
      });
}

grpc::Status ElderCareServiceImpl::RecordCareDay(Ctx* ctx, const v1::RecordCareDayRequest* req,
                                                 v1::CareDay* resp) {
  return rpc_.Run(ctx, "RecordCareDay", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kNurse, kCareWorker, kClinic}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(req->day(), "day"));
    if (req->kind() != v1::CARE_KIND_SICKBED && req->kind() != v1::CARE_KIND_HOSPICE) {
      return FieldError("kind", "SICKBED or HOSPICE");
    }
    WUYE_RETURN_IF_ERROR(CheckText(req->supervision_note(), "supervision_note", 5000,
                                   Presence::kRequired, Lines::kMany));
    return RunOnceKeyed(rc, *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(v1::Elder elder, EnrolledElder(tx, rc, req->elder_id(), "elder_id"));
      if (day > Today(tx, rc, elder.estate_id())) {
        return FieldError("day", "must not be in the future");
      }
      if (day < CivilOf(elder.enrolled_on())) {
        return FieldError("day", "must not be before the enrolment");
      }
      resp->set_id(NewId(rc.now));
      resp->set_elder_id(elder.id());
      *resp->mutable_day() = ToDate(day);
      resp->set_kind(req->kind());
      if (!store_.InsertCareDay(tx, group, elder.estate_id(), *resp, rc.now)) {
        return WithReason(
            absl::FailedPreconditionError("day: a care day is already recorded on this date"),
            "CARE_DAY_RECORDED");
      }
      WUYE_RETURN_IF_ERROR(sealed_.Write(tx, group, elder.id(), "care_days", resp->id(),
                                         {{"supervision_note", req->supervision_note()}}, rc.now));
      Audit(tx, rc, elder.id(), "care_day.write", {"supervision_note"}, "");
      return absl::OkStatus();
    });
  });
}

// ---- Emergencies and safety checks ---------------------------------------------------------

grpc::Status ElderCareServiceImpl::RaiseEmergency(Ctx* ctx, const v1::RaiseEmergencyRequest* req,
                                                  v1::Emergency* resp) {
  return rpc_.Run(
      ctx, "RaiseEmergency", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse,
                                             kCareWorker, kClinic, kSecurityGuard}));
        WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          WUYE_ASSIGN_OR_RETURN(v1::Elder elder,
                                EnrolledElder(tx, rc, req->elder_id(), "elder_id"));
          resp->set_id(NewId(rc.now));
          resp->set_elder_id(elder.id());
          resp->set_estate_id(elder.estate_id());
          resp->set_unit_id(elder.unit_id());
          *resp->mutable_raised_at() = ToProtoTime(rc.now);
          store_.InsertEmergency(tx, rc.caller.group_id, *resp, rc.caller.subject);
          ev::ElderEmergency event;
          event.set_emergency_id(resp->id());
          event.set_elder_id(elder.id());
          event.set_estate_id(elder.estate_id());
          event.set_unit_id(elder.unit_id());
          *event.mutable_raised_at() = resp->raised_at();
          Publish(tx, rc, "eldercare.emergency.raised", elder.estate_id(), resp->id(), 1, event);
          return absl::OkStatus();
        });
      });
}

grpc::Status ElderCareServiceImpl::RaiseSafetyCheck(Ctx* ctx,
                                                    const v1::RaiseSafetyCheckRequest* req,
                                                    v1::SafetyCheck* resp) {
  return rpc_.Run(
      ctx, "RaiseSafetyCheck", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kTeamLead, kSupervisor, kEstateManager}));
        WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
        WUYE_RETURN_IF_ERROR(
            CheckText(req->reason(), "reason", 200, Presence::kRequired, Lines::kMany));
        WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          const std::string& group = rc.caller.group_id;
          auto homes = store_.EnrolledInEstate(tx, group, req->estate_id());
          v1::SafetyCheck check;
          check.set_id(NewId(rc.now));
          check.set_estate_id(req->estate_id());
          check.set_reason(req->reason());
          *check.mutable_raised_at() = ToProtoTime(rc.now);
          store_.InsertSafetyCheck(tx, group, check, homes);
          if (homes.empty()) store_.CompleteSafetyCheck(tx, check.id(), rc.now);
          *resp = *store_.GetSafetyCheck(tx, group, check.id());
          ev::SafetyCheckRaised event;
          event.set_check_id(check.id());
          event.set_estate_id(check.estate_id());
          event.set_homes(static_cast<int32_t>(homes.size()));
          event.set_reason(check.reason());
          *event.mutable_raised_at() = check.raised_at();
          Publish(tx, rc, "eldercare.safety_check.raised", check.estate_id(), check.id(), 1, event);
          return absl::OkStatus();
        });
      });
}

grpc::Status ElderCareServiceImpl::RecordSafetyCheckResult(
    Ctx* ctx, const v1::RecordSafetyCheckResultRequest* req, v1::SafetyCheck* resp) {
  return rpc_.Run(
      ctx, "RecordSafetyCheckResult", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole(
            {kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse, kCareWorker, kSecurityGuard}));
        WUYE_RETURN_IF_ERROR(CheckId(req->check_id(), "check_id"));
        WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          const std::string& group = rc.caller.group_id;
          auto check = store_.GetSafetyCheck(tx, group, req->check_id(), true);
          if (!check) return absl::NotFoundError("check_id: no such safety check");
          WUYE_RETURN_IF_ERROR(rc.RequireEstate(check->estate_id()));
          if (!store_.RecordSafetyResult(tx, check->id(), req->elder_id(), req->safe(), rc.now)) {
            return absl::NotFoundError("elder_id: not a home of this safety check");
          }
          auto after = store_.GetSafetyCheck(tx, group, check->id());
          if (after->checked() == after->homes() && !after->has_completed_at()) {
            store_.CompleteSafetyCheck(tx, check->id(), rc.now);
            after = store_.GetSafetyCheck(tx, group, check->id());
          }
          *resp = *after;
          return absl::OkStatus();
        });
      });
}

grpc::Status ElderCareServiceImpl::GetSafetyCheck(Ctx* ctx, const v1::GetSafetyCheckRequest* req,
                                                  v1::SafetyCheck* resp) {
  return rpc_.Run(ctx, "GetSafetyCheck", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kNurse,
                                         kCareWorker, kSecurityGuard, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto check = store_.GetSafetyCheck(tx, rc.caller.group_id, req->id());
      if (!check) return absl::NotFoundError("id: no such safety check");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(check->estate_id()));
      *resp = *check;
      return absl::OkStatus();
    });
  });
}

// ---- Audit and keys -----------------------------------------------------------------------

grpc::Status ElderCareServiceImpl::ListAuditEntries(Ctx* ctx,
                                                    const v1::ListAuditEntriesRequest* req,
                                                    v1::ListAuditEntriesResponse* resp) {
  return rpc_.Run(ctx, "ListAuditEntries", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kEstateManager, kSupervisor, kQualityInspector, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->elder_id(), "elder_id"));
    const std::string filters =
        absl::StrCat("audit;", req->elder_id(), ";", req->break_glass_only());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleElder(tx, rc, req->elder_id(), "elder_id").status());
      auto rows = store_.ListAudit(tx, rc.caller.group_id, req->elder_id(), req->break_glass_only(),
                                   page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_entries()));
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::RotateKeys(Ctx* ctx, const v1::RotateKeysRequest* req,
                                              v1::RotateKeysResponse* resp) {
  return rpc_.Run(ctx, "RotateKeys", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kPlatformAdmin}));
    WUYE_RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    int batch = req->batch_size() == 0 ? 500 : req->batch_size();
    if (batch < 1 || batch > 5000) return FieldError("batch_size", "1 to 5000");
    // Not through RunOnce: each call moves the work on, and the answer holds no secret.
    WUYE_ASSIGN_OR_RETURN(
        RotationResult result,
        RotateBatch(db_, store_, keys_, batch, rc.now,
                    rc.caller.subject.empty() ? "platform" : rc.caller.subject, rc.trace_id));
    resp->set_active_key_id(keys_.active_key_id());
    resp->set_reencrypted(result.reencrypted);
    resp->set_remaining(result.remaining);
    return absl::OkStatus();
  });
}

// ---- Fee settings ---------------------------------------------------------------------

v1::FeeSettings ElderCareServiceImpl::FeeSettingsOf(pqxx::work& tx, const std::string& group,
                                                    const std::string& estate) {
  auto [group_fees, group_version] = store_.GetFees(tx, group, "");
  v1::FeeSettings out;
  out.set_estate_id(estate);
  if (estate.empty()) {
    *out.mutable_fees() = FeesProto(ResolveFees(group_fees, {}));
    *out.mutable_overrides() = group_fees;
    out.set_version(group_version);
  } else {
    auto [estate_fees, estate_version] = store_.GetFees(tx, group, estate);
    *out.mutable_fees() = FeesProto(ResolveFees(group_fees, estate_fees));
    *out.mutable_overrides() = estate_fees;
    out.set_version(estate_version);
  }
  return out;
}

grpc::Status ElderCareServiceImpl::SetFeeSettings(Ctx* ctx, const v1::SetFeeSettingsRequest* req,
                                                  v1::FeeSettings* resp) {
  return rpc_.Run(ctx, "SetFeeSettings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    if (req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk}));
    } else {
      WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk, kEstateManager}));
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    }
    WUYE_RETURN_IF_ERROR(CheckFees(req->fees(), "fees"));
    if (!req->estate_id().empty()) WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      if (!req->estate_id().empty() && !store_.EstateKnown(tx, group, req->estate_id())) {
        return absl::NotFoundError("estate_id: no such estate");
      }
      store_.PutFees(tx, group, req->estate_id(), req->fees(), rc.now);
      *resp = FeeSettingsOf(tx, group, req->estate_id());
      return absl::OkStatus();
    });
  });
}

grpc::Status ElderCareServiceImpl::GetFeeSettings(Ctx* ctx, const v1::GetFeeSettingsRequest* req,
                                                  v1::FeeSettings* resp) {
  return rpc_.Run(ctx, "GetFeeSettings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kFinanceClerk, kEstateManager, kAgent,
                                         kTeamLead, kSupervisor, kNurse, kCareWorker, kClinic}));
    if (!req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = FeeSettingsOf(tx, rc.caller.group_id, req->estate_id());
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::eldercare
