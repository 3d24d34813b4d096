// What the files of billing's store share beyond shared/sql.h. Only billing_store*.cc
// include it.
#pragma once

#include <string>

#include "wuye/common/v1/domain.pb.h"

namespace wuye::billing::store_rows {

// A date read as text ("YYYY-MM-DD") as the month it falls in.
inline wuye::common::v1::Month MonthOfDate(const std::string& date) {
  wuye::common::v1::Month m;
  if (date.size() >= 7) {
    m.set_year(std::stoi(date.substr(0, 4)));
    m.set_month(std::stoi(date.substr(5, 2)));
  }
  return m;
}

}  // namespace wuye::billing::store_rows
