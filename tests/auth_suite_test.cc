// The auth and tenancy suite. Every service built in this tree runs as its own process; the
// suite asks each for its API through gRPC server reflection (so a new RPC is covered
// without anyone listing it) and calls every method with:
//   1. no token, 2. a token signed with another key, 3. an `alg: none` token,
//   4. an expired token                              → UNAUTHENTICATED;
//   5. a token of another property group, on an estate that is not its own
//                                                    → refused, or an empty answer;
//   6. a token of the group whose roles grant nothing → PERMISSION_DENIED for every call,
//      reads included (every read has a reader list);
//   7. a token of the same group for another of its estates, with every role
//                                                    → refused, or an empty answer.
// No call may answer INTERNAL or UNKNOWN. It prints how many calls it tried and how many
// were refused.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shared/auth.h"
#include "shared/ids.h"
#include "shared/testing/test_env.h"
#include "tests/service_process.h"

namespace wuye {
namespace {

namespace pb = google::protobuf;
using ::wuye::testing::kTestSecret;

// ---- reflection (grpc.reflection.v1alpha, through its descriptors in libgrpc++_reflection)

std::unique_ptr<pb::Message> NewGenerated(const std::string& type) {
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (d == nullptr) return nullptr;
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
}

// One request, one answer on the reflection stream.
std::unique_ptr<pb::Message> Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& field, const std::string& value) {
  auto request = NewGenerated("grpc.reflection.v1alpha.ServerReflectionRequest");
  auto response = NewGenerated("grpc.reflection.v1alpha.ServerReflectionResponse");
  if (!request || !response) return nullptr;
  request->GetReflection()->SetString(request.get(),
                                      request->GetDescriptor()->FindFieldByName(field), value);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](auto op) {
    void* tag;
    bool ok = false;
    op();
    cq.Next(&tag, &ok);
    return ok;
  };
  std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out(&slice, 1), in;
  grpc::Status status;
  bool ok = step([&] { call->StartCall(reinterpret_cast<void*>(1)); }) &&
            step([&] { call->Write(out, reinterpret_cast<void*>(2)); }) &&
            step([&] { call->WritesDone(reinterpret_cast<void*>(3)); }) &&
            step([&] { call->Read(&in, reinterpret_cast<void*>(4)); });
  step([&] { call->Finish(&status, reinterpret_cast<void*>(5)); });
  if (!ok) return nullptr;
  std::vector<grpc::Slice> slices;
  (void)in.Dump(&slices);
  std::string text;
  for (const auto& s : slices) text.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (!response->ParseFromString(text)) return nullptr;
  return response;
}

const pb::Message& Sub(const pb::Message& m, const std::string& field) {
  return m.GetReflection()->GetMessage(m, m.GetDescriptor()->FindFieldByName(field));
}

std::vector<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  std::vector<std::string> names;
  auto response = Reflect(channel, "list_services", "*");
  if (!response) return names;
  const pb::Message& list = Sub(*response, "list_services_response");
  const pb::FieldDescriptor* service = list.GetDescriptor()->FindFieldByName("service");
  for (int i = 0; i < list.GetReflection()->FieldSize(list, service); ++i) {
    const pb::Message& s = list.GetReflection()->GetRepeatedMessage(list, service, i);
    names.push_back(s.GetReflection()->GetString(s, s.GetDescriptor()->FindFieldByName("name")));
  }
  return names;
}

// Adds the files that define `symbol` (with their dependencies) to `db`.
bool LoadSymbol(const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol,
                pb::SimpleDescriptorDatabase* db) {
  auto response = Reflect(channel, "file_containing_symbol", symbol);
  if (!response) return false;
  const pb::Message& files = Sub(*response, "file_descriptor_response");
  const pb::FieldDescriptor* f = files.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  for (int i = 0; i < files.GetReflection()->FieldSize(files, f); ++i) {
    pb::FileDescriptorProto file;
    file.ParseFromString(files.GetReflection()->GetRepeatedString(files, f, i));
    pb::FileDescriptorProto known;
    if (!db->FindFileByName(file.name(), &known)) db->Add(file);
  }
  return true;
}

