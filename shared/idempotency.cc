#include "shared/idempotency.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <memory>

#include "shared/status.h"

namespace wuye {
std::string RequestHash(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  if (const auto* field = copy->GetDescriptor()->FindFieldByName("request_id")) {
    copy->GetReflection()->ClearField(copy.get(), field);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

namespace {

// The answer stored for `key`, if it was given to this very request (`prior` is a row of
// wuye_idem_prior).
absl::StatusOr<std::string> StoredResponse(const pqxx::result& prior, const IdempotencyKey& key) {
  if (prior.empty() || prior[0][0].as<std::string>() != key.method || !prior[0][1].as<bool>() ||
      prior[0][2].is_null()) {
    return WithReason(FieldError("request_id", "already used for a different request"),
                      "REQUEST_ID_REUSED");
  }
  return pqxx::binarystring(prior[0][2]).str();
}

// Fills `response` with a stored answer.
absl::Status ParseStored(const std::string& stored, google::protobuf::Message* response) {
  response->Clear();
  if (!response->ParseFromString(stored)) return absl::InternalError("stored response unreadable");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return FieldError("request_id", "required");
  if (request_id.size() > 128) return FieldError("request_id", "at most 128 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) return FieldError("request_id", "printable ASCII only");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> ClaimRequest(pqxx::work& tx, const IdempotencyKey& key,
                                                        const google::protobuf::Message& request) {
  std::string hash = tx.esc_raw(RequestHash(request));
  pqxx::result inserted =
      tx.exec_prepared("wuye_idem_claim", key.group, key.request_id, key.method, hash);
  if (!inserted.empty()) return std::nullopt;
  pqxx::result prior = tx.exec_prepared("wuye_idem_prior", key.group, key.request_id, hash);
  WUYE_ASSIGN_OR_RETURN(std::string response, StoredResponse(prior, key));
  return std::optional<std::string>(std::move(response));
}

absl::Status Replay(Db& db, const IdempotencyKey& key, const google::protobuf::Message& request,
                    google::protobuf::Message* response) {
  PrepareIdempotency(db);
  return db.Autocommit([&](pqxx::nontransaction& tx) -> absl::Status {
    pqxx::result prior = tx.exec_prepared("wuye_idem_prior", key.group, key.request_id,
                                          tx.esc_raw(RequestHash(request)));
    if (prior.empty()) {  // taken a moment ago by a request that then rolled back
      return absl::UnavailableError("request_id: not settled yet; retry");
    }
    WUYE_ASSIGN_OR_RETURN(std::string stored, StoredResponse(prior, key));
    return ParseStored(stored, response);
  });
}

void RecordResponse(pqxx::work& tx, const IdempotencyKey& key,
                    const google::protobuf::Message& response) {
  tx.exec_prepared("wuye_idem_record", key.group, key.request_id,
                   tx.esc_raw(response.SerializeAsString()));
}

void PrepareIdempotency(Db& db) {
  db.Prepare("wuye_idem_claim",
             "INSERT INTO wuye_idempotency (group_key, request_id, method, request_hash) "
             "VALUES ($1, $2, $3, $4::bytea) ON CONFLICT DO NOTHING RETURNING 1");
  db.Prepare("wuye_idem_prior",
             "SELECT method, request_hash = $3::bytea, response FROM wuye_idempotency "
             "WHERE group_key = $1 AND request_id = $2");
  db.Prepare("wuye_idem_record",
             "UPDATE wuye_idempotency SET response = $3::bytea "
             "WHERE group_key = $1 AND request_id = $2");
}

absl::Status RunOnce(Db& db, const IdempotencyKey& key, const google::protobuf::Message& request,
                     google::protobuf::Message* response,
                     const std::function<absl::Status(pqxx::work&)>& effect) {
  WUYE_RETURN_IF_ERROR(ValidateRequestId(key.request_id));
  PrepareIdempotency(db);
  return db.Transact([&](pqxx::work& tx) -> absl::Status {
    WUYE_ASSIGN_OR_RETURN(std::optional<std::string> prior, ClaimRequest(tx, key, request));
    if (prior.has_value()) return ParseStored(*prior, response);
    response->Clear();
    WUYE_RETURN_IF_ERROR(effect(tx));
    RecordResponse(tx, key, *response);
    return absl::OkStatus();
  });
}

}  // namespace wuye
