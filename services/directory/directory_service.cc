#include "services/directory/directory_service.h"

#include <malloc.h>

#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/directory/directory.h"
#include "services/directory/directory_events.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::directory {
namespace {

namespace ev = ::wuye::events::v1;

using roles::kAgent;
using roles::kEstateManager;
using roles::kFinanceClerk;
using roles::kGroupAdmin;
using roles::kPlatformAdmin;
using roles::kService;
using roles::kSupervisor;
using roles::kTeamLead;

v1::Date LocalDate(absl::Time now, const std::string& tz_name) {
  absl::CivilDay day = absl::ToCivilDay(now, EstateZone(tz_name));
  v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

// Staff are visible to callers whose token covers one of their home estates.
absl::Status RequireAnyEstate(const RequestContext& rc, const v1::Staff& staff) {
  for (const auto& estate : staff.home_estate_ids()) {
    if (rc.caller.CanSeeEstate(estate)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError("staff: none of their estates is among the caller's");
}

// Reader lists (need-to-know). Residents' names and phones: the front desk, the estate's
// management and finance (which chases arrears); their birth dates and leases (eldercare's
// age and lease rules): the desk and management only.
absl::Status RequireResidentReader(const RequestContext& rc) {
  return rc.RequireRole(
      {kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent, kFinanceClerk, kService});
}
void MaskResident(const RequestContext& rc, v1::Resident& r) {
  if (rc.caller.HasAnyRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent, kService}))
    return;
  r.clear_date_of_birth();
  r.clear_lease_start();
  r.clear_lease_end();
}
// Every member of staff sees who works where; a colleague's phone only those who plan and
// lead the work.
void MaskStaff(const RequestContext& rc, v1::Staff& s) {
  if (rc.caller.HasAnyRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kService})) return;
  s.clear_phone();
}

absl::Status Taken(absl::string_view field, absl::string_view what) {
  return absl::AlreadyExistsError(absl::StrCat(field, ": ", what));
}

}  // namespace

DirectoryServiceImpl::DirectoryServiceImpl(Db& db, const TokenVerifier& verifier,
                                           const Clock& clock, std::string phone_key)
    : db_(db),
      store_(db),
      outbox_(db, "directory"),
      rpc_("directory", verifier, clock),
      phone_key_(std::move(phone_key)),
      units_(store_, outbox_) {}

void DirectoryServiceImpl::Publish(pqxx::work& tx, const RequestContext& rc,
                                   const std::string& type, const std::string& estate_id,
                                   const std::string& subject, int64_t version,
                                   const google::protobuf::Message& payload) {
  EventDraft draft{type, rc.caller.group_id, estate_id, subject, version, &payload};
  outbox_.Append(tx, draft, rc.now, rc.trace_id);
}

absl::StatusOr<v1::Estate> DirectoryServiceImpl::VisibleEstate(pqxx::work& tx,
                                                               const RequestContext& rc,
                                                               const std::string& estate_id,
                                                               absl::string_view field) {
  auto estate = store_.GetEstate(tx, rc.caller.group_id, estate_id);
  if (!estate) return absl::NotFoundError(absl::StrCat(field, ": no such estate"));
  WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate_id));
  return *estate;
}

// ---- Groups -------------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateGroup(Ctx* ctx, const v1::CreateGroupRequest* req,
                                               v1::Group* resp) {
  return rpc_.Run(ctx, "CreateGroup", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kPlatformAdmin}));
    WUYE_RETURN_IF_ERROR(
        CheckText(req->group().name(), "group.name", 200, Presence::kRequired, Lines::kOne));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      v1::Group group = req->group();
      group.set_id(NewId(rc.now));
      store_.InsertGroup(tx, group, rc.now, resp);
      ev::GroupCreated payload = GroupCreatedOf(*resp);
      EventDraft draft{"directory.group.created", resp->id(), "", resp->id(), 1, &payload};
      outbox_.Append(tx, draft, rc.now, rc.trace_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::GetGroup(Ctx* ctx, const v1::GetGroupRequest* req,
                                            v1::Group* resp) {
  return rpc_.Run(ctx, "GetGroup", "", [&](RequestContext& rc) -> absl::Status {
    bool platform = rc.caller.HasRole(kPlatformAdmin);
    if (!platform) WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    if (!platform && req->id() != rc.caller.group_id)
      return absl::NotFoundError("id: no such group");
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto group = store_.GetGroup(tx, req->id());
      if (!group) return absl::NotFoundError("id: no such group");
      *resp = *group;
      return absl::OkStatus();
    });
  });
}

