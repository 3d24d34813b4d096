// The day's score entries (performance): a reward the owners' supervisory committee
// confirms, and a deduction.
#include "shared/proto_time.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::Status Day::ManualEntriesStep() {
  // What people saw during the day (scores.textproto).
  for (const v1::ScoreEntry& e : script_->score_entry()) {
    ppb::CreateManualEntryRequest req;
    req.set_request_id(Rid(absl::StrCat("score-", e.key())));
    req.set_staff_id(Staff(e.staff()));
    req.set_rule(e.rule());
    req.set_note(e.note());
    *req.mutable_occurred_at() = ToProtoTime(At(e.hour(), e.minute()));
    ppb::Line line;
    WUYE_RETURN_IF_ERROR(CallWhenKnown(
        absl::StrCat("performance.CreateManualEntry ", e.key()), As(e.by_role(), e.by()),
        [&](auto* ctx) { return perf_->CreateManualEntry(ctx, req, &line); }));
    if (line.pending()) {
      // The housing claim counts (+100 for the office, its points on the helper's form)
      // once the owners' supervisory committee's confirmation is recorded (000_…, 二.11).
      ppb::ConfirmQualityLineRequest confirm;
      confirm.set_request_id(Rid(absl::StrCat("score-confirm-", e.key())));
      confirm.set_quality_line_id(line.quality_line_id());
      confirm.set_confirmation_ref("业主监督委员会确认 (demo)");
      ppb::QualityLine confirmed;
      WUYE_RETURN_IF_ERROR(
          Call(absl::StrCat("performance.ConfirmQualityLine ", e.key()), As(e.by_role(), e.by()),
               [&](auto* ctx) { return perf_->ConfirmQualityLine(ctx, confirm, &confirmed); }));
    }
  }
  Log("2 manual score entries (a reward the supervisory committee confirmed, a deduction)");
  return absl::OkStatus();
}

}  // namespace wuye::demo
