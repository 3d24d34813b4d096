# wuye — one Makefile for everything. `make demo` and `make test` work on a bare Debian 12
# machine: they install what is missing, build, and start the local servers themselves.

BUILD     ?= build
ASAN_BUILD ?= build-asan
JOBS      ?= $(shell nproc)
IMAGE_TAG ?= 0.1.0
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
SOURCES    = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: all deps configure build test test-asan demo bench flamegraph chaos scale images fuzz up down status fmt lint clean \
        proto-lint proto-breaking web-clients console console-dev

all: build

deps:
	@scripts/install-deps.sh

# CI builds keep line tables only (-g1): about a third less compile time than full debug
# information, and a crash's backtrace still names its lines.
CI_FLAGS := $(if $(filter true,$(CI)),-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG")

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CI_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Starts the local PostgreSQL and Redis, runs every test through ctest, stops the servers;
# the exit code is ctest's.
test: build
	@scripts/run-tests.sh $(BUILD)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DWUYE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@scripts/run-tests.sh $(ASAN_BUILD)

demo: build
	@scripts/demo.sh $(BUILD)

bench: build
	@scripts/bench.sh $(BUILD)

# perf's samples of wuye-intake during the CreateTicket closed loop, drawn as
# docs/flamegraph-createticket.svg (scripts/flamegraph.sh; needs linux-perf).
flamegraph: build
	@scripts/flamegraph.sh $(BUILD)

# Flows across the suite, every service as two replicas, while replicas are killed and Redis
# and PostgreSQL restarted, on a suite of its own; prints lost / twice / ledger imbalance /
# timers fired once (in all and by kind) / leadership moves / claims / drain time. Sizes:
# CHAOS_FLOWS, CHAOS_KILLS, CHAOS_REDIS_RESTARTS, CHAOS_PG_RESTARTS, CHAOS_REPLICAS;
# CHAOS_SLOW_TIMERS=0 leaves out the timers that need six minutes (scripts/chaos.sh).
chaos: build
	@scripts/chaos.sh $(BUILD)

# One cell at a large group's size (1 000 estates, 300 000 households, a month of traffic
# compressed), on a suite of its own; prints rates with one and two replicas, p99, what
# bounded each, and database size per month. Sizes: SCALE_* (scripts/scale.sh).
scale: build
	@scripts/scale.sh $(BUILD)

# libFuzzer targets of tests/fuzz with ASan and UBSan, FUZZ_SECONDS each (default 60).
fuzz: deps
	@scripts/fuzz.sh

# One image per service from deploy/Dockerfile, tagged $(IMAGE_TAG), with docker or podman.
images:
	@scripts/images.sh $(IMAGE_TAG)

up: deps
	@scripts/servers.sh up

down:
	@scripts/services.sh stop
	@scripts/servers.sh down

status:
	@scripts/servers.sh status; scripts/services.sh status $(BUILD) || true

fmt:
	clang-format -i --style=file $(filter %.cc %.h,$(SOURCES))

lint: configure
	clang-tidy -p $(BUILD) --quiet $(filter %.cc,$(filter-out %_test.cc,$(SOURCES)))

# buf over protos/ (protos/buf.yaml, docs/api/protos.md) and the typed web clients
# (web/clients/gen, also built by `make build`), with the tools of web/ that `make deps`
# installs. proto-breaking compares with the last commit of main (scripts/buf.sh).
proto-lint: deps
	@scripts/buf.sh lint

proto-breaking: deps
	@scripts/buf.sh breaking || [ $$? -eq 77 ]

web-clients: deps
	@scripts/buf.sh generate

# The web console (docs/console.md): built into web/console/dist (`make build` does it too),
# with its first-load budget; or Vite's dev server on 127.0.0.1:5173 in front of the
# gateway of `make demo` (WUYE_GATEWAY_URL for another).
console: deps
	@scripts/buf.sh generate
	@scripts/console.sh build

console-dev: deps
	@scripts/console.sh dev

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
