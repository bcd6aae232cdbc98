# sipreg: `make run` (the main job) and `make test` (every test). Both install what they need.
SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
SHARED ?= $(abspath ../shared)
CMAKE_COMMON := -DSIPREG_SHARED_DIR=$(SHARED)

.PHONY: all deps build run test test-build format format-check fuzz clean install

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_COMMON) >/dev/null
	cmake --build build -j$(JOBS)

run: build
	@scripts/run.sh build/sipreg

# Everything: format check, a gcc release build (its warnings are errors too), the clang
# ASan+UBSan build running unit, conformance, fuzz-replay and integration tests, a clang
# ThreadSanitizer build running the tests whose code runs on several threads (label `threads`),
# then a bounded libFuzzer run of every target.
test: deps format-check
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_COMMON) >/dev/null
	cmake --build build -j$(JOBS)
	CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSIPREG_SANITIZE=address,undefined \
	    -DSIPREG_FUZZ=ON $(CMAKE_COMMON) >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSIPREG_SANITIZE=thread \
	    $(CMAKE_COMMON) >/dev/null
	cmake --build build-tsan -j$(JOBS) --target unit_runner sipreg
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ctest --output-on-failure -L threads
	scripts/fuzz.sh build-asan $${FUZZ_SECONDS:-60}

format-check:
	@files=$$(git ls-files '*.c' '*.h'); \
	  clang-format --dry-run --Werror $$files && echo "format: ok ($$(echo $$files | wc -w) files)"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

install: build
	cmake --install build --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf build build-asan build-tsan
