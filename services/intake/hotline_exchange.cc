// The HTTP form of the 12345 port (issue 27 §3; docs/api/intake.md "12345 over HTTP"): a
// group admin sets a city platform's endpoint (Set/Get/RemoveHotlineEndpoint), and intake's
// exchange job fetches the orders and callbacks the platform has for the group and posts
// the replies not sent yet. The bodies go through the endpoint's format and the same
// import as the file RPCs, so an order fetched twice changes nothing.
//
// Once with two replicas: the job takes an endpoint whose time has come with FOR UPDATE
// SKIP LOCKED and keeps the row locked while it talks to the platform (each exchange is
// bounded by the client's timeouts), so the other replica skips it. The cursors the
// platform gives are stored in the same transaction as the orders they brought: a crash
// before the commit takes them again from the old cursor (and the import drops the
// duplicates); a reply is marked exported only in the transaction of the POST the
// platform accepted — a failure leaves it for the next exchange, never loses it.
//
// The token is sealed with the "intake" ring (shared/sealing.h), bound to the endpoint's
// row; it is never returned, logged, published nor put in a metric label, and so is the
// URL: a failure is told by its generic reason ("timeout", "HTTP 503").
#include <algorithm>
#include <set>

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
// After an exchange: the cursors, how it went, the next time.
const sql::Statement kAfter = statements.Add(
    "in_hotline_endpoint_after",
    "UPDATE hotline_endpoints SET orders_cursor = $3, callbacks_cursor = $4, next_at = " WUYE_SQL_TIME(
        "$5") ", last_success_at = " WUYE_SQL_TIME_OR_NULL("$6") ", failing_since = " WUYE_SQL_TIME_OR_NULL("$7") ", failures = $8, last_error = $9, alert_published = $10 "
                                                                                                 "WHERE group_id = $1 AND city = $2");
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
            PublishEndpoint(tx, row.group_id, row.city, row.body,
                            "intake.hotline.endpoint_recovered", row.failing_since, 0, "", rc.now);
          }
          tx.exec_prepared(kRemove, rc.caller.group_id, req->city());
          return absl::OkStatus();
        });
      });
}

void IntakeServiceImpl::PublishEndpoint(pqxx::work& tx, const std::string& group,
                                        const std::string& city, const v1::HotlineEndpoint& body,
                                        const std::string& type, absl::Time failing_since,
                                        int failures, const std::string& last_error,
                                        absl::Time now) {
  std::vector<std::string> estates(body.estate_ids().begin(), body.estate_ids().end());
  if (estates.empty()) {
    for (const auto& r : tx.exec_prepared(kGroupEstates, group)) estates.push_back(sql::Text(r[0]));
  }
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
    bool took = false;
    WUYE_RETURN_IF_ERROR(db_.Transact([&](pqxx::work& tx) -> absl::Status {
      took = false;
      pqxx::result due = tx.exec_prepared(kDue, sql::Micros(now));
      if (due.empty()) return absl::OkStatus();
      took = true;
      HotlineEndpointRow row = RowOf(due[0]);
      ExchangeOne(tx, row, now);
      return absl::OkStatus();
    }));
    if (!took) break;
    ++exchanged;
  }
  return exchanged;
}

