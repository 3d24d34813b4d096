// wuyectl: one command line for every wuye service.
//
//   wuyectl [--addr=H:P] [--token=T] [--json] [--timeout=10s] <service> <verb> [--field=value]...
//   wuyectl token --group=G --roles=agent[,..] [--estates=a,b|*] [--sub=S] [--ttl=12h]
//   wuyectl bus dead-letters|replay --stream=<service> ...   (Redis; docs/operations.md)
//
// Verbs are the service's RPCs in kebab case (CreateTicket → create-ticket); a unique prefix
// of words also works (`accept` for AcceptWorkOrder). Request fields are flags named like
// the proto fields, dotted for nested ones (--location.unit_id=...), or the whole request as
// JSON (--data='{...}' or --data=@file.json). Everything comes from the compiled-in
// descriptors, so a new RPC needs no change here. `--help` works at every level.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/bus.h"
#include "shared/ids.h"
#include "shared/secret.h"
#include "shared/status.h"
#include "wuye/service_list.h"

namespace wuye::ctl {
namespace {

namespace pb = google::protobuf;

// The services and their default ports: services.txt, through the generated list.
constexpr const auto& kServices = kListedServices;

// Exit codes: 0 ok, 1 the call failed, 2 bad usage.
constexpr int kCallFailed = 1;
constexpr int kUsage = 2;

// Removes `prefix` from the front of `s`; false if it is not there.
bool Strip(std::string* s, absl::string_view prefix) {
  if (!absl::StartsWith(*s, prefix)) return false;
  s->erase(0, prefix.size());
  return true;
}

template <typename S>
std::string Text(const S& status) {
  return std::string(status.message().data(), status.message().size());
}

[[noreturn]] void Usage(const std::string& message) {
  std::cerr << "wuyectl: " << message << "\n";
  std::exit(kUsage);
}

struct Options {
  std::string addr, token, timeout = "10s";
  bool json = false, help = false;
  // TLS (the services' --tls_* flags): on with --tls or a CA file; a client certificate
  // and key for mutual TLS; the name to check in the server's certificate.
  bool tls = false;
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
};

std::string ReadPem(const std::string& path, const char* option) {
  std::ifstream in(path);
  if (!in) Usage(absl::StrCat(option, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& addr, const Options& opt) {
  if (!opt.tls && opt.tls_ca_file.empty() && opt.tls_cert_file.empty()) {
    return grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;  // no CA file: the system's roots
  if (!opt.tls_ca_file.empty()) ssl.pem_root_certs = ReadPem(opt.tls_ca_file, "--tls_ca_file");
  if (opt.tls_cert_file.empty() != opt.tls_key_file.empty()) {
    Usage("--tls_cert_file and --tls_key_file: give both or neither");
  }
  if (!opt.tls_cert_file.empty()) {
    ssl.pem_cert_chain = ReadPem(opt.tls_cert_file, "--tls_cert_file");
    ssl.pem_private_key = ReadPem(opt.tls_key_file, "--tls_key_file");
  }
  grpc::ChannelArguments args;
  if (!opt.tls_server_name.empty()) args.SetSslTargetNameOverride(opt.tls_server_name);
  return grpc::CreateCustomChannel(addr, grpc::SslCredentials(ssl), args);
}

// ---- descriptors ----------------------------------------------------------------------

// The service's main gRPC service (the first named in services.txt), if built in.
const pb::ServiceDescriptor* FindService(const std::string& name) {
  for (const auto& s : kServices) {
    if (s.name != name) continue;
    std::string grpc_name(
        absl::string_view(s.grpc_services).substr(0, absl::string_view(s.grpc_services).find(',')));
    return pb::DescriptorPool::generated_pool()->FindServiceByName(grpc_name);
  }
  return nullptr;
}

std::string Kebab(absl::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (absl::ascii_isupper(c) && !out.empty()) out += '-';
    out += absl::ascii_tolower(c);
  }
  return out;
}

const pb::MethodDescriptor* FindMethod(const pb::ServiceDescriptor* service,
                                       const std::string& verb) {
  std::vector<const pb::MethodDescriptor*> prefixed;
  for (int i = 0; i < service->method_count(); ++i) {
    const pb::MethodDescriptor* m = service->method(i);
    std::string kebab = Kebab(m->name());
    if (kebab == verb || m->name() == verb) return m;
    if (absl::StartsWith(kebab, verb + "-")) prefixed.push_back(m);
  }
  if (prefixed.size() == 1) return prefixed[0];
  if (prefixed.empty()) {
    Usage(absl::StrCat("no verb '", verb, "' in ", service->full_name(), "; see --help"));
  }
  std::vector<std::string> names;
  for (const auto* m : prefixed) names.push_back(Kebab(m->name()));
  Usage(absl::StrCat("'", verb, "' is ambiguous: ", absl::StrJoin(names, ", ")));
}

std::string TypeName(const pb::FieldDescriptor* f) {
  std::string t;
  if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
    t = std::string(f->message_type()->name());
  } else if (f->type() == pb::FieldDescriptor::TYPE_ENUM) {
    t = "enum";
  } else {
    t = f->type_name();
  }
  return f->is_repeated() ? absl::StrCat("repeated ", t) : t;
}

// Short names of an enum's values: TICKET_KIND_COMPLAINT → complaint.
std::string ShortEnumName(const pb::EnumValueDescriptor* v) {
  std::string prefix = absl::StrCat(absl::AsciiStrToUpper(Kebab(v->type()->name())), "_");
  absl::StrReplaceAll({{"-", "_"}}, &prefix);
  absl::string_view name = v->name();
  absl::ConsumePrefix(&name, prefix);
  return absl::AsciiStrToLower(name);
}

void PrintFields(const pb::Descriptor* d, const std::string& prefix, int depth) {
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    std::string name = prefix + std::string(f->name());
    std::cout << "  --" << name << "  (" << TypeName(f) << ")";
    if (f->type() == pb::FieldDescriptor::TYPE_ENUM) {
      std::vector<std::string> values;
      for (int j = 1; j < f->enum_type()->value_count(); ++j) {
        values.push_back(ShortEnumName(f->enum_type()->value(j)));
      }
      std::cout << " one of: " << absl::StrJoin(values, ", ");
    }
    std::cout << "\n";
    const pb::Descriptor* m = f->message_type();
    if (m != nullptr && !f->is_repeated() && depth < 2 &&
        m->file()->package() != "google.protobuf") {
      PrintFields(m, name + ".", depth + 1);
    }
  }
}

// ---- setting fields from flags --------------------------------------------------------

absl::Status SetScalar(pb::Message* msg, const pb::FieldDescriptor* f, const std::string& value);

absl::Status SetMessageFromText(pb::Message* sub, const std::string& value) {
  const pb::Descriptor* d = sub->GetDescriptor();
  if (d->full_name() == "google.protobuf.Timestamp") {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
      return absl::InvalidArgumentError("want an RFC 3339 time, e.g. 2026-11-24T09:30:00+08:00");
    }
    auto* ts = static_cast<pb::Timestamp*>(sub);
    ts->set_seconds(absl::ToUnixSeconds(t));
    ts->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(ts->seconds()))));
    return absl::OkStatus();
  }
  if (d->full_name() == "google.protobuf.Duration") {  // 168h, 90m, 1h30m
    absl::Duration span;
    if (!absl::ParseDuration(value, &span) || span == absl::InfiniteDuration() ||
        span == -absl::InfiniteDuration()) {
      return absl::InvalidArgumentError("want a duration, e.g. 168h or 90m");
    }
    auto* out = static_cast<pb::Duration*>(sub);
    out->set_seconds(absl::IDivDuration(span, absl::Seconds(1), &span));
    out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(span)));
    return absl::OkStatus();
  }
  if (!value.empty() && value[0] == '{') {
    auto st = pb::util::JsonStringToMessage(value, sub);
    return st.ok() ? absl::OkStatus() : absl::InvalidArgumentError(Text(st));
  }
  // Dates and months: 2026-11-24, 2026-11. Field masks: a,b,c.
  if (d->full_name() == "google.protobuf.FieldMask") {
    const pb::FieldDescriptor* paths = d->FindFieldByName("paths");
    for (absl::string_view p : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      sub->GetReflection()->AddString(sub, paths, std::string(p));
    }
    return absl::OkStatus();
  }
  std::vector<std::string> parts = absl::StrSplit(value, '-');
  const char* names[] = {"year", "month", "day"};
  if (d->FindFieldByName("year") != nullptr && parts.size() <= 3) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const pb::FieldDescriptor* f = d->FindFieldByName(names[i]);
      if (f == nullptr) return absl::InvalidArgumentError("too many parts");
      if (auto st = SetScalar(sub, f, parts[i]); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("give ", d->name(), " as JSON: '{...}'"));
}

