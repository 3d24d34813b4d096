#include "shared/bench_support.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace wuye::bench {

CpuHog::CpuHog(int cpu) : cpu_(cpu) {
  if (cpu < 0) return;
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
    volatile unsigned long spin = 0;
    for (;;) spin = spin + 1;
  }
  pid_ = pid > 0 ? pid : -1;
}

CpuHog::~CpuHog() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
}

int LastCpu() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 1 ? static_cast<int>(n - 1) : 0;
}

double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // After the name: state (3), ppid … ; utime is field 14 and stime 15 of the whole line.
  double utime = -1, stime = -1;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(q * v.size())), 1, v.size());
  return v[rank - 1];
}

namespace {

// The key of a transaction: unique per client and run, growing within a client.
constexpr char kKey[] = "(:seq::bigint * 1024 + :client_id::int)";

// A SQL string literal of `text` in which no ':' is followed by a name character (pgbench
// would substitute a variable there): such a colon is concatenated on its own.
std::string Literal(const std::string& text) {
  std::string out = "'";
  bool split = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {
      out += "''";
    } else if (c == ':' && i + 1 < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '_')) {
      out += "' || ':' || '";
      split = true;
    } else {
      out += c;
    }
  }
  out += "'";
  return split ? absl::StrCat("(", out, ")") : out;
}

}  // namespace

std::string FreshUuid(int index) {
  return absl::StrCat("(lpad(to_hex(:run::bigint), 8, '0') || lpad(to_hex(", kKey,
                      "), 16, '0') || lpad(to_hex(", index, "), 8, '0'))");
}

std::string FreshText(const std::string& prefix) {
  return absl::StrCat("(", Literal(prefix), " || :run::bigint || '-' || ", kKey, ")");
}

std::vector<std::string> ParameterTypes(pqxx::transaction_base& tx, const std::string& sql) {
  tx.exec(absl::StrCat("PREPARE wuye_bench_probe AS ", sql));
  pqxx::row r = tx.exec1(
      "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = "
      "'wuye_bench_probe'");
  std::vector<std::string> types;
  auto array = r[0].as_array();
  for (auto item = array.get_next(); item.first != pqxx::array_parser::juncture::done;
       item = array.get_next()) {
    if (item.first == pqxx::array_parser::juncture::string_value) types.push_back(item.second);
  }
  tx.exec("DEALLOCATE wuye_bench_probe");
  return types;
}

std::string PgbenchStatement(const std::string& sql,
                             const std::vector<std::optional<std::string>>& values,
                             const std::vector<std::string>& types,
                             const std::vector<Fresh>& fresh) {
  auto render = [&](int n) {
    if (n < 1 || n > static_cast<int>(values.size())) {
      throw std::invalid_argument(absl::StrCat("no value for $", n));
    }
    const std::string type = n <= static_cast<int>(types.size()) ? types[n - 1] : "text";
    const std::optional<std::string>& v = values[n - 1];
    if (!v) return absl::StrCat("NULL::", type);
    std::string expr = Literal(*v);
    for (const Fresh& f : fresh) {
      if (!f.value.empty() && v->find(f.value) != std::string::npos) {
        expr = absl::StrCat("replace(", expr, ", ", Literal(f.value), ", ", f.expression, ")");
      }
    }
    return absl::StrCat("(", expr, ")::", type);
  };
  std::string out;
  const size_t len = sql.size();
  for (size_t i = 0; i < len; ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name, copied as it is
      size_t j = i + 1;
      for (; j < len; ++j) {
        if (sql[j] != c) continue;
        if (j + 1 < len && sql[j + 1] == c) {
          ++j;
          continue;
        }
        break;
      }
      const std::string quoted = sql.substr(i, j - i + 1);
      for (size_t k = 0; k + 1 < quoted.size(); ++k) {
        if (quoted[k] == ':' && (std::isalnum(static_cast<unsigned char>(quoted[k + 1])) ||
                                 quoted[k + 1] == '_')) {
          throw std::invalid_argument("a quoted ':name' in the SQL, which pgbench would take");
        }
      }
      out += quoted;
      i = j;
    } else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {  // a comment, dropped
      while (i < len && sql[i] != '\n') ++i;
      out += '\n';
    } else if (c == '$' && i + 1 < len && std::isdigit(static_cast<unsigned char>(sql[i + 1])) &&
               (i == 0 ||
                !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) || sql[i - 1] == '_'))) {
      int n = 0;
      size_t j = i + 1;
      for (; j < len && std::isdigit(static_cast<unsigned char>(sql[j])); ++j) {
        n = n * 10 + (sql[j] - '0');
      }
      out += render(n);
      i = j - 1;
    } else if (c == '\n' || c == '\r') {
      out += ' ';  // pgbench reads one command up to ';' — keep it on one line anyway
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out + ";\n";
}

}  // namespace wuye::bench
