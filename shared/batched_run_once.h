// RunOnce for a hot create whose effect is only inserts, group-committed
// (shared/group_commit.h): concurrent calls share one autocommitted statement, one round
// trip and one commit. The platform claims each call's request_id in wuye_idempotency (with
// the request hash, the caller's subject and the answer), writes its events to wuye_outbox,
// and answers a call whose request_id was taken by replaying the stored answer — the same
// rules as RunOnce (shared/idempotency.h): the same request gets the first answer, another
// request or another caller is REQUEST_ID_REUSED, a stored answer naming an estate the caller
// cannot see is PERMISSION_DENIED. A service supplies only the SQL of its own rows and how to
// build a call's rows, events and answer.
//
// The service's SQL is common table expressions ("t AS (INSERT … RETURNING …), h AS (…)")
// that the platform puts into its one statement after the CTE
//
//   claimed (call, group_key, request_id, subject)
//
// which has a row for each call of the batch whose request_id was new: `call` is the call's
// position in the batch (from 1). Every row the service writes must join `claimed` on its
// call (directly, or through a CTE that did), so that the rows of a replayed call drop out.
// Its parameters are $1..$n (the platform numbers its own after them), typically arrays with
// an element per call, or per row with a column naming the row's call.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "shared/db.h"
#include "shared/group_commit.h"
#include "shared/idempotency.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye {

// One call of a batch as the platform writes it.
struct OnceCall {
  IdempotencyKey key;
  std::string request_hash;  // RequestHash(request)
  std::string answer;        // the serialized response
  std::vector<wuye::events::v1::Event> events;
  bool claimed = false;  // set by the write; false: the request_id was taken
};

// The statement `ctes` is composed into, for a service's CTEs whose highest parameter is $n.
std::string ComposeOnceStatement(const std::string& ctes);

// The highest $n that `sql` names outside quotes and comments (0 for none).
int HighestParameter(const std::string& sql);

// The values of the platform's own parameters of ComposeOnceStatement ($n+1..$n+10) for the
// calls written, in order (WriteOnceBatch binds them after the service's).
std::vector<std::string> OnceParams(pqxx::transaction_base& tx,
                                    absl::Span<OnceCall* const> written);

// Writes `batch` with the prepared statement `statement` (ComposeOnceStatement), the
// service's parameters being `params(tx, calls)` for the calls written: each request_id once
// (the first of a request_id twice in the batch is written; the other replays), in key order.
// Marks the calls claimed. All or nothing.
absl::Status WriteOnceBatch(Db& db, const std::string& statement, absl::Span<OnceCall* const> batch,
                            const std::function<std::vector<std::string>(
                                pqxx::transaction_base&, absl::Span<OnceCall* const>)>& params);

template <class Rows>
class BatchedRunOnce {
 public:
  // What one call writes besides its claim: the service's rows and the events.
  struct Effect {
    Rows rows;
    std::vector<wuye::events::v1::Event> events;  // envelopes (Outbox::Envelope), in order
  };
  // Builds a call's effect and fills the call's response, which is stored for replays (like
  // RunOnce's effect); an error ends the call and writes nothing.
  using Build = std::function<absl::Status(Effect& effect)>;
  // The values of the service's parameters $1..$n for the calls written, in order: calls[i]
  // is `call` i + 1 of `claimed`. Bytes go through tx.esc_raw.
  using Params = std::function<std::vector<std::string>(pqxx::transaction_base& tx,
                                                        absl::Span<const Rows* const> calls)>;

  // `statement` names the composed statement (e.g. "in_ticket_create_batch"), registered on
  // `db` here. Up to `max_batch` calls in one statement, at most `max_writers` at once.
  BatchedRunOnce(Db& db, std::string statement, const std::string& ctes, Params params,
                 size_t max_batch, int max_writers)
      : db_(db),
        statement_(std::move(statement)),
        params_(std::move(params)),
        commit_([this](absl::Span<Call* const> batch) { return Write(batch); }, max_batch,
                max_writers) {
    db_.Prepare(statement_, ComposeOnceStatement(ctes));
    PrepareIdempotency(db_);
  }

  // RunOnce, batched: checks the request_id, builds the effect and the answer, and writes
  // them with the other calls waiting; a call whose request_id was taken is answered from
  // the stored answer instead. `still_wanted` as for GroupCommit::Submit.
  absl::Status Run(const IdempotencyKey& key, const google::protobuf::Message& request,
                   google::protobuf::Message* response, const Build& build,
                   std::function<absl::Status()> still_wanted = nullptr) {
    absl::Status valid = ValidateRequestId(key.request_id);
    if (!valid.ok()) return valid;
    Call call;
    call.key = key;
    call.request_hash = RequestHash(request);
    response->Clear();
    absl::Status st = build(call.effect);
    if (st.ok()) {
      call.answer = response->SerializeAsString();
      call.events = std::move(call.effect.events);
      st = commit_.Submit(call, std::move(still_wanted));
    }
    if (st.ok() && !call.claimed) st = Replay(db_, key, request, response);
    if (!st.ok()) response->Clear();
    return st;
  }

  // Calls waiting for a writer (for tests and metrics).
  size_t queued() { return commit_.queued(); }

 private:
  struct Call : OnceCall {
    Effect effect;
  };

  absl::Status Write(absl::Span<Call* const> batch) {
    std::vector<OnceCall*> calls(batch.begin(), batch.end());
    return WriteOnceBatch(db_, statement_, calls,
                          [&](pqxx::transaction_base& tx, absl::Span<OnceCall* const> written) {
                            std::vector<const Rows*> rows;
                            rows.reserve(written.size());
                            for (OnceCall* c : written) {
                              rows.push_back(&static_cast<const Call*>(c)->effect.rows);
                            }
                            return params_(tx, rows);
                          });
  }

  Db& db_;
  const std::string statement_;
  const Params params_;
  GroupCommit<Call> commit_;
};

}  // namespace wuye