// ---- tokens ---------------------------------------------------------------------------

std::string B64(absl::string_view s) {
  std::string out;
  absl::WebSafeBase64Escape(s, &out);
  return out;
}

struct Tokens {
  std::string other_key, alg_none, expired, other_group, no_rights, other_estate;
};

Tokens MakeTokens(const std::string& group, const std::string& estate,
                  const std::string& other_group, const std::string& other_estate) {
  Tokens t;
  TokenClaims claims;
  claims.subject = "auth-suite";
  claims.group_id = group;
  claims.estate_ids = {estate};
  claims.roles = {"group_admin", "estate_manager", "supervisor",       "team_lead",
                  "agent",       "technician",     "care_worker",      "nurse",
                  "clinic",      "finance_clerk",  "quality_inspector"};
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(1);
  t.other_key = *MintHs256(claims, "some-other-secret-some-other-secret-xx");
  std::string signed_token = *MintHs256(claims, kTestSecret);
  std::string payload = signed_token.substr(signed_token.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  t.alg_none = absl::StrCat(B64(R"({"alg":"none","typ":"JWT"})"), ".", payload, ".");
  TokenClaims old = claims;
  old.issued_at = absl::Now() - absl::Hours(3);
  old.expires_at = absl::Now() - absl::Hours(2);
  t.expired = *MintHs256(old, kTestSecret);
  TokenClaims stranger = claims;
  stranger.group_id = other_group;
  stranger.estate_ids = {other_estate};
  t.other_group = *MintHs256(stranger, kTestSecret);
  TokenClaims nobody = claims;
  nobody.estate_ids = {"*"};
  nobody.roles = {"resident"};  // a role no wuye method grants anything to
  t.no_rights = *MintHs256(nobody, kTestSecret);
  TokenClaims neighbour = claims;  // the same group, another of its estates
  neighbour.estate_ids = {NewId(absl::Now())};
  t.other_estate = *MintHs256(neighbour, kTestSecret);
  return t;
}

// ---- requests -------------------------------------------------------------------------

// Fills ids so that a call aims at `estate` (of the victim group): estate ids name it, the
// other ids are fresh. Returns how many fields it set: none means the request names nothing
// of any group, so it can only be about the caller's own.
int Aim(pb::Message* m, const std::string& estate, int depth) {
  int set = 0;
  const pb::Descriptor* d = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    std::string name(f->name());
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      bool estate_field = absl::StrContains(name, "estate_id");
      bool id_field = name == "id" || absl::EndsWith(name, "_id") || absl::EndsWith(name, "_ids");
      if (!estate_field && !id_field) continue;
      std::string value = estate_field ? estate : NewId(absl::Now());
      f->is_repeated() ? r->AddString(m, f, value) : r->SetString(m, f, value);
      ++set;
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
               depth < 2 && f->message_type()->file()->package() != "google.protobuf") {
      set += Aim(r->MutableMessage(m, f), estate, depth + 1);
    }
  }
  return set;
}

bool HasRows(const pb::Message& m) {
  std::vector<const pb::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->is_repeated() && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) return true;
  }
  return false;
}

struct Outcome {
  grpc::StatusCode code;
  std::string answer;
};

