// The event envelope as a consumer decodes it off a stream: any bytes must parse or be
// refused, and a parsed envelope's payload must unpack or be refused, never crash.
#include "google/protobuf/any.pb.h"
#include "tests/fuzz/fuzz.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"
#include "wuye/events/v1/intake_events.pb.h"
#include "wuye/events/v1/performance_events.pb.h"

namespace {

template <typename T>
void TryUnpack(const google::protobuf::Any& any) {
  T message;
  if (any.Is<T>() && any.UnpackTo(&message)) (void)message.ByteSizeLong();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wuye::events::v1::Event event;
  if (!event.ParseFromArray(data, static_cast<int>(size))) return 0;
  const google::protobuf::Any& any = event.payload();
  TryUnpack<wuye::events::v1::EstateChanged>(any);
  TryUnpack<wuye::events::v1::UnitChanged>(any);
  TryUnpack<wuye::events::v1::StaffChanged>(any);
  TryUnpack<wuye::events::v1::ResidentChanged>(any);
  TryUnpack<wuye::events::v1::UnitImportChunk>(any);
  TryUnpack<wuye::events::v1::ShiftChanged>(any);
  TryUnpack<wuye::events::v1::TicketChanged>(any);
  TryUnpack<wuye::events::v1::WorkRequested>(any);
  TryUnpack<wuye::events::v1::CallbackRecorded>(any);
  TryUnpack<wuye::events::v1::WorkOrderChanged>(any);
  TryUnpack<wuye::events::v1::PricePublished>(any);
  TryUnpack<wuye::events::v1::CollectionReported>(any);
  TryUnpack<wuye::events::v1::ElderFeeCharged>(any);
  TryUnpack<wuye::events::v1::SheetClosed>(any);
  return 0;
}
