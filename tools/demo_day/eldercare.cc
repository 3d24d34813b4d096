// Home care (eldercare): two elders enrolled with consent and a family contact, their
// visits, a sick-bed day, and an emergency call that dispatch makes a work order of.
#include <algorithm>

#include "shared/proto_time.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::Status Day::EldercareStep() {
  std::vector<epb::Elder> elders;
  for (const v1::ElderPlan& p : script_->elder()) {
    const auto& residents = E(p.estate()).residents;
    auto it = residents.find(p.name());
    if (it == residents.end()) {
      return absl::FailedPreconditionError(absl::StrCat("directory: no resident ", p.name()));
    }
    epb::EnrolElderRequest req;
    req.set_request_id(absl::StrCat("demo-enrol-", p.estate(), "-", it->second.id()));
    req.set_resident_id(it->second.id());
    req.set_id_number(IdNumber(p.region(), p.year(), p.month(), p.day(), p.seq()));
    epb::Consent* consent = req.mutable_consent();
    consent->set_scope("home elderly care and health records");
    consent->set_version("2026-01");
    *consent->mutable_signed_at() = ToProtoTime(absl::FromUnixSeconds(1767225600));  // 2026-01-01
    consent->set_signed_by(p.name());
    epb::FamilyContact* c = req.add_family_contacts();
    c->set_name(p.contact());
    c->set_relation("child");
    c->set_phone(p.contact_phone());
    req.set_visit_every_days(7);
    epb::Elder elder;
    WUYE_RETURN_IF_ERROR(
        CallWhenKnown(absl::StrCat("eldercare.EnrolElder ", p.estate()),
                      As("agent", Plan(p.estate()).callback_agent()),
                      [&](auto* ctx) { return elder_->EnrolElder(ctx, req, &elder); }));
    elders.push_back(elder);
    s_.elder_ids.push_back(elder.id());
  }
  std::string care = As("care_worker", "徐丽华");
  for (const epb::Elder& e : elders) {
    // The visit: at enrolment (never in the future), so that a rerun asks the same.
    epb::RecordVisitRequest visit;
    visit.set_request_id(absl::StrCat("demo-visit-", e.id(), "-", e.enrolled_on().year(), "-",
                                      e.enrolled_on().month(), "-", e.enrolled_on().day()));
    visit.set_elder_id(e.id());
    *visit.mutable_visited_at() = e.create_time();
    visit.set_observations("In good spirits; blood pressure taken; medicine box refilled.");
    visit.set_care_plan_followed(true);
    epb::Visit v;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RecordVisit", care,
                              [&](auto* ctx) { return elder_->RecordVisit(ctx, visit, &v); }));
    ++s_.visits_recorded;
  }
  // A sick-bed day (家庭病床) of the first elder: the demo day, or the enrolment day when
  // that is later (care days start with the enrolment).
  {
    const epb::Elder& e = elders.front();
    absl::CivilDay enrolled(e.enrolled_on().year(), e.enrolled_on().month(), e.enrolled_on().day());
    absl::CivilDay day = std::max(day_, enrolled);
    epb::RecordCareDayRequest req;
    req.set_request_id(absl::StrCat("demo-careday-", e.id(), "-", absl::FormatCivilTime(day)));
    req.set_elder_id(e.id());
    req.mutable_day()->set_year(static_cast<int32_t>(day.year()));
    req.mutable_day()->set_month(day.month());
    req.mutable_day()->set_day(day.day());
    req.set_kind(epb::CARE_KIND_SICKBED);
    req.set_supervision_note("Dressing changed; temperature normal.");
    epb::CareDay out;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RecordCareDay", care,
                              [&](auto* ctx) { return elder_->RecordCareDay(ctx, req, &out); }));
    ++s_.care_days;
  }
  // The second elder's emergency call (a fall): dispatch makes it a work order.
  {
    epb::RaiseEmergencyRequest req;
    req.set_request_id(Rid("elder-emergency"));
    req.set_elder_id(elders.back().id());
    epb::Emergency out;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RaiseEmergency", As("agent", "曹雨"),
                              [&](auto* ctx) { return elder_->RaiseEmergency(ctx, req, &out); }));
    ++s_.elder_emergencies;
  }
  Log(absl::StrFormat("%d elders enrolled, %d visits, %d sick-bed day, %d emergency", elders.size(),
                      s_.visits_recorded, s_.care_days, s_.elder_emergencies));
  return absl::OkStatus();
}

}  // namespace wuye::demo
