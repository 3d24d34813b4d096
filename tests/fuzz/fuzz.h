// The entry point every fuzz target defines (libFuzzer's). Built two ways:
//   - `make fuzz`: clang with -fsanitize=fuzzer,address,undefined; libFuzzer explores.
//   - `make test`: any compiler, with replay_main.cc, which runs each target over its seed
//     corpus (tests/fuzz/corpus/<target>/) — the inputs of crashes ever found live there too,
//     so every fixed crash stays a regression test.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