// ---- Estates ------------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateEstate(Ctx* ctx, const v1::CreateEstateRequest* req,
                                                v1::Estate* resp) {
  return rpc_.Run(ctx, "CreateEstate", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    v1::Estate estate = req->estate();
    WUYE_RETURN_IF_ERROR(PrepareEstate(estate, "estate"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      if (!store_.GetGroup(tx, rc.caller.group_id)) {
        return absl::FailedPreconditionError("the caller's group does not exist");
      }
      estate.set_id(NewId(rc.now));
      estate.set_group_id(rc.caller.group_id);
      store_.InsertEstate(tx, estate, rc.now, resp);
      Publish(tx, rc, "directory.estate.created", resp->id(), resp->id(), resp->version(),
              EstateChangedOf(*resp));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::GetEstate(Ctx* ctx, const v1::GetEstateRequest* req,
                                             v1::Estate* resp) {
  return rpc_.Run(ctx, "GetEstate", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_ASSIGN_OR_RETURN(*resp, VisibleEstate(tx, rc, req->id(), "id"));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListEstates(Ctx* ctx, const v1::ListEstatesRequest* req,
                                               v1::ListEstatesResponse* resp) {
  return rpc_.Run(ctx, "ListEstates", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    const std::string filters = "estates";
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListEstates(tx, rc.caller.group_id, rc.caller.all_estates,
                                     rc.caller.estate_ids, page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_estates()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::UpdateEstate(Ctx* ctx, const v1::UpdateEstateRequest* req,
                                                v1::Estate* resp) {
  return rpc_.Run(ctx, "UpdateEstate", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate().id(), "estate.id"));
    WUYE_RETURN_IF_ERROR(
        CheckMask(req->update_mask(),
                  {"name", "kind", "time_zone", "desk_opens", "desk_closes", "desk_24h",
                   "duty_phone", "management_fee_fen_per_m2", "household_count", "address"}));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto estate = store_.GetEstate(tx, rc.caller.group_id, req->estate().id(), true);
      if (!estate) return absl::NotFoundError("estate.id: no such estate");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate->id()));
      const v1::Estate& in = req->estate();
      const auto& m = req->update_mask();
      if (MaskHas(m, "name")) estate->set_name(in.name());
      if (MaskHas(m, "kind")) estate->set_kind(in.kind());
      if (MaskHas(m, "time_zone")) estate->set_time_zone(in.time_zone());
      WUYE_RETURN_IF_ERROR(UpdateDeskHours(*estate, in, m, "estate"));
      if (MaskHas(m, "duty_phone")) estate->set_duty_phone(in.duty_phone());
      if (MaskHas(m, "management_fee_fen_per_m2")) {
        estate->set_management_fee_fen_per_m2(in.management_fee_fen_per_m2());
      }
      if (MaskHas(m, "household_count")) estate->set_household_count(in.household_count());
      if (MaskHas(m, "address")) estate->set_address(in.address());
      WUYE_RETURN_IF_ERROR(PrepareEstate(*estate, "estate"));
      store_.UpdateEstate(tx, *estate, rc.now, resp);
      Publish(tx, rc, "directory.estate.updated", resp->id(), resp->id(), resp->version(),
              EstateChangedOf(*resp));
      return absl::OkStatus();
    });
  });
}

// ---- Buildings ----------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateBuilding(Ctx* ctx, const v1::CreateBuildingRequest* req,
                                                  v1::Building* resp) {
  return rpc_.Run(
      ctx, "CreateBuilding", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
        v1::Building building = req->building();
        WUYE_RETURN_IF_ERROR(PrepareBuilding(building, "building"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          WUYE_RETURN_IF_ERROR(
              VisibleEstate(tx, rc, building.estate_id(), "building.estate_id").status());
          building.set_id(NewId(rc.now));
          building.set_group_id(rc.caller.group_id);
          if (!store_.InsertBuilding(tx, building, rc.now, resp)) {
            return Taken("building.name", "a building of this name exists in the estate");
          }
          Publish(tx, rc, "directory.building.created", resp->estate_id(), resp->id(),
                  resp->version(), BuildingCreatedOf(*resp));
          return absl::OkStatus();
        });
      });
}

