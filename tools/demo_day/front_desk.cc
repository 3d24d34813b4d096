// The front desk (intake): the day's tickets on every channel, the complaints resolved and
// called back, the carrier's call log checked against the tickets, and the callbacks of the
// work dispatch finished.
#include <algorithm>

#include "shared/proto_time.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::StatusOr<ipb::Ticket> Day::GetTicket(const std::string& id) {
  ipb::GetTicketRequest req;
  req.set_id(id);
  ipb::Ticket t;
  WUYE_RETURN_IF_ERROR(Call("intake.GetTicket", Admin(),
                            [&](auto* ctx) { return intake_->GetTicket(ctx, req, &t); }));
  return t;
}

absl::Status Day::CreateTicket(const TicketPlan& p) {
  Estate& es = E(p.estate());
  ipb::CreateTicketRequest req;
  req.set_request_id(Rid(p.key()));
  ipb::Ticket* t = req.mutable_ticket();
  t->set_estate_id(es.id);
  if (!p.resident().empty()) {
    auto it = es.residents.find(p.resident());
    if (it == es.residents.end()) {
      return absl::FailedPreconditionError(absl::StrCat("directory: no resident ", p.resident()));
    }
    t->set_resident_id(it->second.id());
    if (p.common_area().empty()) t->mutable_location()->set_unit_id(it->second.unit_id());
  }
  if (!p.common_area().empty()) t->mutable_location()->set_common_area(p.common_area());
  t->set_channel(p.channel());
  t->set_kind(p.kind());
  t->set_summary(p.summary());
  t->set_category(p.category());
  t->set_priority(p.priority());
  t->set_service_item_code(p.item());
  t->set_major(p.major());
  if (!p.first_complaint().empty()) {
    t->set_first_complaint_id(s_.ticket_ids.at(p.first_complaint()));
  }
  t->set_needs_supervisor(p.needs_supervisor());
  t->set_caller_phone(p.phone());
  *t->mutable_received_time() = ToProtoTime(At(p.hour(), p.minute()));
  // A consultation is answered in the same call; a suggestion or praise right after.
  const bool consultation = p.kind() == cpb::TICKET_KIND_CONSULTATION;
  if (consultation) req.set_answer(p.answer());
  ipb::Ticket made;
  // Intake learns the estate from directory's event: NOT_FOUND until it has.
  WUYE_RETURN_IF_ERROR(
      CallWhenKnown(absl::StrCat("intake.CreateTicket ", p.key()), As("agent", p.agent()),
                    [&](auto* ctx) { return intake_->CreateTicket(ctx, req, &made); }));
  s_.ticket_ids[p.key()] = made.id();
  ticket_estate_[p.key()] = p.estate();
  if (!consultation && !p.answer().empty()) {
    ipb::AnswerTicketRequest ans;
    ans.set_request_id(Rid(absl::StrCat(p.key(), "-answer")));
    ans.set_id(made.id());
    ans.set_answer(p.answer());
    WUYE_RETURN_IF_ERROR(Call(absl::StrCat("intake.AnswerTicket ", p.key()), As("agent", p.agent()),
                              [&](auto* ctx) { return intake_->AnswerTicket(ctx, ans, &made); }));
  }
  return absl::OkStatus();
}

absl::Status Day::TicketsStep() {
  std::vector<TicketPlan> plans(script_->ticket().begin(), script_->ticket().end());
  std::stable_sort(plans.begin(), plans.end(), [](const TicketPlan& a, const TicketPlan& b) {
    return a.hour() * 60 + a.minute() < b.hour() * 60 + b.minute();
  });
  for (const TicketPlan& p : plans) WUYE_RETURN_IF_ERROR(CreateTicket(p));
  Log(absl::StrFormat("%d tickets on every channel, 3 emergencies at 09:30, 21:50 and 23:00",
                      plans.size()));

  // The consultation that needed a supervisor is answered by its owner; one answered
  // consultation is closed.
  ipb::AnswerTicketRequest ans;
  ans.set_request_id(Rid("t13-answer"));
  ans.set_id(s_.ticket_ids.at("t13-consultation-supervisor"));
  ans.set_answer("No: vacant flats pay the full fee (空置物业由业主交纳).");
  ipb::Ticket out;
  WUYE_RETURN_IF_ERROR(Call("intake.AnswerTicket", As("agent", "李娜"),
                            [&](auto* ctx) { return intake_->AnswerTicket(ctx, ans, &out); }));
  ipb::CloseTicketRequest close;
  close.set_request_id(Rid("t16-close"));
  close.set_id(s_.ticket_ids.at("t16-consultation"));
  close.set_reason("resident confirmed");
  WUYE_RETURN_IF_ERROR(Call("intake.CloseTicket", As("agent", "罗静"),
                            [&](auto* ctx) { return intake_->CloseTicket(ctx, close, &out); }));
  return absl::OkStatus();
}

