# fleet — the two entry points are `make demo` and `make test` (see README.md).
SWIFT ?= swift
BIN := .build/debug/fleet

.PHONY: demo test build unit e2e bench clean

demo:
	@tools/install-deps demo
	$(SWIFT) build --product fleet
	$(BIN)

build:
	$(SWIFT) build

# Every test: unit + snapshot tests (swift test), then the end-to-end suite driving the real binary.
test:
	@tools/install-deps test
	$(SWIFT) build
	$(SWIFT) test
	FLEET_BIN=$(abspath $(BIN)) python3 -m pytest -q tests/e2e
	testbed/selftest.sh

unit:
	$(SWIFT) test

e2e: build
	FLEET_BIN=$(abspath $(BIN)) python3 -m pytest -q tests/e2e

clean:
	rm -rf .build