absl::Status SetScalar(pb::Message* msg, const pb::FieldDescriptor* f, const std::string& value) {
  const pb::Reflection* r = msg->GetReflection();
  bool rep = f->is_repeated();
  auto bad = [&](absl::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("want ", want));
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(msg, f, value) : r->SetString(msg, f, value);
      return absl::OkStatus();
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a non-negative integer");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a non-negative integer");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT) {
        rep ? r->AddFloat(msg, f, static_cast<float>(v))
            : r->SetFloat(msg, f, static_cast<float>(v));
      } else {
        rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      }
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("true or false");
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* e = f->enum_type();
      const pb::EnumValueDescriptor* found = e->FindValueByName(value);
      for (int i = 0; found == nullptr && i < e->value_count(); ++i) {
        if (ShortEnumName(e->value(i)) == absl::AsciiStrToLower(value)) found = e->value(i);
      }
      if (found == nullptr) {
        std::vector<std::string> values;
        for (int i = 1; i < e->value_count(); ++i) values.push_back(ShortEnumName(e->value(i)));
        return bad(absl::StrCat("one of ", absl::StrJoin(values, ", ")));
      }
      rep ? r->AddEnum(msg, f, found) : r->SetEnum(msg, f, found);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      pb::Message* sub = rep ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      return SetMessageFromText(sub, value);
    }
  }
  return bad("a value");
}