absl::Status Day::ComplaintsStep() {
  auto resolve = [&](const std::string& key, const std::string& token, const char* result) {
    ipb::ResolveTicketRequest req;
    req.set_request_id(Rid(key + "-resolve"));
    req.set_id(s_.ticket_ids.at(key));
    req.set_result(result);
    ipb::Ticket out;
    return Call(absl::StrCat("intake.ResolveTicket ", key), token,
                [&](auto* ctx) { return intake_->ResolveTicket(ctx, req, &out); });
  };
  auto callback = [&](const std::string& key, cpb::Satisfaction sat, const char* comment) {
    const std::string& estate = ticket_estate_.at(key);
    ipb::RecordCallbackRequest req;
    req.set_request_id(Rid(key + "-callback"));
    req.mutable_callback()->set_ticket_id(s_.ticket_ids.at(key));
    req.mutable_callback()->set_satisfaction(sat);
    req.mutable_callback()->set_comment(comment);
    ipb::Callback out;
    return Call(absl::StrCat("intake.RecordCallback ", key),
                As("agent", Plan(estate).callback_agent()),
                [&](auto* ctx) { return intake_->RecordCallback(ctx, req, &out); });
  };
  // The first noise complaint is handled and called back; the resident comes back in the
  // afternoon (a second complaint), and is not satisfied with the second answer either.
  WUYE_RETURN_IF_ERROR(resolve("t04-complaint", As("agent", "王芳"),
                               "Neighbour reminded of the 08:00-20:00 renovation hours."));
  WUYE_RETURN_IF_ERROR(callback("t04-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(CreateTicket(script_->second_complaint()));
  WUYE_RETURN_IF_ERROR(resolve("t06-second-complaint", As("agent", "李娜"),
                               "Renovation permit suspended for three days."));
  WUYE_RETURN_IF_ERROR(callback("t06-second-complaint", cpb::SATISFACTION_UNSATISFIED,
                                "wants the renovation stopped"));
  WUYE_RETURN_IF_ERROR(resolve("t05-major-complaint", As("supervisor", "钱丽"),
                               "Lift repaired; the maintenance contractor was warned."));
  WUYE_RETURN_IF_ERROR(callback("t05-major-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(
      resolve("t15-complaint", As("agent", "罗静"), "Cleaning rota of floor 8 corrected."));
  WUYE_RETURN_IF_ERROR(callback("t15-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(
      resolve("t17-complaint", As("agent", "冯佳"), "Apologised; the hedge will be replanted."));
  WUYE_RETURN_IF_ERROR(callback("t17-complaint", cpb::SATISFACTION_VERY_SATISFIED, ""));
  // The tower's corridor complaint is verified against the cleaner (−20 on her sheet).
  ipb::VerifyComplaintRequest verify;
  verify.set_request_id(Rid("t15-verify"));
  verify.set_ticket_id(s_.ticket_ids.at("t15-complaint"));
  verify.set_staff_id(Staff("韩梅"));
  verify.set_finding("Cleaning log shows floor 8 skipped on two days.");
  ipb::ComplaintVerification verified;
  // NOT_FOUND until intake's copy of the staff has her (over the bus).
  WUYE_RETURN_IF_ERROR(
      CallWhenKnown("intake.VerifyComplaint", As("supervisor", "何敏"),
                    [&](auto* ctx) { return intake_->VerifyComplaint(ctx, verify, &verified); }));
  Log("5 complaints resolved and called back (one major, one second complaint, one "
      "unsatisfied → reopened); one verified against the cleaner");
  return absl::OkStatus();
}

absl::Status Day::CarrierStep() {
  // The carrier's log of the sunny hotline: the recorded calls, one unanswered call, and
  // two calls that nobody recorded: at 19:05 from an owner's number (王建国, 000_…, 二.5:
  // 有业主通话记录而物业公司未记录的,每条扣20分: −20 for the office and the agent on duty),
  // and at 19:40 from a number of no resident (a finding to review, not a deduction).
  ipb::ImportCarrierCallLogRequest req;
  req.set_request_id(Rid("carrier-log-sunny"));
  req.set_estate_id(E("sunny").id);
  auto add = [&](int h, int m, const std::string& phone, int seconds) {
    ipb::CarrierCall* c = req.add_calls();
    *c->mutable_call_time() = ToProtoTime(At(h, m) + absl::Seconds(20));
    c->set_caller_phone(phone);
    c->set_duration_seconds(seconds);
  };
  std::vector<TicketPlan> plans(script_->ticket().begin(), script_->ticket().end());
  plans.push_back(script_->second_complaint());
  for (const TicketPlan& p : plans) {
    if (p.channel() == cpb::CHANNEL_HOTLINE && p.estate() == "sunny" && !p.phone().empty()) {
      add(p.hour(), p.minute(), p.phone(), 60 + static_cast<int>(Hash(p.key()) % 240));
    }
  }
  for (const v1::CarrierCall& c : script_->carrier_call()) {
    add(c.hour(), c.minute(), c.phone(), c.seconds());
  }
  ipb::ImportCarrierCallLogResponse resp;
  WUYE_RETURN_IF_ERROR(
      Call("intake.ImportCarrierCallLog", As("supervisor", "钱丽"),
           [&](auto* ctx) { return intake_->ImportCarrierCallLog(ctx, req, &resp); }));
  s_.carrier_calls = resp.calls();
  s_.carrier_matched = resp.matched();
  s_.carrier_skipped = resp.skipped();
  s_.carrier_findings = resp.findings_size() + resp.already_found();
  Log(absl::StrFormat("carrier log: %d calls, %d matched, %d unanswered, %d unrecorded",
                      resp.calls(), resp.matched(), resp.skipped(), s_.carrier_findings));
  return absl::OkStatus();
}

absl::Status Day::HotlineStep() {
  // Issue 27 §3: a resident of Sunny Garden complained to the city's 12345 hotline at 10:20
  // about the bins by building 2; the city's platform forwards the order with 7 working days
  // to reply. The desk imports the platform's file (the "csv" format, the city's name for
  // the estate mapped to its id), replies, and exports the reply for the platform — the
  // export is what makes it on time.
  const Estate& es = E("sunny");
  const std::string order = absl::StrCat("SZ", absl::FormatCivilTime(day_), "-0001");
  std::string file =
      "order_number,received_time,deadline_working_days,estate,category,content,caller_name,"
      "caller_phone\n";
  absl::StrAppend(&file, order, ",",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", At(10, 20), absl::FixedTimeZone(8 * 3600)),
                  ",7,阳光花园,环境卫生,\"2号楼旁垃圾桶满溢两天无人清运，气味很大\",",
                  "市民,137 0000 4521\n");
  ipb::ImportHotlineOrdersRequest req;
  req.set_request_id(Rid("hotline-import"));
  req.set_format("csv");
  req.set_city("shenzhen");
  req.set_content(file);
  (*req.mutable_estate_refs())["阳光花园"] = es.id;
  ipb::ImportHotlineOrdersResponse imported;
  const std::string agent = As("agent", "王芳");
  WUYE_RETURN_IF_ERROR(Call("intake.ImportHotlineOrders", agent, [&](auto* ctx) {
    return intake_->ImportHotlineOrders(ctx, req, &imported);
  }));
  if (imported.lines_size() != 1 || imported.lines(0).ticket_id().empty()) {
    return absl::InternalError(absl::StrCat("intake.ImportHotlineOrders: the order was not taken: ",
                                            imported.lines_size() > 0
                                                ? imported.lines(0).reason()
                                                : std::string("no line")));
  }
  s_.hotline.order_number = order;
  s_.hotline.ticket_id = imported.lines(0).ticket_id();
  WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(s_.hotline.ticket_id));
  s_.hotline.due_reason = t.external_due_reason();

  ipb::RecordHotlineReplyRequest reply;
  reply.set_request_id(Rid("hotline-reply"));
  reply.set_ticket_id(s_.hotline.ticket_id);
  reply.set_reply("已安排保洁当日清运2号楼旁垃圾桶并消毒，增加每日清运一次；已电话告知诉求人。");
  ipb::HotlineReply replied;
  WUYE_RETURN_IF_ERROR(Call("intake.RecordHotlineReply", agent, [&](auto* ctx) {
    return intake_->RecordHotlineReply(ctx, reply, &replied);
  }));
  s_.hotline.replied = true;

  ipb::ExportHotlineRepliesRequest exp;
  exp.set_request_id(Rid("hotline-export"));
  exp.set_format("csv");
  exp.set_city("shenzhen");
  ipb::ExportHotlineRepliesResponse exported;
  WUYE_RETURN_IF_ERROR(Call("intake.ExportHotlineReplies", agent, [&](auto* ctx) {
    return intake_->ExportHotlineReplies(ctx, exp, &exported);
  }));
  s_.hotline.exported = exported.replies_size();
  // On time by the export that delivered it to the platform (issue 27 §3), not by the reply
  // recorded.
  s_.hotline.on_time = exported.replies_size() > 0 && exported.replies(0).on_time();
  Log(absl::StrFormat("12345 order %s imported (%s), replied and exported %s, %d reply exported",
                      order, s_.hotline.due_reason, s_.hotline.on_time ? "in time" : "late",
                      exported.replies_size()));

  // The city calls the resident back at 17:30 (政府回访) and its platform sends the result:
  // satisfied. A fixed time of the day, so that the day run again imports the same file
  // (already imported, nothing changes).
  ipb::ImportHotlineCallbacksRequest cb;
  cb.set_request_id(Rid("hotline-callback"));
  cb.set_format("csv");
  cb.set_city("shenzhen");
  cb.set_content(absl::StrCat(
      "order_number,result,callback_time\n", order, ",满意,",
      absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", At(17, 30), absl::FixedTimeZone(8 * 3600)), "\n"));
  ipb::ImportHotlineCallbacksResponse rated;
  WUYE_RETURN_IF_ERROR(Call("intake.ImportHotlineCallbacks", agent, [&](auto* ctx) {
    return intake_->ImportHotlineCallbacks(ctx, cb, &rated);
  }));
  if (rated.recorded() + rated.already_imported() != 1) {
    return absl::InternalError(
        absl::StrCat("intake.ImportHotlineCallbacks: the callback was not taken: ",
                     rated.lines_size() > 0 ? rated.lines(0).reason() : std::string("no line")));
  }
  s_.hotline.callbacks_recorded = rated.recorded() + rated.already_imported();
  WUYE_ASSIGN_OR_RETURN(t, GetTicket(s_.hotline.ticket_id));
  s_.hotline.government_result =
      EnumWord(ipb::HotlineResult_Name(t.hotline().government_result()), "HOTLINE_RESULT_");

  // The estate's 12345 month, as the supervisor reads it.
  ipb::GetHotlineReportRequest rep;
  rep.set_estate_id(es.id);
  *rep.mutable_month() = MonthOf(day_);
  ipb::HotlineReport report;
  WUYE_RETURN_IF_ERROR(Call("intake.GetHotlineReport", Admin(), [&](auto* ctx) {
    return intake_->GetHotlineReport(ctx, rep, &report);
  }));
  s_.hotline.has_report = true;
  s_.hotline.report_orders = report.orders();
  s_.hotline.report_replied = report.replied();
  s_.hotline.report_replied_on_time = report.replied_on_time();
  s_.hotline.report_callbacks = report.callbacks();
  s_.hotline.report_satisfied = report.satisfied() + report.basically_satisfied();
  s_.hotline.report_unsatisfied = report.unsatisfied();
  s_.hotline.report_on_time_bp = report.on_time_bp();
  s_.hotline.report_satisfaction_bp = report.satisfaction_bp();
  Log(absl::StrFormat(
      "12345 government callback: %s; the estate's month: %d order(s), %d "
      "replied (%d on time), %d callback(s), satisfaction %s",
      s_.hotline.government_result, report.orders(), report.replied(), report.replied_on_time(),
      report.callbacks(), Percent(report.satisfaction_bp())));
  return absl::OkStatus();
}

absl::Status Day::CallbacksStep() {
  // Repairs the technicians finished come back from dispatch as resolved tickets; those
  // due for a callback are called.
  int made = 0;
  for (const auto& [key, id] : s_.ticket_ids) {
    WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
    if (t.state() != evpb::TICKET_STATE_CALLBACK_DUE) continue;
    ipb::RecordCallbackRequest req;
    req.set_request_id(Rid(key + "-callback"));
    req.mutable_callback()->set_ticket_id(id);
    req.mutable_callback()->set_satisfaction(cpb::SATISFACTION_SATISFIED);
    ipb::Callback out;
    WUYE_RETURN_IF_ERROR(Call(absl::StrCat("intake.RecordCallback ", key),
                              As("agent", Plan(ticket_estate_.at(key)).callback_agent()),
                              [&](auto* ctx) { return intake_->RecordCallback(ctx, req, &out); }));
    ++made;
  }
  Log(absl::StrFormat("%d callbacks of finished work", made));
  return absl::OkStatus();
}

}  // namespace wuye::demo