void IntakeServiceImpl::ExchangeOne(pqxx::work& tx, const HotlineEndpointRow& row, absl::Time now) {
  const v1::HotlineEndpoint& cfg = row.body;
  const HotlineFormat* format = FindHotlineFormat(cfg.format());
  std::string failure;
  std::string orders_cursor = row.orders_cursor, callbacks_cursor = row.callbacks_cursor;

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

  std::string token;
  if (hotline_keys_ == nullptr) {
    failure = "no sealing keys";
  } else if (format == nullptr) {
    failure = "unknown format";
  } else {
    auto opened = hotline_keys_->Open(TokenPlace(row.group_id, row.id), row.token);
    if (!opened.ok()) {
      failure = "token cannot be opened";
    } else {
      token = *std::move(opened);
    }
  }
  const std::string base(cfg.base_url());
  // 1. New orders since the cursor.
  if (failure.empty()) {
    HotlineHttpAnswer a = hotline_http_.Get(base + "/orders", token, orders_cursor);
    if (!a.ok()) {
      failure = absl::StrCat("orders: ", a.Reason());
    } else if (a.http_status != 204 && !a.body.empty()) {
      auto parsed = format->ParseOrders(a.body);
      if (!parsed.ok()) {
        failure = "orders: the body is not the format's";
      } else {
        v1::ImportHotlineOrdersResponse resp;
        absl::Status s = ImportHotlineOrdersTx(tx, rc, row.city, cfg.estate_refs(), *parsed, &resp);
        if (!s.ok()) {
          failure = "orders: import failed";
        } else {
          if (!a.cursor.empty()) orders_cursor = a.cursor;
          LogInfo("intake.hotline.orders_fetched")
              .Str("group_id", row.group_id)
              .Str("city", row.city)
              .Int("created", resp.created())
              .Int("already_imported", resp.already_imported())
              .Int("refused", resp.refused());
        }
      }
    } else if (!a.cursor.empty()) {
      orders_cursor = a.cursor;
    }
  }
  // 2. The government's callbacks since the cursor.
  if (failure.empty()) {
    HotlineHttpAnswer a = hotline_http_.Get(base + "/callbacks", token, callbacks_cursor);
    if (!a.ok()) {
      failure = absl::StrCat("callbacks: ", a.Reason());
    } else if (a.http_status != 204 && !a.body.empty()) {
      auto parsed = format->ParseCallbacks(a.body);
      if (!parsed.ok()) {
        failure = "callbacks: the body is not the format's";
      } else {
        v1::ImportHotlineCallbacksResponse resp;
        absl::Status s = ImportHotlineCallbacksTx(tx, rc, row.city, *parsed, &resp);
        if (!s.ok()) {
          failure = "callbacks: import failed";
        } else if (!a.cursor.empty()) {
          callbacks_cursor = a.cursor;
        }
      }
    } else if (!a.cursor.empty()) {
      callbacks_cursor = a.cursor;
    }
  }
  // 3. The replies not sent yet, marked exported only when the platform took them.
  if (failure.empty()) {
    std::vector<HotlineReplyRow> rows;
    std::vector<std::string> ids;
    for (const auto& r :
         store_.UnexportedHotlineReplies(tx, row.group_id, row.city, kMaxHotlineLines, rc.caller)) {
      rows.push_back({r.order_number(), FromProtoTime(r.reply_time()), r.replied_by(), r.reply()});
      ids.push_back(r.id());
    }
    if (!ids.empty()) {
      HotlineHttpAnswer a = hotline_http_.Post(base + "/replies", token, IdempotencyKeyOf(ids),
                                               format->FormatReplies(rows));
      if (!a.ok()) {
        failure = absl::StrCat("replies: ", a.Reason());
      } else {
        store_.MarkHotlineRepliesExported(tx, row.group_id, ids, now);
      }
    }
  }

  CountExchange(row.city, failure.empty());
  if (failure.empty()) {
    if (row.alert_published) {
      PublishEndpoint(tx, row.group_id, row.city, cfg, "intake.hotline.endpoint_recovered",
                      row.failing_since, 0, "", now);
    }
    tx.exec_prepared(kAfter, row.group_id, row.city, orders_cursor, callbacks_cursor,
                     sql::Micros(now + PollOf(cfg)), sql::Micros(now), int64_t{-1}, 0,
                     std::string(), false);
    return;
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
    PublishEndpoint(tx, row.group_id, row.city, cfg, "intake.hotline.endpoint_failing", since,
                    failures, failure, now);
    alert = true;
  }
  tx.exec_prepared(kAfter, row.group_id, row.city, orders_cursor, callbacks_cursor,
                   sql::Micros(now + HotlineRetryAfter(PollOf(cfg), failures)),
                   MicrosOrNull(row.last_success_at), sql::Micros(since), failures, failure, alert);
}

}  // namespace wuye::intake
