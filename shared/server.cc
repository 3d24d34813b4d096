#include "shared/server.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/call_op_set.h>
#include <grpcpp/impl/codegen/method_handler.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "shared/concurrency_limit.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/signals.h"
#include "shared/status.h"

namespace wuye {
namespace {

// The path (as "staff.roles" or "units[2].tiers") of the first repeated field of `message`
// with more than `max` entries; empty when there is none. Names are built only on the way
// out of a refusal: every request passes here.
std::string FirstOverfullField(const google::protobuf::Message& message, int max) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    bool nested = field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE;
    if (!field->is_repeated()) {
      if (!nested) continue;
      std::string inner = FirstOverfullField(reflection->GetMessage(message, field), max);
      if (!inner.empty()) return absl::StrCat(field->name(), ".", inner);
      continue;
    }
    int n = reflection->FieldSize(message, field);
    if (n > max) return field->name();
    if (!nested) continue;
    for (int i = 0; i < n; ++i) {
      std::string inner =
          FirstOverfullField(reflection->GetRepeatedMessage(message, field, i), max);
      if (!inner.empty()) return absl::StrCat(field->name(), "[", i, "].", inner);
    }
  }
  return "";
}

// grpc::Service keeps its methods, and each method its handler, in private members, and
// has no call that swaps a handler without destroying the old one. An explicit template
// instantiation may name a private member ([temp.spec.general]/6), which gives the two
// pointers to member that wrapping needs. Pinned to gRPC 1.51's layout; a gRPC that
// renames them fails to compile here, not at run time.
template <class Tag, typename Tag::type Member>
struct PrivateMember {
  friend typename Tag::type Reach(Tag) { return Member; }
};
struct ServiceMethods {
  using type = std::vector<std::unique_ptr<grpc::internal::RpcServiceMethod>> grpc::Service::*;
  friend type Reach(ServiceMethods);
};
struct MethodHandlerSlot {
  using type = std::unique_ptr<grpc::internal::MethodHandler> grpc::internal::RpcServiceMethod::*;
  friend type Reach(MethodHandlerSlot);
};
template struct PrivateMember<ServiceMethods, &grpc::Service::methods_>;
template struct PrivateMember<MethodHandlerSlot, &grpc::internal::RpcServiceMethod::handler_>;

// gRPC 1.51 has one receive limit per server, so the transport's limit is the bulk methods'
// size (in a server that serves one). The sync server receives a unary call's request with
// the call, as bytes, and has the method's handler decode it (MethodHandler::Deserialize)
// before the handler runs. Every unary method of our services runs behind this handler: it
// refuses a request longer than the method's limit RESOURCE_EXHAUSTED (before a token is
// looked at, and without decoding it), has the generated handler decode the rest, and
// bounds the repeated fields of what it decoded. A refused call never reaches the method.
//
// An ordinary method also runs behind its adaptive concurrency limit (shared/
// concurrency_limit.h): a call beyond it is refused RESOURCE_EXHAUSTED before the method
// runs, and every call it admits gives back its latency.
class LimitedHandler : public grpc::internal::MethodHandler {
 public:
  // `max_entries`: most entries of any repeated field of the request, at any depth; 0: no
  // bound (the bulk methods bound their own lists). `concurrency`: null for no limit.
  LimitedHandler(grpc::internal::MethodHandler* inner, size_t limit, int max_entries,
                 std::string method, std::unique_ptr<ConcurrencyLimit> concurrency)
      : inner_(inner),
        limit_(limit),
        max_entries_(max_entries),
        method_(std::move(method)),
        concurrency_(std::move(concurrency)),
        limit_gauge_(absl::StrCat("wuye_rpc_concurrency_limit{method=\"", method_, "\"}")),
        shed_counter_(absl::StrCat("wuye_rpc_shed_total{method=\"", method_, "\"}")) {
    if (concurrency_ != nullptr) Metrics::Global().Set(limit_gauge_, concurrency_->limit());
  }