void SetPath(pb::Message* root, const std::string& path, const std::string& value) {
  pb::Message* msg = root;
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) {
      Usage(absl::StrCat("--", path, ": ", msg->GetDescriptor()->name(), " has no field '",
                         parts[i], "'; see --help"));
    }
    bool last = i + 1 == parts.size();
    if (!last) {
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
        Usage(absl::StrCat("--", path, ": '", parts[i], "' is not a single message"));
      }
      msg = msg->GetReflection()->MutableMessage(msg, f);
      continue;
    }
    // Repeated scalars: comma-separated, or the flag given again.
    std::vector<std::string> values;
    if (f->is_repeated() && f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      values = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else {
      values = {value};
    }
    for (const std::string& v : values) {
      if (absl::Status st = SetScalar(msg, f, v); !st.ok()) {
        Usage(absl::StrCat("--", path, ": ", st.message()));
      }
    }
  }
}

// ---- output ---------------------------------------------------------------------------

std::string ScalarText(const pb::Message& msg, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = msg.GetReflection();
  bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(msg, f, index) : r->GetString(msg, f);
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return ShortEnumName(rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const pb::Message& sub = rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f);
      if (sub.GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
        const auto& ts = static_cast<const pb::Timestamp&>(sub);
        if (ts.seconds() == 0 && ts.nanos() == 0) return "";
        return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(ts.seconds()),
                                absl::UTCTimeZone());
      }
      std::string json;
      pb::util::JsonPrintOptions o;
      o.preserve_proto_field_names = true;
      (void)pb::util::MessageToJsonString(sub, &json, o);
      return json == "{}" ? "" : json;
    }
  }
  return "";
}

bool IsLeaf(const pb::FieldDescriptor* f) {
  if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return true;
  return f->message_type()->full_name() == "google.protobuf.Timestamp";
}

