// What the benches (…_bench.cc, scripts/bench.sh) share: a CPU hog on one core for the
// "busy machine" figures, a process's CPU time, percentiles, and the rendering of a call's
// own SQL as a pgbench script, so that a service's figure is compared with the database
// running exactly the statements one call makes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace wuye::bench {

// A child process spinning on one CPU until destroyed (or until this process dies): a
// CPU-bound neighbour, as production nodes always have one. `cpu` < 0: no hog.
class CpuHog {
 public:
  explicit CpuHog(int cpu);
  ~CpuHog();
  CpuHog(const CpuHog&) = delete;
  CpuHog& operator=(const CpuHog&) = delete;
  bool running() const { return pid_ > 0; }
  int cpu() const { return cpu_; }

 private:
  pid_t pid_ = -1;
  int cpu_ = -1;
};

// The last online CPU: where the hog goes (one of the two cores of the bench machine).
int LastCpu();

// utime + stime of process `pid` so far (/proc/<pid>/stat), in seconds; -1 when unreadable.
double ProcessCpuSeconds(int pid);

// The q-quantile (0 < q ≤ 1) of `v` by rank (sorts `v`); NaN when empty.
double Percentile(std::vector<double>& v, double q);

// ---- pgbench scripts ------------------------------------------------------------------------
//
// A script renders each statement with its parameters as literals, except the values that
// must be new in every transaction (ids, request_ids): those become SQL expressions of the
// pgbench variables :run, :seq and :client_id. Such a script runs with
//
//   pgbench -n -M prepared -D run=<a number new for each run> -D seq=0 -f SCRIPT …
//
// and its first line (kCounterLine) counts each client's transactions in :seq.

inline constexpr char kCounterLine[] = "\\set seq :seq + 1\n";

// A uuid new in every transaction (of every client and run); `index` tells apart the
// uuids of one transaction. Time-ordered within a client, like the services' ids.
std::string FreshUuid(int index);
// A text new in every transaction: `prefix` followed by a number.
std::string FreshText(const std::string& prefix);

// A value of a statement's parameters that is replaced, wherever it occurs in a parameter's
// text, by an expression (FreshUuid, FreshText).
struct Fresh {
  std::string value;
  std::string expression;
};

// The types PostgreSQL infers for the parameters of `sql` ($1..$n, as SQL type names), from
// a PREPARE of it on `tx`'s connection (a database migrated like the service's).
std::vector<std::string> ParameterTypes(pqxx::transaction_base& tx, const std::string& sql);

// `sql` with each $n (outside quotes and comments) replaced by values[n-1] as a literal of
// the parameter's type types[n-1] (nullopt: NULL), so that the statement means what the
// prepared one does; the `fresh` values within replaced by their expressions, and every ':'
// of a literal kept out of pgbench's reach (it would take ":name" for a variable). Ends
// with ";\n". Throws std::invalid_argument when `sql` names a parameter not given.
std::string PgbenchStatement(const std::string& sql,
                             const std::vector<std::optional<std::string>>& values,
                             const std::vector<std::string>& types,
                             const std::vector<Fresh>& fresh);

}  // namespace wuye::bench
