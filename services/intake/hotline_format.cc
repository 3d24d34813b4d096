#include "services/intake/hotline_format.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "shared/phone_key.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::intake {
namespace {

// China Standard Time: a time the file writes without an offset is the platform's own
// (every 12345 platform runs on Beijing time).
const absl::TimeZone& Beijing() {
  static const absl::TimeZone tz = absl::FixedTimeZone(8 * 3600);
  return tz;
}

struct Record {
  int line = 0;  // the record's number; the header is 1
  std::vector<std::string> fields;
};

// RFC 4180: fields separated by commas, records by LF or CR LF, a field in double quotes
// may hold commas, line breaks and doubled quotes. A UTF-8 byte-order mark is skipped.
// Blank records (an empty line) are skipped but counted.
absl::StatusOr<std::vector<Record>> SplitCsv(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<Record> out;
  Record cur;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1;
  auto end_field = [&] {
    cur.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    cur.line = line++;
    if (!(cur.fields.size() == 1 && cur.fields[0].empty())) out.push_back(std::move(cur));
    cur = Record();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started && field.empty()) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      end_record();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // CR LF: the LF ends the record.
    } else {
      field.push_back(c);
      field_started = true;
    }
    if (static_cast<int>(out.size()) > kMaxHotlineLines + 1) {
      return FieldError("content", absl::StrCat("at most ", kMaxHotlineLines, " lines"));
    }
  }
  if (quoted) return FieldError("content", absl::StrCat("line ", line, ": a quote is not closed"));
  if (!field.empty() || !cur.fields.empty()) end_record();
  if (static_cast<int>(out.size()) > kMaxHotlineLines + 1) {
    return FieldError("content", absl::StrCat("at most ", kMaxHotlineLines, " lines"));
  }
  return out;
}

// The header's columns by name (trimmed, lower case); every required one present, none twice.
absl::StatusOr<absl::flat_hash_map<std::string, size_t>> Header(
    const std::vector<Record>& records, std::initializer_list<absl::string_view> required) {
  if (records.empty() || records[0].line != 1) {
    return FieldError("content", "the first line must be the header row");
  }
  absl::flat_hash_map<std::string, size_t> cols;
  for (size_t i = 0; i < records[0].fields.size(); ++i) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(records[0].fields[i]));
    if (name.empty()) continue;
    if (!cols.emplace(name, i).second) {
      return FieldError("content", absl::StrCat("header: column ", name, " twice"));
    }
  }
  for (absl::string_view r : required) {
    if (!cols.contains(r)) {
      return FieldError("content", absl::StrCat("header: column ", r, " missing"));
    }
  }
  return cols;
}

// A line's value of a column ("" when the column is absent), trimmed of spaces.
class Row {
 public:
  Row(const Record& r, const absl::flat_hash_map<std::string, size_t>& cols) : r_(r), cols_(cols) {}
  std::string Get(absl::string_view name) const {
    auto it = cols_.find(name);
    if (it == cols_.end() || it->second >= r_.fields.size()) return "";
    return std::string(absl::StripAsciiWhitespace(r_.fields[it->second]));
  }

 private:
  const Record& r_;
  const absl::flat_hash_map<std::string, size_t>& cols_;
};

// The message of a status without its "field: " prefix (the field is reported apart).
std::string ReasonOf(const absl::Status& s, absl::string_view field) {
  std::string m(s.message());
  std::string prefix = absl::StrCat(field, ": ");
  if (absl::StartsWith(m, prefix)) m = m.substr(prefix.size());
  return m;
}

// "2026-09-30T10:00:00+08:00" (RFC 3339), or "2026-09-30 10:00[:00]" in Beijing time; a
// bare date when `date_ends_day` ("2026-10-09": the end of that day, 23:59:59).
std::optional<absl::Time> ParseWhen(absl::string_view text, bool date_ends_day) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  for (const char* f : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"}) {
    if (absl::ParseTime(f, text, Beijing(), &t, &err)) return t;
  }
  absl::CivilDay day;
  if (date_ends_day && text.size() == 10 && absl::ParseCivilTime(text, &day)) {
    return absl::FromCivil(absl::CivilSecond(day) + (24 * 3600 - 1), Beijing());
  }
  return std::nullopt;
}

