// The protocol pieces and the gateway's routing, without sockets (the cross-process test,
// tests/gateway_test.cc, drives it over HTTP against the services).
#include "services/gateway/connect.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/gateway/gateway.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::gateway {
namespace {

namespace pb = google::protobuf;

pb::Struct Parse(const std::string& json) {
  pb::Struct s;
  EXPECT_TRUE(pb::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

TEST(ConnectTest, EveryCodeHasItsNameAndHttpStatus) {
  // connectrpc.com/docs/protocol#error-codes
  struct Row {
    grpc::StatusCode code;
    const char* name;
    int http;
  } rows[] = {
      {grpc::StatusCode::CANCELLED, "canceled", 499},
      {grpc::StatusCode::UNKNOWN, "unknown", 500},
      {grpc::StatusCode::INVALID_ARGUMENT, "invalid_argument", 400},
      {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline_exceeded", 504},
      {grpc::StatusCode::NOT_FOUND, "not_found", 404},
      {grpc::StatusCode::ALREADY_EXISTS, "already_exists", 409},
      {grpc::StatusCode::PERMISSION_DENIED, "permission_denied", 403},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted", 429},
      {grpc::StatusCode::FAILED_PRECONDITION, "failed_precondition", 400},
      {grpc::StatusCode::ABORTED, "aborted", 409},
      {grpc::StatusCode::OUT_OF_RANGE, "out_of_range", 400},
      {grpc::StatusCode::UNIMPLEMENTED, "unimplemented", 501},
      {grpc::StatusCode::INTERNAL, "internal", 500},
      {grpc::StatusCode::UNAVAILABLE, "unavailable", 503},
      {grpc::StatusCode::DATA_LOSS, "data_loss", 500},
      {grpc::StatusCode::UNAUTHENTICATED, "unauthenticated", 401},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(ConnectCodeName(r.code), r.name);
    EXPECT_EQ(HttpStatusOf(r.code), r.http) << r.name;
  }
}

TEST(ConnectTest, ErrorJsonCarriesTheFieldViolation) {
  grpc::Status st = ToGrpcStatus(FieldError("ticket.unit_id", "required"));
  pb::Struct e = Parse(ConnectErrorJson(st.error_code(), st.error_message(), st.error_details()));
  EXPECT_EQ(e.fields().at("code").string_value(), "invalid_argument");
  EXPECT_EQ(e.fields().at("message").string_value(), "ticket.unit_id: required");
  const auto& details = e.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 1);
  const auto& d = details.values(0).struct_value().fields();
  EXPECT_EQ(d.at("type").string_value(), "google.rpc.BadRequest");
  // value: the detail's bytes in base64, padding left off
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(d.at("value").string_value(), &bytes));
  EXPECT_EQ(d.at("value").string_value().find('='), std::string::npos);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(bad.ParseFromString(bytes));
  EXPECT_EQ(bad.field_violations(0).field(), "ticket.unit_id");
  // debug: the same, readable
  EXPECT_EQ(d.at("debug").struct_value().fields().at("fieldViolations").list_value().values(0)
                .struct_value().fields().at("field").string_value(),
            "ticket.unit_id");
}

// Found by the gateway_http fuzz target: an overlong sequence in a message (a client's
// path quoted in "no method …") came out as is, and the error was not valid UTF-8 JSON.
TEST(ConnectTest, ErrorJsonIsValidUtf8WhateverTheMessage) {
  std::string json = ConnectErrorJson(grpc::StatusCode::UNIMPLEMENTED, "no method /\xE0\x97\x9A\xFF/物业", "");
  EXPECT_GE(Utf8Chars(json), 0) << json;
  pb::Struct s = Parse(json);
  EXPECT_EQ(s.fields().at("message").string_value(), "no method /\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD/物业");
  EXPECT_EQ(Parse(ConnectErrorJson(grpc::StatusCode::NOT_FOUND, "单元 no such unit", "")).fields().at("message").string_value(),
            "单元 no such unit");
  // A trailer value that is not text is left out of the end of a stream, as of gRPC-Web's.
  std::string end = ConnectEndStreamJson(grpc::StatusCode::OK, "", "", {{"x-a", "\xE0\x97\x9A"}, {"x-b", "ok"}});
  EXPECT_GE(Utf8Chars(end), 0) << end;
  EXPECT_EQ(end.find("x-a"), std::string::npos) << end;
  EXPECT_NE(end.find("x-b"), std::string::npos) << end;
}

TEST(ConnectTest, EndStreamHasErrorAndMetadata) {
  std::multimap<std::string, std::string> trailers = {{"x-trace-id", "abc"}, {"grpc-status", "0"}};
  pb::Struct ok = Parse(ConnectEndStreamJson(grpc::StatusCode::OK, "", "", trailers));
  EXPECT_FALSE(ok.fields().contains("error"));
  const auto& md = ok.fields().at("metadata").struct_value().fields();
  EXPECT_EQ(md.at("x-trace-id").list_value().values(0).string_value(), "abc");
  EXPECT_FALSE(md.contains("grpc-status"));
  pb::Struct bad = Parse(ConnectEndStreamJson(grpc::StatusCode::UNAUTHENTICATED, "no token", "", {}));
  EXPECT_EQ(bad.fields().at("error").struct_value().fields().at("code").string_value(), "unauthenticated");
}

TEST(ConnectTest, GrpcWebTrailersPercentEncodeTheMessage) {
  std::string t = GrpcWebTrailers(grpc::StatusCode::NOT_FOUND, "工单 100%", "", {{"x-trace-id", "t1"}});
  EXPECT_NE(t.find("grpc-status: 5\r\n"), std::string::npos);
  EXPECT_NE(t.find("grpc-message: %E5%B7%A5%E5%8D%95 100%25\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("x-trace-id: t1\r\n"), std::string::npos);
}

TEST(ConnectTest, EnvelopesRoundTripAndRefuseTruncation) {
  std::string body = Envelope(0, "abc") + Envelope(kFlagEndStream, "");
  auto frames = SplitEnvelopes(body, 100);
  ASSERT_TRUE(frames.ok());
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].payload, "abc");
  EXPECT_EQ((*frames)[1].flags, kFlagEndStream);
  EXPECT_EQ(SplitEnvelopes(body.substr(0, 6), 100).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitEnvelopes("\0\0\0", 100).status().code(), absl::StatusCode::kOk);  // empty view
  EXPECT_EQ(SplitEnvelopes(Envelope(0, std::string(101, 'x')), 100).status().code(),
            absl::StatusCode::kResourceExhausted);
  // A length of 4 GiB - 1 is refused by the limit before anything is allocated.
  EXPECT_EQ(SplitEnvelopes(std::string("\0\xff\xff\xff\xff", 5), 100).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ConnectTest, Timeouts) {
  EXPECT_EQ(**ParseConnectTimeout("1500"), absl::Milliseconds(1500));
  EXPECT_FALSE(ParseConnectTimeout("").value().has_value());
  EXPECT_FALSE(ParseConnectTimeout("12345678901").ok());  // 11 digits
  EXPECT_FALSE(ParseConnectTimeout("-1").ok());
  EXPECT_FALSE(ParseConnectTimeout("1.5").ok());
  EXPECT_EQ(**ParseGrpcTimeout("10S"), absl::Seconds(10));
  EXPECT_EQ(**ParseGrpcTimeout("250m"), absl::Milliseconds(250));
  EXPECT_FALSE(ParseGrpcTimeout("10").ok());
  EXPECT_FALSE(ParseGrpcTimeout("S").ok());
  EXPECT_FALSE(ParseGrpcTimeout("123456789S").ok());
}

TEST(ConnectTest, ContentTypes) {
  EXPECT_EQ(FormatOfContentType("application/json; charset=utf-8")->protocol, Protocol::kConnect);
  EXPECT_EQ(FormatOfContentType("Application/Proto")->codec, Codec::kProto);
  EXPECT_EQ(FormatOfContentType("application/connect+json")->protocol, Protocol::kConnectStream);
  EXPECT_EQ(FormatOfContentType("application/grpc-web")->protocol, Protocol::kGrpcWeb);
  EXPECT_EQ(FormatOfContentType("application/grpc-web-text")->protocol, Protocol::kGrpcWebText);
  EXPECT_FALSE(FormatOfContentType("text/plain").has_value());
  EXPECT_FALSE(FormatOfContentType("").has_value());
  EXPECT_EQ(ContentTypeOf({Protocol::kConnectStream, Codec::kProto}), "application/connect+proto");
}

TEST(ConnectTest, GetQuery) {
  auto q = ParseGetQuery({{"connect", "v1"}, {"encoding", "json"}, {"message", R"({"name":"x"})"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->message, R"({"name":"x"})");
  // URL-safe base64 without padding, as Connect clients send binary messages
  auto b = ParseGetQuery({{"encoding", "proto"}, {"base64", "1"}, {"message", "_-8"}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->message, "\xff\xef");
  EXPECT_EQ(ParseGetQuery({{"encoding", "xml"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGetQuery({{"encoding", "json"}, {"compression", "gzip"}}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseGetQuery({{"encoding", "json"}, {"connect", "v2"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- routing, from the compiled-in descriptors -----------------------------------------

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GatewayOptions o;
    o.upstream = "127.0.0.1:1";  // never called here
    o.cors_origins = {"https://desk.example.com"};
    auto g = Gateway::Create(o);
    ASSERT_TRUE(g.ok()) << g.status();
    gateway_ = std::move(*g);
  }
  HttpRequest Post(std::string path, std::string content_type) {
    HttpRequest r;
    r.method = "POST";
    r.path = std::move(path);
    r.headers["content-type"] = std::move(content_type);
    return r;
  }
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(RoutingTest, EveryServiceMethodIsFoundByItsPath) {
  EXPECT_GT(gateway_->route_count(), 100u);
  const Route* watch = gateway_->Find("/wuye.duty.v1.DutyService/WatchTasks");
  ASSERT_NE(watch, nullptr);
  EXPECT_TRUE(watch->server_streaming);
  EXPECT_EQ(watch->service, "duty");
  const Route* get = gateway_->Find("/wuye.intake.v1.IntakeService/GetTicket");
  ASSERT_NE(get, nullptr);
  EXPECT_TRUE(get->no_side_effects);
  EXPECT_FALSE(gateway_->Find("/wuye.intake.v1.IntakeService/CreateTicket")->no_side_effects);
  // The audited reads of health data are not plain reads.
  EXPECT_FALSE(gateway_->Find("/wuye.eldercare.v1.ElderCareService/GetHealthCard")->no_side_effects);
  EXPECT_EQ(gateway_->Find("/wuye.directory.v1.DirectoryService/ImportUnits")->max_body, 16u << 20);
  EXPECT_EQ(gateway_->Find("/wuye.intake.v1.IntakeService/nope"), nullptr);
}

TEST_F(RoutingTest, RefusalsFromTheHead) {
  auto status_of = [&](const HttpRequest& r) {
    auto v = gateway_->OnHead(r);
    return v.refuse ? v.refuse->status : 0;
  };
  EXPECT_EQ(status_of(Post("/wuye.intake.v1.IntakeService/Nope", "application/json")), 501);
  EXPECT_EQ(status_of(Post("/x", "application/json")), 501);
  EXPECT_EQ(status_of(Post("/wuye.intake.v1.IntakeService/GetTicket", "text/xml")), 415);
  // a stream asked for in the unary content type, and the other way round
  EXPECT_EQ(status_of(Post("/wuye.duty.v1.DutyService/WatchTasks", "application/json")), 415);
  EXPECT_EQ(status_of(Post("/wuye.intake.v1.IntakeService/GetTicket", "application/connect+json")), 200);
  HttpRequest get;
  get.method = "GET";
  get.path = "/wuye.intake.v1.IntakeService/CreateTicket";
  EXPECT_EQ(status_of(get), 405);
  get.path = "/wuye.intake.v1.IntakeService/GetTicket";
  EXPECT_EQ(status_of(get), 0);
  HttpRequest del = Post("/wuye.intake.v1.IntakeService/GetTicket", "application/json");
  del.method = "DELETE";
  EXPECT_EQ(status_of(del), 405);
  HttpRequest gz = Post("/wuye.intake.v1.IntakeService/GetTicket", "application/json");
  gz.headers["content-encoding"] = "gzip";
  EXPECT_EQ(status_of(gz), 501);
  HttpRequest v2 = Post("/wuye.intake.v1.IntakeService/GetTicket", "application/json");
  v2.headers["connect-protocol-version"] = "2";
  EXPECT_EQ(status_of(v2), 400);
  auto ok = gateway_->OnHead(Post("/wuye.intake.v1.IntakeService/GetTicket", "application/json"));
  EXPECT_FALSE(ok.refuse.has_value());
  EXPECT_GE(ok.max_body, 1u << 20);
}

TEST_F(RoutingTest, UnknownJsonFieldIsRefusedNamingTheBody) {
  const Route* r = gateway_->Find("/wuye.intake.v1.IntakeService/GetTicket");
  auto bad = DecodeRequest(*r, Codec::kJson, R"({"nonsense": 1})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(bad.status()), "body");
  EXPECT_TRUE(DecodeRequest(*r, Codec::kJson, "").ok());  // an empty body is the empty message
  EXPECT_FALSE(DecodeRequest(*r, Codec::kJson, "{").ok());
}

TEST_F(RoutingTest, CorsOnlyForConfiguredOrigins) {
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.path = "/wuye.intake.v1.IntakeService/GetTicket";
  pre.headers["origin"] = "https://desk.example.com";
  pre.headers["access-control-request-method"] = "POST";
  HttpResponse yes = gateway_->OnRequest(pre);
  EXPECT_EQ(yes.status, 204);
  bool allowed = false;
  for (const auto& [k, v] : yes.headers) allowed |= k == "Access-Control-Allow-Origin" && v == "https://desk.example.com";
  EXPECT_TRUE(allowed);
  pre.headers["origin"] = "https://evil.example.com";
  HttpResponse no = gateway_->OnRequest(pre);
  EXPECT_EQ(no.status, 403);
  for (const auto& [k, v] : no.headers) EXPECT_NE(k, "Access-Control-Allow-Origin");
}

// Found by the gateway_http fuzz target: a forwarded header with a byte outside printable
// ASCII (here "Bearer \xff") made gRPC abort the gateway when the call started. It is
// refused from the head, naming the header, and never reaches gRPC.
TEST_F(RoutingTest, ForwardedHeaderThatIsNotMetadataIsRefusedNamingIt) {
  for (const char* name : {"authorization", "x-trace-id", "traceparent", "tracestate"}) {
    HttpRequest r = Post("/wuye.intake.v1.IntakeService/GetTicket", "application/json");
    r.headers[name] = "Bearer \xff";
    auto v = gateway_->OnHead(r);
    ASSERT_TRUE(v.refuse.has_value()) << name;
    EXPECT_EQ(v.refuse->status, 400) << name;
    EXPECT_NE(v.refuse->body.find("invalid_argument"), std::string::npos) << v.refuse->body;
    EXPECT_NE(v.refuse->body.find(absl::StrCat("\"field\":\"", name, "\"")), std::string::npos)
        << v.refuse->body;
    r.body = "{}";
    EXPECT_EQ(gateway_->OnRequest(r).status, 400) << name;  // and OnRequest, should it be called
    r.headers[name] = "tab\there";
    EXPECT_TRUE(gateway_->OnHead(r).refuse.has_value()) << name;
  }
}

// Found by the gateway_http fuzz target's harness: the body of every gRPC-Web-text request
// was refused as "not base64" (absl::Base64Unescape decoded in place). Its message must
// reach the service: here a closed port, so the answer is UNAVAILABLE (14), not 3.
TEST_F(RoutingTest, GrpcWebTextBodyIsDecodedAndSentOn) {
  HttpRequest r = Post("/wuye.intake.v1.IntakeService/GetTicket", "application/grpc-web-text");
  r.body = absl::Base64Escape(Envelope(0, "\x0a\x02id"));
  ASSERT_FALSE(gateway_->OnHead(r).refuse.has_value());
  HttpResponse answer = gateway_->OnRequest(r);
  EXPECT_EQ(answer.status, 200);
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(answer.body, &raw));
  auto frames = SplitEnvelopes(raw, raw.size());
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 1u);
  EXPECT_EQ((*frames)[0].flags, kFlagGrpcWebTrailer);
  EXPECT_TRUE(absl::StartsWith((*frames)[0].payload, "grpc-status: 14\r\n")) << (*frames)[0].payload;
  // Not base64 at all: refused, naming the body.
  r.body = "%%%";
  answer = gateway_->OnRequest(r);
  ASSERT_TRUE(absl::Base64Unescape(answer.body, &raw));
  EXPECT_NE(raw.find("grpc-status: 3\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("not base64"), std::string::npos) << raw;
}

TEST(GatewayOptionsTest, BadSettingsNameTheirFlag) {
  GatewayOptions o;
  o.cors_origins = {"desk.example.com"};
  EXPECT_EQ(ErrorField(Gateway::Create(o).status()), "cors_origins");
  GatewayOptions t;
  t.default_timeout = absl::Minutes(10);
  EXPECT_EQ(ErrorField(Gateway::Create(t).status()), "default_timeout");
}

}  // namespace
}  // namespace wuye::gateway
