#!/usr/bin/env bash
# `make fuzz`: builds every fuzz target of tests/fuzz with clang, libFuzzer, ASan and UBSan
# (in build-fuzz/) and runs each for FUZZ_SECONDS (default 60), starting from its seed
# corpus. New interesting inputs go to .fuzz/corpus/<target>/ (git-ignored); a crash stops
# the run, leaves its input in .fuzz/artifacts/<target>/ and exits 1. After fixing the bug,
# copy that input into tests/fuzz/corpus/<target>/: `make test` replays it from then on.
#
#   scripts/fuzz.sh [TARGET...]        (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_SECONDS='$seconds' is not a positive integer" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (Debian: clang, libclang-rt-14-dev)" >&2; exit 2; }

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -g -O1"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWUYE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(ls tests/fuzz/corpus)
fi
ninja -C "$build" $(printf '%s_fuzz ' "${targets[@]}")

status=0
for t in "${targets[@]}"; do
  work=.fuzz/corpus/$t artifacts=.fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" 2>".fuzz/$t.log"; then
    echo "fuzz: $t CRASHED: see .fuzz/$t.log and $artifacts/" >&2
    status=1
    continue
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' ".fuzz/$t.log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $t ok: $runs inputs tried, corpus $(ls "$work" | wc -l) files"
done
exit $status
