// Handlers of the counter: hand-over (交房), move-in (入住), defects under warranty
// (docs/api/counter.md#hand-over-交房-and-move-in-入住).
#include <memory>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/counter/counter_service.h"
#include "services/counter/handover.h"
#include "shared/civil_date.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter {
namespace {

namespace ev = ::wuye::events::v1;
using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kSupervisor;
using roles::kTeamLead;
using roles::kTechnician;

constexpr char kHandoverLock[] = "counter-unit-handover/";

absl::Status NotFound(absl::string_view field, absl::string_view what) {
  return absl::NotFoundError(absl::StrCat(field, ": no such ", what));
}

void Stamp(pb::DefectStep* step, pb::DefectState state, const RequestContext& rc,
           const std::string& note) {
  step->set_state(state);
  step->mutable_change()->mutable_actor()->set_subject(rc.caller.subject);
  for (const auto& role : rc.caller.roles) step->mutable_change()->mutable_actor()->add_roles(role);
  *step->mutable_change()->mutable_at() = ToProtoTime(rc.now);
  step->mutable_change()->set_reason(note);
}

// The hand-over, visible to the caller: NOT_FOUND for an unknown id or another group's,
// PERMISSION_DENIED for an estate the token does not name.
absl::StatusOr<pb::Handover> VisibleHandover(HandoverStore& handovers, pqxx::work& tx,
                                             const RequestContext& rc, const std::string& id) {
  auto h = handovers.GetHandover(tx, rc.caller.group_id, id, /*lock=*/true);
  if (!h) return NotFound("handover_id", "hand-over");
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(h->estate_id()));
  return *std::move(h);
}

// The day the unit was handed over: its signed hand-over at the counter, else the
// directory's (a unit handed over before the counter kept hand-overs).
std::optional<absl::CivilDay> HandoverDay(HandoverStore& handovers, pqxx::work& tx,
                                          const std::string& group, const UnitCopy& unit) {
  if (auto day = handovers.HandoverDayOf(tx, group, unit.id)) return day;
  if (unit.handed_over && unit.handover_date) return unit.handover_date;
  return std::nullopt;
}

}  // namespace

