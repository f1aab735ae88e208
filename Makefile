# Quiver — the two commands of the README:
#   make demo   installs everything, builds in release mode and runs the main job
#   make test   installs everything and runs the whole test suite
# Both are idempotent: nothing whose sha256 already matches is downloaded again.

SWIFT ?= swift
RELEASE_FLAGS = -c release
TEST_FLAGS = -c release -Xswiftc -enable-testing

.PHONY: setup deps models build test demo bench clean

setup: deps models

deps:
	bash scripts/install-system-deps.sh

models:
	bash scripts/fetch-models.sh

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product quiver

# The suite is built optimized: the numeric tests would take minutes in a debug build. It runs
# against the embedded store and real Milvus servers that scripts/test.sh starts (and stops);
# then the server is checked with real clients (openai, pymilvus) over the network.
test: setup
	SWIFT=$(SWIFT) bash scripts/test.sh

demo: setup build
	bash scripts/demo.sh

bench: setup build
	bash bench/run.sh

clean:
	rm -rf .build
