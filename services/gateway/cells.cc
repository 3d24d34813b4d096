#include "services/gateway/cells.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/status.h"

namespace wuye::gateway {
namespace {

absl::Status LineError(int line, absl::string_view why) {
  return FieldError("cells_file", absl::StrCat("line ", line, ": ", why));
}

}  // namespace

absl::StatusOr<CellTable> ParseCells(absl::string_view text) {
  CellTable table;
  std::vector<std::pair<int, std::pair<std::string, std::string>>> placements;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.size() != 3 || (words[0] != "cell" && words[0] != "group")) {
      return LineError(number, "want \"cell <name> <upstream>\" or \"group <group id> <cell>\"");
    }
    if (words[0] == "cell") {
      if (words[1] == "home") return LineError(number, "\"home\" is the gateway's own cell");
      if (words[1].size() > 40 ||
          !absl::c_all_of(words[1], [](char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-'; })) {
        return LineError(number, "a cell's name is 1..40 of a-z, 0-9 and -");
      }
      if (!absl::StrContains(words[2], ':')) {
        return LineError(number, "the upstream must be host:port (with {name} and {port})");
      }
      if (!table.cells.emplace(words[1], words[2]).second) {
        return LineError(number, absl::StrCat("cell \"", words[1], "\" is defined twice"));
      }
    } else {
      if (!IsValidId(absl::AsciiStrToLower(words[1]))) {
        return LineError(number, "the group id must be a UUID");
      }
      placements.push_back({number, {absl::AsciiStrToLower(words[1]), words[2]}});
    }
  }
  for (const auto& [line, placement] : placements) {
    const auto& [group, cell] = placement;
    if (cell != "home" && !table.cells.contains(cell)) {
      return LineError(line, absl::StrCat("cell \"", cell, "\" is not defined"));
    }
    if (!table.groups.emplace(group, cell).second) {
      return LineError(line, "the group is placed twice (a group lives in one cell)");
    }
  }
  return table;
}

std::string GroupOfBearer(absl::string_view authorization) {
  // The scheme in any case, as the services read it (shared/rpc.cc).
  if (authorization.size() < 7 || !absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return "";
  }
  authorization.remove_prefix(7);
  std::vector<absl::string_view> parts = absl::StrSplit(authorization, '.');
  if (parts.size() != 3 || parts[1].size() > 8192) return "";
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return "";
  auto claims = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) return "";
  auto grp = claims.find("grp");
  if (grp == claims.end() || !grp->is_string()) return "";
  return absl::AsciiStrToLower(grp->get<std::string>());
}

CellRouter::CellRouter(std::string file, StubMaker make, absl::Duration recheck)
    : file_(std::move(file)), make_(std::move(make)), recheck_(recheck) {}

absl::Status CellRouter::Load() {
  if (file_.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(file_.c_str(), &st) != 0) {
    return FieldError("cells_file", "cannot be read");
  }
  std::ifstream in(file_);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return FieldError("cells_file", "cannot be read");
  WUYE_ASSIGN_OR_RETURN(CellTable table, ParseCells(text.str()));
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
  mtime_ns_ = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  Metrics::Global().Set("wuye_gateway_cells", static_cast<double>(table_.cells.size()));
  Metrics::Global().Set("wuye_gateway_placed_groups", static_cast<double>(table_.groups.size()));
  return absl::OkStatus();
}

void CellRouter::MaybeReload() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now < next_check_) return;
    next_check_ = now + recheck_;
    struct stat st;
    if (stat(file_.c_str(), &st) != 0) return;  // gone for a moment (a ConfigMap's swap)
    if (int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec == mtime_ns_) return;
  }
  if (absl::Status st = Load(); !st.ok()) {
    LogWarn("gateway.cells_file_refused").Str("error", st.message());
    Metrics::Global().Add("wuye_gateway_cells_reload_errors_total");
    // Not again until the file changes once more.
    std::lock_guard<std::mutex> lock(mu_);
    struct stat now;
    if (stat(file_.c_str(), &now) == 0) {
      mtime_ns_ = int64_t{now.st_mtim.tv_sec} * 1000000000 + now.st_mtim.tv_nsec;
    }
  } else {
    LogInfo("gateway.cells_file_loaded");
  }
}

absl::StatusOr<grpc::GenericStub*> CellRouter::Pick(absl::string_view service,
                                                    absl::string_view authorization,
                                                    absl::string_view cell_header,
                                                    grpc::GenericStub* home, std::string* cell) {
  if (cell != nullptr) *cell = "home";
  if (file_.empty()) {
    if (!cell_header.empty() && cell_header != "home") {
      return FieldError("x-wuye-cell", "this gateway serves one cell");
    }
    return home;
  }
  MaybeReload();
  const std::string group = GroupOfBearer(authorization);
  std::lock_guard<std::mutex> lock(mu_);
  std::string name;
  if (!group.empty()) {
    auto it = table_.groups.find(group);
    if (it != table_.groups.end()) name = it->second;
  } else if (!cell_header.empty()) {
    name = std::string(cell_header);
  }
  if (name.empty() || name == "home") return home;
  auto cell_it = table_.cells.find(name);
  if (cell_it == table_.cells.end()) {
    // Only a header can name a cell the file lacks (a placement's cell is checked).
    return FieldError("x-wuye-cell", "no such cell in the gateway's cells file");
  }
  if (cell != nullptr) *cell = name;
  Metrics::Global().Add(absl::StrCat("wuye_gateway_cell_calls_total{cell=\"", name, "\"}"));
  auto& stub = stubs_[{name, std::string(service)}];
  if (stub == nullptr) stub = make_(std::string(service), cell_it->second);
  return stub.get();
}

}  // namespace wuye::gateway
