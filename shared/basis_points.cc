#include "shared/basis_points.h"

#include <limits>

namespace wuye {

int32_t BasisPoints(int64_t part, int64_t whole, int32_t if_empty) {
  if (whole <= 0) return if_empty;
  if (part <= 0) return 0;
  // 128 bits: part * 10000 does not overflow for any int64 part.
  __int128 bp = static_cast<__int128>(part) * 10000 / whole;
  if (bp > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(bp);
}

}  // namespace wuye
