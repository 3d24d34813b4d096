#include "services/counter/counter.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "shared/status.h"

namespace wuye::counter {
namespace {

pb::DayWindow Window(int h1, int m1, int h2, int m2) {
  pb::DayWindow w;
  w.mutable_start()->set_hours(h1);
  w.mutable_start()->set_minutes(m1);
  w.mutable_end()->set_hours(h2);
  w.mutable_end()->set_minutes(m2);
  return w;
}

absl::Status CheckTimeOfDay(const pb::TimeOfDay& t, const std::string& field) {
  if (t.hours() < 0 || t.hours() > 24 || t.minutes() < 0 || t.minutes() > 59 ||
      (t.hours() == 24 && t.minutes() != 0)) {
    return FieldError(field, "must be a time of day from 00:00 to 24:00");
  }
  return absl::OkStatus();
}

}  // namespace

pb::Settings DefaultSettings() {
  pb::Settings s;
  // 003_… Q10: 8:00–12:00, 14:00–18:00.
  *s.add_working_hours() = Window(8, 0, 12, 0);
  *s.add_working_hours() = Window(14, 0, 18, 0);
  // 003_… Q9: 装修平面图、电路走向图、给排水布置图, and the signed 装修责任承诺书.
  s.add_required_documents(pb::DOCUMENT_KIND_FLOOR_PLAN);
  s.add_required_documents(pb::DOCUMENT_KIND_WIRING_PLAN);
  s.add_required_documents(pb::DOCUMENT_KIND_PLUMBING_PLAN);
  s.add_required_documents(pb::DOCUMENT_KIND_UNDERTAKING);
  s.set_renovation_deposit_fen(200000);
  // 003_… Q3, answer "5522216": years, and months for lamps and switches.
  const std::pair<pb::DefectCategory, int32_t> warranty[] = {
      {pb::DEFECT_CATEGORY_STRUCTURE, 600},    {pb::DEFECT_CATEGORY_ROOF_WATERPROOFING, 60},
      {pb::DEFECT_CATEGORY_LEAKAGE, 60},       {pb::DEFECT_CATEGORY_FLOOR_CRACKING, 24},
      {pb::DEFECT_CATEGORY_DOORS_WINDOWS, 24}, {pb::DEFECT_CATEGORY_PIPE_BLOCKAGE, 24},
      {pb::DEFECT_CATEGORY_SANITARY_WARE, 12}, {pb::DEFECT_CATEGORY_LIGHTING_SWITCHES, 6},
      {pb::DEFECT_CATEGORY_OTHER, 0}};
  for (const auto& [category, months] : warranty) {
    pb::WarrantyPeriod* w = s.add_warranty();
    w->set_category(category);
    w->set_months(months);
  }
  s.set_card_replacement_fee_fen(2000);
  return s;
}

absl::Status CheckSettings(const pb::Settings& s, absl::string_view field) {
  const std::string f(field);
  if (s.working_hours_size() < 1 || s.working_hours_size() > 4) {
    return FieldError(f + ".working_hours", "must have one to four windows");
  }
  std::vector<std::pair<int, int>> spans;
  for (int i = 0; i < s.working_hours_size(); ++i) {
    const std::string wf = absl::StrCat(f, ".working_hours[", i, "]");
    WUYE_RETURN_IF_ERROR(CheckTimeOfDay(s.working_hours(i).start(), wf + ".start"));
    WUYE_RETURN_IF_ERROR(CheckTimeOfDay(s.working_hours(i).end(), wf + ".end"));
    int a = MinuteOf(s.working_hours(i).start()), b = MinuteOf(s.working_hours(i).end());
    if (b <= a) return FieldError(wf, "must end after it starts");
    spans.emplace_back(a, b);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) {
      return FieldError(f + ".working_hours", "windows must not overlap");
    }
  }
  for (int i = 0; i < s.required_documents_size(); ++i) {
    auto kind = s.required_documents(i);
    if (kind == pb::DOCUMENT_KIND_UNSPECIFIED || !pb::DocumentKind_IsValid(kind)) {
      return FieldError(absl::StrCat(f, ".required_documents[", i, "]"), "must be a document kind");
    }
  }
  if (s.renovation_deposit_fen() < 0 || s.renovation_deposit_fen() > 100000000) {
    return FieldError(f + ".renovation_deposit_fen", "must be 0 to 100000000 fen");
  }
  for (int i = 0; i < s.warranty_size(); ++i) {
    const auto& w = s.warranty(i);
    const std::string wf = absl::StrCat(f, ".warranty[", i, "]");
    if (w.category() == pb::DEFECT_CATEGORY_UNSPECIFIED ||
        !pb::DefectCategory_IsValid(w.category())) {
      return FieldError(wf + ".category", "must be a defect category");
    }
    if (w.months() < 0 || w.months() > 1200) return FieldError(wf + ".months", "must be 0 to 1200");
    for (int j = 0; j < i; ++j) {
      if (s.warranty(j).category() == w.category()) {
        return FieldError(wf + ".category", "is given twice");
      }
    }
  }
  if (s.card_replacement_fee_fen() < 0 || s.card_replacement_fee_fen() > 100000) {
    return FieldError(f + ".card_replacement_fee_fen", "must be 0 to 100000 fen");
  }
  return absl::OkStatus();
}

int32_t WarrantyMonths(const pb::Settings& s, pb::DefectCategory category) {
  for (const auto& w : s.warranty()) {
    if (w.category() == category) return w.months();
  }
  return 0;
}

absl::StatusOr<absl::CivilDay> DayOf(const pb::Date& d, absl::string_view field) {
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (d.year() < 1900 || d.year() > 9999 || day.year() != d.year() || day.month() != d.month() ||
      day.day() != d.day()) {
    return FieldError(field, "must be a real date");
  }
  return day;
}

pb::Date ToDate(absl::CivilDay day) {
  pb::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

std::string DayText(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

std::optional<absl::CivilDay> ParseDayText(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return std::nullopt;
  }
  return absl::CivilDay(y, m, d);
}

absl::Status Refused(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

int MinuteOf(const pb::TimeOfDay& t) { return t.hours() * 60 + t.minutes(); }

bool InWindows(const google::protobuf::RepeatedPtrField<pb::DayWindow>& windows, int minute) {
  for (const auto& w : windows) {
    if (minute >= MinuteOf(w.start()) && minute < MinuteOf(w.end())) return true;
  }
  return false;
}

}  // namespace wuye::counter
