#!/usr/bin/env bash
# Builds the compile benchmark in release mode and runs it once.
# The bench itself prints per-stage wall times as multiples of serialising
# the output, and the peak memory of CLI runs as multiples of their output. When GNU time is available
# the bench binary is also run under `/usr/bin/time -v` for the
# whole-process wall time and maximum RSS.
set -euo pipefail

cd "$(dirname "$0")/.."

# Build first so that compiling is not part of the measurement; cargo prints
# "Executable benches/compile.rs (target/release/deps/compile-<hash>)".
build_log=$(cargo bench --bench compile --no-run 2>&1) || {
    printf '%s\n' "$build_log" >&2
    exit 1
}
printf '%s\n' "$build_log"
binary=$(printf '%s\n' "$build_log" | sed -n 's/^ *Executable .*(\(.*\))$/\1/p' | tail -n 1)

if [ -n "$binary" ] && [ -x "$binary" ] && /usr/bin/time -v true >/dev/null 2>&1; then
    report=$(mktemp)
    trap 'rm -f "$report"' EXIT
    /usr/bin/time -v -o "$report" "$binary" --bench
    echo "--- /usr/bin/time -v ---"
    grep -E 'Elapsed \(wall clock\) time|Maximum resident set size' "$report"
else
    cargo bench --bench compile
fi
