# The two commands of the README:
#   make demo   installs dependencies, builds, and runs a container with hull-runtime
#   make test   installs dependencies, builds, and runs every test
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all setup build demo test unit bench clean

all: build

setup:
	./scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD)

demo: build
	./scripts/demo.sh $(BUILD)

test: build
	./scripts/test.sh $(BUILD)

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure

bench: build
	./bench/runtime.sh $(BUILD)

clean:
	rm -rf $(BUILD)