void PrintRecord(const pb::Message& msg, const std::string& indent) {
  const pb::Reflection* r = msg.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      int n = r->FieldSize(msg, f);
      if (IsLeaf(f)) {
        std::vector<std::string> items;
        for (int i = 0; i < n; ++i) items.push_back(ScalarText(msg, f, i));
        std::cout << indent << f->name() << ": " << absl::StrJoin(items, ", ") << "\n";
      } else {
        for (int i = 0; i < n; ++i) {
          std::cout << indent << f->name() << "[" << i << "]:\n";
          PrintRecord(r->GetRepeatedMessage(msg, f, i), indent + "  ");
        }
      }
    } else if (IsLeaf(f)) {
      std::cout << indent << f->name() << ": " << ScalarText(msg, f, 0) << "\n";
    } else {
      std::cout << indent << f->name() << ":\n";
      PrintRecord(r->GetMessage(msg, f), indent + "  ");
    }
  }
}

// A list answer (one repeated message field) as a table of its rows' simple fields.
bool PrintTable(const pb::Message& msg) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::FieldDescriptor* rows = nullptr;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (rows != nullptr) return false;
      rows = f;
    }
  }
  if (rows == nullptr) return false;
  const pb::Reflection* r = msg.GetReflection();
  const pb::Descriptor* row = rows->message_type();
  constexpr size_t kMaxColumns = 8;
  constexpr size_t kMaxWidth = 38;
  std::vector<const pb::FieldDescriptor*> cols;
  for (int i = 0; i < row->field_count() && cols.size() < kMaxColumns; ++i) {
    const pb::FieldDescriptor* f = row->field(i);
    if (!f->is_repeated() && IsLeaf(f) && f->name() != "group_id") cols.push_back(f);
  }
  std::vector<std::vector<std::string>> cells(1);
  for (const auto* c : cols) cells[0].push_back(absl::AsciiStrToUpper(c->name()));
  for (int i = 0; i < r->FieldSize(msg, rows); ++i) {
    const pb::Message& item = r->GetRepeatedMessage(msg, rows, i);
    std::vector<std::string> line;
    for (const auto* c : cols) {
      std::string text = ScalarText(item, c, 0);
      if (text.size() > kMaxWidth) text = text.substr(0, kMaxWidth - 1) + "~";
      line.push_back(text);
    }
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(cols.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : cells) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(width[i] - line[i].size() + 2, ' ');
    }
    std::cout << absl::StripTrailingAsciiWhitespace(out) << "\n";
  }
  std::cout << "(" << cells.size() - 1 << " rows)\n";
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f != rows && !f->is_repeated() && IsLeaf(f)) {
      std::string text = ScalarText(msg, f, 0);
      if (!text.empty()) std::cout << f->name() << ": " << text << "\n";
    }
  }
  return true;
}

// ---- commands -------------------------------------------------------------------------

void TopHelp() {
  std::cout << R"(wuyectl: one command line for every wuye service.

usage:
  wuyectl [--addr=HOST:PORT] [--token=JWT] [--json] [--timeout=10s] [TLS] <service> <verb> [--field=value]...
  wuyectl <service> --help              the service's verbs
  wuyectl <service> <verb> --help       the verb's fields
  wuyectl token --group=ID --roles=agent,supervisor [--estates=ID,..|*] [--sub=NAME] [--ttl=12h]
  wuyectl bus dead-letters --stream=SERVICE [--from=ID] [--count=100]
  wuyectl bus replay --stream=SERVICE (--id=ID[,ID..] | --all [--group=G])

services (default address; or WUYE_<SERVICE>_ADDR):
)";
  for (const auto& s : kServices) {
    std::cout << "  " << s.name << std::string(13 - std::string(s.name).size(), ' ')
              << "127.0.0.1:" << s.port << (FindService(s.name) ? "" : "  (not built in)") << "\n";
  }
  std::cout << R"(