grpc::Status DirectoryServiceImpl::GetBuilding(Ctx* ctx, const v1::GetBuildingRequest* req,
                                               v1::Building* resp) {
  return rpc_.Run(ctx, "GetBuilding", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto building = store_.GetBuilding(tx, rc.caller.group_id, req->id());
      if (!building) return absl::NotFoundError("id: no such building");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(building->estate_id()));
      *resp = *building;
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListBuildings(Ctx* ctx, const v1::ListBuildingsRequest* req,
                                                 v1::ListBuildingsResponse* resp) {
  return rpc_.Run(ctx, "ListBuildings", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("buildings;", req->estate_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows =
          store_.ListBuildings(tx, rc.caller.group_id, req->estate_id(), page.after, page.size + 1);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_buildings()));
      return absl::OkStatus();
    });
  });
}

// ---- Units --------------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateUnit(Ctx* ctx, const v1::CreateUnitRequest* req,
                                              v1::Unit* resp) {
  return rpc_.Run(ctx, "CreateUnit", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
    v1::Unit unit = req->unit();
    WUYE_RETURN_IF_ERROR(PrepareUnit(unit, "unit"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto building = store_.GetBuilding(tx, rc.caller.group_id, unit.building_id());
      if (!building) return absl::NotFoundError("unit.building_id: no such building");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(building->estate_id()));
      unit.set_id(NewId(rc.now));
      unit.set_group_id(rc.caller.group_id);
      unit.set_estate_id(building->estate_id());
      if (!store_.InsertUnit(tx, unit, rc.now, resp)) {
        return Taken("unit.number", "a unit of this number exists in the building");
      }
      Publish(tx, rc, "directory.unit.created", resp->estate_id(), resp->id(), resp->version(),
              UnitChangedOf(*resp));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::GetUnit(Ctx* ctx, const v1::GetUnitRequest* req,
                                           v1::Unit* resp) {
  return rpc_.Run(ctx, "GetUnit", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto unit = store_.GetUnit(tx, rc.caller.group_id, req->id());
      if (!unit) return absl::NotFoundError("id: no such unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id()));
      *resp = *unit;
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListUnits(Ctx* ctx, const v1::ListUnitsRequest* req,
                                             v1::ListUnitsResponse* resp) {
  return rpc_.Run(ctx, "ListUnits", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->building_id().empty())
      WUYE_RETURN_IF_ERROR(CheckId(req->building_id(), "building_id"));
    if (!v1::Occupancy_IsValid(req->occupancy())) {
      return FieldError("occupancy", "unknown occupancy");
    }
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters =
        absl::StrCat("units;", req->estate_id(), ";", req->building_id(), ";", req->occupancy());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListUnits(tx, rc.caller.group_id, req->estate_id(), req->building_id(),
                                   req->occupancy(), page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_units()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::UpdateUnit(Ctx* ctx, const v1::UpdateUnitRequest* req,
                                              v1::Unit* resp) {
  return rpc_.Run(ctx, "UpdateUnit", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->unit().id(), "unit.id"));
    WUYE_RETURN_IF_ERROR(
        CheckMask(req->update_mask(), {"building_area_m2", "type", "occupancy", "handed_over",
                                       "floor", "handover_date", "move_in_date"}));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto unit = store_.GetUnit(tx, rc.caller.group_id, req->unit().id(), true);
      if (!unit) return absl::NotFoundError("unit.id: no such unit");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(unit->estate_id()));
      const v1::Unit& in = req->unit();
      const auto& m = req->update_mask();
      if (MaskHas(m, "building_area_m2")) unit->set_building_area_m2(in.building_area_m2());
      if (MaskHas(m, "type")) unit->set_type(in.type());
      if (MaskHas(m, "occupancy")) unit->set_occupancy(in.occupancy());
      if (MaskHas(m, "handed_over")) unit->set_handed_over(in.handed_over());
      if (MaskHas(m, "floor")) unit->set_floor(in.floor());
      if (MaskHas(m, "handover_date")) *unit->mutable_handover_date() = in.handover_date();
      if (MaskHas(m, "move_in_date")) *unit->mutable_move_in_date() = in.move_in_date();
      return units_.Save(tx, *unit, "unit", rc.now, rc.trace_id, resp);
    });
  });
}

grpc::Status DirectoryServiceImpl::ImportUnits(Ctx* ctx, const v1::ImportUnitsRequest* req,
                                               v1::ImportUnitsResponse* resp) {
  return rpc_.Run(ctx, "ImportUnits", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    if (req->units().empty()) return FieldError("units", "at least one unit");
    if (req->units_size() > kMaxImportUnits) {
      return FieldError("units", absl::StrCat("at most ", kMaxImportUnits, " units per call"));
    }
    std::vector<v1::ImportedUnit> units(req->units().begin(), req->units().end());
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < units.size(); ++i) {
      std::string prefix = absl::StrCat("units[", i, "]");
      WUYE_RETURN_IF_ERROR(PrepareImportedUnit(units[i], prefix));
      if (!seen.emplace(units[i].building_name(), units[i].number()).second) {
        return FieldError(absl::StrCat(prefix, ".number"), "appears twice in this building");
      }
    }
    absl::Cleanup give_back_memory = [] {
      // A 100k-unit import allocates hundreds of MiB; hand it back to the system.
      malloc_trim(0);
    };
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, req->estate_id(), "estate_id").status());
      ImportResult result =
          store_.ImportUnits(tx, rc.caller.group_id, req->estate_id(), units, rc.now);
      if (result.first_conflict >= 0) {
        return WithReason(absl::FailedPreconditionError(absl::StrCat(
                              "units[", result.first_conflict,
                              "]: the unit exists with other content; change it with UpdateUnit")),
                          "UNIT_EXISTS_DIFFERENT");
      }
      if (result.first_bad_dates >= 0) {
        return FieldError(absl::StrCat("units[", result.first_bad_dates, "].move_in_date"),
                          "not before the unit's handover_date");
      }
      resp->set_created(static_cast<int32_t>(result.units_created.size()));
      resp->set_updated(static_cast<int32_t>(result.units_updated.size()));
      resp->set_unchanged(result.unchanged);
      resp->set_buildings_created(static_cast<int32_t>(result.buildings_created.size()));
      // One event per chunk keeps envelopes small for consumers.
      constexpr size_t kChunk = 1000;
      for (size_t start = 0; start < std::max<size_t>(result.units_created.size(), 1);
           start += kChunk) {
        ev::UnitImportChunk chunk;
        chunk.set_estate_id(req->estate_id());
        if (start == 0) {
          for (auto& b : result.buildings_created)
            *chunk.add_buildings_created() = BuildingCreatedOf(b);
        }
        for (size_t i = start; i < std::min(start + kChunk, result.units_created.size()); ++i) {
          *chunk.add_units() = UnitChangedOf(result.units_created[i]);
        }
        if (chunk.units().empty() && chunk.buildings_created().empty()) break;
        Publish(tx, rc, "directory.units.imported", req->estate_id(), req->estate_id(), 0, chunk);
      }
      // A changed hand-over or move-in day is published as UpdateUnit publishes it, so
      // billing prorates from it (003_…, Q4 and Q6).
      for (const auto& unit : result.units_updated) {
        Publish(tx, rc, "directory.unit.updated", unit.estate_id(), unit.id(), unit.version(),
                UnitChangedOf(unit));
      }
      return absl::OkStatus();
    });
  });
}

