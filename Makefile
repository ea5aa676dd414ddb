# Two commands: `make run` and `make test`. Both install what is missing, then build.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps model configure build run test clean

all: build

deps:
	@scripts/install_deps.sh

model:
	@scripts/fetch_model.sh

configure: deps model
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/sgrun run examples/hello.sgp

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)

# Reliability (docs/reliability.md): long fuzz runs, and the whole suite under ASan + UBSan.
FUZZ_SECONDS ?= 600
# test-fuzz: a short libFuzzer smoke run of every target (clang build in build-fuzz).
.PHONY: fuzz test-fuzz test-asan
test-fuzz: deps
	@scripts/fuzz.sh smoke

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh run

test-asan: deps model
	@scripts/sanitize.sh