The token comes from --token or WUYE_TOKEN. A mutating call without --request_id gets a new
one, printed on stderr: repeat the call with it to retry safely. Nested fields are dotted
(--location.unit_id=...), repeated ones comma-separated, enums by short name
(--kind=complaint), times in RFC 3339, dates as 2026-11-24; --data='{json}' or
--data=@file.json sets the whole request. Output is a table or key: value lines; --json
prints the answer as JSON. Exit codes: 0 ok, 1 the call failed, 2 bad usage.

TLS (services started with --tls_cert_file): --tls (the system's CAs) or --tls_ca_file=PEM;
for mutual TLS also --tls_cert_file=PEM --tls_key_file=PEM; --tls_server_name=NAME when the
address is not the certificate's name. Or WUYE_TLS_CA_FILE, WUYE_TLS_CERT_FILE,
WUYE_TLS_KEY_FILE, WUYE_TLS_SERVER_NAME.
)";
}

int Token(const std::vector<std::string>& args) {
  std::map<std::string, std::string> kv;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << "wuyectl token --group=ID --roles=r1,r2 [--estates=ID,..|*] [--sub=NAME] "
                   "[--ttl=12h]\nMints an HS256 token with WUYE_JWT_SECRET or "
                   "$WUYE_STATE_DIR/jwt-secret (default .local/jwt-secret).\n";
      return 0;
    }
    std::pair<std::string, std::string> p = absl::StrSplit(a, absl::MaxSplits('=', 1));
    if (!Strip(&p.first, "--")) Usage(absl::StrCat("token: unexpected '", a, "'"));
    kv[p.first] = p.second;
  }
  std::string secret;
  if (const char* s = std::getenv("WUYE_JWT_SECRET")) {
    secret = s;
  } else {
    const char* dir = std::getenv("WUYE_STATE_DIR");
    secret = ReadSecretFile("jwt-secret", absl::StrCat(dir ? dir : ".local", "/jwt-secret"))
                 .value_or("");
  }
  if (secret.empty()) Usage("token: no secret (set WUYE_JWT_SECRET or run from the repository)");
  if (kv["roles"].empty()) Usage("token: --roles is required");
  TokenClaims claims;
  claims.subject = kv.count("sub") ? kv["sub"] : "wuyectl";
  claims.group_id = kv["group"];
  claims.roles = absl::StrSplit(kv["roles"], ',', absl::SkipEmpty());
  claims.estate_ids =
      absl::StrSplit(kv.count("estates") ? kv["estates"] : "*", ',', absl::SkipEmpty());
  absl::Duration ttl = absl::Hours(12);
  if (kv.count("ttl") && !absl::ParseDuration(kv["ttl"], &ttl))
    Usage("token: --ttl: want e.g. 12h");
  if (ttl <= absl::ZeroDuration() || ttl > kDefaultMaxTokenLifetime)
    Usage("token: --ttl: more than 0 and at most 12h (services refuse longer-lived tokens)");
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + ttl;
  auto token = MintHs256(claims, secret);
  if (!token.ok()) Usage(absl::StrCat("token: ", token.status().message()));
  std::cout << *token << "\n";
  return 0;
}

