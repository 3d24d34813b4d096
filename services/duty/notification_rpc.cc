// The notification outlet's methods of DutyServiceImpl (duty_service.h): the group's list
// of notifications and the retry of a failed one. Group admins only: the list is the
// group's, across its estates.
#include "absl/strings/str_cat.h"
#include "services/duty/duty_service.h"
#include "services/duty/notification_store.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/paging.h"
#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye::duty {
namespace {

// The group's admins, holding every estate: the queue is the group's.
absl::Status RequireGroupAdmin(const RequestContext& rc) {
  WUYE_RETURN_IF_ERROR(rc.RequireRole({roles::kGroupAdmin}));
  if (!rc.caller.all_estates) {
    return absl::PermissionDeniedError(
        absl::StrCat(rc.method, ": a token for every estate of the group"));
  }
  return absl::OkStatus();
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t != absl::InfinitePast()) *out = ToProtoTime(t);
}

pb::Notification ToProto(const NotificationRow& r) {
  pb::Notification n;
  n.set_id(r.id);
  n.set_estate_id(r.estate_id);
  n.set_task_id(r.task_id);
  n.set_task_version(r.task_version);
  n.set_change(r.change);
  n.set_state(static_cast<pb::Notification::State>(r.state));
  n.set_attempts(r.attempts);
  n.set_last_error(r.last_error);
  n.set_http_status(r.http_status);
  SetTime(r.created_at, n.mutable_create_time());
  if (r.state == NotificationState::kPending)
    SetTime(r.next_attempt_at, n.mutable_next_attempt_time());
  SetTime(r.sent_at, n.mutable_send_time());
  SetTime(r.failed_at, n.mutable_fail_time());
  return n;
}

}  // namespace

grpc::Status DutyServiceImpl::ListNotifications(Ctx* ctx, const pb::ListNotificationsRequest* req,
                                                pb::ListNotificationsResponse* resp) {
  return rpc_.Run(ctx, "ListNotifications", "", [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireGroupAdmin(rc));
    if (!pb::Notification::State_IsValid(req->state())) {
      return FieldError("state", "not a notification state");
    }
    if (!req->task_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->task_id(), "task_id"));
    const std::string filters = absl::StrCat("state=", req->state(), ";task=", req->task_id());
    WUYE_ASSIGN_OR_RETURN(PageRequest page,
                          ParseIdPage(req->page_size(), req->page_token(), filters));
    return db_.Transact([&](pqxx::work& tx) {
      std::vector<pb::Notification> rows;
      for (const NotificationRow& r : NotificationStore::List(
               tx, rc.caller.group_id, req->state(), req->task_id(), page.after, page.size + 1)) {
        rows.push_back(ToProto(r));
      }
      resp->set_next_page_token(
          FillPage(std::move(rows), page, filters, resp->mutable_notifications()));
      return absl::OkStatus();
    });
  });
}

grpc::Status DutyServiceImpl::RetryNotification(Ctx* ctx, const pb::RetryNotificationRequest* req,
                                                pb::Notification* resp) {
  return rpc_.Run(ctx, "RetryNotification", req->request_id(), [&](RequestContext& rc) {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireGroupAdmin(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->id(), "id"));
    return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
      std::optional<NotificationRow> row =
          NotificationStore::Get(tx, rc.caller.group_id, req->id(), /*for_update=*/true);
      if (!row) return absl::NotFoundError("notification not found");
      if (row->state != NotificationState::kFailed) {
        return WithReason(absl::FailedPreconditionError("only a failed notification is retried"),
                          "NOT_FAILED");
      }
      NotificationStore::Requeue(tx, rc.caller.group_id, req->id(), rc.now);
      row = NotificationStore::Get(tx, rc.caller.group_id, req->id(), false);
      *resp = ToProto(*row);
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::duty
