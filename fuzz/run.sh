#!/usr/bin/env bash
# Runs one fuzz target with libFuzzer.
#   fuzz/run.sh TARGET [--runs N | --seconds S] [-- LIBFUZZER-ARGS...]
# TARGET: json config age sops nixlog. Default: --seconds 20.
# The working corpus grows in .build-fuzz/corpus/TARGET (seeded from fuzz/corpus/TARGET, which is only
# read); a crashing input is written to .build-fuzz/crashes/TARGET/. Prints one result line
#   RESULT target=T inputs=N seconds=S inputs_per_second=R crashes=C
# and exits 1 if the target crashed (or an invariant failed), 0 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${1:?usage: fuzz/run.sh TARGET [--runs N | --seconds S] [-- LIBFUZZER-ARGS...]}
shift
limit=(-max_total_time=20)
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) limit=(-runs="$2"); shift 2 ;;
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "fuzz/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $target in json|config|age|sops|nixlog) ;; *) echo "fuzz/run.sh: unknown target $target" >&2; exit 2 ;; esac

fuzz/build.sh
out=.build-fuzz
work=$out/corpus/$target crashes=$out/crashes/$target log=$out/logs/$target.log
mkdir -p "$work" "$crashes" "$out/logs" "$out/results"
before=$(ls "$crashes" | wc -l)

# The Swift runtime's crash backtracer would symbolicate (slowly) inside libFuzzer's own handler; off.
export SWIFT_BACKTRACE=enable=no
# TOMLKit's TOMLTable(string:) never frees its error buffer (an upstream leak of a few bytes per
# parse, see fuzz/README.md); leak detection would stop the config target on its first input.
leaks=1; [ "$target" = config ] && { leaks=0; export ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}; }
start=$(date +%s.%N)
set +e
FLEET_FUZZ_TARGET=$target "$out/fleet-fuzz" "$work" "fuzz/corpus/$target" \
  -artifact_prefix="$crashes/" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=$leaks \
  -print_final_stats=1 "${limit[@]}" "${extra[@]}" > "$log" 2>&1
status=$?
set -e
end=$(date +%s.%N)
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
runs=${runs:-0}
secs=$(python3 -c "print(f'{$end - $start:.1f}')")
rate=$(python3 -c "print(int($runs / max($end - $start, 0.001)))")
crashed=$(( $(ls "$crashes" | wc -l) - before ))
if [ $status -ne 0 ] && [ $crashed -eq 0 ]; then crashed=1; fi
echo "RESULT target=$target inputs=$runs seconds=$secs inputs_per_second=$rate crashes=$crashed" | tee "$out/results/$target"
if [ $crashed -ne 0 ]; then
  echo "fuzz/run.sh: $target CRASHED; log: $log; inputs: $crashes/" >&2
  grep -E -m5 "invariant violated|Fatal error|ERROR: |SUMMARY|deadly signal" "$log" >&2 || true
  exit 1
fi
