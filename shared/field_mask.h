// Update methods with an optional `update_mask` (AIP-134). Without paths the request's
// resource replaces the stored one whole (what these methods did before they had a mask);
// with paths, only the named fields are taken from the request and every other field keeps
// its stored value.
#pragma once

#include <initializer_list>
#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace wuye {

// Every path of `mask` must name a field of `type` that is among `updatable` (top-level
// field names): an unknown path, or one naming an output-only or identifying field (id,
// version, ...), is INVALID_ARGUMENT on `update_mask`. An empty mask is valid.
absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             const google::protobuf::Descriptor* type,
                             std::initializer_list<absl::string_view> updatable);

// Makes `*stored` the resource after the update: `update` itself when `mask` has no paths;
// otherwise `*stored` with the masked fields copied from `update` (a message or repeated
// field replaced whole, an unset one cleared). `mask` must have passed CheckUpdateMask.
void ApplyUpdateMask(const google::protobuf::Message& update,
                     const google::protobuf::FieldMask& mask, google::protobuf::Message* stored);

// Serialises the updates of one resource (`resource` names it, e.g. "sla_policy/<group>/<estate>")
// until `tx` ends: a merge reads the stored value and writes it back, so two concurrent masked
// updates must not both read the same value (one's fields would be lost). Take it before
// reading the stored value; it works whether or not the resource has a row yet.
void LockForUpdate(pqxx::work& tx, absl::string_view resource);

}  // namespace wuye