  // Takes `raw` (as the generated handler does). On a refusal `status` says why and the
  // result is null: the generated handler then sends the status without running the method.
  void* Deserialize(grpc_call* call, grpc_byte_buffer* raw, grpc::Status* status,
                    void** handler_data) override {
    if (raw == nullptr) {
      *status = grpc::Status(grpc::StatusCode::CANCELLED, "the call ended before its request");
      return nullptr;
    }
    size_t bytes = grpc_byte_buffer_length(raw);
    if (bytes > limit_) {
      grpc_byte_buffer_destroy(raw);
      *status = grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("request of ", bytes, " bytes: this method accepts at most ", limit_));
      Metrics::Global().RecordRpc(method_, absl::StatusCode::kResourceExhausted,
                                  absl::ZeroDuration());
      LogWarn("rpc.too_large").Str("method", method_).Int("bytes", bytes);
      return nullptr;
    }
    void* request = inner_->Deserialize(call, raw, status, handler_data);
    if (!status->ok()) {
      *status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "request: not a valid message of this method");
      return nullptr;
    }
    if (max_entries_ == 0) return request;
    // The generated handler returns the request as its MessageLite base.
    auto* message = static_cast<google::protobuf::MessageLite*>(request);
    auto* full = dynamic_cast<const google::protobuf::Message*>(message);
    absl::Status bounded = full ? CheckRepeatedFields(*full, max_entries_) : absl::OkStatus();
    if (bounded.ok()) return request;
    *status = ToGrpcStatus(bounded);
    Metrics::Global().RecordRpc(method_, bounded.code(), absl::ZeroDuration());
    LogInfo("rpc")
        .Str("method", method_)
        .Str("code", "INVALID_ARGUMENT")
        .Str("error", bounded.message());
    message->~MessageLite();  // the generated handler only destroys what it runs
    return nullptr;
  }

  void RunHandler(const HandlerParameter& param) override {
    if (concurrency_ == nullptr || !param.status.ok()) {
      inner_->RunHandler(param);
      return;
    }
    if (!concurrency_->TryAcquire()) {
      Shed(param);
      return;
    }
    const int limit_before = concurrency_->limit();
    const absl::Time start = absl::Now();
    inner_->RunHandler(param);
    const absl::Time end = absl::Now();
    concurrency_->Release(end - start, end);
    if (int limit = concurrency_->limit(); limit != limit_before) {
      Metrics::Global().Set(limit_gauge_, limit);
    }
  }

 private:
  // Refuses the call RESOURCE_EXHAUSTED: the generated handler sends a non-OK status without
  // running the method (and leaves the decoded request to us). Counted on every refusal,
  // logged at most once a second per method: under overload a line per refusal would be
  // more of the work being shed.
  void Shed(const HandlerParameter& param) {
    static_cast<google::protobuf::MessageLite*>(param.request)->~MessageLite();
    const int limit = concurrency_->limit();
    HandlerParameter refused(
        param.call, param.server_context, nullptr,
        ToGrpcStatus(WithReason(
            absl::ResourceExhaustedError(absl::StrCat(
                "server busy: ", limit, " calls of this method in progress; retry with backoff")),
            "SERVER_BUSY")),
        param.internal_data, param.call_requester);
    inner_->RunHandler(refused);
    Metrics::Global().RecordRpc(method_, absl::StatusCode::kResourceExhausted,
                                absl::ZeroDuration());
    Metrics::Global().Add(shed_counter_);
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    int64_t last = last_shed_log_.load(std::memory_order_relaxed);
    ++shed_since_log_;
    if (now > last && last_shed_log_.compare_exchange_strong(last, now)) {
      LogWarn("rpc.shed")
          .Str("method", method_)
          .Int("limit", limit)
          .Int("refused", shed_since_log_.exchange(0));
    }
  }

  std::unique_ptr<grpc::internal::MethodHandler> inner_;
  size_t limit_;
  int max_entries_;
  std::string method_;
  std::unique_ptr<ConcurrencyLimit> concurrency_;
  const std::string limit_gauge_, shed_counter_;
  std::atomic<int64_t> last_shed_log_{0};
  std::atomic<int64_t> shed_since_log_{0};
};

// "directory" of wuye.directory.v1.DirectoryService, as RpcRunner names its service.
std::string ShortName(const google::protobuf::ServiceDescriptor& service) {
  std::vector<std::string> parts = absl::StrSplit(service.file()->package(), '.');
  return parts.size() >= 2 ? parts[1] : service.name();
}

