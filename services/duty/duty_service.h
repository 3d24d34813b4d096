// gRPC handlers of wuye.duty.v1.DutyService: check input and permissions, call the domain
// and the store, publish events. Each handler is one RpcRunner::Run. The caller's staff id
// is its token's subject.
#pragma once

#include "services/duty/duty_store.h"
#include "services/duty/task_flow.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/duty/v1/duty.grpc.pb.h"

namespace wuye::duty {

class DutyServiceImpl final : public pb::DutyService::Service {
 public:
  // `watch_poll`: how often WatchTasks looks for changes.
  DutyServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                  absl::Duration watch_poll = absl::Milliseconds(200));

  using Ctx = grpc::ServerContext;
  grpc::Status CheckIn(Ctx*, const pb::CheckInRequest*, pb::Attendance*) override;
  grpc::Status CheckOut(Ctx*, const pb::CheckOutRequest*, pb::Attendance*) override;
  grpc::Status ListAttendances(Ctx*, const pb::ListAttendancesRequest*,
                               pb::ListAttendancesResponse*) override;
  grpc::Status ListOnDuty(Ctx*, const pb::ListOnDutyRequest*, pb::ListOnDutyResponse*) override;
  grpc::Status GetDesk(Ctx*, const pb::GetDeskRequest*, pb::Desk*) override;
  grpc::Status UpdateDesk(Ctx*, const pb::UpdateDeskRequest*, pb::Desk*) override;
  grpc::Status GetTask(Ctx*, const pb::GetTaskRequest*, pb::Task*) override;
  grpc::Status ListTasks(Ctx*, const pb::ListTasksRequest*, pb::ListTasksResponse*) override;
  grpc::Status AcknowledgeTask(Ctx*, const pb::AcknowledgeTaskRequest*, pb::Task*) override;
  grpc::Status WatchTasks(Ctx*, const pb::WatchTasksRequest*,
                          grpc::ServerWriter<pb::TaskUpdate>*) override;
  grpc::Status GetSettings(Ctx*, const pb::GetSettingsRequest*, pb::Settings*) override;
  grpc::Status UpdateSettings(Ctx*, const pb::UpdateSettingsRequest*, pb::Settings*) override;
  // notification_rpc.cc
  grpc::Status ListNotifications(Ctx*, const pb::ListNotificationsRequest*,
                                 pb::ListNotificationsResponse*) override;
  grpc::Status RetryNotification(Ctx*, const pb::RetryNotificationRequest*,
                                 pb::Notification*) override;

 private:
  Db& db_;
  DutyStore store_;
  Outbox outbox_;
  TaskFlow flow_;
  RpcRunner rpc_;
  const Clock& clock_;
  absl::Duration watch_poll_;
};

}  // namespace wuye::duty
