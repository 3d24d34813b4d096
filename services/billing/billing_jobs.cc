#include "services/billing/billing_jobs.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "wuye/events/v1/billing_events.pb.h"

namespace wuye::billing {

BillingRunner::BillingRunner(Db& db, const Clock& clock, int chunk_units)
    : db_(db), clock_(clock), chunk_units_(chunk_units), store_(db), outbox_(db, "billing") {}

absl::StatusOr<int> BillingRunner::Tick() {
  int did = 0;
  absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
    did = 0;
    // One chunk of a million-unit estate takes seconds, not the API's 5 s budget.
    tx.exec("SET LOCAL statement_timeout = 300000");
    // The chunk's sorts (units by id, for the bill numbers) stay in memory: about 12 MB for
    // 100 000 units, where the default 4 MB spills to disk.
    tx.exec("SET LOCAL work_mem = '64MB'");
    auto row = store_.ClaimRun(tx);
    if (!row) return absl::OkStatus();
    did = 1;
    const absl::Time now = clock_.Now();
    const v1::BillingRun& run = row->run;
    const std::string period = MonthStart(run.period());
    // Which estate this chunk works in: the run's own, or the group's next one.
    std::optional<EstateCopy> estate;
    if (!run.estate_id().empty()) {
      estate = store_.GetEstate(tx, row->group_id, run.estate_id());
    } else if (!row->cursor_estate.empty()) {
      estate = store_.GetEstate(tx, row->group_id, row->cursor_estate);
    } else {
      estate = store_.NextEstate(tx, row->group_id, "");
    }
    ChunkResult chunk;
    bool estate_done = true;
    if (estate) {
      v1::FeeSchedule schedule = store_.GetSchedule(tx, row->group_id, estate->id);
      v1::BillingSettings settings = WithDefaults(store_.GetSettings(tx, row->group_id));
      store_.LockEstateForRun(tx, estate->id);
      absl::Time due = DueTime(run.period(), schedule.due_day(), EstateZone(estate->time_zone));
      std::string prefix = NewId(now).substr(0, 24);
      chunk =
          store_.IssueChunk(tx, row->group_id, *estate, schedule, settings.first_month_proration(),
                            period, row->cursor_unit, chunk_units_, now, due, prefix, run.id());
      estate_done = chunk.units < chunk_units_;
      if (chunk.bills > 0) {
        // The month's collection is fixed at its close by CollectionCloser.
        v1::CollectionReport ignored;
        store_.OpenReport(tx, row->group_id, estate->id, period, due, &ignored);
        store_.PostLedger(tx, row->group_id, estate->id, "billing_run",
                          absl::StrCat("run:", run.id(), ":", run.chunks_done()),
                          BillingRunPostings(chunk), now);
      }
    }
    std::string cursor_estate = estate ? estate->id : "";
    std::string cursor_unit = estate_done ? "" : chunk.last_unit;
    bool done = true;
    if (estate && estate_done && run.estate_id().empty()) {
      auto next = store_.NextEstate(tx, row->group_id, estate->id);
      if (next) {
        cursor_estate = next->id;
        done = false;
      }
    } else if (!estate_done) {
      done = false;
    }
    v1::BillingRun after;
    store_.AdvanceRun(tx, run.id(), chunk, cursor_estate, cursor_unit, done, now, &after);
    if (done) {
      wuye::events::v1::BillingRunCompleted event;
      event.set_run_id(after.id());
      event.set_estate_id(after.estate_id());
      *event.mutable_period() = after.period();
      event.set_units_done(after.units_done());
      event.set_bills_issued(after.bills_issued());
      event.set_amount_fen(after.amount_fen());
      *event.mutable_finished_at() = ToProtoTime(now);
      outbox_.Append(
          tx, {"billing.run.completed", row->group_id, after.estate_id(), after.id(), 1, &event},
          now, row->trace_id);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return did;
}

void PublishCollection(pqxx::work& tx, Outbox& outbox, const std::string& group,
                       const v1::CollectionReport& report, absl::Time now,
                       const std::string& trace_id) {
  wuye::events::v1::CollectionReported event;
  event.set_estate_id(report.estate_id());
  *event.mutable_period() = report.period();
  event.set_billed_fen(report.billed_fen());
  event.set_collected_fen(report.collected_fen());
  event.set_collection_rate_bp(report.collection_rate_bp());
  event.set_owners(report.owners());
  event.set_owners_in_arrears(report.owners_in_arrears());
  event.set_arrears_share_bp(report.arrears_share_bp());
  *event.mutable_as_of() = report.as_of();
  event.set_final(report.final());
  outbox.Append(tx,
                {"billing.collection.reported", group, report.estate_id(),
                 absl::StrFormat("%s/%04d-%02d", report.estate_id(), report.period().year(),
                                 report.period().month()),
                 report.version(), &event},
                now, trace_id);
}

void FixCollection(pqxx::work& tx, BillingStore& store, Outbox& outbox, const std::string& group,
                   const std::string& estate, const wuye::common::v1::Month& month,
                   absl::Time close, absl::Time now, const std::string& trace_id,
                   v1::CollectionReport* out) {
  const std::string period = MonthStart(month);
  out->set_estate_id(estate);
  *out->mutable_period() = month;
  store.CollectionFigures(tx, group, estate, period, close, out);
  CollectionRates(out);
  *out->mutable_as_of() = ToProtoTime(close);
  *out->mutable_close_time() = ToProtoTime(close);
  out->set_final(true);
  out->set_provisional(false);
  out->set_version(store.FixReport(tx, estate, period, *out, close));
  PublishCollection(tx, outbox, group, *out, now, trace_id);
}

CollectionCloser::CollectionCloser(Db& db, const Clock& clock)
    : db_(db), clock_(clock), store_(db), outbox_(db, "billing") {}

absl::StatusOr<int> CollectionCloser::Tick() {
  int did = 0;
  absl::Status st = db_.Transact([&](pqxx::work& tx) -> absl::Status {
    did = 0;
    tx.exec("SET LOCAL statement_timeout = 120000");
    const absl::Time now = clock_.Now();
    auto month = store_.ClaimClosedMonth(tx, now);
    if (!month) return absl::OkStatus();
    did = 1;
    absl::CivilDay first;
    absl::ParseCivilTime(month->period, &first);
    v1::CollectionReport report;
    FixCollection(tx, store_, outbox_, month->group, month->estate, MonthOf(first), month->close,
                  now, "", &report);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return did;
}

}  // namespace wuye::billing
