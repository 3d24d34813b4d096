#include "services/gateway/local_sign_in.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "services/gateway/connect.h"
#include "shared/auth.h"
#include "shared/proto_time.h"
#include "shared/staff_roles.h"
#include "shared/status.h"
#include "wuye/directory/v1/directory.grpc.pb.h"

namespace wuye::gateway {
namespace {

namespace pb = google::protobuf;
namespace dir = ::wuye::directory::v1;

HttpResponse JsonAnswer(int status, const pb::Message& body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  (void)pb::util::MessageToJsonString(body, &r.body);
  return r;
}

HttpResponse Refused(const absl::Status& st) {
  HttpResponse r;
  const auto code = static_cast<grpc::StatusCode>(st.code());
  r.status = HttpStatusOf(code);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = ConnectErrorJson(code, st.message(), "");
  return r;
}

std::vector<std::string> GroupIds(const std::string& file) {
  std::vector<std::string> ids;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    absl::string_view id = absl::StripAsciiWhitespace(line);
    if (!id.empty() && id[0] != '#' && !absl::c_linear_search(ids, id)) ids.emplace_back(id);
  }
  return ids;
}

std::vector<std::string> RoleNames(const dir::Staff& s) {
  std::vector<std::string> out;
  for (int role : s.roles()) {
    std::string_view name = TokenRoleName(static_cast<events::v1::StaffRole>(role));
    if (!name.empty()) out.emplace_back(name);
  }
  return out;
}

// What the directory says of one group, asked as its admin.
struct Group {
  dir::Group group;
  std::map<std::string, std::string> estate_names;
  std::vector<dir::Staff> staff;
};

class Directory {
 public:
  Directory(std::shared_ptr<grpc::Channel> channel, const LocalSignInOptions& options)
      : stub_(dir::DirectoryService::NewStub(channel)), options_(options) {}

  absl::StatusOr<Group> Read(const std::string& group_id) const {
    Group g;
    WUYE_ASSIGN_OR_RETURN(std::string admin, Mint(group_id, "local-sign-in", {std::string(roles::kGroupAdmin)}, {"*"}));
    dir::GetGroupRequest get;
    get.set_id(group_id);
    WUYE_RETURN_IF_ERROR(Call(&dir::DirectoryService::Stub::GetGroup, admin, get, &g.group));
    dir::ListEstatesRequest estates;
    estates.set_page_size(500);
    do {
      dir::ListEstatesResponse page;
      WUYE_RETURN_IF_ERROR(Call(&dir::DirectoryService::Stub::ListEstates, admin, estates, &page));
      for (const auto& e : page.estates()) g.estate_names[e.id()] = e.name();
      estates.set_page_token(page.next_page_token());
    } while (!estates.page_token().empty());
    dir::ListStaffRequest staff;
    staff.set_page_size(500);
    do {
      dir::ListStaffResponse page;
      WUYE_RETURN_IF_ERROR(Call(&dir::DirectoryService::Stub::ListStaff, admin, staff, &page));
      for (const auto& s : page.staff()) g.staff.push_back(s);
      staff.set_page_token(page.next_page_token());
    } while (!staff.page_token().empty());
    return g;
  }

  absl::StatusOr<std::string> Mint(const std::string& group, const std::string& subject,
                                   std::vector<std::string> roles, std::vector<std::string> estates,
                                   absl::Time* expires = nullptr) const {
    TokenClaims claims;
    claims.subject = subject;
    claims.group_id = group;
    claims.roles = std::move(roles);
    claims.estate_ids = std::move(estates);
    claims.issued_at = absl::Now();
    claims.expires_at = claims.issued_at + options_.token_lifetime;
    if (expires != nullptr) *expires = claims.expires_at;
    return MintHs256(claims, options_.jwt_secret);
  }

 private:
  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (dir::DirectoryService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const std::string& token, const Req& req, Resp* resp) const {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("authorization", "Bearer " + token);
    return FromGrpcStatus(((*stub_).*method)(&ctx, req, resp));
  }

