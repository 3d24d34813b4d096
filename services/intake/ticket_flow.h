// How a ticket changes, for the handlers and the consumers alike: every change bumps the
// version, writes a history row (who, when, why) and publishes intake.ticket.changed in
// the same transaction; resolution decides the callback at once.
#pragma once

#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/intake/intake_store.h"
#include "services/intake/ticket.h"
#include "shared/outbox.h"
#include "wuye/common/v1/common.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {

// Who made a change, when, why, and the trace it belongs to.
struct ChangeContext {
  wuye::common::v1::Actor actor;
  absl::Time now;
  std::string reason;
  std::string trace_id;
};

class TicketFlow {
 public:
  TicketFlow(IntakeStore& store, const Outbox& outbox) : store_(store), outbox_(outbox) {}

  // A new ticket (received, or answered when `answer` is given) as the rows that record it:
  // the ticket, its history, and its events — intake.ticket.created, then the work request
  // or the major complaint if any, then intake.ticket.changed when answered. `t` has its id,
  // group and owner; CreateTicket's BatchedRunOnce writes them.
  TicketCreation Create(v1::Ticket t, std::string caller_hash, const std::string& answer,
                        const ChangeContext& c) const;

  // Moves `t` to `to` (FAILED_PRECONDITION when illegal; nothing written then).
  absl::Status Move(pqxx::work& tx, v1::Ticket& t, TicketState to, const ChangeContext& c);
  // Moves ownership.
  void Transfer(pqxx::work& tx, v1::Ticket& t, const std::string& new_owner,
                const ChangeContext& c);
  // → resolved, then → callback due or closed by the callback rule (ticket.h). `gives_reply`:
  // the handling result is written to the resident now (ResolveTicket, a counter notice's
  // end), so a complaint's written reply (issue #27 §1) is given if it was not; a work
  // order's completion passes false — finishing the work is not a reply, its deadline runs on
  // until the callback (every complaint is called back) tells the resident the result.
  absl::Status Resolve(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c, bool gives_reply);
  // A complaint's written reply (issue #27 §1) still owed; marking it given (before the
  // ticket's move is saved) and publishing intake.complaint.replied (after).
  static bool OwesReply(const v1::Ticket& t);
  void MarkReply(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c);
  void PublishReply(pqxx::work& tx, const v1::Ticket& t, const ChangeContext& c);
  // Records a change of the ticket's body alone (a 12345 reply, the government's callback):
  // bumps the version, writes a history row, publishes intake.ticket.changed.
  void Note(pqxx::work& tx, v1::Ticket& t, const ChangeContext& c);
  // Publishes intake.ticket.changed for the ticket as it is now (e.g. workers learnt).
  void Publish(pqxx::work& tx, const v1::Ticket& t, TicketState previous, const ChangeContext& c);

 private:
  static v1::TicketChange Change(const v1::Ticket& t, TicketState from,
                                 const std::string& from_owner, const ChangeContext& c);
  static wuye::events::v1::TicketChanged Changed(const v1::Ticket& t, TicketState previous,
                                                 const ChangeContext& c);
  v1::CallbackReason Decide(pqxx::work& tx, const v1::Ticket& t, const std::string& month,
                            absl::TimeZone tz, absl::Time now);

  IntakeStore& store_;
  const Outbox& outbox_;
};

}  // namespace wuye::intake
