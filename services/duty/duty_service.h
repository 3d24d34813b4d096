// gRPC handlers of wuye.duty.v1.DutyService: check input and permissions, call the domain
// and the store, publish events. Each handler is one RpcRunner::Run. The caller's staff id
// is its token's subject.
#pragma once

#include "services/duty/duty_store.h"
#include "services/duty/handover_flow.h"
#include "services/duty/handover_store.h"
#include "services/duty/task_flow.h"
#include "services/duty/task_signal.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "wuye/duty/v1/duty.grpc.pb.h"

namespace wuye::duty {

class DutyServiceImpl final : public pb::DutyService::Service {
 public:
  // WatchTasks looks for changes when PostgreSQL says a task of the estate changed (in
  // any replica), and every `watch_poll` in any case (the fallback while not listening).
  DutyServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                  absl::Duration watch_poll = absl::Seconds(1));

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
  // Handovers and daily logs: handover_service.cc.
  grpc::Status DraftHandover(Ctx*, const pb::DraftHandoverRequest*, pb::Handover*) override;
  grpc::Status CreateHandover(Ctx*, const pb::CreateHandoverRequest*, pb::Handover*) override;
  grpc::Status AcknowledgeHandover(Ctx*, const pb::AcknowledgeHandoverRequest*,
                                   pb::Handover*) override;
  grpc::Status GetHandover(Ctx*, const pb::GetHandoverRequest*, pb::Handover*) override;
  grpc::Status ListHandovers(Ctx*, const pb::ListHandoversRequest*,
                             pb::ListHandoversResponse*) override;
  grpc::Status GetDailyLog(Ctx*, const pb::GetDailyLogRequest*, pb::DailyLog*) override;
  grpc::Status UpdateDailyLog(Ctx*, const pb::UpdateDailyLogRequest*, pb::DailyLog*) override;
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
  ListeningTaskSignal changes_;
  HandoverStore handover_store_;
  HandoverFlow handover_flow_;
};

}  // namespace wuye::duty
