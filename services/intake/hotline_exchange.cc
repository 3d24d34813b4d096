// The HTTP form of the 12345 port (issue 27 §3; docs/api/intake.md "12345 over HTTP"): a
// group admin sets a city platform's endpoint (Set/Get/RemoveHotlineEndpoint), and intake's
// exchange job fetches the orders and callbacks the platform has for the group and posts
// the replies not sent yet. The bodies go through the endpoint's format and the same
// import as the file RPCs, so an order fetched twice changes nothing.
//
// Once with two replicas, and no transaction open across the network: the job claims an
// endpoint whose time has come in a short transaction of its own (FOR UPDATE SKIP LOCKED,
// then next_at pushed kHotlineLease ahead and committed — a lease: the other replica finds
// it not due; a replica that dies mid-exchange leaves it to be taken again when the lease
// ends). The HTTP requests are made with no transaction open; each answer is then applied
// in a short transaction of its own that first checks the endpoint is still the one
// claimed (not removed nor changed meanwhile, else the answer is dropped): the orders
// imported and their cursor stored together (a crash before the commit takes them again
// from the old cursor, and the import drops the duplicates); the callbacks and theirs
// likewise; a reply is marked exported only in a transaction after the platform accepted
// the POST — a failure leaves it for the next exchange (the same Idempotency-Key), never
// loses it. How the exchange went (next_at, failures, the alert) is a last transaction.
//
// A refused order is never skipped: when any line of a fetched batch is refused, the
// orders cursor stays where it was (the next exchange fetches the same batch; the lines
// imported already are duplicates that change nothing) and the exchange counts as failing
// ("2 orders refused: estate" — the refused lines' field names, never their content), so
// past alert_after a person hears of it; it recovers by itself once the lines import
// (an estate reference mapped, the endpoint's estates widened). An error in one endpoint's
// exchange is recorded as that endpoint's failure; the job goes on with the next one.
//
// The token is sealed with the "intake" ring (shared/sealing.h), bound to the endpoint's
// row; it is never returned, logged, published nor put in a metric label, and so is the
// URL: a failure is told by its generic reason ("timeout", "HTTP 503").
#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <typeinfo>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/intake/hotline_format.h"
#include "services/intake/hotline_http.h"
#include "services/intake/intake_service.h"
#include "shared/crypto.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/proto_time.h"
#include "shared/sql.h"
#include "shared/status.h"
#include "shared/text.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::intake {

// One endpoint's row.
struct HotlineEndpointRow {
  std::string group_id, city, id;
  v1::HotlineEndpoint body;  // the settings
  SealedValue token;
  std::string orders_cursor, callbacks_cursor;
  absl::Time next_at, last_success_at, failing_since, updated_at;
  int failures = 0;
  std::string last_error;
  bool alert_published = false;
};