// Puts every unary method of `service` (named `full_name` in the generated descriptor pool)
// behind its byte limit and, unless bulk, its concurrency limit. Once per service object. Returns
// whether it serves a bulk method (behind its wrapper): only then may the transport take more than
// max_message_bytes.
bool LimitUnaryMethods(grpc::Service* service, const std::string& full_name,
                       const ServerOptions& options) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
  if (descriptor == nullptr) {
    LogWarn("server.no_descriptor").Str("service", full_name);
    return false;
  }
  auto& methods = service->*Reach(ServiceMethods{});
  // The generated constructor adds the methods in the descriptor's order.
  if (static_cast<int>(methods.size()) != descriptor->method_count()) {
    LogWarn("server.method_count").Str("service", full_name);
    return false;
  }
  auto is_bulk = [&](const google::protobuf::MethodDescriptor& method) {
    std::string path = absl::StrCat("/", full_name, "/", method.name());
    return std::find(std::begin(kBulkMethods), std::end(kBulkMethods), path) !=
           std::end(kBulkMethods);
  };
  bool serves_bulk = false;
  for (int i = 0; i < descriptor->method_count(); ++i) {
    const auto* method = descriptor->method(i);
    grpc::internal::RpcServiceMethod* served = methods[i].get();
    if (served != nullptr && dynamic_cast<LimitedHandler*>(served->handler()) != nullptr) {
      serves_bulk = serves_bulk || is_bulk(*method);  // wrapped by an earlier host
      continue;
    }
    if (method->client_streaming() || method->server_streaming() || served == nullptr ||
        served->method_type() != grpc::internal::RpcMethod::NORMAL_RPC ||
        served->api_type() != grpc::internal::RpcServiceMethod::ApiType::SYNC) {
      continue;
    }
    auto& slot = served->*Reach(MethodHandlerSlot{});
    if (slot == nullptr) continue;
    bool bulk = is_bulk(*method);
    size_t limit =
        static_cast<size_t>(bulk ? options.bulk_message_bytes : options.max_message_bytes);
    // Bulk methods (imports, a billing run) are few and long by nature; no limit learns them.
    std::unique_ptr<ConcurrencyLimit> concurrency;
    if (!bulk && options.concurrency.enabled) {
      ConcurrencyLimitOptions limits = options.concurrency;
      limits.max = std::min(limits.max, options.max_threads);
      limits.min = std::min(limits.min, limits.max);
      concurrency = std::make_unique<ConcurrencyLimit>(limits);
    }
    // The wrapper owns the generated handler from now on.
    slot.reset(new LimitedHandler(slot.release(), limit, bulk ? 0 : options.max_repeated_entries,
                                  absl::StrCat(ShortName(*descriptor), ".", method->name()),
                                  std::move(concurrency)));
    serves_bulk = serves_bulk || bulk;
  }
  return serves_bulk;
}

// ---- Server reflection -------------------------------------------------------------------

// gRPC server reflection (grpc.reflection.v1alpha.ServerReflection, for grpcurl and the auth
// suite), served here instead of by gRPC's plugin. The plugin's handler decodes each request
// of its stream with the transport's limit, which is the bulk size in a server that serves a
// bulk method, and a decoded message keeps its unknown fields: 16 MiB of them are hundreds
// of MiB. This one receives each request as bytes, refuses one over max_message_bytes
// RESOURCE_EXHAUSTED (ending the stream) without decoding it, and reads the rest with a
// wire-format reader that keeps only the fields it answers and skips everything else.
// Answers come from the generated descriptor pool, as the plugin's do.
class BoundedReflection final : public grpc::Service {
 public:
  static constexpr char kName[] = "grpc.reflection.v1alpha.ServerReflection";

  BoundedReflection(std::vector<std::string> services, size_t limit)
      : services_(std::move(services)), limit_(limit) {
    using Stream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
    AddMethod(new grpc::internal::RpcServiceMethod(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        grpc::internal::RpcMethod::BIDI_STREAMING,
        new grpc::internal::BidiStreamingHandler<BoundedReflection, grpc::ByteBuffer,
                                                 grpc::ByteBuffer>(
            [](BoundedReflection* self, grpc::ServerContext*, Stream* stream) {
              return self->Serve(stream);
            },
            this)));
  }

