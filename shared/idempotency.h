// request_id (AIP-155): a mutating call's effect and its first answer are stored in one
// transaction; a retry with the same id gets that answer back and changes nothing; the same
// id with a different request is refused (INVALID_ARGUMENT on `request_id`, reason
// REQUEST_ID_REUSED). The key is bound to its caller: another subject's use of the same id is
// refused the same way, and a stored answer naming an estate the caller cannot see now is
// refused with PERMISSION_DENIED, since a replay skips the handler's own estate check.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/auth.h"
#include "shared/db.h"

namespace wuye {

// Checks that a request_id is present and sane: 1..128 printable ASCII characters.
absl::Status ValidateRequestId(absl::string_view request_id);

struct IdempotencyKey {
  std::string group;  // the caller's group id, "" for platform-wide calls
  std::string request_id;
  std::string method;  // e.g. "directory.CreateUnit"
  // The caller (RequestContext::Key sets it; it must outlive the call); null for work
  // without one, whose replays are not checked against a caller.
  const Caller* caller = nullptr;
};

// Runs `effect` in a transaction exactly once per key. `request` is hashed without its
// request_id field, so the same intent always hashes the same. On a replay, `response` is
// filled from the stored answer and `effect` is not called.
absl::Status RunOnce(Db& db, const IdempotencyKey& key, const google::protobuf::Message& request,
                     google::protobuf::Message* response,
                     const std::function<absl::Status(pqxx::work&)>& effect);

// The building blocks of RunOnce, for a handler that needs its own transaction shape.
// Claim returns the stored answer of an earlier call, or nullopt if this call is first (its
// key row is then locked by `tx` until commit, so a concurrent retry waits and replays).
// The caller of Claim checks the parsed answer with CheckReplayScope.
absl::StatusOr<std::optional<std::string>> ClaimRequest(pqxx::work& tx, const IdempotencyKey& key,
                                                        const google::protobuf::Message& request);
void RecordResponse(pqxx::work& tx, const IdempotencyKey& key,
                    const google::protobuf::Message& response);

// PERMISSION_DENIED when `answer` names an estate `caller` cannot see (any field
// `estate_id`, an Estate's `id`; of a `home_estate_ids` list, one must be visible).
absl::Status CheckReplayScope(const Caller& caller, const google::protobuf::Message& answer);

// For BatchedRunOnce (shared/batched_run_once.h), which writes many calls' claims, effects
// and answers in one statement: the claim is a row of wuye_idempotency (group_key,
// request_id, method, request_hash, response, subject) inserted ON CONFLICT DO NOTHING.
// RequestHash is its request_hash; when the row was not inserted, Replay gives the stored
// answer (or REQUEST_ID_REUSED).
std::string RequestHash(const google::protobuf::Message& request);
absl::Status Replay(Db& db, const IdempotencyKey& key, const google::protobuf::Message& request,
                    google::protobuf::Message* response);

// Registers the statements above on `db`; RunOnce does it, a caller of the building blocks
// does it first.
void PrepareIdempotency(Db& db);

}  // namespace wuye
