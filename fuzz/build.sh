#!/usr/bin/env bash
# Builds .build-fuzz/fleet-fuzz: every FleetModel source plus fuzz/*.swift compiled in one swiftc
# call with libFuzzer + AddressSanitizer (-sanitize=fuzzer,address), optimised (-O: ~20x more inputs/s
# than -Onone). FleetModel's package dependencies (swift-collections, swift-crypto, TOMLKit, ...) are
# NOT instrumented: they come from the ordinary `swift build` products in .build/debug, packed into one
# static archive so that only what FleetModel references is linked. Why this way: see fuzz/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=.build-fuzz
mkdir -p "$out"
swift=${SWIFT:-swift}
swiftc=${SWIFTC:-swiftc}

if [ -z "${FLEET_FUZZ_NO_SWIFTPM:-}" ]; then
  "$swift" build --target FleetModel >"$out/swiftpm.log" 2>&1 || { cat "$out/swiftpm.log" >&2; exit 1; }
fi
deps_dir=.build/debug
[ -d "$deps_dir/Modules" ] || { echo "fuzz/build.sh: $deps_dir/Modules missing; run swift build first" >&2; exit 1; }

# 1. Dependency objects -> one archive (rebuilt when any object is newer).
archive=$out/deps.a
dep_dirs=()
for d in "$deps_dir"/*.build; do
  m=$(basename "$d" .build)
  case $m in
    FleetModel|FleetTUI|*Tests|fleetPackage*|Swift*|_Swift*|*-tool|generate_*|SnapshotTesting*|InlineSnapshotTesting|\
    CustomDump|IssueReporting*|XCTestDynamicOverlay|ArgumentParser*|CNcurses) continue ;;
  esac
  dep_dirs+=("$d")
done
if [ ! -f "$archive" ] || [ -n "$(find "${dep_dirs[@]}" -name '*.o' -newer "$archive" -print -quit)" ]; then
  rm -f "$archive"
  find "${dep_dirs[@]}" -name '*.o' -print0 | xargs -0 ar qc "$archive"
  ranlib "$archive"
fi

# 2. Clang module maps of the C modules the Swift dependencies import (Crypto, TOMLKit, ...).
modmaps=()
while IFS= read -r m; do modmaps+=(-Xcc "-fmodule-map-file=$m"); done < <(
  find .build/checkouts -name module.modulemap -path '*/Sources/*' \
    | grep -v -E '/(swift-syntax|Benchmarks)/|SQLCipher' | sort)

# 3. The instrumented binary (rebuilt when a source is newer).
bin=$out/fleet-fuzz
mapfile -t sources < <(find Sources/FleetModel fuzz -name '*.swift' | sort)
if [ -f "$bin" ] && [ -z "$(find "${sources[@]}" "$archive" -newer "$bin" -print -quit)" ]; then
  exit 0
fi
echo "fuzz/build.sh: compiling ${#sources[@]} sources with -sanitize=fuzzer,address" >&2
"$swiftc" -O -sanitize=fuzzer,address -parse-as-library -module-name FleetModel \
  -I "$deps_dir/Modules" "${modmaps[@]}" "${sources[@]}" "$archive" -lstdc++ -o "$bin.tmp" \
  > "$out/swiftc.log" 2>&1 || { grep -v "Cannot export local symbol" "$out/swiftc.log" | grep -E -A3 "error" >&2; exit 1; }
mv "$bin.tmp" "$bin"
echo "fuzz/build.sh: built $bin" >&2
