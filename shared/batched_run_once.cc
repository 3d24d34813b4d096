#include "shared/batched_run_once.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace wuye {

int HighestParameter(const std::string& sql) {
  int highest = 0;
  const size_t n = sql.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name; '' and "" stay inside
      for (++i; i < n; ++i) {
        if (sql[i] != c) continue;
        if (i + 1 < n && sql[i + 1] == c) {
          ++i;
          continue;
        }
        break;
      }
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '$' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1])) &&
               (i == 0 ||
                !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) || sql[i - 1] == '_'))) {
      int value = 0;
      for (++i; i < n && std::isdigit(static_cast<unsigned char>(sql[i])); ++i) {
        value = value * 10 + (sql[i] - '0');
      }
      --i;
      highest = std::max(highest, value);
    }
  }
  return highest;
}

std::string ComposeOnceStatement(const std::string& ctes) {
  const int n = HighestParameter(ctes);
  auto p = [n](int i) { return absl::StrCat("$", n + i); };
  // Per call: group, request_id, method, hash, answer, subject ($n+1..$n+6); per event: its
  // call, id, type and envelope ($n+7..$n+10).
  std::string sql = absl::StrCat(
      "WITH wuye_claim AS ("
      "  INSERT INTO wuye_idempotency (group_key, request_id, method, request_hash, response,"
      "    subject)"
      "  SELECT c.g, c.r, c.m, c.h, c.a, c.s FROM unnest(",
      p(1), "::text[], ", p(2), "::text[], ", p(3), "::text[], ", p(4), "::bytea[], ", p(5),
      "::bytea[], ", p(6),
      "::text[]) AS c(g, r, m, h, a, s)"
      "  ON CONFLICT DO NOTHING RETURNING group_key, request_id"
      "), claimed AS ("
      "  SELECT c.n AS call, c.g AS group_key, c.r AS request_id, c.s AS subject"
      "  FROM unnest(",
      p(1), "::text[], ", p(2), "::text[], ", p(6),
      "::text[]) WITH ORDINALITY AS c(g, r, s, n)"
      "  JOIN wuye_claim ON wuye_claim.group_key = c.g AND wuye_claim.request_id = c.r"
      "), ");
  if (!ctes.empty()) absl::StrAppend(&sql, ctes, ", ");
  absl::StrAppend(&sql,
                  "wuye_events AS ("
                  "  INSERT INTO wuye_outbox (event_id, type, envelope)"
                  "  SELECT e.id, e.type, e.envelope FROM unnest(",
                  p(7), "::bigint[], ", p(8), "::uuid[], ", p(9), "::text[], ", p(10),
                  "::bytea[]) WITH ORDINALITY AS e(call, id, type, envelope, k)"
                  "  JOIN claimed ON claimed.call = e.call ORDER BY e.k"
                  ") SELECT call FROM claimed");
  return sql;
}

std::vector<std::string> OnceParams(pqxx::transaction_base& tx,
                                    absl::Span<OnceCall* const> written) {
  std::vector<std::string> groups, request_ids, methods, hashes, answers, subjects;
  std::vector<std::string> e_call, e_id, e_type, e_envelope;
  for (size_t i = 0; i < written.size(); ++i) {
    const OnceCall& c = *written[i];
    groups.push_back(c.key.group);
    request_ids.push_back(c.key.request_id);
    methods.push_back(c.key.method);
    hashes.push_back(tx.esc_raw(c.request_hash));
    answers.push_back(tx.esc_raw(c.answer));
    subjects.push_back(c.key.caller != nullptr ? c.key.caller->subject : std::string());
    for (const auto& e : c.events) {
      e_call.push_back(std::to_string(i + 1));
      e_id.push_back(e.event_id());
      e_type.push_back(e.type());
      e_envelope.push_back(tx.esc_raw(e.SerializeAsString()));
    }
  }
  std::vector<std::string> values;
  for (const auto* column : {&groups, &request_ids, &methods, &hashes, &answers, &subjects,
                             &e_call, &e_id, &e_type, &e_envelope}) {
    values.push_back(PgArray(*column));
  }
  return values;
}

absl::Status WriteOnceBatch(Db& db, const std::string& statement, absl::Span<OnceCall* const> batch,
                            const std::function<std::vector<std::string>(
                                pqxx::transaction_base&, absl::Span<OnceCall* const>)>& params) {
  return db.Autocommit([&](pqxx::nontransaction& tx) -> absl::Status {
    // Claimed in key order: two statements with retries of the same requests then wait on
    // each other in the same order instead of deadlocking.
    std::vector<OnceCall*> ordered(batch.begin(), batch.end());
    std::stable_sort(ordered.begin(), ordered.end(), [](const OnceCall* a, const OnceCall* b) {
      return std::tie(a->key.group, a->key.request_id) < std::tie(b->key.group, b->key.request_id);
    });
    std::vector<OnceCall*> written;
    absl::flat_hash_set<std::pair<std::string, std::string>> keys;
    for (OnceCall* c : ordered) {
      c->claimed = false;
      if (keys.emplace(c->key.group, c->key.request_id).second) written.push_back(c);
    }
    std::vector<std::string> values = params(tx, written);
    for (std::string& v : OnceParams(tx, written)) values.push_back(std::move(v));
    pqxx::result claimed = tx.exec_prepared(statement, pqxx::prepare::make_dynamic_params(values));
    for (const auto& row : claimed) {
      const int64_t call = row[0].as<int64_t>();
      if (call >= 1 && call <= static_cast<int64_t>(written.size())) {
        written[call - 1]->claimed = true;
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace wuye