Outcome Call(grpc::GenericStub& stub, const std::string& method, const pb::Message& request,
             const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  Outcome o{status.error_code(), ""};
  std::vector<grpc::Slice> slices;
  if (status.ok() && out.Dump(&slices).ok()) {
    for (const auto& s : slices)
      o.answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return o;
}

TEST(AuthSuite, EveryRpcOfEveryServiceRefusesWhatItMust) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();  // keeps its descriptors linked
  ASSERT_NE(NewGenerated("grpc.reflection.v1alpha.ServerReflectionRequest"), nullptr)
      << "the reflection descriptors of libgrpc++_reflection are not registered";
  const std::string group = NewId(absl::Now()), estate = NewId(absl::Now());
  const std::string stranger = NewId(absl::Now()), stranger_estate = NewId(absl::Now());
  Tokens tokens = MakeTokens(group, estate, stranger, stranger_estate);

  int services = 0, methods = 0, tried = 0, refused = 0;
  for (const auto& [name, binary] : ::wuye::testing::BuiltServices()) {
    SCOPED_TRACE(name);
    ::wuye::testing::TestDatabase db;
    ::wuye::testing::ServiceProcess process({.name = name,
                                             .binary = binary,
                                             .pg_url = db.url(),
                                             .redis_addr = "",
                                             .env = ::wuye::testing::ServiceTestEnv(name),
                                             .args = {}});
    ASSERT_TRUE(process.Start()) << name;
    ++services;
    pb::SimpleDescriptorDatabase files;
    std::vector<std::string> names = ListServices(process.channel());
    ASSERT_FALSE(names.empty()) << name << ": reflection lists no service";
    for (const std::string& s : names) {
      if (absl::StartsWith(s, "grpc.")) continue;
      ASSERT_TRUE(LoadSymbol(process.channel(), s, &files)) << s;
    }
    pb::DescriptorPool pool(&files);
    pb::DynamicMessageFactory factory(&pool);
    grpc::GenericStub stub(process.channel());
    for (const std::string& s : names) {
      if (absl::StartsWith(s, "grpc.")) continue;
      const pb::ServiceDescriptor* service = pool.FindServiceByName(s);
      ASSERT_NE(service, nullptr) << s;
      for (int i = 0; i < service->method_count(); ++i) {
        const pb::MethodDescriptor* m = service->method(i);
        const std::string path = absl::StrCat("/", s, "/", m->name());
        SCOPED_TRACE(path);
        ++methods;
        std::unique_ptr<pb::Message> request(factory.GetPrototype(m->input_type())->New());
        const bool aimed = Aim(request.get(), estate, 0) > 0;
        const bool mutating = m->input_type()->FindFieldByName("request_id") != nullptr;
        auto expect = [&](const std::string& token, const char* what, auto accept) {
          Outcome o = Call(stub, path, *request, token);
          ++tried;
          EXPECT_NE(o.code, grpc::StatusCode::INTERNAL) << what;
          EXPECT_NE(o.code, grpc::StatusCode::UNKNOWN) << what;
          if (accept(o)) {
            ++refused;
          } else {
            ADD_FAILURE() << path << " with " << what << ": code " << o.code;
          }
        };
        auto unauthenticated = [](const Outcome& o) {
          return o.code == grpc::StatusCode::UNAUTHENTICATED;
        };
        expect("", "no token", unauthenticated);
        expect(tokens.other_key, "a token signed with another key", unauthenticated);
        expect(tokens.alg_none, "an alg:none token", unauthenticated);
        expect(tokens.expired, "an expired token", unauthenticated);
        // Another group's token aimed at this group's estate: refused, or an answer
        // without rows (a list that finds nothing). A read that names nothing (the caller's
        // own group's settings) may answer.
        auto refused_or_empty = [&](const Outcome& o) {
          if (o.code != grpc::StatusCode::OK) return true;
          if (mutating) return false;
          if (!aimed) return true;
          std::unique_ptr<pb::Message> answer(factory.GetPrototype(m->output_type())->New());
          return answer->ParseFromString(o.answer) && !HasRows(*answer);
        };
        expect(tokens.other_group, "another group's token", refused_or_empty);
        // The same group's token for another estate: what names this estate is refused.
        expect(tokens.other_estate, "a token for another estate of the group",
               [&](const Outcome& o) { return !aimed || refused_or_empty(o); });
        expect(tokens.no_rights, "a role without rights",
               [](const Outcome& o) { return o.code == grpc::StatusCode::PERMISSION_DENIED; });
      }
    }
  }
  std::cout << "auth suite: " << services << " services, " << methods << " RPCs, " << tried
            << " calls tried, " << refused << " refused as they must be\n";
  EXPECT_EQ(tried, refused);
  EXPECT_GT(methods, 0);
}

}  // namespace
}  // namespace wuye
