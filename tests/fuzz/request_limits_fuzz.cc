// The request limits (issue 20, item 1): any bytes, decoded as a request that has repeated
// fields at several depths, are either refused or pass CheckRepeatedFields, which never
// crashes, and refuses exactly when some list is over the bound, naming a field.
#include <string>

#include "google/protobuf/message.h"
#include "shared/server.h"
#include "shared/status.h"
#include "tests/fuzz/fuzz.h"
#include "wuye/directory/v1/directory.pb.h"

namespace {

// The largest list anywhere in `message`.
int Longest(const google::protobuf::Message& message) {
  const auto* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  int most = 0;
  for (const auto* field : fields) {
    bool is_message = field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE;
    if (field->is_repeated()) {
      int n = reflection->FieldSize(message, field);
      most = std::max(most, n);
      for (int i = 0; is_message && i < n; ++i) {
        most = std::max(most, Longest(reflection->GetRepeatedMessage(message, field, i)));
      }
    } else if (is_message) {
      most = std::max(most, Longest(reflection->GetMessage(message, field)));
    }
  }
  return most;
}

void Check(google::protobuf::Message& request, const uint8_t* data, size_t size, int max) {
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  absl::Status st = wuye::CheckRepeatedFields(request, max);
  if (st.ok() != (Longest(request) <= max)) __builtin_trap();
  if (!st.ok() &&
      (st.code() != absl::StatusCode::kInvalidArgument || wuye::ErrorField(st).empty())) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  int max = 1 + data[0] % 8;
  ++data;
  --size;
  wuye::directory::v1::CreateStaffRequest staff;
  Check(staff, data, size, max);
  wuye::directory::v1::ImportUnitsRequest import;
  Check(import, data, size, max);
  wuye::directory::v1::UpdateStaffRequest update;
  Check(update, data, size, max);
  return 0;
}
