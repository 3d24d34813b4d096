// The write path of evidence that the consumers (events of other services), the handlers
// (manual entries) and the bench share.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/performance/evidence.h"
#include "services/performance/performance_store.h"

namespace wuye::performance {

class EvidenceFlow {
 public:
  explicit EvidenceFlow(PerformanceStore& store) : store_(store) {}

  // Applies many evidence events at once: resolves the agents on duty, maps office lines
  // onto the responsible people's forms, then writes every line, finding and figure
  // set-based.
  absl::Status Apply(pqxx::work& tx, const std::string& group, std::vector<Evidence> batch);

 private:
  PerformanceStore& store_;
};

}  // namespace wuye::performance
