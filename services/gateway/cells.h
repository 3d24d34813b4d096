// Cells (docs/scaling.md): a property group's services and data live in exactly one cell —
// one PostgreSQL, one Redis, one set of service replicas — and a gateway in front of
// several cells sends each call to its group's cell. The placement is a file the gateway
// reads again when it changes (a ConfigMap in Kubernetes):
//
//   # cell <name> <upstream template, as --upstream: {name} and {port} from services.txt>
//   cell east wuye-{name}.cell-east.svc.cluster.local:{port}
//   # group <group id> <cell>
//   group 0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b east
//
// A call goes to the cell of the group its bearer token names (the claim is read, not
// verified: the cell's services verify the token, and a token routed to a cell that does
// not hold its group finds nothing there); a call whose token names no group (the
// platform's) to the cell its `x-wuye-cell` header names; every other call, and a group the
// file does not list, to the gateway's own --upstream / --upstreams, the "home" cell.
#pragma once

#include <grpcpp/generic/generic_stub.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wuye::gateway {

struct CellTable {
  std::map<std::string, std::string> cells;   // name → upstream template
  std::map<std::string, std::string> groups;  // group id → cell name
};

// Parses a cells file. INVALID_ARGUMENT naming the line for a line of another shape, a
// cell defined twice, a group placed twice or in a cell the file does not define.
absl::StatusOr<CellTable> ParseCells(absl::string_view text);

// The group id the JWT of an "Authorization: Bearer <jwt>" value names (its "grp" claim),
// read without verifying it; empty when there is none or the value is not a JWT.
std::string GroupOfBearer(absl::string_view authorization);

// Makes a stub for `service` (a services.txt name) at `address`.
using StubMaker =
    std::function<std::unique_ptr<grpc::GenericStub>(const std::string& service,
                                                     const std::string& address)>;

class CellRouter {
 public:
  // `file` empty: one cell, and Pick always answers the home stub.
  CellRouter(std::string file, StubMaker make, absl::Duration recheck = absl::Seconds(1));
  // Reads the file once; its error when the file cannot be read or parsed (at start-up a
  // bad file stops the gateway; later, a bad edit keeps the table it had and is logged).
  absl::Status Load();

  // The stub for a call to `service` with this authorization and x-wuye-cell values; `home`
  // when the call stays in the home cell. `cell` (when given) is set to the cell's name,
  // "home" for the home cell. An x-wuye-cell naming no cell of the file is INVALID_ARGUMENT
  // (a platform call meant for a cell must not land in another). Rechecks the file at most
  // once per `recheck`.
  absl::StatusOr<grpc::GenericStub*> Pick(absl::string_view service,
                                          absl::string_view authorization,
                                          absl::string_view cell_header, grpc::GenericStub* home,
                                          std::string* cell = nullptr);

 private:
  void MaybeReload();

  const std::string file_;
  const StubMaker make_;
  const absl::Duration recheck_;
  std::mutex mu_;
  CellTable table_;
  absl::Time next_check_ = absl::InfinitePast();
  int64_t mtime_ns_ = -1;
  // Stubs made so far, by cell and service; kept for the gateway's life (a cell that
  // leaves the file keeps its channels, unused).
  std::map<std::pair<std::string, std::string>, std::unique_ptr<grpc::GenericStub>> stubs_;
};

}  // namespace wuye::gateway
