// Waiting for the signal that ends a process: SIGTERM (Kubernetes, scripts/services.sh) or
// SIGINT (a terminal). Call ServiceHost::BlockTerminationSignals() first thing in main, so
// that no thread takes them by default.
#pragma once

namespace wuye {

// Blocks until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

// In a release build (NDEBUG), turns off Abseil's check of every mutex acquisition for
// lock-order cycles: Debian builds Abseil without NDEBUG, so the check runs on every lock
// (about 2.5 % of the gateway's CPU) unless a process turns it off. Debug and sanitizer
// builds keep it.
void IgnoreMutexDeadlockChecks();

}  // namespace wuye
