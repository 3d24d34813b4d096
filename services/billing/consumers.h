// What billing does on other services' events (docs/api/billing.md#events-consumed):
//   wuye.directory.events  its copy of estates (fee rate, time zone), units (area, type,
//                          occupancy, handed over) and residents (owners), by version;
//   wuye.dispatch.events   dispatch.work_order.completed with paid → a charge of quote_fen
//                          on the unit, once per work order;
//   wuye.eldercare.events  eldercare.fee.charged → a charge, a deposit held or returned, or
//                          a fee owed by the estate's clinic, once per charge_id;
//   wuye.intake.events     intake.ticket.created/changed with disputed_bill_id → reminders
//                          of that bill pause while the complaint is open;
//   wuye.counter.events    counter.meters.read → the unit's opening meter readings;
//                          counter.renovation.decided (approved, with a deposit) → a charge
//                          of "renovation_deposit", held once paid; counter.renovation.accepted
//                          → the deposit released less the deduction; counter.card.replaced
//                          with a fee → a charge of "card_replacement" (counter_money_flow.h),
//                          each once per hand-over, renovation or card; a unit of another
//                          group is none of this group's business (ignored).
#pragma once

#include "shared/bus.h"
#include "shared/db.h"

namespace wuye::billing {

EventHandler MakeHandler(Db& db);

}  // namespace wuye::billing
