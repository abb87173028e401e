# fleet — the two entry points are `make demo` and `make test` (see README.md).
SWIFT ?= swift
BIN := .build/debug/fleet

.PHONY: demo demo-reset test build man unit e2e bench clean

# The dashboard on a writable copy of the embedded demo fleet (.build/demo-fleet).
demo:
	@tools/install-deps demo
	$(SWIFT) build --product fleet
	@ws=$$(tools/demo-workspace) && keys="$$ws/.git/demo-admin-keys.txt" && \
	  if [ -f "$$keys" ]; then export SOPS_AGE_KEY_FILE="$$keys"; fi && \
	  FLEET_DEMO_DIR="$$ws" $(BIN)

demo-reset:
	rm -rf .build/demo-fleet

build:
	$(SWIFT) build

# Man pages for fleet and every subcommand, generated from the argument parser at build time.
man: build
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration debug --multi-page >/dev/null
	rm -rf .build/man && mkdir -p .build/man && cp .build/plugins/GenerateManual/outputs/FleetTUI/*.1 .build/man/

# Every test: unit + snapshot tests (swift test), then the end-to-end suite driving the real binary.
test:
	@tools/install-deps test
	$(SWIFT) build
	$(MAKE) --no-print-directory man
	$(SWIFT) test
	FLEET_BIN=$(abspath $(BIN)) python3 -m pytest -q tests/e2e
	testbed/selftest.sh

unit:
	$(SWIFT) test

e2e: build
	FLEET_BIN=$(abspath $(BIN)) python3 -m pytest -q tests/e2e

# Benchmarks (issue 9): release build, then bench/run.py prints the table and writes bench/results.json.
# Never fails on timing (PASS/MISS is printed); see docs/PERFORMANCE.md.
bench:
	@tools/install-deps bench
	$(SWIFT) build -c release --product fleet
	python3 bench/run.py --fleet .build/release/fleet $(BENCH_ARGS)

clean:
	rm -rf .build