namespace {

namespace ev = ::wuye::events::v1;
using roles::kGroupAdmin;

sql::Statements statements;

#define WUYE_ENDPOINT_COLUMNS \
  "group_id::text, city, id::text, body, token_key_id, token_sealed, orders_cursor, "      \
  "callbacks_cursor, " WUYE_SQL_MICROS("next_at") ", " WUYE_SQL_MICROS(                    \
      "last_success_at") ", " WUYE_SQL_MICROS("failing_since") ", failures, last_error, " \
                         "alert_published, " WUYE_SQL_MICROS("updated_at")

const sql::Statement kGet = statements.Add(
    "in_hotline_endpoint_get",
    "SELECT " WUYE_ENDPOINT_COLUMNS " FROM hotline_endpoints WHERE group_id = $1 AND city = $2");
const sql::Statement kGetForUpdate =
    statements.Add("in_hotline_endpoint_get_locked",
                   "SELECT " WUYE_ENDPOINT_COLUMNS
                   " FROM hotline_endpoints WHERE group_id = $1 AND city = $2 FOR UPDATE");
// Across groups: one endpoint whose time has come, locked so that replicas take different
// ones.
const sql::Statement kDue = statements.Add(
    "in_hotline_endpoint_due",
    "SELECT " WUYE_ENDPOINT_COLUMNS " FROM hotline_endpoints WHERE next_at <= " WUYE_SQL_TIME(
        "$1") " ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED");
const sql::Statement kPut = statements.Add(
    "in_hotline_endpoint_put",
    "INSERT INTO hotline_endpoints (group_id, city, id, body, token_key_id, token_sealed, "
    "next_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, " WUYE_SQL_TIME("$7") ", " WUYE_SQL_TIME(
        "$7") ") ON CONFLICT (group_id, city) DO UPDATE SET body = $4, token_key_id = $5, "
              "token_sealed = $6, next_at = " WUYE_SQL_TIME(
                  "$7") ", updated_at = " WUYE_SQL_TIME("$7") ", orders_cursor = CASE WHEN $8 "
                                                              "THEN '' ELSE "
                                                              "hotline_endpoints.orders_cursor "
                                                              "END, callbacks_cursor = CASE WHEN "
                                                              "$8 THEN '' ELSE "
                                                              "hotline_endpoints."
                                                              "callbacks_cursor END");
const sql::Statement kRemove =
    statements.Add("in_hotline_endpoint_remove",
                   "DELETE FROM hotline_endpoints WHERE group_id = $1 AND city = $2");
// The claim: the lease pushes next_at ahead so that no other replica finds it due.
const sql::Statement kLease = statements.Add(
    "in_hotline_endpoint_lease", "UPDATE hotline_endpoints SET next_at = " WUYE_SQL_TIME(
                                     "$3") " WHERE group_id = $1 AND city = $2");
const sql::Statement kOrdersCursor =
    statements.Add("in_hotline_endpoint_orders_cursor",
                   "UPDATE hotline_endpoints SET orders_cursor = $3 WHERE group_id = $1 AND city = $2");
const sql::Statement kCallbacksCursor = statements.Add(
    "in_hotline_endpoint_callbacks_cursor",
    "UPDATE hotline_endpoints SET callbacks_cursor = $3 WHERE group_id = $1 AND city = $2");
// After an exchange: how it went, the next time.
const sql::Statement kOutcome = statements.Add(
    "in_hotline_endpoint_outcome",
    "UPDATE hotline_endpoints SET next_at = " WUYE_SQL_TIME("$3") ", last_success_at = " WUYE_SQL_TIME_OR_NULL(
        "$4") ", failing_since = " WUYE_SQL_TIME_OR_NULL("$5") ", failures = $6, last_error = $7, "
                                                               "alert_published = $8 WHERE "
                                                               "group_id = $1 AND city = $2");
const sql::Statement kGroupEstates = statements.Add(
    "in_hotline_group_estates", "SELECT id::text FROM estates WHERE group_id = $1 ORDER BY id");

HotlineEndpointRow RowOf(const pqxx::row& r) {
  HotlineEndpointRow e;
  e.group_id = sql::Text(r[0]);
  e.city = sql::Text(r[1]);
  e.id = sql::Text(r[2]);
  e.body.ParseFromString(sql::Bytes(r[3]));
  e.token.key_id = sql::Text(r[4]);
  e.token.blob = sql::Bytes(r[5]);
  e.orders_cursor = sql::Text(r[6]);
  e.callbacks_cursor = sql::Text(r[7]);
  e.next_at = sql::TimeOf(r[8]);
  e.last_success_at = sql::TimeOf(r[9]);
  e.failing_since = sql::TimeOf(r[10]);
  e.failures = r[11].as<int>();
  e.last_error = sql::Text(r[12]);
  e.alert_published = r[13].as<bool>();
  e.updated_at = sql::TimeOf(r[14]);
  return e;
}

SealedPlace TokenPlace(const std::string& group, const std::string& id) {
  return {group, "hotline_endpoints", id, "token"};
}

int64_t MicrosOrNull(absl::Time t) { return t == absl::InfinitePast() ? -1 : sql::Micros(t); }

// What the API shows of a row: the settings and how the exchange goes; never the token.
v1::HotlineEndpoint Shown(const HotlineEndpointRow& row) {
  v1::HotlineEndpoint out = row.body;
  out.clear_token();
  out.set_city(row.city);
  out.set_token_set(!row.token.blob.empty());
  out.set_orders_cursor(row.orders_cursor);
  out.set_callbacks_cursor(row.callbacks_cursor);
  if (row.last_success_at != absl::InfinitePast()) {
    *out.mutable_last_success_time() = ToProtoTime(row.last_success_at);
  }
  if (row.failing_since != absl::InfinitePast()) {
    *out.mutable_failing_since() = ToProtoTime(row.failing_since);
  }
  out.set_failures(row.failures);
  out.set_last_error(row.last_error);
  *out.mutable_next_exchange_time() = ToProtoTime(row.next_at);
  *out.mutable_update_time() = ToProtoTime(row.updated_at);
  return out;
}

absl::Duration PollOf(const v1::HotlineEndpoint& e) {
  return e.has_poll_interval() ? absl::Seconds(e.poll_interval().seconds()) : kDefaultHotlinePoll;
}
absl::Duration AlertAfterOf(const v1::HotlineEndpoint& e) {
  return e.has_alert_after() ? absl::Seconds(e.alert_after().seconds()) : kDefaultHotlineAlertAfter;
}

absl::Status CheckSpan(const google::protobuf::Duration& d, absl::Duration lo, absl::Duration hi,
                       absl::string_view field, absl::string_view words) {
  if (d.nanos() != 0) return FieldError(field, "whole seconds");
  absl::Duration v = absl::Seconds(d.seconds());
  if (v < lo || v > hi) return FieldError(field, words);
  return absl::OkStatus();
}

// The settings as a group admin gives them: every error names its field.
absl::Status CheckEndpoint(const v1::HotlineEndpoint& e) {
  WUYE_RETURN_IF_ERROR(CheckHotlineCity(e.city(), "endpoint.city"));
  WUYE_RETURN_IF_ERROR(CheckHotlineBaseUrl(e.base_url(), "endpoint.base_url"));
  if (FindHotlineFormat(e.format()) == nullptr) {
    return FieldError("endpoint.format", "unknown format (known: csv)");
  }
  if (!e.token().empty()) WUYE_RETURN_IF_ERROR(CheckHotlineToken(e.token(), "endpoint.token"));
  if (e.has_poll_interval()) {
    WUYE_RETURN_IF_ERROR(CheckSpan(e.poll_interval(), kMinHotlinePoll, kMaxHotlinePoll,
                                   "endpoint.poll_interval", "from 1 minute to 1 day"));
  }
  if (e.has_alert_after()) {
    WUYE_RETURN_IF_ERROR(CheckSpan(e.alert_after(), kMinHotlineAlertAfter, kMaxHotlineAlertAfter,
                                   "endpoint.alert_after", "from 10 minutes to 1 day"));
  }
  if (e.estate_ids_size() > 1000) return FieldError("endpoint.estate_ids", "at most 1000");
  std::set<std::string> seen;
  for (const std::string& id : e.estate_ids()) {
    WUYE_RETURN_IF_ERROR(CheckId(id, "endpoint.estate_ids"));
    if (!seen.insert(id).second) return FieldError("endpoint.estate_ids", "each estate once");
  }
  if (e.estate_refs_size() > 1000) return FieldError("endpoint.estate_refs", "at most 1000");
  for (const auto& [ref, estate] : e.estate_refs()) {
    WUYE_RETURN_IF_ERROR(
        CheckText(ref, "endpoint.estate_refs", 100, Presence::kRequired, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckId(estate, "endpoint.estate_refs"));
  }
  const bool output_given = e.token_set() || !e.orders_cursor().empty() ||
                            !e.callbacks_cursor().empty() || e.has_last_success_time() ||
                            e.has_failing_since() || e.failures() != 0 || !e.last_error().empty() ||
                            e.has_next_exchange_time() || e.has_update_time();
  if (output_given) return FieldError("endpoint", "output-only fields must be left unset");
  return absl::OkStatus();
}

absl::Status NoKeys() {
  return WithReason(absl::FailedPreconditionError(
                        "endpoint: intake has no sealing keys (WUYE_INTAKE_KEYS) for the token"),
                    "NO_SEALING_KEYS");
}

// A stable key of the replies in one POST: the platform may drop a repeat it has taken.
std::string IdempotencyKeyOf(const std::vector<std::string>& ids) {
  return absl::BytesToHexString(Sha256(absl::StrJoin(ids, ","))).substr(0, 32);
}

constexpr char kExchangesTotal[] = "wuye_intake_hotline_exchanges_total";

void CountExchange(absl::string_view city, bool ok) {
  // The city is the group's own short name ([a-z0-9_-]); never the URL nor the token.
  Metrics::Global().Add(absl::StrCat(kExchangesTotal, "{city=\"", city, "\",outcome=\"",
                                     ok ? "ok" : "failed", "\"}"));
}

// The endpoint's row locked, when it is still the one `claimed` (not removed, nor set
// again since: another URL, token, format or mapping makes the claimed exchange's answers
// stale).
std::optional<HotlineEndpointRow> StillClaimed(pqxx::work& tx, const HotlineEndpointRow& claimed) {
  pqxx::result found = tx.exec_prepared(kGetForUpdate, claimed.group_id, claimed.city);
  if (found.empty()) return std::nullopt;
  HotlineEndpointRow now = RowOf(found[0]);
  if (now.id != claimed.id || now.updated_at != claimed.updated_at ||
      now.token.blob != claimed.token.blob ||
      now.body.SerializeAsString() != claimed.body.SerializeAsString()) {
    return std::nullopt;
  }
  return now;
}

// "3 orders refused: estate, received_time": how many and the fields, never a line's content.
std::string RefusedNote(const v1::ImportHotlineOrdersResponse& resp) {
  std::set<std::string> fields;
  for (const auto& l : resp.lines()) {
    if (l.outcome() != v1::HotlineLineResult::OUTCOME_REFUSED) continue;
    fields.insert(l.field().empty() ? "line" : l.field());
  }
  return absl::StrCat(resp.refused(), resp.refused() == 1 ? " order" : " orders",
                      " refused: ", absl::StrJoin(fields, ", "));
}

// Callbacks of orders not (yet) here: their order may be one the orders step refuses until
// the admin fixes its mapping, so the callbacks cursor waits for them as the orders' does.
int UnknownOrderCallbacks(const v1::ImportHotlineCallbacksResponse& resp) {
  int n = 0;
  for (const auto& l : resp.lines()) {
    n += l.outcome() == v1::HotlineLineResult::OUTCOME_REFUSED && l.field() == "order_number";
  }
  return n;
}

}  // namespace

void PrepareHotlineExchange(Db& db) { statements.PrepareOn(db); }

grpc::Status IntakeServiceImpl::SetHotlineEndpoint(Ctx* ctx,
                                                   const v1::SetHotlineEndpointRequest* req,
                                                   v1::HotlineEndpoint* resp) {
  return rpc_.Run(
      ctx, "SetHotlineEndpoint", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
        if (!req->has_endpoint()) return FieldError("endpoint", "required");
        const v1::HotlineEndpoint& in = req->endpoint();
        WUYE_RETURN_IF_ERROR(CheckEndpoint(in));
        if (hotline_keys_ == nullptr) return NoKeys();
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          for (const std::string& estate : in.estate_ids()) {
            if (!store_.GetEstate(tx, rc.caller.group_id, estate)) {
              return absl::NotFoundError("endpoint.estate_ids: no such estate");
            }
          }
          std::optional<HotlineEndpointRow> old;
          pqxx::result found = tx.exec_prepared(kGetForUpdate, rc.caller.group_id, in.city());
          if (!found.empty()) old = RowOf(found[0]);
          if (!old && in.token().empty()) {
            return FieldError("endpoint.token", "required for a new endpoint");
          }
          std::string id = old ? old->id : NewId(rc.now);
          SealedValue token;
          if (!in.token().empty()) {
            WUYE_ASSIGN_OR_RETURN(
                token, hotline_keys_->Seal(TokenPlace(rc.caller.group_id, id), in.token()));
          } else {
            token = old->token;
          }
          v1::HotlineEndpoint body = in;
          body.clear_token();
          // Another platform's cursors mean nothing to this one.
          bool moved = old && old->body.base_url() != in.base_url();
          tx.exec_prepared(kPut, rc.caller.group_id, in.city(), id,
                           pqxx::binarystring(body.SerializeAsString()), token.key_id,
                           pqxx::binarystring(token.blob), sql::Micros(rc.now), moved);
          // Set again while its failure is told (a duty task for each estate it covered):
          // an estate it no longer covers is told it recovered (its task closes: the
          // endpoint's own recovery or removal will not tell that estate), one it now covers
          // is told it is failing; the estates it keeps keep theirs.
          if (old && old->alert_published) {
            std::vector<std::string> before = EndpointEstates(tx, rc.caller.group_id, old->body);
            std::vector<std::string> after = EndpointEstates(tx, rc.caller.group_id, body);
            auto minus = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
              std::vector<std::string> out;
              for (const std::string& x : a) {
                if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
              }
              return out;
            };
            PublishEndpoint(tx, rc.caller.group_id, in.city(), minus(before, after),
                            "intake.hotline.endpoint_recovered", old->failing_since, 0, "", rc.now);
            PublishEndpoint(tx, rc.caller.group_id, in.city(), minus(after, before),
                            "intake.hotline.endpoint_failing", old->failing_since, old->failures,
                            old->last_error, rc.now);
          }
          HotlineEndpointRow now = RowOf(tx.exec_prepared(kGet, rc.caller.group_id, in.city())[0]);
          *resp = Shown(now);
          return absl::OkStatus();
        });
      });
}