 private:
  // A request: its host, and which question (the field number of the oneof) with its
  // argument.
  struct Request {
    std::string host;
    int question = 0;
    std::string arg;       // file name, symbol or type name
    std::string extendee;  // file_containing_extension
    int32_t extension_number = 0;
  };

  using Wire = google::protobuf::internal::WireFormatLite;

  static bool ParseExtensionRequest(const std::string& bytes, Request* out) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    while (uint32_t tag = in.ReadTag()) {
      int field = Wire::GetTagFieldNumber(tag);
      if (field == 1 && Wire::GetTagWireType(tag) == Wire::WIRETYPE_LENGTH_DELIMITED) {
        if (!Wire::ReadString(&in, &out->extendee)) return false;
      } else if (field == 2 && Wire::GetTagWireType(tag) == Wire::WIRETYPE_VARINT) {
        uint32_t n = 0;
        if (!in.ReadVarint32(&n)) return false;
        out->extension_number = static_cast<int32_t>(n);
      } else if (!Wire::SkipField(&in, tag)) {
        return false;
      }
    }
    return in.ConsumedEntireMessage();
  }

  static bool Parse(const std::string& bytes, Request* out) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    while (uint32_t tag = in.ReadTag()) {
      int field = Wire::GetTagFieldNumber(tag);
      bool delimited = Wire::GetTagWireType(tag) == Wire::WIRETYPE_LENGTH_DELIMITED;
      if (field == 1 && delimited) {
        if (!Wire::ReadString(&in, &out->host)) return false;
      } else if ((field == 3 || field == 4 || field == 6 || field == 7) && delimited) {
        out->question = field;
        if (!Wire::ReadString(&in, &out->arg)) return false;
      } else if (field == 5 && delimited) {
        out->question = field;
        std::string sub;
        if (!Wire::ReadString(&in, &sub) || !ParseExtensionRequest(sub, out)) return false;
      } else if (!Wire::SkipField(&in, tag)) {  // groups: bounded by the recursion limit
        return false;
      }
    }
    return in.ConsumedEntireMessage();
  }

  // `file` and what it imports, transitively, less what this stream has sent already.
  static void AddFiles(const google::protobuf::FileDescriptor* file, std::set<std::string>* sent,
                       std::vector<std::string>* out) {
    if (!sent->insert(file->name()).second) return;
    google::protobuf::FileDescriptorProto proto;
    file->CopyTo(&proto);
    out->push_back(proto.SerializeAsString());
    for (int i = 0; i < file->dependency_count(); ++i) AddFiles(file->dependency(i), sent, out);
  }

  std::string Answer(const Request& request, const std::string& raw,
                     std::set<std::string>* sent) const {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    std::string body;  // the answer's oneof member, encoded
    int member = 0;
    auto error = [&](grpc::StatusCode code, const std::string& message) {
      member = 7;
      body.clear();
      google::protobuf::io::StringOutputStream s(&body);
      google::protobuf::io::CodedOutputStream o(&s);
      Wire::WriteInt32(1, static_cast<int32_t>(code), &o);
      Wire::WriteString(2, message, &o);
    };
    auto files = [&](const google::protobuf::FileDescriptor* file) {
      std::vector<std::string> protos;
      AddFiles(file, sent, &protos);
      member = 4;
      google::protobuf::io::StringOutputStream s(&body);
      google::protobuf::io::CodedOutputStream o(&s);
      for (const auto& p : protos) Wire::WriteBytes(1, p, &o);
    };
    switch (request.question) {
      case 3:
        if (const auto* file = pool->FindFileByName(request.arg)) {
          files(file);
        } else {
          error(grpc::StatusCode::NOT_FOUND, "File not found.");
        }
        break;
      case 4:
        if (const auto* file = pool->FindFileContainingSymbol(request.arg)) {
          files(file);
        } else {
          error(grpc::StatusCode::NOT_FOUND, "Symbol not found.");
        }
        break;
      case 5: {
        const auto* type = pool->FindMessageTypeByName(request.extendee);
        const auto* extension =
            type ? pool->FindExtensionByNumber(type, request.extension_number) : nullptr;
        if (extension == nullptr) {
          error(grpc::StatusCode::NOT_FOUND, type ? "Extension not found." : "Type not found.");
        } else {
          files(extension->file());
        }
        break;
      }
      case 6: {
        const auto* type = pool->FindMessageTypeByName(request.arg);
        if (type == nullptr) {
          error(grpc::StatusCode::NOT_FOUND, "Type not found.");
          break;
        }
        std::vector<const google::protobuf::FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        member = 5;
        google::protobuf::io::StringOutputStream s(&body);
        google::protobuf::io::CodedOutputStream o(&s);
        Wire::WriteString(1, type->full_name(), &o);
        for (const auto* e : extensions) Wire::WriteInt32(2, e->number(), &o);
        break;
      }
      case 7: {
        member = 6;
        google::protobuf::io::StringOutputStream s(&body);
        google::protobuf::io::CodedOutputStream o(&s);
        for (const auto& name : services_) {
          std::string service;
          {
            google::protobuf::io::StringOutputStream ss(&service);
            google::protobuf::io::CodedOutputStream so(&ss);
            Wire::WriteString(1, name, &so);
          }
          Wire::WriteBytes(1, service, &o);
        }
        break;
      }
      default:
        error(grpc::StatusCode::UNIMPLEMENTED, "The request is not supported.");
    }
    std::string out;
    {
      google::protobuf::io::StringOutputStream s(&out);
      google::protobuf::io::CodedOutputStream o(&s);
      Wire::WriteString(1, request.host, &o);
      Wire::WriteBytes(2, raw, &o);  // original_request: the request as it came
      Wire::WriteBytes(member, body, &o);
    }
    return out;
  }

  grpc::Status Serve(grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
    std::set<std::string> sent;  // files this stream has sent
    grpc::ByteBuffer in;
    while (stream->Read(&in)) {
      if (in.Length() > limit_) {
        Metrics::Global().RecordRpc("reflection.ServerReflectionInfo",
                                    absl::StatusCode::kResourceExhausted, absl::ZeroDuration());
        LogWarn("rpc.too_large")
            .Str("method", "reflection.ServerReflectionInfo")
            .Int("bytes", in.Length());
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("request of ", in.Length(),
                                         " bytes: this method accepts at most ", limit_));
      }
      std::vector<grpc::Slice> slices;
      (void)in.Dump(&slices);
      std::string raw;
      for (const auto& slice : slices) {
        raw.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      Request request;
      if (!Parse(raw, &request)) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "request: not a valid ServerReflectionRequest");
      }
      std::string answer = Answer(request, raw, &sent);
      grpc::Slice slice(answer);
      if (!stream->Write(grpc::ByteBuffer(&slice, 1))) break;
    }
    return grpc::Status::OK;
  }

  std::vector<std::string> services_;
  size_t limit_;
};