// ---- Residents ----------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateResident(Ctx* ctx, const v1::CreateResidentRequest* req,
                                                  v1::Resident* resp) {
  return rpc_.Run(
      ctx, "CreateResident", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(
            rc.RequireRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent}));
        WUYE_RETURN_IF_ERROR(CheckId(req->resident().unit_id(), "resident.unit_id"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          auto unit = store_.GetUnit(tx, rc.caller.group_id, req->resident().unit_id());
          if (!unit) return absl::NotFoundError("resident.unit_id: no such unit");
          WUYE_ASSIGN_OR_RETURN(v1::Estate estate,
                                VisibleEstate(tx, rc, unit->estate_id(), "resident.unit_id"));
          v1::Resident resident = req->resident();
          WUYE_RETURN_IF_ERROR(
              PrepareResident(resident, "resident", LocalDate(rc.now, estate.time_zone())));
          resident.set_id(NewId(rc.now));
          resident.set_group_id(rc.caller.group_id);
          resident.set_estate_id(unit->estate_id());
          store_.InsertResident(tx, resident, rc.now, resp);
          Publish(tx, rc, "directory.resident.created", resp->estate_id(), resp->id(),
                  resp->version(), ResidentChangedOf(*resp, phone_key_));
          return absl::OkStatus();
        });
      });
}