grpc::Status IntakeServiceImpl::GetHotlineEndpoint(Ctx* ctx,
                                                   const v1::GetHotlineEndpointRequest* req,
                                                   v1::HotlineEndpoint* resp) {
  return rpc_.Run(ctx, "GetHotlineEndpoint", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
    WUYE_RETURN_IF_ERROR(CheckHotlineCity(req->city(), "city"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      pqxx::result found = tx.exec_prepared(kGet, rc.caller.group_id, req->city());
      if (found.empty()) return absl::NotFoundError("city: no endpoint for the city");
      *resp = Shown(RowOf(found[0]));
      return absl::OkStatus();
    });
  });
}

grpc::Status IntakeServiceImpl::RemoveHotlineEndpoint(Ctx* ctx,
                                                      const v1::RemoveHotlineEndpointRequest* req,
                                                      v1::RemoveHotlineEndpointResponse* resp) {
  return rpc_.Run(
      ctx, "RemoveHotlineEndpoint", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin}));
        WUYE_RETURN_IF_ERROR(CheckHotlineCity(req->city(), "city"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          pqxx::result found = tx.exec_prepared(kGetForUpdate, rc.caller.group_id, req->city());
          if (found.empty()) return absl::NotFoundError("city: no endpoint for the city");
          HotlineEndpointRow row = RowOf(found[0]);
          // A task raised for its failures is closed with it.
          if (row.alert_published) {
            PublishEndpoint(tx, row.group_id, row.city, EndpointEstates(tx, row.group_id, row.body),
                            "intake.hotline.endpoint_recovered", row.failing_since, 0, "", rc.now);
          }
          tx.exec_prepared(kRemove, rc.caller.group_id, req->city());
          return absl::OkStatus();
        });
      });
}

