// The working calendar's handlers of DirectoryServiceImpl (issue 27): the years a group and
// its estates import over the State Council's arrangement (shared/work_calendar.h), kept in
// wuye_work_calendars (shared/work_calendar_store.h) and published as
// directory.calendar.changed; and the deadlines counted on them.
#include <optional>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/directory/directory_service.h"
#include "shared/idempotency.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/work_calendar.h"
#include "shared/work_calendar_store.h"
#include "shared/zone.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::directory {
namespace {

namespace ev = ::wuye::events::v1;

using roles::kAgent;
using roles::kEstateManager;
using roles::kGroupAdmin;
using roles::kQualityInspector;
using roles::kService;
using roles::kSupervisor;
using roles::kTeamLead;

// The longest deadline ExplainDeadline counts.
constexpr absl::Duration kMaxDeadlineAmount = absl::Hours(24 * 366);

// Who reads a calendar and its deadlines: the desk, its management, the quality inspector
// who checks deadlines, and services.
absl::Status RequireCalendarReader(const RequestContext& rc) {
  return rc.RequireRole(
      {kGroupAdmin, kEstateManager, kSupervisor, kTeamLead, kAgent, kQualityInspector, kService});
}

// Who changes one: the group's admins; an estate's override also the estate's managers.
absl::Status RequireCalendarWriter(const RequestContext& rc, const std::string& estate_id) {
  if (estate_id.empty()) return rc.RequireRole({kGroupAdmin});
  WUYE_RETURN_IF_ERROR(rc.RequireRole({kGroupAdmin, kEstateManager}));
  return CheckId(estate_id, "estate_id");
}

absl::Status CheckYear(int year, absl::string_view field) {
  if (year < kMinCalendarYear || year > kMaxCalendarYear) {
    return FieldError(field,
                      absl::StrCat("a year from ", kMinCalendarYear, " to ", kMaxCalendarYear));
  }
  return absl::OkStatus();
}

struct StoredYear {
  std::string calendar;  // "" when withdrawn
  int64_t version = 0;
};

// The year as the directory stores it for (group, estate), locked for update when asked.
std::optional<StoredYear> ReadStoredYear(pqxx::transaction_base& tx, const std::string& group,
                                         const std::string& estate, int year, bool lock) {
  pqxx::result r =
      tx.exec_params(absl::StrCat("SELECT calendar, version FROM wuye_work_calendars"
                                  " WHERE group_id = $1 AND estate_id = $2 AND year = $3",
                                  lock ? " FOR UPDATE" : ""),
                     group, estate, year);
  if (r.empty()) return std::nullopt;
  return StoredYear{r[0][0].as<std::string>(), r[0][1].as<int64_t>()};
}

v1::Date DateOf(absl::CivilDay day) {
  v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

SlaClock ClockOf(common::v1::SlaClock clock) {
  switch (clock) {
    case common::v1::SLA_CLOCK_WORKING_DAYS:
      return SlaClock::kWorkingDays;
    case common::v1::SLA_CLOCK_OFFICE_HOURS:
      return SlaClock::kOfficeHours;
    default:
      return SlaClock::kElapsed;
  }
}

}  // namespace

absl::Status DirectoryServiceImpl::CalendarScope(pqxx::work& tx, const RequestContext& rc,
                                                 const std::string& estate_id, v1::Estate* estate) {
  if (estate_id.empty()) return absl::OkStatus();
  WUYE_ASSIGN_OR_RETURN(v1::Estate found, VisibleEstate(tx, rc, estate_id, "estate_id"));
  if (estate != nullptr) *estate = std::move(found);
  return absl::OkStatus();
}

void DirectoryServiceImpl::StoreCalendar(pqxx::work& tx, const RequestContext& rc,
                                         const std::string& estate_id, int year,
                                         const std::string& calendar, int64_t version) {
  ev::CalendarChanged event;
  event.set_group_id(rc.caller.group_id);
  event.set_estate_id(estate_id);
  event.set_year(year);
  event.set_calendar(calendar);
  event.set_version(version);
  ApplyCalendarChanged(tx, event);
  Publish(tx, rc, "directory.calendar.changed", estate_id,
          absl::StrCat(rc.caller.group_id, "/", estate_id, "/", year), version, event);
}

grpc::Status DirectoryServiceImpl::ImportWorkCalendar(Ctx* ctx,
                                                      const v1::ImportWorkCalendarRequest* req,
                                                      v1::WorkCalendarChange* resp) {
  return rpc_.Run(
      ctx, "ImportWorkCalendar", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireCalendarWriter(rc, req->estate_id()));
        if (req->calendar().empty()) return FieldError("calendar", "required: the year's file");
        absl::StatusOr<CalendarYear> parsed = ParseCalendarYear(req->calendar());
        if (!parsed.ok()) return FieldError("calendar", parsed.status().message());
        const std::string normalised = FormatCalendarYear(*parsed);
        const int year = parsed->year;
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          WUYE_RETURN_IF_ERROR(CalendarScope(tx, rc, req->estate_id(), nullptr));
          // A first import of the year inserts its row before reading it, so that two
          // concurrent first imports queue on the row instead of both taking version 1.
          tx.exec_params(
              "INSERT INTO wuye_work_calendars (group_id, estate_id, year, calendar, version)"
              " VALUES ($1, $2, $3, '', 0) ON CONFLICT DO NOTHING",
              rc.caller.group_id, req->estate_id(), year);
          std::optional<StoredYear> stored =
              ReadStoredYear(tx, rc.caller.group_id, req->estate_id(), year, /*lock=*/true);
          const int64_t version = stored ? stored->version : 0;
          resp->set_estate_id(req->estate_id());
          resp->set_year(year);
          resp->set_calendar(normalised);
          if (stored && stored->calendar == normalised) {
            resp->set_version(version);
            resp->set_changed(false);
            return absl::OkStatus();
          }
          StoreCalendar(tx, rc, req->estate_id(), year, normalised, version + 1);
          resp->set_version(version + 1);
          resp->set_changed(true);
          return absl::OkStatus();
        });
      });
}

