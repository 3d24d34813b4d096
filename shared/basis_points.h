// Shares in basis points (1 bp = 0.01 %), as every report and event carries them.
#pragma once

#include <cstdint>

namespace wuye {

// part/whole in basis points, rounded down: a rate is never shown as reaching a target it
// has not reached (94.999 % is 9499 bp, not 9500). `if_empty` when `whole` <= 0 (what an
// empty period means is the caller's rule: a collection rate with nothing billed is 100 %,
// a share of no owners 0 %); 0 when `part` <= 0. Not capped: more callbacks than tickets
// give more than 10000.
int32_t BasisPoints(int64_t part, int64_t whole, int32_t if_empty);

}  // namespace wuye