int Call(const Options& opt, const std::string& service_name,
         const std::vector<std::string>& args) {
  const pb::ServiceDescriptor* service = FindService(service_name);
  if (service == nullptr) Usage(absl::StrCat("no service '", service_name, "'; see --help"));
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "wuyectl " << service_name << " <verb>: " << service->full_name()
              << "\n\nverbs:\n";
    for (int i = 0; i < service->method_count(); ++i) {
      std::cout << "  " << Kebab(service->method(i)->name()) << "\n";
    }
    return 0;
  }
  const pb::MethodDescriptor* method = FindMethod(service, args[0]);
  // The generated classes (linked in), so that well-known types such as Timestamp are theirs.
  pb::MessageFactory* factory = pb::MessageFactory::generated_factory();
  std::unique_ptr<pb::Message> request(factory->GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory->GetPrototype(method->output_type())->New());
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << "wuyectl " << service_name << " " << Kebab(method->name()) << ": "
                << method->input_type()->full_name() << " → " << method->output_type()->full_name()
                << "\n\nfields:\n";
      PrintFields(method->input_type(), "", 0);
      return 0;
    }
    if (!Strip(&a, "--")) Usage(absl::StrCat("unexpected '", a, "'"));
    std::string name = a, value;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      Usage(absl::StrCat("--", name, ": needs a value"));
    }
    if (name == "data") {
      if (absl::StartsWith(value, "@")) {
        std::ifstream in(value.substr(1));
        if (!in) Usage(absl::StrCat("--data: cannot read ", value.substr(1)));
        std::stringstream ss;
        ss << in.rdbuf();
        value = ss.str();
      }
      auto st = pb::util::JsonStringToMessage(value, request.get());
      if (!st.ok()) Usage(absl::StrCat("--data: ", Text(st)));
      continue;
    }
    SetPath(request.get(), name, value);
  }
  if (const pb::FieldDescriptor* rid = method->input_type()->FindFieldByName("request_id");
      rid != nullptr && rid->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
      request->GetReflection()->GetString(*request, rid).empty()) {
    std::string id = NewId(absl::Now());
    request->GetReflection()->SetString(request.get(), rid, id);
    std::cerr << "request_id: " << id << "\n";
  }

  std::string addr = opt.addr;
  if (addr.empty()) {
    std::string env = absl::StrCat("WUYE_", absl::AsciiStrToUpper(service_name), "_ADDR");
    if (const char* v = std::getenv(env.c_str())) addr = v;
  }
  for (const auto& s : kServices) {
    if (addr.empty() && s.name == service_name) addr = absl::StrCat("127.0.0.1:", s.port);
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(opt.timeout, &timeout)) Usage("--timeout: want e.g. 10s");
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!opt.token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", opt.token));
  auto channel = OpenChannel(addr, opt);
  grpc::GenericStub stub(channel);
  grpc::ByteBuffer req_buf, resp_buf;
  std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  req_buf = grpc::ByteBuffer(&slice, 1);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, absl::StrCat("/", service->full_name(), "/", method->name()),
                 grpc::StubOptions(), &req_buf, &resp_buf,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    absl::Status st = FromGrpcStatus(status);
    std::cerr << "wuyectl: " << absl::StatusCodeToString(st.code()) << ": " << st.message() << "\n";
    if (std::string field = ErrorField(st); !field.empty())
      std::cerr << "  field: " << field << "\n";
    if (std::string reason = ErrorReason(st); !reason.empty()) {
      std::cerr << "  reason: " << reason << "\n";
    }
    if (st.code() == absl::StatusCode::kUnavailable) {
      std::cerr << "  (is " << service_name << " running at " << addr << "? make status)\n";
    }
    if (st.code() == absl::StatusCode::kUnauthenticated && opt.token.empty()) {
      std::cerr << "  (no token: set WUYE_TOKEN, e.g. export WUYE_TOKEN=$(wuyectl token ...))\n";
    }
    return kCallFailed;
  }
  std::vector<grpc::Slice> slices;
  (void)resp_buf.Dump(&slices);
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (!response->ParseFromString(out)) {
    std::cerr << "wuyectl: the answer does not parse as " << method->output_type()->full_name()
              << "\n";
    return kCallFailed;
  }
  if (opt.json) {
    std::string json;
    pb::util::JsonPrintOptions o;
    o.add_whitespace = true;
    o.preserve_proto_field_names = true;
    (void)pb::util::MessageToJsonString(*response, &json, o);
    std::cout << json;
  } else if (!PrintTable(*response)) {
    PrintRecord(*response, "");
  }
  return 0;
}

// ---- bus: dead letters ----------------------------------------------------------------