// ---- hand-over --------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::CreateHandover(Ctx* ctx, const pb::CreateHandoverRequest* req,
                                                pb::Handover* resp) {
  return rpc_.Run(ctx, "CreateHandover", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (!req->has_appointment_date()) return FieldError("appointment_date", "required");
    WUYE_RETURN_IF_ERROR(DayOf(req->appointment_date(), "appointment_date").status());
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto unit = store_.GetUnit(tx, group, req->unit_id());
      if (!unit) return NotFound("unit_id", "unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id));
      LockForUpdate(tx, absl::StrCat(kHandoverLock, group, "/", unit->id));
      if (unit->handed_over || handovers_.HandoverDayOf(tx, group, unit->id)) {
        return Refused("unit_id: the unit is already handed over", "ALREADY_HANDED_OVER");
      }
      if (handovers_.OpenHandoverOf(tx, group, unit->id)) {
        return Refused("unit_id: the unit has an open hand-over", "ALREADY_OPEN");
      }
      pb::Handover& h = *resp;
      h.set_id(NewId(rc.now));
      h.set_estate_id(unit->estate_id);
      h.set_unit_id(unit->id);
      h.set_state(pb::HANDOVER_STATE_NOTIFIED);
      *h.mutable_appointment_date() = req->appointment_date();
      *h.mutable_notified_time() = ToProtoTime(rc.now);
      h.set_created_by(rc.caller.subject);
      h.set_version(1);
      *h.mutable_create_time() = ToProtoTime(rc.now);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.InsertHandover(tx, group, h);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetHandover(Ctx* ctx, const pb::GetHandoverRequest* req,
                                             pb::Handover* resp) {
  return rpc_.Run(ctx, "GetHandover", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kTechnician, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto h = handovers_.GetHandover(tx, rc.caller.group_id, req->id());
      if (!h) return NotFound("id", "hand-over");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(h->estate_id()));
      *resp = std::move(*h);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListHandovers(Ctx* ctx, const pb::ListHandoversRequest* req,
                                               pb::ListHandoversResponse* resp) {
  return rpc_.Run(ctx, "ListHandovers", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kTechnician, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!pb::HandoverState_IsValid(req->state())) return FieldError("state", "unknown state");
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    const std::string filters =
        absl::StrCat("handovers;", req->estate_id(), ";", req->state(), ";", req->unit_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = handovers_.ListHandovers(tx, rc.caller.group_id, req->estate_id(), req->state(),
                                           req->unit_id(), page.after, page.size + 1);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_handovers()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RegisterOwner(Ctx* ctx, const pb::RegisterOwnerRequest* req,
                                               pb::Handover* resp) {
  return rpc_.Run(ctx, "RegisterOwner", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    WUYE_RETURN_IF_ERROR(CheckId(req->resident_id(), "resident_id"));
    // The number's own shape first (its birth date may be "today" anywhere on Earth); the
    // resident's date of birth is checked in the transaction.
    WUYE_RETURN_IF_ERROR(CheckOwnerIdNumber(req->id_number(), std::nullopt,
                                            absl::ToCivilDay(rc.now, absl::UTCTimeZone()) + 1)
                             .status());
    // The idempotency record keeps a hash of the request: of its keyed digest, never of
    // the number itself.
    pb::RegisterOwnerRequest keyed = *req;
    keyed.set_id_number(absl::BytesToHexString(keys_.Digest(req->id_number())));
    return RunOnce(db_, rc.Key(), keyed, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Handover h,
                            VisibleHandover(handovers_, tx, rc, req->handover_id()));
      WUYE_RETURN_IF_ERROR(
          CheckHandoverStep(h.state(), pb::HANDOVER_STATE_NOTIFIED, "RegisterOwner"));
      auto resident = store_.GetResident(tx, group, req->resident_id());
      if (!resident) return NotFound("resident_id", "resident");
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, h.estate_id()));
      WUYE_RETURN_IF_ERROR(CheckOwner(resident->role, resident->unit_id, h.unit_id(),
                                      resident->move_out_date, today));
      WUYE_ASSIGN_OR_RETURN(std::string id_number,
                            CheckOwnerIdNumber(req->id_number(), resident->birth_date, today));
      SealedPlace place{group, "handovers", h.id(), "id_number"};
      WUYE_ASSIGN_OR_RETURN(SealedValue sealed, keys_.Seal(place, id_number));
      handovers_.PutSealed(tx, place, sealed, rc.now);
      h.set_state(pb::HANDOVER_STATE_REGISTERED);
      h.set_owner_resident_id(resident->id);
      *h.mutable_registered_time() = ToProtoTime(rc.now);
      h.set_version(h.version() + 1);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateHandover(tx, group, h, keys_.Digest(id_number));
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::SignAgreements(Ctx* ctx, const pb::SignAgreementsRequest* req,
                                                pb::Handover* resp) {
  return rpc_.Run(ctx, "SignAgreements", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    WUYE_RETURN_IF_ERROR(CheckFileRefs(req->agreements(), "agreements", 1, 10));
    if (!req->has_handover_date()) return FieldError("handover_date", "required");
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(req->handover_date(), "handover_date"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Handover h,
                            VisibleHandover(handovers_, tx, rc, req->handover_id()));
      WUYE_RETURN_IF_ERROR(
          CheckHandoverStep(h.state(), pb::HANDOVER_STATE_REGISTERED, "SignAgreements"));
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, h.estate_id()));
      WUYE_RETURN_IF_ERROR(CheckHandoverDay(day, today));
      h.set_state(pb::HANDOVER_STATE_SIGNED);
      *h.mutable_agreements() = req->agreements();
      *h.mutable_handover_date() = ToDate(day);
      h.set_version(h.version() + 1);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateHandover(tx, group, h);
      ev::UnitHandedOver payload;
      payload.set_unit_id(h.unit_id());
      payload.set_estate_id(h.estate_id());
      payload.set_handover_id(h.id());
      *payload.mutable_handover_date() = CivilDateOf(day);
      outbox_.Append(
          tx,
          {"counter.unit.handed_over", group, h.estate_id(), h.unit_id(), h.version(), &payload},
          rc.now, rc.trace_id);
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::HandOverKeys(Ctx* ctx, const pb::HandOverKeysRequest* req,
                                              pb::Handover* resp) {
  return rpc_.Run(ctx, "HandOverKeys", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    WUYE_RETURN_IF_ERROR(CheckKeySets(req->keys(), "keys"));
    if (!req->has_signature()) return FieldError("signature", "the owner's signature is required");
    WUYE_RETURN_IF_ERROR(CheckFileRef(req->signature(), "signature"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(pb::Handover h,
                            VisibleHandover(handovers_, tx, rc, req->handover_id()));
      WUYE_RETURN_IF_ERROR(CheckHandoverStep(h.state(), pb::HANDOVER_STATE_SIGNED, "HandOverKeys"));
      h.set_state(pb::HANDOVER_STATE_KEYS_HANDED_OVER);
      *h.mutable_keys() = req->keys();
      *h.mutable_keys_signature() = req->signature();
      h.set_version(h.version() + 1);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateHandover(tx, rc.caller.group_id, h);
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RecordHandoverReadings(
    Ctx* ctx, const pb::RecordHandoverReadingsRequest* req, pb::Handover* resp) {
  return rpc_.Run(ctx, "RecordHandoverReadings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    // 002_… 第七章 3: the engineering department reads the meters (抄录表底).
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kTechnician}));
    WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    google::protobuf::RepeatedPtrField<pb::MeterValue> readings = req->readings();
    WUYE_RETURN_IF_ERROR(CheckReadings(&readings, "readings"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      WUYE_ASSIGN_OR_RETURN(pb::Handover h,
                            VisibleHandover(handovers_, tx, rc, req->handover_id()));
      WUYE_RETURN_IF_ERROR(CheckHandoverStep(h.state(), pb::HANDOVER_STATE_KEYS_HANDED_OVER,
                                             "RecordHandoverReadings"));
      h.set_state(pb::HANDOVER_STATE_METERS_READ);
      *h.mutable_readings() = readings;
      h.set_version(h.version() + 1);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateHandover(tx, group, h);
      ev::MetersRead payload;
      payload.set_unit_id(h.unit_id());
      payload.set_estate_id(h.estate_id());
      payload.set_handover_id(h.id());
      for (const auto& r : readings) {
        ev::MetersRead::Reading* out = payload.add_readings();
        out->set_meter(MeterName(r.kind()));
        out->set_value(r.value());
      }
      *payload.mutable_read_at() = ToProtoTime(rc.now);
      outbox_.Append(tx,
                     {"counter.meters.read", group, h.estate_id(), h.id(), h.version(), &payload},
                     rc.now, rc.trace_id);
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::CompleteInspection(Ctx* ctx,
                                                    const pb::CompleteInspectionRequest* req,
                                                    pb::Handover* resp) {
  return rpc_.Run(ctx, "CompleteInspection", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kTechnician}));
    WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    WUYE_RETURN_IF_ERROR(CheckText(req->note(), "note", 500, Presence::kOptional, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req->note(), "note"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(pb::Handover h,
                            VisibleHandover(handovers_, tx, rc, req->handover_id()));
      WUYE_RETURN_IF_ERROR(
          CheckHandoverStep(h.state(), pb::HANDOVER_STATE_METERS_READ, "CompleteInspection"));
      h.set_state(pb::HANDOVER_STATE_COMPLETED);
      h.set_inspection_note(req->note());
      *h.mutable_completed_time() = ToProtoTime(rc.now);
      h.set_version(h.version() + 1);
      *h.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateHandover(tx, rc.caller.group_id, h);
      *resp = h;
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::RecordMoveIn(Ctx* ctx, const pb::RecordMoveInRequest* req,
                                              pb::MoveIn* resp) {
  return rpc_.Run(ctx, "RecordMoveIn", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (req->occupancy() != pb::OCCUPANCY_SELF_OCCUPIED &&
        req->occupancy() != pb::OCCUPANCY_RENTED) {
      return FieldError("occupancy", "must be SELF_OCCUPIED or RENTED");
    }
    if (!req->has_move_in_date()) return FieldError("move_in_date", "required");
    WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(req->move_in_date(), "move_in_date"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto unit = store_.GetUnit(tx, group, req->unit_id());
      if (!unit) return NotFound("unit_id", "unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id));
      LockForUpdate(tx, absl::StrCat(kHandoverLock, group, "/", unit->id));
      auto handed_over = HandoverDay(handovers_, tx, group, *unit);
      if (!handed_over) {
        return Refused("unit_id: the unit has not been handed over", "NOT_HANDED_OVER");
      }
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, unit->estate_id));
      WUYE_RETURN_IF_ERROR(CheckMoveInDay(day, today, *handed_over));
      int32_t seq = handovers_.NextMoveInSeq(tx, group, unit->id);
      pb::MoveIn& m = *resp;
      m.set_id(NewId(rc.now));
      m.set_estate_id(unit->estate_id);
      m.set_unit_id(unit->id);
      m.set_occupancy(req->occupancy());
      *m.mutable_move_in_date() = ToDate(day);
      m.set_recorded_by(rc.caller.subject);
      *m.mutable_create_time() = ToProtoTime(rc.now);
      handovers_.InsertMoveIn(tx, group, m, seq);
      ev::UnitMovedIn payload;
      payload.set_unit_id(unit->id);
      payload.set_estate_id(unit->estate_id);
      payload.set_occupancy(static_cast<ev::Occupancy>(req->occupancy()));
      *payload.mutable_move_in_date() = CivilDateOf(day);
      outbox_.Append(tx, {"counter.unit.moved_in", group, unit->estate_id, unit->id, seq, &payload},
                     rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

// ---- defects ----------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::CreateDefect(Ctx* ctx, const pb::CreateDefectRequest* req,
                                              pb::Defect* resp) {
  return rpc_.Run(ctx, "CreateDefect", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    // 002_… 第七章 3: the engineering department follows what the owner's inspection found.
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kTechnician}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (!req->handover_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->handover_id(), "handover_id"));
    }
    if (req->category() == pb::DEFECT_CATEGORY_UNSPECIFIED ||
        !pb::DefectCategory_IsValid(req->category())) {
      return FieldError("category", "must be a defect category");
    }
    WUYE_RETURN_IF_ERROR(CheckDefectDescription(req->description(), "description"));
    WUYE_RETURN_IF_ERROR(CheckFileRefs(req->photos(), "photos", 0, 10));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto unit = store_.GetUnit(tx, group, req->unit_id());
      if (!unit) return NotFound("unit_id", "unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id));
      if (!req->handover_id().empty()) {
        auto h = handovers_.GetHandover(tx, group, req->handover_id());
        if (!h) return NotFound("handover_id", "hand-over");
        if (h->unit_id() != unit->id) {
          return FieldError("handover_id", "must be a hand-over of unit_id");
        }
      }
      auto handed_over = HandoverDay(handovers_, tx, group, *unit);
      if (!handed_over) {
        return Refused("unit_id: the unit has not been handed over (its warranty has no start)",
                       "NOT_HANDED_OVER");
      }
      absl::CivilDay today = absl::ToCivilDay(rc.now, store_.Zone(tx, group, unit->estate_id));
      pb::Settings settings = store_.GetSettings(tx, group);
      Warranty w = WarrantyOf(*handed_over, WarrantyMonths(settings, req->category()), today);
      pb::Defect& d = *resp;
      d.set_id(NewId(rc.now));
      d.set_estate_id(unit->estate_id);
      d.set_unit_id(unit->id);
      d.set_handover_id(req->handover_id());
      d.set_category(req->category());
      d.set_description(req->description());
      *d.mutable_photos() = req->photos();
      d.set_state(pb::DEFECT_STATE_RECORDED);
      d.set_under_warranty(w.under);
      if (w.end) *d.mutable_warranty_end() = ToDate(*w.end);
      Stamp(d.add_history(), pb::DEFECT_STATE_RECORDED, rc, "");
      d.set_version(1);
      *d.mutable_create_time() = ToProtoTime(rc.now);
      *d.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.InsertDefect(tx, group, d);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::GetDefect(Ctx* ctx, const pb::GetDefectRequest* req,
                                           pb::Defect* resp) {
  return rpc_.Run(ctx, "GetDefect", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kTechnician, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto d = handovers_.GetDefect(tx, rc.caller.group_id, req->id());
      if (!d) return NotFound("id", "defect");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(d->estate_id()));
      *resp = std::move(*d);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::ListDefects(Ctx* ctx, const pb::ListDefectsRequest* req,
                                             pb::ListDefectsResponse* resp) {
  return rpc_.Run(ctx, "ListDefects", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager,
                                         kGroupAdmin, kTechnician, kQualityInspector}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    if (!pb::DefectState_IsValid(req->state())) return FieldError("state", "unknown state");
    const std::string filters =
        absl::StrCat("defects;", req->estate_id(), ";", req->unit_id(), ";", req->state());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = handovers_.ListDefects(tx, rc.caller.group_id, req->estate_id(), req->unit_id(),
                                         req->state(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_defects()));
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::UpdateDefect(Ctx* ctx, const pb::UpdateDefectRequest* req,
                                              pb::Defect* resp) {
  return rpc_.Run(ctx, "UpdateDefect", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(
        rc.RequireRole({kAgent, kTeamLead, kSupervisor, kEstateManager, kGroupAdmin, kTechnician}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    if (req->state() == pb::DEFECT_STATE_UNSPECIFIED || !pb::DefectState_IsValid(req->state()) ||
        req->state() == pb::DEFECT_STATE_RECORDED) {
      return FieldError("state", "must be the next state of the defect");
    }
    if (req->version() < 0) return FieldError("version", "must not be negative");
    WUYE_RETURN_IF_ERROR(CheckDefectMoveFields(req->state(), req->note(),
                                               req->has_signature() ? &req->signature() : nullptr));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      const std::string& group = rc.caller.group_id;
      auto found = handovers_.GetDefect(tx, group, req->id(), true);
      if (!found) return NotFound("id", "defect");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(found->estate_id()));
      pb::Defect& d = *found;
      if (req->version() != 0 && req->version() != d.version()) {
        return WithReason(
            absl::AbortedError(absl::StrCat("defect: changed since version ", req->version(),
                                            " (now ", d.version(), "); read it again")),
            "STALE_VERSION");
      }
      WUYE_RETURN_IF_ERROR(CheckDefectMove(d.state(), req->state(), d.under_warranty()));
      d.set_state(req->state());
      pb::DefectStep* step = d.add_history();
      Stamp(step, req->state(), rc, req->note());
      if (req->has_signature()) *step->mutable_signature() = req->signature();
      d.set_version(d.version() + 1);
      *d.mutable_update_time() = ToProtoTime(rc.now);
      handovers_.UpdateDefect(tx, group, d);
      if (ClaimSucceeded(req->state(), d.under_warranty())) {
        ev::DefectClaimSucceeded payload;
        payload.set_defect_id(d.id());
        payload.set_estate_id(d.estate_id());
        payload.set_unit_id(d.unit_id());
        payload.set_staff_id(rc.caller.subject);
        *payload.mutable_at() = ToProtoTime(rc.now);
        outbox_.Append(
            tx,
            {"counter.defect.claim_succeeded", group, d.estate_id(), d.id(), d.version(), &payload},
            rc.now, rc.trace_id);
      }
      *resp = std::move(d);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
