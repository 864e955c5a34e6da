#!/usr/bin/env bash
# Builds the libFuzzer targets (every module compiled with -sanitize=fuzzer,address) and runs
# each for FUZZ_SECONDS (default 600) from the committed seeds in Seeds/<target>/. New inputs
# go to .build-fuzz/work/<target>/, crashes, hangs (-timeout) and memory blow-ups
# (-rss_limit_mb) to .build-fuzz/findings/; the script fails if any target finds one.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-corpus haproxy iptables}
swift build -c release --build-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | grep -v "warning: " | tail -n 1
mkdir -p .build-fuzz/findings
for target in $targets; do
    mkdir -p ".build-fuzz/work/$target"
    options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix=".build-fuzz/findings/$target-")
    if [ "$target" = corpus ]; then options+=(-dict=corpus.dict); fi
    echo "fuzz-$target: $seconds s"
    SWIFT_BACKTRACE=enable=no ".build-fuzz/release/fuzz-$target" "${options[@]}" \
        ".build-fuzz/work/$target" "Seeds/$target" > ".build-fuzz/fuzz-$target.log" 2>&1 || {
        tail -n 30 ".build-fuzz/fuzz-$target.log"
        echo "fuzz-$target found a problem: see Fuzz/.build-fuzz/findings/"
        exit 1
    }
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" ".build-fuzz/fuzz-$target.log" |
        sed "s/^/  /"
done