std::vector<std::string> IntakeServiceImpl::EndpointEstates(pqxx::work& tx,
                                                            const std::string& group,
                                                            const v1::HotlineEndpoint& body) {
  std::vector<std::string> estates(body.estate_ids().begin(), body.estate_ids().end());
  if (estates.empty()) {
    for (const auto& r : tx.exec_prepared(kGroupEstates, group)) estates.push_back(sql::Text(r[0]));
  }
  return estates;
}

void IntakeServiceImpl::PublishEndpoint(pqxx::work& tx, const std::string& group,
                                        const std::string& city,
                                        const std::vector<std::string>& estates,
                                        const std::string& type, absl::Time failing_since,
                                        int failures, const std::string& last_error,
                                        absl::Time now) {
  for (const std::string& estate : estates) {
    ev::HotlineEndpointEvent e;
    e.set_city(city);
    e.set_estate_id(estate);
    if (failing_since != absl::InfinitePast())
      *e.mutable_failing_since() = ToProtoTime(failing_since);
    e.set_failures(failures);
    e.set_last_error(last_error);
    outbox_.Append(tx, {type, group, estate, absl::StrCat("hotline_endpoint/", city), 0, &e}, now,
                   "");
  }
}

absl::StatusOr<int> IntakeServiceImpl::ExchangeHotline(absl::Time now, int batch) {
  int exchanged = 0;
  for (int i = 0; i < batch; ++i) {
    // 1. The claim, committed before any request goes out.
    std::optional<HotlineEndpointRow> claimed;
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
      claimed.reset();
      pqxx::result due = tx.exec_prepared(kDue, sql::Micros(now));
      if (due.empty()) return absl::OkStatus();
      HotlineEndpointRow row = RowOf(due[0]);
      tx.exec_prepared(kLease, row.group_id, row.city, sql::Micros(now + kHotlineLease));
      claimed = std::move(row);
      return absl::OkStatus();
    }));
    if (!claimed) break;
    ++exchanged;
    // 2. The exchange, each answer applied in its own transaction; an error is this
    // endpoint's failure, not the pass's.
    std::string failure;
    try {
      failure = ExchangeOne(*claimed, now);
    } catch (const std::exception& e) {
      // The exception's text can quote values: only its kind.
      LogError("intake.hotline.exchange_error")
          .Str("group_id", claimed->group_id)
          .Str("city", claimed->city)
          .Str("kind", typeid(e).name());
      failure = "internal error";
    }
    // 3. How it went. When even that cannot be stored the lease runs out and the endpoint
    // is taken again then.
    if (absl::Status s = FinishExchange(*claimed, failure, now); !s.ok()) {
      LogWarn("intake.hotline.outcome_not_stored")
          .Str("group_id", claimed->group_id)
          .Str("city", claimed->city)
          .Str("code", absl::StatusCodeToString(s.code()));
    }
  }
  return exchanged;
}

