#!/usr/bin/env bash
# Runs the BenchmarkDotNet suite, the CPU-time-per-call run, the interleaved whole-call latency and time-to-first-chunk
# runs, the idle-CPU run and (full run only) the same at 10, 100 and 1,000 calls a second, then copies the markdown reports into benchmarks/results/ (benchmarks/results/quick/ for a
# quick run).
#
#   benchmarks/run.sh                 full run: BenchmarkDotNet's default job, every suite, then the extra tables (about 55 min on 2 cores)
#   benchmarks/run.sh --quick         smoke run: every suite, few short iterations (under 5 min); rough numbers
#   benchmarks/run.sh [--quick] --filter '*Dispatcher*'   any further arguments go to BenchmarkDotNet
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$here/LlmObservability.Benchmarks"
mode=full
quick=()
if [[ "${1:-}" == "--quick" ]]; then
  mode=quick
  quick=(--quick)
  shift
fi
out="$here/results"
[[ "$mode" == quick ]] && out="$here/results/quick"
artifacts="$here/BenchmarkDotNet.Artifacts/$mode"
args=("$@")
whole=0
if [[ ${#args[@]} -eq 0 ]]; then
  args=(--filter '*')
  whole=1
fi

mkdir -p "$out"
rm -rf "$artifacts"
dotnet build -c Release "$project" -nologo -v quiet
dotnet run -c Release --no-build --project "$project" -- "${quick[@]}" "${args[@]}" --artifacts "$artifacts"
cp "$artifacts"/results/*-report-github.md "$out/"
if [[ $whole -eq 1 ]]; then
  # Only with the whole suite: the CPU-time and interleaved latency tables cover the handler-overhead clients, the
  # interleaved time-to-first-chunk table the TTFC suite's clients.
  # Each table's output reaches a log only when it ends (grep buffers it), so say when each starts: the run is not over
  # until the last one has.
  echo "$(date -u +%H:%M:%S) CPU-time table..."
  dotnet run -c Release --no-build --project "$project" -- --cpu-time "${quick[@]}" --out "$out/CpuTimePerCall.md" | grep -v '^// '
  echo "$(date -u +%H:%M:%S) interleaved latency table..."
  dotnet run -c Release --no-build --project "$project" -- --latency "${quick[@]}" --out "$out/CallLatencyInterleaved.md" | grep -v '^// '
  echo "$(date -u +%H:%M:%S) interleaved time-to-first-chunk table..."
  dotnet run -c Release --no-build --project "$project" -- --ttfc "${quick[@]}" --out "$out/TimeToFirstChunkInterleaved.md" | grep -v '^// '
  echo "$(date -u +%H:%M:%S) idle CPU table..."
  dotnet run -c Release --no-build --project "$project" -- --idle "${quick[@]}" --out "$out/IdleCpu.md"
  if [[ "$mode" == full ]]; then
    # The same processes at a service's pace (about 6 min for the three; not in the quick run, which must stay under 5).
    for rate in 10 100 1000; do
      echo "$(date -u +%H:%M:%S) CPU at $rate calls a second..."
      dotnet run -c Release --no-build --project "$project" -- --idle --rate "$rate" --out "$out/PacedCpu-$rate.md"
    done
  fi
fi
echo "Reports copied to $out"
