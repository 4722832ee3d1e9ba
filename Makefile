# Thin driver around CMake; ctest stays the test runner.
BUILD ?= build
JOBS  ?= 2
CMAKE_FLAGS ?= -DCRMSYNC_WERROR=ON

.PHONY: all setup build demo test test-asan format check-format check-size \
	bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: setup $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/crmsync run scenarios/ci/0001-baseline.json

test: build
	bash scripts/check-format.sh
	bash scripts/check-size.sh
	# Scenario tests time convergence: run them one at a time.
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit && ctest --output-on-failure -L scenario
	$(MAKE) test-asan

# Unit tests and the baseline under ASan+UBSan (build-asan/, about 2 min).
test-asan: setup
	JOBS=$(JOBS) bash scripts/test-asan.sh $(BUILD)-asan

# Rewrite every C file with .clang-format; `make test` fails on any that
# differs.
format:
	bash scripts/check-format.sh --fix

check-format: setup
	bash scripts/check-format.sh

# No function over 120 lines, no C file over 1,000 outside tests/.
check-size:
	bash scripts/check-size.sh

bench: build
	bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan
