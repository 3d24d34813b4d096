#include "services/counter/counter_service.h"

#include "absl/strings/str_cat.h"
#include "shared/field_mask.h"
#include "shared/idempotency.h"
#include "shared/status.h"

namespace wuye::counter {

using roles::kGroupAdmin;

CounterServiceImpl::CounterServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                                       const Keyring& keys)
    : db_(db),
      store_(db),
      handovers_(db),
      renovations_(db),
      cases_(db),
      registers_(db),
      notices_(db),
      outbox_(db, "counter"),
      rpc_("counter", verifier, clock),
      keys_(keys) {}

// ---- settings -------------------------------------------------------------------------------

grpc::Status CounterServiceImpl::GetSettings(Ctx* ctx, const pb::GetSettingsRequest*,
                                             pb::Settings* resp) {
  return rpc_.Run(ctx, "GetSettings", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireStaff());
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      *resp = store_.GetSettings(tx, rc.caller.group_id);
      return absl::OkStatus();
    });
  });
}

grpc::Status CounterServiceImpl::UpdateSettings(Ctx* ctx, const pb::UpdateSettingsRequest* req,
                                                pb::Settings* resp) {
  return rpc_.Run(ctx, "UpdateSettings", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(
        CheckUpdateMask(req->update_mask(), pb::Settings::descriptor(),
                        {"working_hours", "required_documents", "renovation_deposit_fen",
                         "warranty", "card_replacement_fee_fen"}));
    if (req->update_mask().paths().empty()) {
      WUYE_RETURN_IF_ERROR(CheckSettings(req->settings(), "settings"));
    }
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      LockForUpdate(tx, absl::StrCat("counter-settings/", rc.caller.group_id));
      pb::Settings merged = store_.GetSettings(tx, rc.caller.group_id);
      ApplyUpdateMask(req->settings(), req->update_mask(), &merged);
      WUYE_RETURN_IF_ERROR(CheckSettings(merged, "settings"));
      store_.PutSettings(tx, rc.caller.group_id, merged, rc.now);
      *resp = merged;
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::counter
