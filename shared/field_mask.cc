#include "shared/field_mask.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "shared/status.h"

namespace wuye {

using google::protobuf::util::FieldMaskUtil;

absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             const google::protobuf::Descriptor* type,
                             std::initializer_list<absl::string_view> updatable) {
  for (const std::string& path : mask.paths()) {
    if (!FieldMaskUtil::GetFieldDescriptors(type, path, nullptr)) {
      // The path is the caller's text: quote only a short, escaped prefix of it.
      return FieldError("update_mask", absl::StrCat("unknown field \"",
                                                    absl::CHexEscape(path.substr(0, 64)), "\""));
    }
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      return FieldError("update_mask", absl::StrCat("field ", path, " cannot be updated"));
    }
  }
  return absl::OkStatus();
}

void ApplyUpdateMask(const google::protobuf::Message& update,
                     const google::protobuf::FieldMask& mask, google::protobuf::Message* stored) {
  if (mask.paths().empty()) {
    stored->CopyFrom(update);
    return;
  }
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(update, mask, options, stored);
}

void LockForUpdate(pqxx::work& tx, absl::string_view resource) {
  // A transaction-scoped advisory lock in a key space of its own (class 'mask').
  constexpr int kLockClass = 0x6d61736b;
  tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", kLockClass,
                 std::string(resource));
}

}  // namespace wuye
