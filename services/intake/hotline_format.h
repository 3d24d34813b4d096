// The port to a city's 12345 platform (政务服务便民热线, issue 27 §3): the orders and the
// government's callback results come in as files, the replies go out as files, each city's
// layout an adapter behind HotlineFormat. One format is implemented: "csv"
// (docs/api/intake.md, "12345 government hotline"). Pure: no I/O, no clock.
//
// Private columns (the caller's name and number) are handed to intake only to be hashed or
// dropped; a refusal never quotes a value, only names the column.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye::intake {

// Limits of a file: it is operator input.
// Under the 1 MiB of an ordinary request (operations.md, security and limits).
inline constexpr size_t kMaxHotlineFileBytes = 1000 * 1000;
inline constexpr int kMaxHotlineLines = 5000;
inline constexpr int kMaxHotlineDeadlineDays = 60;

// A line the format could not read, or that intake refused: the line's number (the header
// is line 1), its order number when it had one, the column and why.
struct HotlineLineError {
  int line = 0;
  std::string order_number;
  std::string field;
  std::string reason;
};

// One order as the file gives it.
struct HotlineOrderLine {
  int line = 0;
  std::string order_number;
  absl::Time received;                // when the hotline received it
  int deadline_working_days = 0;      // 1..kMaxHotlineDeadlineDays, or 0 when `due` is given
  std::optional<absl::Time> due;      // a due time the hotline set instead
  std::string estate_ref;             // an estate id, or the city's reference the group maps
  std::string unit_id;                // "" when the order names no unit
  std::string category;               // the hotline's classification
  std::string content;                // the complaint's text (the ticket's description)
  std::string caller_phone;           // PRIVATE: hashed on arrival, never kept plain
  bool has_caller_name = false;       // PRIVATE: the name itself is dropped by the format
};

struct HotlineOrders {
  std::vector<HotlineOrderLine> lines;
  std::vector<HotlineLineError> refused;
};

// One government callback result.
struct HotlineCallbackLine {
  int line = 0;
  std::string order_number;
  v1::HotlineResult result = v1::HOTLINE_RESULT_UNSPECIFIED;
  absl::Time at;
};

struct HotlineCallbacks {
  std::vector<HotlineCallbackLine> lines;
  std::vector<HotlineLineError> refused;
};

// One reply to send back.
struct HotlineReplyRow {
  std::string order_number;
  absl::Time reply_time;
  std::string replied_by;
  std::string reply;
};

class HotlineFormat {
 public:
  virtual ~HotlineFormat() = default;
  virtual absl::string_view name() const = 0;
  // A file that cannot be read at all (not UTF-8, no header, a missing column, too many
  // lines) is INVALID_ARGUMENT naming `content`; a bad line is in `refused`.
  virtual absl::StatusOr<HotlineOrders> ParseOrders(absl::string_view content) const = 0;
  virtual absl::StatusOr<HotlineCallbacks> ParseCallbacks(absl::string_view content) const = 0;
  virtual std::string FormatReplies(const std::vector<HotlineReplyRow>& replies) const = 0;
};

// The format of that name, or nullptr.
const HotlineFormat* FindHotlineFormat(absl::string_view name);

// A city's name as requests give it: 1..40 of [a-z0-9_-]. Errors name `field`.
absl::Status CheckHotlineCity(absl::string_view city, absl::string_view field);

}  // namespace wuye::intake
