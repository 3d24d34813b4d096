// Waiting for the signal that ends a process: SIGTERM (Kubernetes, scripts/services.sh) or
// SIGINT (a terminal). Call ServiceHost::BlockTerminationSignals() first thing in main, so
// that no thread takes them by default.
#pragma once

namespace wuye {

// Blocks until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

}  // namespace wuye