// Takes gRPC's own reflection plugin out of a server (it is process-wide once anything
// asked for it): BoundedReflection serves the name.
class WithoutGrpcReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(),
                       [](const auto& p) { return p->name() == "proto_server_reflection"; }),
        plugins->end());
  }
};

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  // Reads the files now and again every reload_interval: a renewed Secret is picked up
  // without a restart; handshakes keep using the last good pair if a read fails.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file,
      std::max<int64_t>(1, absl::ToInt64Seconds(tls.reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::Status CheckReadable(const std::string& path, absl::string_view flag) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read the file"));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRepeatedFields(const google::protobuf::Message& message, int max_entries) {
  std::string field = FirstOverfullField(message, max_entries);
  if (field.empty()) return absl::OkStatus();
  return FieldError(field, absl::StrCat("at most ", max_entries, " entries"));
}

ServiceHost::ServiceHost(ServerOptions options, Db* db) : options_(std::move(options)), db_(db) {}

ServiceHost::~ServiceHost() {
  if (server_ != nullptr && !stopping_.load()) Shutdown();
  stop_watch_.HasBeenNotified() ? void() : stop_watch_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

void ServiceHost::AddService(grpc::Service* service, std::string health_name) {
  services_.emplace_back(service, std::move(health_name));
}

absl::Status ServiceHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  if (options_.tls.enabled()) {
    if (options_.tls.key_file.empty()) return absl::InvalidArgumentError("tls_key_file: required");
    for (auto [path, flag] : {std::pair{&options_.tls.cert_file, "tls_cert_file"},
                              {&options_.tls.key_file, "tls_key_file"},
                              {&options_.tls.client_ca_file, "tls_client_ca_file"}}) {
      if (absl::Status st = CheckReadable(*path, flag); !st.ok()) return st;
    }
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, ServerCredentials(options_.tls), &port_);
  bool serves_bulk = false;
  std::vector<std::string> names;
  for (auto& [service, name] : services_) {
    serves_bulk = LimitUnaryMethods(service, name, options_) || serves_bulk;
    builder.RegisterService(service);
    names.push_back(name);
  }
  builder.SetOption(std::make_unique<WithoutGrpcReflection>());
  if (options_.reflection) {
    names.push_back("grpc.health.v1.Health");
    names.push_back(BoundedReflection::kName);
    reflection_ = std::make_unique<BoundedReflection>(
        std::move(names), static_cast<size_t>(options_.max_message_bytes));
    builder.RegisterService(reflection_.get());
  }
  // Only a bulk method's wrapper and reflection (which measure before they decode) may see
  // more than max_message_bytes; everything else the transport refuses.
  builder.SetMaxReceiveMessageSize(
      serves_bulk ? std::max(options_.max_message_bytes, options_.bulk_message_bytes)
                  : options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_response_bytes);
  grpc::ResourceQuota quota("wuye-server");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  // The sync server keeps between MIN and MAX threads polling for calls; a thread that ends
  // a call while MAX already poll exits, and one is started when fewer than MIN poll. With
  // gRPC's default MAX of 2, four callers make it start and end threads all the time (and
  // each new thread pays for its own set-up, OpenSSL's generator among it).
  if (options_.sync_max_pollers > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                options_.sync_max_pollers);
  }
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
  // Channel arguments are ints: longer durations are capped (at about 24 days).
  auto millis = [](absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
  };
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, millis(options_.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             millis(options_.max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, millis(options_.max_connection_idle));
  // Keep idle connections from load balancers alive, and tolerate clients' pings.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  // No SO_REUSEPORT (gRPC's default on Linux): a second process given the same port would
  // start and silently take half of the calls; it fails to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen ", options_.listen, ": could not bind"));
  }
  SetServing(db_ == nullptr || db_->Ping().ok());
  if (db_ != nullptr) watcher_ = std::thread([this] { WatchDatabase(); });
  LogInfo("server.started")
      .Str("listen", options_.listen)
      .Int("port", port_)
      .Str("tls", !options_.tls.enabled()               ? "off"
                  : options_.tls.client_ca_file.empty() ? "server"
                                                        : "mutual");
  return absl::OkStatus();
}

