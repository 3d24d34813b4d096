// The intake service: tickets from every channel, first-contact ownership, callbacks and
// their sampling, the carrier's call log.
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "services/intake/consumers.h"
#include "services/intake/intake_service.h"
#include "services/intake/ticket.h"
#include "shared/log.h"
#include "shared/service_main.h"

ABSL_FLAG(std::string, phone_key_file, "",
          "file holding the HMAC key for phone-number hashes (or set WUYE_INTAKE_PHONE_KEY)");

namespace {

// The phone-hash key: WUYE_INTAKE_PHONE_KEY, else --phone_key_file, else derived from the
// JWT secret (a warning: rotating that secret then breaks matching of older tickets).
absl::StatusOr<std::string> PhoneKey(const wuye::ServiceConfig& config) {
  if (const char* key = std::getenv("WUYE_INTAKE_PHONE_KEY"); key != nullptr && *key != '\0') {
    return std::string(key);
  }
  if (std::string path = absl::GetFlag(FLAGS_phone_key_file); !path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string key = text.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() < 32) return absl::InvalidArgumentError("phone_key_file: at least 32 bytes");
    return key;
  }
  if (config.auth.hs256_secret.empty()) {
    return absl::InvalidArgumentError("phone key: set WUYE_INTAKE_PHONE_KEY or --phone_key_file");
  }
  wuye::LogWarn("intake.phone_key")
      .Str("why", "derived from the JWT secret; set WUYE_INTAKE_PHONE_KEY");
  return wuye::intake::HashPhone(config.auth.hs256_secret, "wuye.intake.phone-key");
}

}  // namespace

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "intake",
       .default_port = 50052,
       .migrations = &wuye::intake_migrations(),
       .grpc_service_name = "wuye.intake.v1.IntakeService",
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         WUYE_ASSIGN_OR_RETURN(std::string key, PhoneKey(parts.config));
         return std::make_unique<wuye::intake::IntakeServiceImpl>(parts.db, parts.verifier,
                                                                  parts.clock, std::move(key));
       },
       .consumes = {wuye::StreamOf("dispatch"), wuye::StreamOf("directory"),
                    wuye::StreamOf("billing")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::intake::MakeHandler(parts.db); }});
}