grpc::Status DirectoryServiceImpl::GetResident(Ctx* ctx, const v1::GetResidentRequest* req,
                                               v1::Resident* resp) {
  return rpc_.Run(ctx, "GetResident", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireResidentReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto resident = store_.GetResident(tx, rc.caller.group_id, req->id());
      if (!resident) return absl::NotFoundError("id: no such resident");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(resident->estate_id()));
      *resp = *resident;
      MaskResident(rc, *resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListResidents(Ctx* ctx, const v1::ListResidentsRequest* req,
                                                 v1::ListResidentsResponse* resp) {
  return rpc_.Run(ctx, "ListResidents", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireResidentReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->unit_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->unit_id(), "unit_id"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters = absl::StrCat("residents;", req->estate_id(), ";", req->unit_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListResidents(tx, rc.caller.group_id, req->estate_id(), req->unit_id(),
                                       page.after, page.size + 1);
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_residents()));
      for (auto& resident : *resp->mutable_residents()) MaskResident(rc, resident);
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::UpdateResident(Ctx* ctx, const v1::UpdateResidentRequest* req,
                                                  v1::Resident* resp) {
  return rpc_.Run(
      ctx, "UpdateResident", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(
            rc.RequireRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent}));
        WUYE_RETURN_IF_ERROR(CheckId(req->resident().id(), "resident.id"));
        WUYE_RETURN_IF_ERROR(
            CheckMask(req->update_mask(), {"name", "phone", "date_of_birth", "role", "lease_start",
                                           "lease_end", "move_out_date"}));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          auto resident = store_.GetResident(tx, rc.caller.group_id, req->resident().id(), true);
          if (!resident) return absl::NotFoundError("resident.id: no such resident");
          WUYE_ASSIGN_OR_RETURN(v1::Estate estate,
                                VisibleEstate(tx, rc, resident->estate_id(), "resident.id"));
          const v1::Resident& in = req->resident();
          const auto& m = req->update_mask();
          if (MaskHas(m, "name")) resident->set_name(in.name());
          if (MaskHas(m, "phone")) resident->set_phone(in.phone());
          if (MaskHas(m, "date_of_birth")) *resident->mutable_date_of_birth() = in.date_of_birth();
          if (MaskHas(m, "role")) resident->set_role(in.role());
          if (MaskHas(m, "lease_start")) *resident->mutable_lease_start() = in.lease_start();
          if (MaskHas(m, "lease_end")) *resident->mutable_lease_end() = in.lease_end();
          if (MaskHas(m, "move_out_date")) *resident->mutable_move_out_date() = in.move_out_date();
          // A cleared date is an unset one.
          if (!DateIsSet(resident->date_of_birth())) resident->clear_date_of_birth();
          if (!DateIsSet(resident->lease_start())) resident->clear_lease_start();
          if (!DateIsSet(resident->lease_end())) resident->clear_lease_end();
          WUYE_RETURN_IF_ERROR(
              PrepareResident(*resident, "resident", LocalDate(rc.now, estate.time_zone())));
          store_.UpdateResident(tx, *resident, rc.now, resp);
          Publish(tx, rc, "directory.resident.updated", resp->estate_id(), resp->id(),
                  resp->version(), ResidentChangedOf(*resp, phone_key_));
          return absl::OkStatus();
        });
      });
}

grpc::Status DirectoryServiceImpl::DeleteResident(Ctx* ctx, const v1::DeleteResidentRequest* req,
                                                  v1::DeleteResidentResponse* resp) {
  return rpc_.Run(
      ctx, "DeleteResident", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(
            rc.RequireRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent}));
        WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          auto resident = store_.GetResident(tx, rc.caller.group_id, req->id(), true);
          if (!resident) return absl::NotFoundError("id: no such resident");
          WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, resident->estate_id(), "id").status());
          // The row stays for history; from now on the resident is no longer the estate's,
          // and a call from their number no resident's (000_…, 二.5).
          v1::Resident removed;
          store_.RemoveResident(tx, rc.caller.group_id, resident->id(), rc.now, &removed);
          ev::ResidentChanged payload = ResidentChangedOf(removed, phone_key_);
          *payload.mutable_removed_at() = ToProtoTime(rc.now);
          Publish(tx, rc, "directory.resident.removed", resident->estate_id(), resident->id(),
                  removed.version(), payload);
          return absl::OkStatus();
        });
      });
}

