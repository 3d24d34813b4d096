// Elderly care's validation and sealing: any text through the ID-number check (an error
// never echoes the value), any card bytes through CheckHealthCard, and any bytes opened as
// a sealed value: refused, never a crash; what is sealed opens to itself and nowhere else.
#include <cstdlib>
#include <string>

#include "absl/time/civil_time.h"
#include "services/eldercare/eldercare.h"
#include "shared/sealing.h"
#include "tests/fuzz/fuzz.h"

namespace pb = wuye::eldercare::v1;
using wuye::Keyring;
using wuye::SealedPlace;
using wuye::SealedValue;

namespace {
const Keyring& Ring() {
  static const Keyring ring =
      *Keyring::Parse("eldercare", "fuzz:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                      "bG9va3VwLWtleS1mb3Itd3V5ZS10ZXN0cy0wMTIzNDU2Nzg5");
  return ring;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  auto id = wuye::eldercare::CanonicalIdNumber(text, "id_number", absl::CivilDay(2026, 11, 29));
  if (id.ok()) {
    if (id->size() != 18) std::abort();
    (void)wuye::eldercare::IdBirthDate(*id);
  } else {
    // The error never echoes the number: no 6 or more of the input's digits in a row.
    std::string input_digits;
    for (char c : text) {
      if (c >= '0' && c <= '9') input_digits += c;
    }
    if (input_digits.size() >= 6 && id.status().message().find(input_digits) != std::string::npos) {
      std::abort();
    }
  }

  pb::HealthCard card;
  if (card.ParseFromString(text)) (void)wuye::eldercare::CheckHealthCard(card, "card");

  const SealedPlace place{"g", "health_cards", "r1", "blood_type"};
  if (Ring().Open(place, SealedValue{"fuzz", text}).ok()) std::abort();  // forged: refused
  auto sealed = Ring().Seal(place, text);
  if (!sealed.ok()) std::abort();
  auto opened = Ring().Open(place, *sealed);
  if (!opened.ok() || *opened != text) std::abort();
  const SealedPlace elsewhere{"g", "health_cards", "r2", "blood_type"};
  if (Ring().Open(elsewhere, *sealed).ok()) std::abort();
  return 0;
}