constexpr char kBusHelp[] = R"(wuyectl bus: the dead letters of the event bus (docs/events.md).

  wuyectl bus dead-letters --stream=SERVICE [--from=ID] [--count=100]
      lists the entries of wuye.SERVICE.events.dead: id, group, type, event_id, refusals,
      deliveries, reason (never the envelope). An entry with held_behind=ID is a later event
      of a dead letter's subject that its group parked, unapplied, behind dead letter ID
  wuyectl bus replay --stream=SERVICE --id=ID[,ID..]
  wuyectl bus replay --stream=SERVICE --all [--group=G]
      moves dead letters back onto wuye.SERVICE.events (all of them, or those one group
      gave up on), each followed by the entries held behind it, in order; the group that
      gave up applies them, the others skip them as duplicates. A held entry is replayed
      with the dead letter it is held behind, not alone. Forged entries are never replayed
      (--all skips them)

--stream also takes the stream's name (wuye.intake.events or wuye.intake.events.dead).
Redis: --redis=HOST:PORT or WUYE_REDIS_ADDR; WUYE_REDIS_USER and WUYE_REDIS_PASSWORD
(an operator's ACL user, docs/operations.md). Exit codes: 0 ok, 1 failed, 2 bad usage.
)";

int Bus(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kBusHelp;
    return args.empty() ? kUsage : 0;
  }
  const std::string verb = args[0];
  if (verb != "dead-letters" && verb != "replay") {
    Usage(absl::StrCat("bus: no verb '", verb, "'; see wuyectl bus --help"));
  }
  std::map<std::string, std::string> kv;
  bool all = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kBusHelp;
      return 0;
    }
    if (a == "--all") {
      all = true;
      continue;
    }
    if (!Strip(&a, "--")) Usage(absl::StrCat("bus: unexpected '", args[i], "'"));
    std::pair<std::string, std::string> p = absl::StrSplit(a, absl::MaxSplits('=', 1));
    if (p.first != "stream" && p.first != "from" && p.first != "count" && p.first != "id" &&
        p.first != "group" && p.first != "redis") {
      Usage(absl::StrCat("bus: unknown option --", p.first));
    }
    kv[p.first] = p.second;
  }
  std::string stream = kv["stream"];
  if (stream.empty()) Usage("bus: --stream is required");
  if (!absl::StartsWith(stream, "wuye.")) stream = StreamOf(stream);
  if (absl::EndsWith(stream, ".dead")) stream.resize(stream.size() - 5);
  if (ProducerOfStream(stream).empty()) {
    Usage("bus: --stream: want a service or wuye.<service>.events");
  }
  const std::string dead = DeadLetterStream(stream);

  RedisOptions redis;
  redis.addr = kv["redis"];
  if (redis.addr.empty()) {
    if (const char* a = std::getenv("WUYE_REDIS_ADDR")) redis.addr = a;
  }
  if (redis.addr.empty()) Usage("bus: no Redis: --redis=HOST:PORT or WUYE_REDIS_ADDR");
  if (const char* u = std::getenv("WUYE_REDIS_USER")) redis.user = u;
  if (const char* pw = std::getenv("WUYE_REDIS_PASSWORD")) redis.password = pw;
  RedisConnection conn(redis);

  if (verb == "dead-letters") {
    int count = 100;
    if (!kv["count"].empty() && (!absl::SimpleAtoi(kv["count"], &count) || count < 1)) {
      Usage("bus: --count: want a positive number");
    }
    auto entries = ListDeadLetters(conn, dead, kv["from"].empty() ? "-" : kv["from"], count);
    if (!entries.ok()) {
      std::cerr << "wuyectl: " << entries.status().message() << "\n";
      return kCallFailed;
    }
    for (const auto& e : *entries) {
      auto field = [&](const char* name) {
        auto it = e.fields.find(name);
        return it == e.fields.end() ? std::string("-") : it->second;
      };
      std::cout << e.id << "  group=" << field("group") << "  type=" << field("type")
                << "  event_id=" << field("event_id") << "  refusals=" << field("refusals")
                << "  deliveries=" << field("deliveries");
      if (e.fields.count("held_behind")) std::cout << "  held_behind=" << field("held_behind");
      std::cout << "  reason=" << field("reason") << "\n";
    }
    std::cerr << entries->size() << " dead letter(s) in " << dead << "\n";
    return 0;
  }

  // replay
  std::vector<std::string> ids;
  if (all == !kv["id"].empty()) Usage("bus replay: give either --id or --all");
  if (all) {
    std::set<std::string> listed;
    std::string from = "-";
    for (;;) {
      auto entries = ListDeadLetters(conn, dead, from, 500);
      if (!entries.ok()) {
        std::cerr << "wuyectl: " << entries.status().message() << "\n";
        return kCallFailed;
      }
      for (const auto& e : *entries) {
        auto group = e.fields.find("group");
        auto reason = e.fields.find("reason");
        if (reason != e.fields.end() && absl::StartsWith(reason->second, "forged:")) continue;
        // Held behind a dead letter that is replayed too: it follows that one.
        auto behind = e.fields.find("held_behind");
        if (behind != e.fields.end() && listed.count(behind->second)) continue;
        if (kv["group"].empty() || (group != e.fields.end() && group->second == kv["group"])) {
          ids.push_back(e.id);
          listed.insert(e.id);
        }
      }
      if (entries->size() < 500) break;
      from = absl::StrCat("(", entries->back().id);  // exclusive
    }
  } else {
    for (absl::string_view id : absl::StrSplit(kv["id"], ',', absl::SkipEmpty())) {
      ids.emplace_back(id);
    }
  }
  int failed = 0;
  for (const auto& id : ids) {
    int held = 0;
    auto replayed = ReplayDeadLetter(conn, dead, id, &held);
    if (!replayed.ok()) {
      std::cerr << "wuyectl: " << id << ": " << replayed.status().message() << "\n";
      ++failed;
      if (replayed.status().code() == absl::StatusCode::kUnavailable) break;
      continue;
    }
    std::cout << id << " -> " << stream << " " << *replayed;
    if (held > 0) std::cout << "  (and the " << held << " held behind it, after it)";
    std::cout << "\n";
  }
  std::cerr << ids.size() - failed << " replayed, " << failed << " failed\n";
  return failed == 0 ? 0 : kCallFailed;
}

