// A complaint's written reply (issue #27 §1; docs/api/intake.md "A complaint's written
// reply"): the estate's month of replies. The deadline is set by CreateTicket, given by
// TicketFlow::Resolve, re-timed by the calendar's consumer and watched by IntakeJobs.
#include "services/intake/intake_service.h"
#include "shared/basis_points.h"
#include "shared/ids.h"
#include "shared/status.h"

namespace wuye::intake {

grpc::Status IntakeServiceImpl::GetComplaintReplyReport(
    Ctx* ctx, const v1::GetComplaintReplyReportRequest* req, v1::ComplaintReplyReport* resp) {
  return rpc_.Run(ctx, "GetComplaintReplyReport", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({roles::kEstateManager, roles::kSupervisor,
                                         roles::kQualityInspector, roles::kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckMonth(req->month(), "month"));
    WUYE_RETURN_IF_ERROR(rc.RequireEstate(req->estate_id()));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      ReplyMonthRows m =
          store_.ReplyMonth(tx, rc.caller.group_id, req->estate_id(),
                            MonthKey(req->month().year(), req->month().month()), rc.now);
      resp->set_estate_id(req->estate_id());
      *resp->mutable_month() = req->month();
      resp->set_complaints(m.complaints);
      resp->set_replied_on_time(m.on_time);
      resp->set_replied_late(m.late);
      resp->set_open_past_due(m.open_past_due);
      resp->set_on_time_bp(BasisPoints(m.on_time, m.complaints, 0));
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::intake