bool InRange(absl::Time t) {
  return t >= absl::FromCivil(absl::CivilDay(2000, 1, 1), absl::UTCTimeZone()) &&
         t < absl::FromCivil(absl::CivilDay(2100, 1, 1), absl::UTCTimeZone());
}

absl::Status CheckOrderNumber(absl::string_view n) {
  if (n.empty()) return FieldError("order_number", "required");
  if (n.size() > 64) return FieldError("order_number", "at most 64 characters");
  for (char c : n) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return FieldError("order_number", "letters, digits, '-' and '_' only");
    }
  }
  return absl::OkStatus();
}

// A refusal of the line's column (the value is never quoted).
HotlineLineError Refuse(int line, const std::string& order, absl::string_view field,
                        std::string reason) {
  return {line, order, std::string(field), std::move(reason)};
}

std::string Quote(absl::string_view v) {
  if (v.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class CsvFormat final : public HotlineFormat {
 public:
  absl::string_view name() const override { return "csv"; }

  absl::StatusOr<HotlineOrders> ParseOrders(absl::string_view content) const override {
    WUYE_ASSIGN_OR_RETURN(auto records, Records(content));
    WUYE_ASSIGN_OR_RETURN(auto cols,
                          Header(records, {"order_number", "received_time", "estate", "content"}));
    if (!cols.contains("deadline_working_days") && !cols.contains("due_time")) {
      return FieldError("content", "header: column deadline_working_days or due_time missing");
    }
    HotlineOrders out;
    for (size_t i = 1; i < records.size(); ++i) {
      const Record& r = records[i];
      Row row(r, cols);
      HotlineOrderLine o;
      o.line = r.line;
      o.order_number = row.Get("order_number");
      auto refuse = [&](absl::string_view field, std::string reason) {
        out.refused.push_back(Refuse(r.line, o.order_number, field, std::move(reason)));
      };
      if (r.fields.size() != records[0].fields.size()) {
        o.order_number.clear();  // the columns do not line up: not to be trusted
        refuse("", absl::StrCat(r.fields.size(), " columns where the header has ",
                                records[0].fields.size()));
        continue;
      }
      if (auto s = CheckOrderNumber(o.order_number); !s.ok()) {
        o.order_number.clear();
        refuse("order_number", ReasonOf(s, "order_number"));
        continue;
      }
      auto received = ParseWhen(row.Get("received_time"), false);
      if (!received || !InRange(*received)) {
        refuse("received_time", "a time such as 2026-09-30T10:00:00+08:00 or 2026-09-30 10:00");
        continue;
      }
      o.received = *received;
      std::string days = row.Get("deadline_working_days"), due = row.Get("due_time");
      if (days.empty() == due.empty()) {
        refuse("deadline_working_days", "exactly one of deadline_working_days and due_time");
        continue;
      }
      if (!days.empty()) {
        int n = 0;
        if (!absl::SimpleAtoi(days, &n) || n < 1 || n > kMaxHotlineDeadlineDays) {
          refuse("deadline_working_days", absl::StrCat("1..", kMaxHotlineDeadlineDays));
          continue;
        }
        o.deadline_working_days = n;
      } else {
        o.due = ParseWhen(due, true);
        if (!o.due || !InRange(*o.due)) {
          refuse("due_time", "a time or a date such as 2026-10-09");
          continue;
        }
        if (*o.due <= o.received) {
          refuse("due_time", "after received_time");
          continue;
        }
      }
      o.estate_ref = row.Get("estate");
      if (auto s = CheckText(o.estate_ref, "estate", 100, Presence::kRequired, Lines::kOne);
          !s.ok()) {
        refuse("estate", ReasonOf(s, "estate"));
        continue;
      }
      o.unit_id = row.Get("unit_id");
      o.category = row.Get("category");
      if (auto s = CheckText(o.category, "category", 50, Presence::kOptional, Lines::kOne);
          !s.ok()) {
        refuse("category", ReasonOf(s, "category"));
        continue;
      }
      o.content = row.Get("content");
      if (auto s = CheckText(o.content, "content", 4000, Presence::kRequired, Lines::kMany);
          !s.ok()) {
        refuse("content", ReasonOf(s, "content"));
        continue;
      }
      std::string name = row.Get("caller_name");
      if (auto s = CheckText(name, "caller_name", 50, Presence::kOptional, Lines::kOne); !s.ok()) {
        refuse("caller_name", ReasonOf(s, "caller_name"));
        continue;
      }
      o.has_caller_name = !name.empty();
      o.caller_phone = row.Get("caller_phone");
      if (!o.caller_phone.empty()) {
        if (auto s = NormalizeCallerPhone(o.caller_phone, "caller_phone"); !s.ok()) {
          refuse("caller_phone", ReasonOf(s.status(), "caller_phone"));
          continue;
        }
      }
      out.lines.push_back(std::move(o));
    }
    return out;
  }

  absl::StatusOr<HotlineCallbacks> ParseCallbacks(absl::string_view content) const override {
    WUYE_ASSIGN_OR_RETURN(auto records, Records(content));
    WUYE_ASSIGN_OR_RETURN(auto cols, Header(records, {"order_number", "result", "callback_time"}));
    HotlineCallbacks out;
    for (size_t i = 1; i < records.size(); ++i) {
      const Record& r = records[i];
      Row row(r, cols);
      HotlineCallbackLine c;
      c.line = r.line;
      c.order_number = row.Get("order_number");
      auto refuse = [&](absl::string_view field, std::string reason) {
        out.refused.push_back(Refuse(r.line, c.order_number, field, std::move(reason)));
      };
      if (r.fields.size() != records[0].fields.size()) {
        c.order_number.clear();
        refuse("", absl::StrCat(r.fields.size(), " columns where the header has ",
                                records[0].fields.size()));
        continue;
      }
      if (auto s = CheckOrderNumber(c.order_number); !s.ok()) {
        c.order_number.clear();
        refuse("order_number", ReasonOf(s, "order_number"));
        continue;
      }
      std::string result = absl::AsciiStrToLower(row.Get("result"));
      if (result == "satisfied" || result == "满意") {
        c.result = v1::HOTLINE_RESULT_SATISFIED;
      } else if (result == "basically_satisfied" || result == "基本满意") {
        c.result = v1::HOTLINE_RESULT_BASICALLY_SATISFIED;
      } else if (result == "unsatisfied" || result == "不满意") {
        c.result = v1::HOTLINE_RESULT_UNSATISFIED;
      } else {
        refuse("result", "satisfied, basically_satisfied or unsatisfied (满意, 基本满意, 不满意)");
        continue;
      }
      auto at = ParseWhen(row.Get("callback_time"), false);
      if (!at || !InRange(*at)) {
        refuse("callback_time", "a time such as 2026-10-12T15:00:00+08:00 or 2026-10-12 15:00");
        continue;
      }
      c.at = *at;
      out.lines.push_back(std::move(c));
    }
    return out;
  }

  std::string FormatReplies(const std::vector<HotlineReplyRow>& replies) const override {
    std::string out = "order_number,reply_time,replied_by,reply\r\n";
    for (const auto& r : replies) {
      absl::StrAppend(&out, Quote(r.order_number), ",",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", r.reply_time, Beijing()), ",",
                      Quote(r.replied_by), ",", Quote(r.reply), "\r\n");
    }
    return out;
  }

 private:
  static absl::StatusOr<std::vector<Record>> Records(absl::string_view content) {
    if (content.empty()) return FieldError("content", "required");
    if (content.size() > kMaxHotlineFileBytes) {
      return FieldError("content", absl::StrCat("at most ", kMaxHotlineFileBytes, " bytes"));
    }
    if (Utf8Chars(content) < 0) return FieldError("content", "must be valid UTF-8");
    return SplitCsv(content);
  }
};

}  // namespace

const HotlineFormat* FindHotlineFormat(absl::string_view name) {
  static const CsvFormat* const csv = new CsvFormat;
  if (name == csv->name()) return csv;
  return nullptr;
}

absl::Status CheckHotlineCity(absl::string_view city, absl::string_view field) {
  if (city.empty()) return FieldError(field, "required");
  if (city.size() > 40) return FieldError(field, "at most 40 characters");
  for (char c : city) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return FieldError(field, "lower-case letters, digits, '-' and '_'");
    }
  }
  return absl::OkStatus();
}

}  // namespace wuye::intake
