#!/usr/bin/env bash
# `make bench-instructions`: the instructions the simulator runs (`FlowEngine.run`, counted by
# callgrind) over the output of a 10,000-rule corpus, for its probe and for ten times the
# probe, and those that rendering its haproxy.cfg files takes (`HAProxyConfigRenderer.render`).
# Unlike times on these machines, the counts come out the same from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "valgrind is missing (run make as root, or apt-get install valgrind)"
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi
swift build -c release --package-path Benchmarks --product inlinelb-throughput
simulate='$s17InlineLBSimulator10FlowEngineV3runyAA0C7ResultsVSayAA0C0VGF'
render='$s16InlineLBCompiler21HAProxyConfigRendererO6renderySays5UInt8VGAA012LoadBalancerD0VFZ'
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# Runs inlinelb-throughput with the arguments after the first two under callgrind, counting
# only inside function $1 (called $2 in errors): sets `output` to what the run printed and
# `instructions` to the count.
count() {
    local function=$1 name=$2
    shift 2
    output=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
        "--toggle-collect=$function" Benchmarks/.build/release/inlinelb-throughput "$@" \
        2>"$report")
    instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$report")
    if [ -z "$instructions" ] || [ "$instructions" -eq 0 ]; then
        echo "callgrind counted no instructions: is $function still $name?" >&2
        exit 1
    fi
}
for repeats in 1 10; do
    count "$simulate" "FlowEngine.run(_:)" --simulate-once 10000 --repeats "$repeats"
    echo "10,000 rules, probe x$repeats: $output connections," \
        "$instructions instructions, $((instructions / output)) a connection"
done
count "$render" "HAProxyConfigRenderer.render(_:)" --render-once 10000
read -r listeners bytes <<<"$output"
echo "10,000 rules, haproxy.cfg rendering: $listeners listeners, $bytes bytes," \
    "$instructions instructions, $((instructions / listeners)) a listener"
