// gRPC handlers of wuye.intake.v1.IntakeService: check input and permissions, call the
// domain and the store, publish events. Each handler is one RpcRunner::Run.
#pragma once

#include <functional>
#include <string>

#include "services/intake/hotline_format.h"
#include "services/intake/hotline_http.h"
#include "services/intake/intake_store.h"
#include "services/intake/ticket_flow.h"
#include "shared/auth.h"
#include "shared/batched_run_once.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/outbox.h"
#include "shared/rpc.h"
#include "shared/sealing.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

namespace wuye::intake {

struct HotlineEndpointRow;
// Registers the statements of the HTTP exchange (hotline_exchange.cc) on `db`.
void PrepareHotlineExchange(Db& db);

// The desk's own writes (taking requests, 12345 orders and their replies): agents, team
// leads and supervisors.
absl::Status RequireDesk(const RequestContext& rc);

class IntakeServiceImpl final : public v1::IntakeService::Service {
 public:
  // `phone_key` keys the HMAC of phone numbers (never empty).
  IntakeServiceImpl(Db& db, const TokenVerifier& verifier, const Clock& clock,
                    std::string phone_key);

  using Ctx = grpc::ServerContext;
  grpc::Status CreateTicket(Ctx*, const v1::CreateTicketRequest*, v1::Ticket*) override;
  grpc::Status GetTicket(Ctx*, const v1::GetTicketRequest*, v1::Ticket*) override;
  grpc::Status ListTickets(Ctx*, const v1::ListTicketsRequest*, v1::ListTicketsResponse*) override;
  grpc::Status TransferTicket(Ctx*, const v1::TransferTicketRequest*, v1::Ticket*) override;
  grpc::Status AnswerTicket(Ctx*, const v1::AnswerTicketRequest*, v1::Ticket*) override;
  grpc::Status ResolveTicket(Ctx*, const v1::ResolveTicketRequest*, v1::Ticket*) override;
  grpc::Status CloseTicket(Ctx*, const v1::CloseTicketRequest*, v1::Ticket*) override;
  grpc::Status CancelTicket(Ctx*, const v1::CancelTicketRequest*, v1::Ticket*) override;
  grpc::Status ReopenTicket(Ctx*, const v1::ReopenTicketRequest*, v1::Ticket*) override;
  grpc::Status RecordCallback(Ctx*, const v1::RecordCallbackRequest*, v1::Callback*) override;
  grpc::Status GetCallbackCoverage(Ctx*, const v1::GetCallbackCoverageRequest*,
                                   v1::CallbackCoverage*) override;
  grpc::Status CreateServiceContract(Ctx*, const v1::CreateServiceContractRequest*,
                                     v1::ServiceContract*) override;
  grpc::Status ListServiceContracts(Ctx*, const v1::ListServiceContractsRequest*,
                                    v1::ListServiceContractsResponse*) override;
  grpc::Status GetCallbackSettings(Ctx*, const v1::GetCallbackSettingsRequest*,
                                   v1::CallbackSettings*) override;
  grpc::Status UpdateCallbackSettings(Ctx*, const v1::UpdateCallbackSettingsRequest*,
                                      v1::CallbackSettings*) override;
  grpc::Status VerifyComplaint(Ctx*, const v1::VerifyComplaintRequest*,
                               v1::ComplaintVerification*) override;
  grpc::Status ImportCarrierCallLog(Ctx*, const v1::ImportCarrierCallLogRequest*,
                                    v1::ImportCarrierCallLogResponse*) override;
  // The 12345 government hotline (hotline_service.cc).
  grpc::Status ImportHotlineOrders(Ctx*, const v1::ImportHotlineOrdersRequest*,
                                   v1::ImportHotlineOrdersResponse*) override;
  grpc::Status RecordHotlineReply(Ctx*, const v1::RecordHotlineReplyRequest*,
                                  v1::HotlineReply*) override;
  grpc::Status ExportHotlineReplies(Ctx*, const v1::ExportHotlineRepliesRequest*,
                                    v1::ExportHotlineRepliesResponse*) override;
  grpc::Status ImportHotlineCallbacks(Ctx*, const v1::ImportHotlineCallbacksRequest*,
                                      v1::ImportHotlineCallbacksResponse*) override;
  grpc::Status GetHotlineReport(Ctx*, const v1::GetHotlineReportRequest*,
                                v1::HotlineReport*) override;
  // A complaint's written reply (complaint_reply_service.cc, issue #27 §1).
  grpc::Status GetComplaintReplyReport(Ctx*, const v1::GetComplaintReplyReportRequest*,
                                       v1::ComplaintReplyReport*) override;

  // The HTTP form of the 12345 port (hotline_exchange.cc).
  grpc::Status SetHotlineEndpoint(Ctx*, const v1::SetHotlineEndpointRequest*,
                                  v1::HotlineEndpoint*) override;
  grpc::Status GetHotlineEndpoint(Ctx*, const v1::GetHotlineEndpointRequest*,
                                  v1::HotlineEndpoint*) override;
  grpc::Status RemoveHotlineEndpoint(Ctx*, const v1::RemoveHotlineEndpointRequest*,
                                     v1::RemoveHotlineEndpointResponse*) override;