  std::unique_ptr<dir::DirectoryService::Stub> stub_;
  const LocalSignInOptions& options_;
};

}  // namespace

HttpResponse LocalSignIn::Answer(const HttpRequest& request) const {
  if (request.path == "/local/people" && (request.method == "GET" || request.method == "HEAD")) return People();
  if (request.path == "/local/sign-in" && request.method == "POST") return SignIn(request.body);
  HttpResponse r;
  r.status = 405;
  r.headers.emplace_back("Allow", request.path == "/local/people" ? "GET" : "POST");
  return r;
}

HttpResponse LocalSignIn::People() const {
  Directory directory(directory_, options_);
  pb::Struct out;
  auto* groups = (*out.mutable_fields())["groups"].mutable_list_value();
  for (const std::string& id : GroupIds(options_.groups_file)) {
    auto g = directory.Read(id);
    if (!g.ok()) continue;  // a group of the file that is gone, or a directory down: not listed
    auto& group = *groups->add_values()->mutable_struct_value()->mutable_fields();
    group["id"].set_string_value(g->group.id());
    group["name"].set_string_value(g->group.name());
    auto* people = group["people"].mutable_list_value();
    for (const dir::Staff& s : g->staff) {
      auto& p = *people->add_values()->mutable_struct_value()->mutable_fields();
      p["id"].set_string_value(s.id());
      p["name"].set_string_value(s.name());
      auto* roles = p["roles"].mutable_list_value();
      for (const std::string& r : RoleNames(s)) roles->add_values()->set_string_value(r);
      auto* estates = p["estates"].mutable_list_value();
      for (const std::string& e : s.home_estate_ids()) {
        auto& estate = *estates->add_values()->mutable_struct_value()->mutable_fields();
        estate["id"].set_string_value(e);
        auto name = g->estate_names.find(e);
        estate["name"].set_string_value(name == g->estate_names.end() ? "" : name->second);
      }
    }
  }
  return JsonAnswer(200, out);
}

HttpResponse LocalSignIn::SignIn(const std::string& body) const {
  pb::Struct in;
  if (!pb::util::JsonStringToMessage(body, &in).ok() || !in.fields().contains("staffId") ||
      in.fields().at("staffId").string_value().empty()) {
    return Refused(FieldError("staffId", "required"));
  }
  const std::string staff_id = in.fields().at("staffId").string_value();
  Directory directory(directory_, options_);
  for (const std::string& id : GroupIds(options_.groups_file)) {
    auto g = directory.Read(id);
    if (!g.ok()) continue;
    for (const dir::Staff& s : g->staff) {
      if (s.id() != staff_id) continue;
      std::vector<std::string> roles = RoleNames(s);
      std::vector<std::string> estates(s.home_estate_ids().begin(), s.home_estate_ids().end());
      if (absl::c_linear_search(roles, roles::kGroupAdmin) || estates.empty()) estates = {"*"};
      absl::Time expires;
      auto token = directory.Mint(g->group.id(), s.id(), roles, estates, &expires);
      if (!token.ok()) return Refused(token.status());
      pb::Struct out;
      auto& f = *out.mutable_fields();
      f["token"].set_string_value(*token);
      f["expireTime"].set_string_value(absl::FormatTime(absl::RFC3339_sec, expires, absl::UTCTimeZone()));
      f["groupId"].set_string_value(g->group.id());
      f["staffId"].set_string_value(s.id());
      f["name"].set_string_value(s.name());
      for (const auto& r : roles) f["roles"].mutable_list_value()->add_values()->set_string_value(r);
      for (const auto& e : estates) f["estateIds"].mutable_list_value()->add_values()->set_string_value(e);
      return JsonAnswer(200, out);
    }
  }
  return Refused(absl::NotFoundError("staffId: no such person in the local sign-in's groups"));
}

}  // namespace wuye::gateway