// ---- Staff --------------------------------------------------------------------------

namespace {
// Home estates without duplicates, in the order given.
void DedupeEstates(v1::Staff& s) {
  std::set<std::string> seen;
  google::protobuf::RepeatedPtrField<std::string> unique;
  for (const auto& id : s.home_estate_ids()) {
    if (seen.insert(id).second) *unique.Add() = id;
  }
  s.mutable_home_estate_ids()->Swap(&unique);
}
}  // namespace

grpc::Status DirectoryServiceImpl::CreateStaff(Ctx* ctx, const v1::CreateStaffRequest* req,
                                               v1::Staff* resp) {
  return rpc_.Run(ctx, "CreateStaff", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    v1::Staff staff = req->staff();
    staff.set_active(true);
    DedupeEstates(staff);
    WUYE_RETURN_IF_ERROR(PrepareStaff(staff, "staff"));
    for (const auto& estate : staff.home_estate_ids())
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      std::vector<std::string> estates(staff.home_estate_ids().begin(),
                                       staff.home_estate_ids().end());
      if (store_.CountEstates(tx, rc.caller.group_id, estates) !=
          static_cast<int>(estates.size())) {
        return absl::NotFoundError("staff.home_estate_ids: no such estate in the group");
      }
      staff.set_id(NewId(rc.now));
      staff.set_group_id(rc.caller.group_id);
      store_.InsertStaff(tx, staff, rc.now, resp);
      Publish(tx, rc, "directory.staff.created", "", resp->id(), resp->version(),
              StaffChangedOf(*resp));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::GetStaff(Ctx* ctx, const v1::GetStaffRequest* req,
                                            v1::Staff* resp) {
  return rpc_.Run(ctx, "GetStaff", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto staff = store_.GetStaff(tx, rc.caller.group_id, req->id());
      if (!staff) return absl::NotFoundError("id: no such staff member");
      WUYE_RETURN_IF_ERROR(RequireAnyEstate(rc, *staff));
      *resp = *staff;
      MaskStaff(rc, *resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListStaff(Ctx* ctx, const v1::ListStaffRequest* req,
                                             v1::ListStaffResponse* resp) {
  return rpc_.Run(ctx, "ListStaff", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    if (!req->estate_id().empty()) {
      WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    }
    if (!v1::StaffRole_IsValid(req->role())) return FieldError("role", "unknown role");
    if (!v1::Skill_IsValid(req->skill())) return FieldError("skill", "unknown skill");
    const std::string filters = absl::StrCat("staff;", req->estate_id(), ";", req->role(), ";",
                                             req->skill(), ";", req->include_inactive());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListStaff(tx, rc.caller.group_id, req->estate_id(), req->role(),
                                   req->skill(), req->include_inactive(), rc.caller.all_estates,
                                   rc.caller.estate_ids, page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_staff()));
      for (auto& staff : *resp->mutable_staff()) MaskStaff(rc, staff);
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::UpdateStaff(Ctx* ctx, const v1::UpdateStaffRequest* req,
                                               v1::Staff* resp) {
  return rpc_.Run(ctx, "UpdateStaff", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->staff().id(), "staff.id"));
    WUYE_RETURN_IF_ERROR(
        CheckMask(req->update_mask(),
                  {"name", "phone", "roles", "skills", "home_estate_ids", "active", "start_date"}));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto staff = store_.GetStaff(tx, rc.caller.group_id, req->staff().id(), true);
      if (!staff) return absl::NotFoundError("staff.id: no such staff member");
      for (const auto& estate : staff->home_estate_ids()) {
        WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate));
      }
      const v1::Staff& in = req->staff();
      const auto& m = req->update_mask();
      if (MaskHas(m, "name")) staff->set_name(in.name());
      if (MaskHas(m, "phone")) staff->set_phone(in.phone());
      if (MaskHas(m, "roles")) *staff->mutable_roles() = in.roles();
      if (MaskHas(m, "skills")) *staff->mutable_skills() = in.skills();
      if (MaskHas(m, "home_estate_ids")) *staff->mutable_home_estate_ids() = in.home_estate_ids();
      if (MaskHas(m, "active")) staff->set_active(in.active());
      if (MaskHas(m, "start_date")) *staff->mutable_start_date() = in.start_date();
      if (!DateIsSet(staff->start_date())) staff->clear_start_date();
      DedupeEstates(*staff);
      WUYE_RETURN_IF_ERROR(PrepareStaff(*staff, "staff"));
      for (const auto& estate : staff->home_estate_ids()) {
        WUYE_RETURN_IF_ERROR(rc.RequireEstate(estate));
      }
      std::vector<std::string> estates(staff->home_estate_ids().begin(),
                                       staff->home_estate_ids().end());
      if (store_.CountEstates(tx, rc.caller.group_id, estates) !=
          static_cast<int>(estates.size())) {
        return absl::NotFoundError("staff.home_estate_ids: no such estate in the group");
      }
      store_.UpdateStaff(tx, *staff, rc.now, resp);
      Publish(tx, rc, "directory.staff.updated", "", resp->id(), resp->version(),
              StaffChangedOf(*resp));
      return absl::OkStatus();
    });
  });
}

