#include "services/directory/unit_flow.h"

#include "services/directory/directory.h"
#include "services/directory/directory_events.h"
#include "shared/status.h"

namespace wuye::directory {

absl::Status UnitFlow::Save(pqxx::work& tx, v1::Unit& unit, absl::string_view prefix,
                            absl::Time now, const std::string& trace_id, v1::Unit* out) {
  WUYE_RETURN_IF_ERROR(PrepareUnit(unit, prefix));
  store_.UpdateUnit(tx, unit, now, out);
  events::v1::UnitChanged payload = UnitChangedOf(*out);
  outbox_.Append(tx,
                 {"directory.unit.updated", out->group_id(), out->estate_id(), out->id(),
                  out->version(), &payload},
                 now, trace_id);
  return absl::OkStatus();
}

}  // namespace wuye::directory