grpc::Status DirectoryServiceImpl::WithdrawWorkCalendar(Ctx* ctx,
                                                        const v1::WithdrawWorkCalendarRequest* req,
                                                        v1::WorkCalendarChange* resp) {
  return rpc_.Run(
      ctx, "WithdrawWorkCalendar", req->request_id(), [&](RequestContext& rc) -> absl::Status {
        WUYE_RETURN_IF_ERROR(rc.RequireGroup());
        WUYE_RETURN_IF_ERROR(RequireCalendarWriter(rc, req->estate_id()));
        WUYE_RETURN_IF_ERROR(CheckYear(req->year(), "year"));
        return RunOnce(db_, rc.Key(), *req, resp, [&](pqxx::work& tx) -> absl::Status {
          WUYE_RETURN_IF_ERROR(CalendarScope(tx, rc, req->estate_id(), nullptr));
          std::optional<StoredYear> stored =
              ReadStoredYear(tx, rc.caller.group_id, req->estate_id(), req->year(), true);
          if (!stored || stored->calendar.empty()) {
            return absl::NotFoundError(
                absl::StrCat("year: no calendar of ", req->year(), " is imported there"));
          }
          StoreCalendar(tx, rc, req->estate_id(), req->year(), "", stored->version + 1);
          resp->set_estate_id(req->estate_id());
          resp->set_year(req->year());
          resp->set_version(stored->version + 1);
          resp->set_changed(true);
          return absl::OkStatus();
        });
      });
}

