#!/usr/bin/env bash
# Runs every fuzz target and prints the reliability table.
#   fuzz/run-all.sh --fast     each target for FLEET_FUZZ_SECONDS (default 20) seconds  (make test)
#   fuzz/run-all.sh --stress   each target for FLEET_FUZZ_RUNS (default 1000000) inputs  (make stress)
# Exit status 1 if any target crashed. Other parts of the stress suite add their counters as files
# in .build-stress/counters/ (fault_runs, torn_writes, leaked_secrets, orphans), one integer each;
# a counter nobody wrote is shown as "not run".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:---fast}
case $mode in
  --fast) limit=(--seconds "${FLEET_FUZZ_SECONDS:-20}") ;;
  --stress) limit=(--runs "${FLEET_FUZZ_RUNS:-1000000}") ;;
  *) echo "usage: fuzz/run-all.sh --fast|--stress" >&2; exit 2 ;;
esac
targets=(json config age sops nixlog)
fuzz/build.sh || exit 1
failed=0
for t in "${targets[@]}"; do
  fuzz/run.sh "$t" "${limit[@]}" || failed=1
done

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" ".build-fuzz/results/$1" 2>/dev/null; }
printf '\n%-28s %12s %10s %10s %8s\n' "fleet reliability ($mode)" inputs seconds inputs/s crashes
total_crashes=0
for t in "${targets[@]}"; do
  c=$(field "$t" crashes); c=${c:-?}
  [ "$c" = 0 ] || total_crashes=$((total_crashes + 1))
  printf '%-28s %12s %10s %10s %8s\n' "fuzz: $t" "$(field "$t" inputs)" "$(field "$t" seconds)" \
    "$(field "$t" inputs_per_second)" "$c"
done
for counter in fault_runs torn_writes leaked_secrets orphans; do
  f=.build-stress/counters/$counter
  v=$(cat "$f" 2>/dev/null || echo "not run")
  printf '%-28s %12s\n' "${counter//_/ }" "$v"
  case $counter in fault_runs) ;; *) [ "$v" = "not run" ] || [ "$v" = 0 ] || failed=1 ;; esac
done
printf '%-28s %12s\n' "crashes (all fuzz targets)" "$total_crashes"
exit $failed
