#include "shared/idempotency.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>
#include <vector>

#include "shared/crypto.h"
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
  return Sha256(bytes);
}

namespace {

// The answer stored for `key`, if it was given to this very request of this very caller
// (`prior` is a row of wuye_idem_prior; a row without a subject predates the binding).
absl::StatusOr<std::string> StoredResponse(const pqxx::result& prior, const IdempotencyKey& key) {
  if (prior.empty() || prior[0][0].as<std::string>() != key.method || !prior[0][1].as<bool>() ||
      prior[0][2].is_null()) {
    return WithReason(FieldError("request_id", "already used for a different request"),
                      "REQUEST_ID_REUSED");
  }
  std::string subject = prior[0][3].as<std::string>();
  if (key.caller != nullptr && !subject.empty() && subject != key.caller->subject) {
    return WithReason(FieldError("request_id", "already used by another caller"),
                      "REQUEST_ID_REUSED");
  }
  return pqxx::binarystring(prior[0][2]).str();
}

// Fills `response` with a stored answer, if the caller may still see it.
absl::Status ParseStored(const std::string& stored, const IdempotencyKey& key,
                         google::protobuf::Message* response) {
  response->Clear();
  if (!response->ParseFromString(stored)) return absl::InternalError("stored response unreadable");
  if (key.caller != nullptr) {
    absl::Status scope = CheckReplayScope(*key.caller, *response);
    if (!scope.ok()) {
      response->Clear();
      return scope;
    }
  }
  return absl::OkStatus();
}

std::string SubjectOf(const IdempotencyKey& key) {
  return key.caller != nullptr ? key.caller->subject : std::string();
}

// Answers nest their objects a few levels at most (a response holding a list of units).
constexpr int kMaxScopeDepth = 4;

absl::Status CheckScope(const Caller& caller, const google::protobuf::Message& m, int depth) {
  namespace pb = google::protobuf;
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  auto refuse = [] {
    return absl::PermissionDeniedError(
        "request_id: its answer belongs to an estate the caller's token does not name");
  };
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
      bool estate = f->name() == "estate_id" || (d->name() == "Estate" && f->name() == "id");
      std::string id = r->GetString(m, f);
      if (estate && !id.empty() && !caller.CanSeeEstate(id)) return refuse();
    } else if (f->type() == pb::FieldDescriptor::TYPE_STRING && f->name() == "home_estate_ids") {
      bool any = false;
      for (int i = 0; i < r->FieldSize(m, f) && !any; ++i) {
        any = caller.CanSeeEstate(r->GetRepeatedString(m, f, i));
      }
      if (!any) return refuse();
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth < kMaxScopeDepth) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          WUYE_RETURN_IF_ERROR(CheckScope(caller, r->GetRepeatedMessage(m, f, i), depth + 1));
        }
      } else {
        WUYE_RETURN_IF_ERROR(CheckScope(caller, r->GetMessage(m, f), depth + 1));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckReplayScope(const Caller& caller, const google::protobuf::Message& answer) {
  if (caller.all_estates) return absl::OkStatus();
  return CheckScope(caller, answer, 0);
}

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
  pqxx::result inserted = tx.exec_prepared("wuye_idem_claim", key.group, key.request_id, key.method,
                                           hash, SubjectOf(key));
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
    return ParseStored(stored, key, response);
  });
}

void RecordResponse(pqxx::work& tx, const IdempotencyKey& key,
                    const google::protobuf::Message& response) {
  tx.exec_prepared("wuye_idem_record", key.group, key.request_id,
                   tx.esc_raw(response.SerializeAsString()));
}

void PrepareIdempotency(Db& db) {
  db.Prepare("wuye_idem_claim",
             "INSERT INTO wuye_idempotency (group_key, request_id, method, request_hash, subject) "
             "VALUES ($1, $2, $3, $4::bytea, $5) ON CONFLICT DO NOTHING RETURNING 1");
  db.Prepare("wuye_idem_prior",
             "SELECT method, request_hash = $3::bytea, response, subject FROM wuye_idempotency "
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
    if (prior.has_value()) return ParseStored(*prior, key, response);
    response->Clear();
    WUYE_RETURN_IF_ERROR(effect(tx));
    RecordResponse(tx, key, *response);
    return absl::OkStatus();
  });
}

}  // namespace wuye