grpc::Status DirectoryServiceImpl::GetWorkCalendar(Ctx* ctx, const v1::GetWorkCalendarRequest* req,
                                                   v1::WorkCalendarYear* resp) {
  return rpc_.Run(ctx, "GetWorkCalendar", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireCalendarReader(rc));
    if (!req->estate_id().empty()) WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    WUYE_RETURN_IF_ERROR(CheckYear(req->year(), "year"));
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      WUYE_RETURN_IF_ERROR(CalendarScope(tx, rc, req->estate_id(), nullptr));
      // The layers from the bottom: the State Council's, the group's, the estate's; each
      // replaces the year below it or lays its days over it (`mode overlay`).
      WorkCalendar calendar = WorkCalendar::National();
      v1::CalendarLayer layer =
          calendar.HasYear(req->year()) ? v1::CALENDAR_LAYER_NATIONAL : v1::CALENDAR_LAYER_NONE;
      int64_t version = 0;
      std::optional<CalendarYear> top;  // the top imported layer's own file
      auto lay = [&](const std::string& estate, v1::CalendarLayer as) {
        std::optional<StoredYear> stored =
            ReadStoredYear(tx, rc.caller.group_id, estate, req->year(), false);
        if (!stored || stored->calendar.empty()) return;
        absl::StatusOr<CalendarYear> parsed = ParseCalendarYear(stored->calendar);
        if (!parsed.ok()) return;  // never stored so (the import parses it first)
        calendar.SetYear(*parsed);
        top = *std::move(parsed);
        layer = as;
        version = stored->version;
      };
      lay("", v1::CALENDAR_LAYER_GROUP);
      if (!req->estate_id().empty()) lay(req->estate_id(), v1::CALENDAR_LAYER_ESTATE);
      std::optional<CalendarYear> year = calendar.YearOf(req->year());
      if (!year) {
        year.emplace();
        year->year = req->year();
      }
      resp->set_estate_id(req->estate_id());
      resp->set_year(req->year());
      resp->set_layer(layer);
      resp->set_version(version);
      resp->set_source(year->source);
      for (const OfficeSpan& span : year->office.empty() ? DefaultOfficeHours() : year->office) {
        v1::OfficeHoursSpan* out = resp->add_office_hours();
        out->set_start_minute(span.start_minute);
        out->set_end_minute(span.end_minute);
      }
      std::vector<CalendarDay> days = year->days;
      if (!calendar.HasArrangement(req->year())) {
        // No notice arranges the year: its holidays of fixed dates are all it has.
        for (CalendarDay& fixed : WorkCalendar::FixedStatutoryHolidays(req->year())) {
          if (absl::c_none_of(year->days,
                              [&](const CalendarDay& d) { return d.day == fixed.day; })) {
            days.push_back(std::move(fixed));  // an overlay's own word on the day stands
          }
        }
        absl::c_sort(days,
                     [](const CalendarDay& a, const CalendarDay& b) { return a.day < b.day; });
      }
      for (const CalendarDay& day : days) {
        v1::CalendarException* out = resp->add_days();
        *out->mutable_day() = DateOf(day.day);
        out->set_working(day.working);
        out->set_name(day.name);
      }
      resp->set_overlay(top && top->overlay);
      CalendarYear file = top ? *top : *year;
      // A year nobody arranged: the file to start from keeps its fixed-date holidays, which a
      // whole year imported from it would otherwise lose.
      if (!top && !calendar.HasArrangement(req->year())) file.days = days;
      resp->set_calendar(FormatCalendarYear(file));
      return absl::OkStatus();
    });
  });
}

grpc::Status DirectoryServiceImpl::ExplainDeadline(Ctx* ctx, const v1::ExplainDeadlineRequest* req,
                                                   v1::ExplainDeadlineResponse* resp) {
  return rpc_.Run(ctx, "ExplainDeadline", "", [&](RequestContext& rc) -> absl::Status {
    WUYE_RETURN_IF_ERROR(rc.RequireGroup());
    WUYE_RETURN_IF_ERROR(RequireCalendarReader(rc));
    WUYE_RETURN_IF_ERROR(CheckId(req->estate_id(), "estate_id"));
    if (!req->has_start_time()) return FieldError("start_time", "required");
    const absl::Time start = FromProtoTime(req->start_time());
    const int64_t start_year = absl::ToCivilYear(start, absl::UTCTimeZone()).year();
    if (start_year < kMinCalendarYear || start_year >= kMaxCalendarYear) {
      return FieldError("start_time",
                        absl::StrCat("a time from ", kMinCalendarYear, " to ", kMaxCalendarYear));
    }
    const auto& d = req->amount();
    if ((d.seconds() < 0 || d.nanos() < 0) || (d.seconds() == 0 && d.nanos() == 0)) {
      return FieldError("amount", "a positive duration");
    }
    if (d.nanos() >= 1'000'000'000 || d.seconds() > absl::ToInt64Seconds(kMaxDeadlineAmount)) {
      return FieldError("amount", "at most 366 days");
    }
    const absl::Duration amount = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (!common::v1::SlaClock_IsValid(req->clock())) return FieldError("clock", "unknown clock");
    const SlaClock clock = ClockOf(req->clock());
    return db_.Transact([&](pqxx::work& tx) -> absl::Status {
      v1::Estate estate;
      WUYE_RETURN_IF_ERROR(CalendarScope(tx, rc, req->estate_id(), &estate));
      const absl::TimeZone tz = EstateZone(estate.time_zone());
      const WorkCalendar calendar = LoadWorkCalendar(tx, rc.caller.group_id, estate.id());
      const absl::Time due = calendar.Advance(start, amount, clock, tz);
      if (due == absl::InfiniteFuture()) {
        return absl::FailedPreconditionError(
            "the estate's calendar holds no counted time for ten years from start_time");
      }
      *resp->mutable_due_time() = ToProtoTime(due);
      resp->set_time_zone(tz.name());
      resp->set_due_local(absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", due, tz));
      for (const SkippedDays& s : calendar.Skipped(start, due, clock, tz)) {
        v1::SkippedDays* out = resp->add_skipped();
        *out->mutable_first() = DateOf(s.first);
        *out->mutable_last() = DateOf(s.last);
        out->set_name(s.name);
      }
      resp->set_explanation(calendar.Explain(start, due, clock, tz));
      return absl::OkStatus();
    });
  });
}

}  // namespace wuye::directory