  // The exchange job: up to `batch` endpoints whose time has come at `now`, each claimed
  // with a lease (FOR UPDATE SKIP LOCKED, next_at pushed kHotlineLease ahead, committed) so
  // replicas share them, then fetched from and posted to once with no transaction open
  // across a request; an endpoint's error is its own failure, the pass goes on. Returns how
  // many were exchanged with (failed ones included); an error only when a claim itself fails.
  absl::StatusOr<int> ExchangeHotline(absl::Time now, int batch = 20);
  // The "intake" ring that seals the endpoints' tokens (not owned; null: no endpoint can
  // be set, none is exchanged with).
  void set_hotline_keyring(const Keyring* keys) { hotline_keys_ = keys; }
  void set_hotline_http(HotlineHttpOptions options) { hotline_http_ = HotlineHttp(options); }

  // intake.hotline.due_soon this many working days before a 12345 order's due time
  // (--hotline_due_soon_working_days; default kDefaultHotlineDueSoonDays), for orders
  // imported from now on.
  void set_hotline_due_soon_days(int days) { hotline_due_soon_days_ = days; }

  // Tests only: called by CreateTicket between reading the calendar a complaint's reply
  // deadline is counted on and the batched insert (to commit a calendar change there).
  std::function<void()> before_create_write_for_test;

 private:
  // The ticket (locked for update when asked), or NOT_FOUND; PERMISSION_DENIED when the
  // token does not name its estate.
  absl::StatusOr<v1::Ticket> VisibleTicket(pqxx::work& tx, const RequestContext& rc,
                                           const std::string& id, bool for_update);
  // The estate as intake knows it (EstateCache: kept up to a second); NOT_FOUND "<field>: no
  // such estate" unless it is the caller's group's.
  absl::StatusOr<EstateFacts> KnownEstate(const RequestContext& rc, const std::string& estate_id,
                                          absl::string_view field);
  // PERMISSION_DENIED unless the caller owns the ticket or is a supervisor.
  static absl::Status RequireOwnerOrSupervisor(const RequestContext& rc, const v1::Ticket& t);
  static ChangeContext Change(const RequestContext& rc, std::string reason);
  // hotline_service.cc: the import of a parsed file in `tx`, as the RPC and the HTTP
  // exchange do it.
  absl::Status ImportHotlineOrdersTx(pqxx::work& tx, const RequestContext& rc,
                                     const std::string& city,
                                     const google::protobuf::Map<std::string, std::string>& refs,
                                     const HotlineOrders& parsed,
                                     v1::ImportHotlineOrdersResponse* resp);
  absl::Status ImportHotlineCallbacksTx(pqxx::work& tx, const RequestContext& rc,
                                        const std::string& city, const HotlineCallbacks& parsed,
                                        v1::ImportHotlineCallbacksResponse* resp);
  // hotline_service.cc: a government callback result recorded on its 12345 order `t`
  // (locked), reopening it when unsatisfied, with "intake.hotline.rated".
  absl::Status RecordHotlineRating(pqxx::work& tx, v1::Ticket& t, const HotlineCallbackLine& c,
                                   ChangeContext change);
  // hotline_service.cc: replies that reached the city's platform at rc.now (exported, or
  // the HTTP exchange's post accepted): marked exported, each order's delivery time kept
  // (the earliest; a history entry the first time) and "intake.hotline.delivered" once per
  // order. Returns the replies as marked.
  std::vector<IntakeStore::DeliveredReply> DeliverHotlineReplies(
      pqxx::work& tx, const RequestContext& rc, const std::vector<std::string>& ids);
  // A simple state change by the owner or a supervisor (answer, close, cancel).
  grpc::Status Step(Ctx* ctx, const char* method, const std::string& request_id,
                    const google::protobuf::Message& req, const std::string& id, absl::Status input,
                    TicketState to, const std::string& reason, v1::Ticket* resp,
                    const std::function<absl::Status(v1::Ticket&)>& check);

  Db& db_;
  IntakeStore store_;
  Outbox outbox_;
  TicketFlow flow_;
  RpcRunner rpc_;
  std::string phone_key_;
  int hotline_due_soon_days_ = 1;
  const Keyring* hotline_keys_ = nullptr;
  HotlineHttp hotline_http_;
  // One claimed endpoint's exchange, no transaction open across a request: "" when it
  // went well (or the endpoint was changed or removed meanwhile), else the generic reason.
  std::string ExchangeOne(const HotlineEndpointRow& row, absl::Time now);
  // How the exchange of `claimed` went: next_at, the failures, the alert; nothing when the
  // endpoint was removed or set again since it was claimed.
  absl::Status FinishExchange(const HotlineEndpointRow& claimed, const std::string& failure,
                              absl::Time now);
  // The estates an endpoint covers: those it names, or all of the group's.
  std::vector<std::string> EndpointEstates(pqxx::work& tx, const std::string& group,
                                           const v1::HotlineEndpoint& body);
  // intake.hotline.endpoint_failing / _recovered, once per estate of `estates`.
  void PublishEndpoint(pqxx::work& tx, const std::string& group, const std::string& city,
                       const std::vector<std::string>& estates, const std::string& type,
                       absl::Time failing_since, int failures, const std::string& last_error,
                       absl::Time now);
  // CreateTicket's writes, group-committed with their claims and events: up to kCreateBatch
  // calls in one statement, at most kCreateWriters statements at once (the pool's other
  // connections stay free for the other calls and the consumers).
  static constexpr size_t kCreateBatch = 64;
  static constexpr int kCreateWriters = 2;
  BatchedRunOnce<NewTicket> creations_;
  EstateCache estates_;  // KnownEstate's
};

}  // namespace wuye::intake
