// Typed event routing for a service's consumer: one handler per event type, each receiving
// the payload already unpacked as the message it expects.
//
//   EventRouter router;
//   router.On<ev::EstateChanged>({"directory.estate.created", "directory.estate.updated"},
//                                [this](pqxx::work& tx, const ev::Event& e,
//                                       const ev::EstateChanged& s) { return CopyEstate(tx, e, s);
//                                       });
//   router.On("directory.unit.created", this, &Handler::CopyUnit);  // a method: T deduced
//   EventConsumer consumer(db, redis, options, router.Handler());
//
// One policy for every service:
//   - a type no route names is not this service's business: applied as nothing (OK);
//   - a payload that is not the message its route expects can never be applied: refused
//     with INVALID_ARGUMENT, so the bus counts it and moves it to the dead letters, where an
//     operator sees it (docs/events.md);
//   - whatever the handler answers is the answer (UNAVAILABLE: not yet, and so on).
#pragma once

#include <functional>
#include <initializer_list>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shared/bus.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye {

// Routes events by type to handlers that take the payload as the message they expect, with
// `Context...` passed through to each (a consumer's transaction, or whatever a pure reader
// of events needs). EventRouter below is the consumer's kind.
template <class... Context>
class BasicEventRouter {
 public:
  using Route = std::function<absl::Status(Context..., const events::v1::Event&)>;
  template <class T>
  using TypedHandler = std::function<absl::Status(Context..., const events::v1::Event&, const T&)>;

  // Routes `type` to `fn`, with the payload unpacked as T. A type routed twice is a
  // programming error: the later route is ignored, and Routes() shows the first.
  template <class T>
  BasicEventRouter& On(absl::string_view type, TypedHandler<T> fn) {
    routes_.try_emplace(
        std::string(type), [fn = std::move(fn)](Context... context, const events::v1::Event& e) {
          T payload;
          if (!e.payload().UnpackTo(&payload)) {
            return absl::InvalidArgumentError(
                absl::StrCat(e.type(), ": payload is not a ", T::descriptor()->full_name()));
          }
          return fn(context..., e, payload);
        });
    return *this;
  }

  // Routes every type of `types` to the same `fn`.
  template <class T>
  BasicEventRouter& On(std::initializer_list<absl::string_view> types, TypedHandler<T> fn) {
    for (absl::string_view type : types) On<T>(type, fn);
    return *this;
  }

  // Routes `type` (or every type of `types`) to a method of `owner`, whose last parameter
  // names the payload's message: On("directory.estate.created", this, &Handler::CopyEstate).
  template <class Owner, class T>
  BasicEventRouter& On(absl::string_view type, Owner* owner,
                       absl::Status (Owner::*method)(Context..., const events::v1::Event&,
                                                     const T&)) {
    return On<T>(type,
                 [owner, method](Context... context, const events::v1::Event& e, const T& payload) {
                   return (owner->*method)(context..., e, payload);
                 });
  }
  template <class Owner, class T>
  BasicEventRouter& On(std::initializer_list<absl::string_view> types, Owner* owner,
                       absl::Status (Owner::*method)(Context..., const events::v1::Event&,
                                                     const T&)) {
    for (absl::string_view type : types) On(type, owner, method);
    return *this;
  }

  // Applies `e` by its route; a type with no route is nothing to do.
  absl::Status Apply(Context... context, const events::v1::Event& e) const {
    auto it = routes_.find(e.type());
    if (it == routes_.end()) return absl::OkStatus();
    return it->second(context..., e);
  }

  bool Routes(absl::string_view type) const { return routes_.contains(type); }

  // The router as the bus's handler (EventRouter only). The router must outlive the
  // consumer.
  EventHandler Handler() const {
    return [this](pqxx::work& tx, const events::v1::Event& e) { return Apply(tx, e); };
  }

 private:
  absl::flat_hash_map<std::string, Route> routes_;
};

// A consumer's router: each handler runs in the inbox transaction of its event.
using EventRouter = BasicEventRouter<pqxx::work&>;

}  // namespace wuye
