# fleet — the two entry points are `make demo` and `make test` (see README.md).
SWIFT ?= swift
BIN := .build/debug/fleet
# Every swift invocation runs with a private TMPDIR that is removed afterwards: swift leaves
# `TemporaryDirectory.*` folders in TMPDIR on Linux (swift-driver#2049).
PRIVATE_TMP := tools/private-tmp

.PHONY: demo demo-reset test stress build warnings man unit e2e bench clean

# The dashboard on a writable copy of the embedded demo fleet (.build/demo-fleet); as root it also
# starts testbed hosts for the demo's NixOS machines so deploys are real (tools/run-demo).
demo:
	@tools/install-deps demo
	$(PRIVATE_TMP) $(SWIFT) build --product fleet
	@tools/run-demo

demo-reset:
	rm -rf .build/demo-fleet
	testbed/testbed down --dir .build/demo-testbed >/dev/null 2>&1 || true

build:
	$(PRIVATE_TMP) $(SWIFT) build

# Fails on any compiler or SwiftPM warning in our targets, also after an incremental build (it reads
# every source file's recorded diagnostics, not only what this build printed). `make test` runs it.
warnings:
	$(PRIVATE_TMP) env SWIFT=$(SWIFT) tools/check-warnings --build-tests

# Man pages for fleet and every subcommand, generated from the argument parser at build time.
man: build
	$(PRIVATE_TMP) $(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration debug --multi-page >/dev/null
	rm -rf .build/man && mkdir -p .build/man && cp .build/plugins/GenerateManual/outputs/FleetTUI/*.1 .build/man/

# Every test: unit + snapshot tests (swift test), then the end-to-end suite driving the real binary.
# tools/test-suite runs them with a private TMPDIR it removes at the end and prints the run time.
test:
	@tools/install-deps test
	SWIFT=$(SWIFT) tools/test-suite

# The long reliability profile: ≥1M fuzz inputs per parser (and, with the fault suite, its long runs).
stress:
	@tools/install-deps test
	$(PRIVATE_TMP) $(SWIFT) build
	$(PRIVATE_TMP) env FLEET_BIN=$(abspath $(BIN)) tools/stress

unit:
	$(PRIVATE_TMP) $(SWIFT) test

e2e: build
	$(PRIVATE_TMP) env FLEET_BIN=$(abspath $(BIN)) python3 -m pytest -q tests/e2e

# Benchmarks (issue 9): release build, then bench/run.py prints the table and writes bench/results.json.
# The Swift runtime and Foundation are linked statically, as a shipped Swift binary is: it saves ~8 ms of
# dynamic loading and relocation per process start and ~2.5 MB RSS (docs/PERFORMANCE.md, seventh session).
# Never fails on timing (PASS/MISS is printed); see docs/PERFORMANCE.md.
bench:
	@tools/install-deps bench
	$(PRIVATE_TMP) $(SWIFT) build -c release --product fleet --static-swift-stdlib
	python3 bench/run.py --fleet .build/release/fleet $(BENCH_ARGS)

clean:
	rm -rf .build