void ServiceHost::SetServing(bool serving) {
  if (stopping_.load()) serving = false;
  bool was = serving_.exchange(serving);
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);  // the overall "" entry and every service name
  for (auto& [service, name] : services_) health->SetServingStatus(name, serving);
  Metrics::Global().Set("wuye_serving", serving ? 1 : 0);
  if (was != serving) LogInfo(serving ? "health.serving" : "health.not_serving");
}

void ServiceHost::WatchDatabase() {
  absl::Time last_ok = absl::Now();
  while (!stop_watch_.WaitForNotificationWithTimeout(options_.db_probe_interval)) {
    absl::Time now = absl::Now();
    if (db_->Ping().ok()) {
      last_ok = now;
      if (!serving_.load()) SetServing(true);
    } else if (serving_.load() && now - last_ok >= options_.db_unhealthy_after) {
      LogWarn("db.unreachable").Num("seconds", absl::ToDoubleSeconds(now - last_ok));
      SetServing(false);
    }
  }
}

void ServiceHost::Shutdown() {
  if (stopping_.exchange(true)) return;
  LogInfo("server.draining").Num("grace_s", absl::ToDoubleSeconds(options_.shutdown_grace));
  SetServing(false);
  if (!stop_watch_.HasBeenNotified()) stop_watch_.Notify();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.shutdown_grace));
  server_->Wait();
  LogInfo("server.stopped");
}

void ServiceHost::BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void IgnoreMutexDeadlockChecks() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

absl::Status ServiceHost::ServeUntilSignal() {
  if (absl::Status st = Start(); !st.ok()) return st;
  const int sig = WaitForTerminationSignal();
  LogInfo("server.signal").Int("signal", sig);
  Shutdown();
  return absl::OkStatus();
}

}  // namespace wuye