std::string IntakeServiceImpl::ExchangeOne(const HotlineEndpointRow& row, absl::Time now) {
  const v1::HotlineEndpoint& cfg = row.body;
  const HotlineFormat* format = FindHotlineFormat(cfg.format());

  // Who acts: the endpoint, for the estates it covers; the tickets' owner is the endpoint
  // until the supervisor (told by the hotline_order task) hands them to an agent.
  RequestContext rc;
  rc.caller.subject = absl::StrCat("hotline:", row.city);
  rc.caller.group_id = row.group_id;
  rc.caller.estate_ids.assign(cfg.estate_ids().begin(), cfg.estate_ids().end());
  rc.caller.all_estates = cfg.estate_ids().empty();
  rc.caller.roles = {std::string(roles::kService)};
  rc.method = "intake.HotlineExchange";
  rc.now = now;

  if (hotline_keys_ == nullptr) return "no sealing keys";
  if (format == nullptr) return "unknown format";
  auto opened = hotline_keys_->Open(TokenPlace(row.group_id, row.id), row.token);
  if (!opened.ok()) return "token cannot be opened";
  const std::string token = *std::move(opened);
  const std::string base(cfg.base_url());

  // An answer applied in a short transaction, when the endpoint is still the claimed one;
  // `stale` tells it was not (the answer dropped; FinishExchange records nothing either).
  bool stale = false;
  auto apply = [&](const std::function<absl::Status(pqxx::work&)>& body) -> absl::Status {
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      stale = !StillClaimed(tx, row).has_value();
      if (stale) return absl::OkStatus();
      return body(tx);
    });
  };
  auto store_cursor = [&](const sql::Statement& statement, const std::string& cursor) {
    return apply([&](pqxx::work& tx) -> absl::Status {
      tx.exec_prepared(statement, row.group_id, row.city, cursor);
      return absl::OkStatus();
    });
  };

  // 1. New orders since the cursor; the cursor moves only when no line was refused.
  std::string refused;
  {
    HotlineHttpAnswer a = hotline_http_.Get(base + "/orders", token, row.orders_cursor);
    if (!a.ok()) return absl::StrCat("orders: ", a.Reason());
    if (a.http_status != 204 && !a.body.empty()) {
      auto parsed = format->ParseOrders(a.body);
      if (!parsed.ok()) return "orders: the body is not the format's";
      v1::ImportHotlineOrdersResponse resp;
      absl::Status s = apply([&](pqxx::work& tx) -> absl::Status {
        WUYE_RETURN_IF_ERROR(
            ImportHotlineOrdersTx(tx, rc, row.city, cfg.estate_refs(), *parsed, &resp));
        if (resp.refused() == 0 && !a.cursor.empty()) {
          tx.exec_prepared(kOrdersCursor, row.group_id, row.city, a.cursor);
        }
        return absl::OkStatus();
      });
      if (!s.ok()) return "orders: import failed";
      if (stale) return "";
      LogInfo("intake.hotline.orders_fetched")
          .Str("group_id", row.group_id)
          .Str("city", row.city)
          .Int("created", resp.created())
          .Int("already_imported", resp.already_imported())
          .Int("refused", resp.refused());
      if (resp.refused() > 0) refused = RefusedNote(resp);
    } else if (!a.cursor.empty() && a.cursor != row.orders_cursor) {
      if (!store_cursor(kOrdersCursor, a.cursor).ok()) return "orders: cursor not stored";
      if (stale) return "";
    }
  }
  // 2. The government's callbacks since the cursor.
  {
    HotlineHttpAnswer a = hotline_http_.Get(base + "/callbacks", token, row.callbacks_cursor);
    if (!a.ok()) return absl::StrCat("callbacks: ", a.Reason());
    if (a.http_status != 204 && !a.body.empty()) {
      auto parsed = format->ParseCallbacks(a.body);
      if (!parsed.ok()) return "callbacks: the body is not the format's";
      v1::ImportHotlineCallbacksResponse resp;
      absl::Status s = apply([&](pqxx::work& tx) -> absl::Status {
        WUYE_RETURN_IF_ERROR(ImportHotlineCallbacksTx(tx, rc, row.city, *parsed, &resp));
        if (!a.cursor.empty() && UnknownOrderCallbacks(resp) == 0) {
          tx.exec_prepared(kCallbacksCursor, row.group_id, row.city, a.cursor);
        }
        return absl::OkStatus();
      });
      if (!s.ok()) return "callbacks: import failed";
      if (stale) return "";
      if (int unknown = UnknownOrderCallbacks(resp); unknown > 0) {
        absl::StrAppend(&refused, refused.empty() ? "" : "; ", unknown,
                        unknown == 1 ? " callback" : " callbacks", " refused: order_number");
      }
    } else if (!a.cursor.empty() && a.cursor != row.callbacks_cursor) {
      if (!store_cursor(kCallbacksCursor, a.cursor).ok()) return "callbacks: cursor not stored";
      if (stale) return "";
    }
  }
  // 3. The replies not sent yet, marked exported only once the platform took them.
  {
    std::vector<HotlineReplyRow> rows;
    std::vector<std::string> ids;
    absl::Status s = apply([&](pqxx::work& tx) -> absl::Status {
      rows.clear();
      ids.clear();
      for (const auto& r : store_.UnexportedHotlineReplies(tx, row.group_id, row.city,
                                                           kMaxHotlineLines, rc.caller)) {
        rows.push_back(
            {r.order_number(), FromProtoTime(r.reply_time()), r.replied_by(), r.reply()});
        ids.push_back(r.id());
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return "replies: not read";
    if (stale) return "";
    if (!ids.empty()) {
      HotlineHttpAnswer a = hotline_http_.Post(base + "/replies", token, IdempotencyKeyOf(ids),
                                               format->FormatReplies(rows));
      if (!a.ok()) return absl::StrCat("replies: ", a.Reason());
      // Marked even when the endpoint changed meanwhile: the platform has them. The accepted
      // post is their delivery (issue 27 §3).
      absl::Status marked = db_.Transact([&](pqxx::work& tx) -> absl::Status {
        DeliverHotlineReplies(tx, rc, ids);
        return absl::OkStatus();
      });
      if (!marked.ok()) return "replies: not marked exported";
    }
  }
  return refused;
}

absl::Status IntakeServiceImpl::FinishExchange(const HotlineEndpointRow& claimed,
                                               const std::string& failure, absl::Time now) {
  CountExchange(claimed.city, failure.empty());
  return db_.Transact([&](pqxx::work& tx) -> absl::Status {
    // Removed or set again meanwhile: its own next_at (set then) stands.
    std::optional<HotlineEndpointRow> current = StillClaimed(tx, claimed);
    if (!current) return absl::OkStatus();
    const HotlineEndpointRow& row = *current;
    const v1::HotlineEndpoint& cfg = row.body;
    if (failure.empty()) {
      if (row.alert_published) {
        PublishEndpoint(tx, row.group_id, row.city, EndpointEstates(tx, row.group_id, cfg),
                        "intake.hotline.endpoint_recovered", row.failing_since, 0, "", now);
      }
      tx.exec_prepared(kOutcome, row.group_id, row.city, sql::Micros(now + PollOf(cfg)),
                       sql::Micros(now), int64_t{-1}, 0, std::string(), false);
      return absl::OkStatus();
    }
    absl::Time since = row.failing_since == absl::InfinitePast() ? now : row.failing_since;
    int failures = row.failures + 1;
    bool alert = row.alert_published;
    LogWarn("intake.hotline.exchange_failed")
        .Str("group_id", row.group_id)
        .Str("city", row.city)
        .Str("reason", failure)
        .Int("failures", failures);
    if (!alert && now - since >= AlertAfterOf(cfg)) {
      // A person hears of it: duty's hotline_endpoint_failing for each estate it covers.
      PublishEndpoint(tx, row.group_id, row.city, EndpointEstates(tx, row.group_id, cfg),
                      "intake.hotline.endpoint_failing", since, failures, failure, now);
      alert = true;
    }
    tx.exec_prepared(kOutcome, row.group_id, row.city,
                     sql::Micros(now + HotlineRetryAfter(PollOf(cfg), failures)),
                     MicrosOrNull(row.last_success_at), sql::Micros(since), failures, failure,
                     alert);
    return absl::OkStatus();
  });
}

}  // namespace wuye::intake