// ---- Shifts -------------------------------------------------------------------------

grpc::Status DirectoryServiceImpl::CreateShift(Ctx* ctx, const v1::CreateShiftRequest* req,
                                               v1::Shift* resp) {
  return rpc_.Run(ctx, "CreateShift", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead}));
    v1::Shift shift = req->shift();
    WUYE_RETURN_IF_ERROR(CheckShift(shift, "shift"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(VisibleEstate(tx, rc, shift.estate_id(), "shift.estate_id").status());
      auto staff = store_.GetStaff(tx, rc.caller.group_id, shift.staff_id(), true);
      if (!staff) return absl::NotFoundError("shift.staff_id: no such staff member");
      if (!staff->active()) {
        return absl::FailedPreconditionError("shift.staff_id: the staff member has left");
      }
      const auto& homes = staff->home_estate_ids();
      if (std::find(homes.begin(), homes.end(), shift.estate_id()) == homes.end()) {
        return absl::FailedPreconditionError(
            "shift.estate_id: not among the staff member's home estates");
      }
      shift.set_id(NewId(rc.now));
      shift.set_group_id(rc.caller.group_id);
      if (!store_.InsertShift(tx, shift, rc.now, resp)) {
        return WithReason(
            absl::FailedPreconditionError("shift: overlaps another shift of the same staff member"),
            "SHIFT_OVERLAP");
      }
      Publish(tx, rc, "directory.shift.created", resp->estate_id(), resp->id(), 1,
              ShiftChangedOf(*resp, /*deleted=*/false));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ListShifts(Ctx* ctx, const v1::ListShiftsRequest* req,
                                              v1::ListShiftsResponse* resp) {
  return rpc_.Run(ctx, "ListShifts", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->staff_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->staff_id(), "staff_id"));
    WUYE_ASSIGN_OR_RETURN(TimeWindow window, WindowOf(*req, absl::Hours(24 * 31)));
    const absl::Time start = window.start, end = window.end;
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    const std::string filters =
        absl::StrCat("shifts;", req->estate_id(), ";", req->staff_id(), ";",
                     absl::ToUnixMicros(start), ";", absl::ToUnixMicros(end));
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      auto rows = store_.ListShifts(tx, rc.caller.group_id, req->estate_id(), req->staff_id(),
                                    start, end, page.after, page.size + 1);
      resp->set_next_page_token(FillPage(std::move(rows), page, filters, resp->mutable_shifts()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::DeleteShift(Ctx* ctx, const v1::DeleteShiftRequest* req,
                                               v1::DeleteShiftResponse* resp) {
  return rpc_.Run(ctx, "DeleteShift", req->request_id(), [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager, kSupervisor, kTeamLead}));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      auto shift = store_.GetShift(tx, rc.caller.group_id, req->id());
      if (!shift) return absl::NotFoundError("id: no such shift");
      WUYE_RETURN_IF_ERROR(rc.RequireEstate(shift->estate_id()));
      store_.DeleteShift(tx, rc.caller.group_id, req->id());
      Publish(tx, rc, "directory.shift.deleted", shift->estate_id(), shift->id(), 2,
              ShiftChangedOf(*shift, /*deleted=*/true));
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::directory