int Main(int argc, char** argv) {
  Options opt;
  if (const char* t = std::getenv("WUYE_TOKEN")) opt.token = t;
  for (auto [env, field] : {std::pair{"WUYE_TLS_CA_FILE", &opt.tls_ca_file},
                            {"WUYE_TLS_CERT_FILE", &opt.tls_cert_file},
                            {"WUYE_TLS_KEY_FILE", &opt.tls_key_file},
                            {"WUYE_TLS_SERVER_NAME", &opt.tls_server_name}}) {
    if (const char* v = std::getenv(env)) *field = v;
  }
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (!absl::StartsWith(a, "-")) break;
    if (a == "--help" || a == "-h") {
      opt.help = true;
    } else if (a == "--json") {
      opt.json = true;
    } else if (Strip(&a, "--addr=")) {
      opt.addr = a;
    } else if (Strip(&a, "--token=")) {
      opt.token = a;
    } else if (Strip(&a, "--timeout=")) {
      opt.timeout = a;
    } else if (a == "--tls") {
      opt.tls = true;
    } else if (Strip(&a, "--tls_ca_file=")) {
      opt.tls_ca_file = a;
    } else if (Strip(&a, "--tls_cert_file=")) {
      opt.tls_cert_file = a;
    } else if (Strip(&a, "--tls_key_file=")) {
      opt.tls_key_file = a;
    } else if (Strip(&a, "--tls_server_name=")) {
      opt.tls_server_name = a;
    } else {
      Usage(absl::StrCat("unknown option '", a, "'; see --help"));
    }
  }
  if (opt.help || i >= argc) {
    TopHelp();
    return opt.help ? 0 : kUsage;
  }
  std::string command = argv[i++];
  std::vector<std::string> rest;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      opt.json = true;  // also accepted after the verb
    } else {
      rest.push_back(a);
    }
  }
  if (command == "token") return Token(rest);
  if (command == "bus") return Bus(rest);
  return Call(opt, command, rest);
}

}  // namespace
}  // namespace wuye::ctl

int main(int argc, char** argv) { return wuye::ctl::Main(argc, argv); }
