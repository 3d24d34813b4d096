// The duty desk (docs/api/duty.md): who is on duty, the tasks other services' decisions
// raise, the acknowledgement timer that moves them up the ladder, handovers and daily logs
// and the timer that finds them missing, and the notifier that sends tasks to the groups'
// gateways.
#include "services/duty/consumers.h"
#include "services/duty/desk_gap.h"
#include "services/duty/duty_jobs.h"
#include "services/duty/duty_service.h"
#include "services/duty/duty_store.h"
#include "services/duty/handover_flow.h"
#include "services/duty/notifier.h"
#include "shared/service_main.h"
#include "shared/status.h"

int main(int argc, char** argv) {
  auto notify = std::make_shared<wuye::duty::NotifierOptions>();
  return wuye::ServiceMain(
      argc, argv,
      {.name = "duty",
       .migrations = &wuye::duty_migrations(),
       .make = [notify](wuye::ServiceParts& p) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         // The notifier's flags and secret, checked before anything starts.
         WUYE_ASSIGN_OR_RETURN(*notify, wuye::duty::NotifierOptionsFromFlags());
         return std::make_unique<wuye::duty::DutyServiceImpl>(p.db, p.verifier, p.clock);
       },
       .consumes = wuye::duty::ConsumedStreams(),
       .make_handler = [](wuye::ServiceParts& p) { return wuye::duty::MakeHandler(p.db, p.clock); },
       .make_workers =
           [notify](wuye::ServiceParts& p) {
             auto d = std::make_shared<wuye::duty::DutyJobs>(p.db);
             const wuye::Clock* clock = &p.clock;
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             // Acknowledgement windows are minutes (an emergency's 3): every second.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "duty_escalation", absl::Seconds(1),
                 [d, clock] { return d->Escalate(clock->Now()); }));
             // Handover windows and log cut-offs are minutes and hours: every 10 seconds.
             auto h = std::make_shared<wuye::duty::HandoverJobs>(p.db);
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "duty_handover_log", absl::Seconds(10),
                 [h, clock] { return h->FireDue(clock->Now()); }));
             // A 24-hour desk without an agent (000_… 二.5): looked at every 15 seconds.
             auto gaps = std::make_shared<wuye::duty::DeskGapJob>(p.db);
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "duty_desk_gap", absl::Seconds(15),
                 [gaps, clock] { return gaps->Run(clock->Now()); }));
             // The notification outlet (notifier.h): due rows to the groups' gateways.
             auto n = std::make_shared<wuye::duty::Notifier>(p.db, p.clock, *notify);
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "duty_notifier", absl::Seconds(1), [n] { return n->Deliver(); }));
             return workers;
           }});
}
