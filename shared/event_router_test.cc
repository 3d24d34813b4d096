#include "shared/event_router.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shared/testing/test_env.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye {
namespace {

namespace ev = ::wuye::events::v1;

ev::Event EventOf(const std::string& type, const google::protobuf::Message& payload) {
  ev::Event e;
  e.set_type(type);
  e.mutable_payload()->PackFrom(payload);
  return e;
}

class EventRouterTest : public ::testing::Test {
 protected:
  absl::Status Apply(const EventRouter& router, const ev::Event& e) {
    return db_->Transact([&](pqxx::work& tx) { return router.Apply(tx, e); });
  }

  testing::TestDatabase database_;
  std::unique_ptr<Db> db_ = database_.Open(MigrationSet{});
};

TEST_F(EventRouterTest, EachTypeReachesItsHandlerWithThePayloadUnpacked) {
  std::vector<std::string> seen;
  EventRouter router;
  router
      .On<ev::TicketChanged>({"intake.ticket.created", "intake.ticket.updated"},
                             [&](pqxx::work&, const ev::Event& e, const ev::TicketChanged& t) {
                               seen.push_back(e.type() + ":" + t.ticket_id());
                               return absl::OkStatus();
                             })
      .On<ev::WorkOrderChanged>("dispatch.work_order.created",
                                [&](pqxx::work&, const ev::Event&, const ev::WorkOrderChanged& w) {
                                  seen.push_back("order:" + w.work_order_id());
                                  return absl::UnavailableError("not yet");
                                });
  ev::TicketChanged ticket;
  ticket.set_ticket_id("t1");
  ev::WorkOrderChanged order;
  order.set_work_order_id("w1");

  EXPECT_TRUE(Apply(router, EventOf("intake.ticket.created", ticket)).ok());
  EXPECT_TRUE(Apply(router, EventOf("intake.ticket.updated", ticket)).ok());
  // The handler's answer is the router's answer.
  EXPECT_EQ(Apply(router, EventOf("dispatch.work_order.created", order)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(seen, (std::vector<std::string>{"intake.ticket.created:t1", "intake.ticket.updated:t1",
                                            "order:w1"}));
  EXPECT_TRUE(router.Routes("intake.ticket.updated"));
  EXPECT_FALSE(router.Routes("intake.ticket.deleted"));
}

TEST_F(EventRouterTest, AnUnroutedTypeIsNothingToDo) {
  int calls = 0;
  EventRouter router;
  router.On<ev::TicketChanged>("intake.ticket.created",
                               [&](pqxx::work&, const ev::Event&, const ev::TicketChanged&) {
                                 ++calls;
                                 return absl::OkStatus();
                               });
  EXPECT_TRUE(Apply(router, EventOf("billing.bill.issued", ev::TicketChanged())).ok());
  EXPECT_EQ(calls, 0);
}

TEST_F(EventRouterTest, APayloadOfAnotherMessageIsRefusedSoItReachesTheDeadLetters) {
  int calls = 0;
  EventRouter router;
  router.On<ev::TicketChanged>("intake.ticket.created",
                               [&](pqxx::work&, const ev::Event&, const ev::TicketChanged&) {
                                 ++calls;
                                 return absl::OkStatus();
                               });
  absl::Status st = Apply(router, EventOf("intake.ticket.created", ev::WorkOrderChanged()));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("wuye.events.v1.TicketChanged"), std::string::npos) << st;
  EXPECT_EQ(calls, 0);

  // Through the bus's handler type too.
  EventHandler handler = router.Handler();
  st = db_->Transact([&](pqxx::work& tx) {
    return handler(tx, EventOf("intake.ticket.created", ev::WorkOrderChanged()));
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

// A handler class routes to its own methods; the payload's message is the method's.
class Counter {
 public:
  Counter() {
    router.On({"intake.ticket.created", "intake.ticket.updated"}, this, &Counter::Ticket)
        .On("dispatch.work_order.created", this, &Counter::Order);
  }
  absl::Status Ticket(pqxx::work&, const ev::Event&, const ev::TicketChanged& t) {
    seen.push_back("ticket:" + t.ticket_id());
    return absl::OkStatus();
  }
  absl::Status Order(pqxx::work&, const ev::Event&, const ev::WorkOrderChanged& w) {
    seen.push_back("order:" + w.work_order_id());
    return absl::OkStatus();
  }
  EventRouter router;
  std::vector<std::string> seen;
};

TEST_F(EventRouterTest, MethodsOfAHandlerAreRoutesWithTheirOwnPayloads) {
  Counter counter;
  ev::TicketChanged ticket;
  ticket.set_ticket_id("t1");
  ev::WorkOrderChanged order;
  order.set_work_order_id("w1");
  EXPECT_TRUE(Apply(counter.router, EventOf("intake.ticket.updated", ticket)).ok());
  EXPECT_TRUE(Apply(counter.router, EventOf("dispatch.work_order.created", order)).ok());
  EXPECT_EQ(Apply(counter.router, EventOf("intake.ticket.created", order)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counter.seen, (std::vector<std::string>{"ticket:t1", "order:w1"}));
}

// A router with another context than a transaction (a pure reader of events) keeps the
// same policy.
TEST(BasicEventRouterTest, AnotherContextIsPassedThroughWithTheSamePolicy) {
  BasicEventRouter<std::vector<std::string>&, int> router;
  router.On<ev::TicketChanged>(
      "intake.ticket.created",
      [](std::vector<std::string>& out, int n, const ev::Event&, const ev::TicketChanged& t) {
        out.push_back(t.ticket_id() + "/" + std::to_string(n));
        return absl::OkStatus();
      });
  ev::TicketChanged ticket;
  ticket.set_ticket_id("t1");
  std::vector<std::string> out;
  EXPECT_TRUE(router.Apply(out, 7, EventOf("intake.ticket.created", ticket)).ok());
  EXPECT_TRUE(router.Apply(out, 8, EventOf("intake.ticket.deleted", ticket)).ok());
  EXPECT_EQ(router.Apply(out, 9, EventOf("intake.ticket.created", ev::WorkOrderChanged())).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, (std::vector<std::string>{"t1/7"}));
}

}  // namespace
}  // namespace wuye
