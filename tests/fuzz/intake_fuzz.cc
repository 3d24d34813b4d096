// Intake's validation: any ticket bytes through PrepareTicket, any text through the phone
// normaliser, any pair of states through the state machine: OK or a field error, never a
// crash; a normalised number is digits only, and a prepared ticket prepares again unchanged.
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "services/intake/ticket.h"
#include "tests/fuzz/fuzz.h"

namespace pb = wuye::intake::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Time now = absl::FromUnixSeconds(1795000000);  // 2026-11-18
  const std::string text(reinterpret_cast<const char*>(data), size);

  pb::CreateTicketRequest request;
  if (request.ParseFromString(text)) {
    pb::Ticket ticket = request.ticket();
    if (wuye::intake::PrepareTicket(ticket, request.answer(), now, "ticket").ok()) {
      pb::Ticket again = ticket;
      if (!wuye::intake::PrepareTicket(again, request.answer(), now, "ticket").ok()) std::abort();
    }
    (void)wuye::intake::IsOverdue(ticket, now);
  }

  auto digits = wuye::NormalizeCallerPhone(text, "ticket.caller_phone");
  if (digits.ok()) {
    for (char c : *digits) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) std::abort();
    }
    if (wuye::HashPhone("key", *digits).size() != 32) std::abort();
  } else {
    // The error never quotes the number: no 7 or more of the input's digits in a row.
    std::string input_digits;
    for (char c : text) {
      if (absl::ascii_isdigit(static_cast<unsigned char>(c))) input_digits += c;
    }
    if (input_digits.size() >= 7 &&
        digits.status().message().find(input_digits) != std::string::npos) {
      std::abort();
    }
  }

  if (size >= 3) {
    auto kind = static_cast<wuye::common::v1::TicketKind>(data[0] % 16);
    auto from = static_cast<wuye::events::v1::TicketState>(data[1] % 12);
    auto to = static_cast<wuye::events::v1::TicketState>(data[2] % 12);
    if (wuye::intake::CanMove(kind, from, to) != wuye::intake::CheckMove(kind, from, to).ok()) {
      std::abort();
    }
  }
  return 0;
}
