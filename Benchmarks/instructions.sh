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
toggle='$s17InlineLBSimulator10FlowEngineV3runyAA0C7ResultsVSayAA0C0VGF'
report=$(mktemp)
trap 'rm -f "$report"' EXIT
for repeats in 1 10; do
    connections=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
        "--toggle-collect=$toggle" Benchmarks/.build/release/inlinelb-throughput \
        --simulate-once 10000 --repeats "$repeats" 2>"$report")
    instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$report")
    if [ -z "$instructions" ] || [ "$instructions" -eq 0 ]; then
        echo "callgrind counted no instructions: is $toggle still FlowEngine.run(_:)?" >&2
        exit 1
    fi
    echo "10,000 rules, probe x$repeats: $connections connections," \
        "$instructions instructions, $((instructions / connections)) a connection"
done
render='$s16InlineLBCompiler21HAProxyConfigRendererO6renderySays5UInt8VGAA012LoadBalancerD0VFZ'
counts=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
    "--toggle-collect=$render" Benchmarks/.build/release/inlinelb-throughput \
    --render-once 10000 2>"$report")
read -r listeners bytes <<<"$counts"
instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$report")
if [ -z "$instructions" ] || [ "$instructions" -eq 0 ]; then
    echo "callgrind counted no instructions: is $render still HAProxyConfigRenderer.render(_:)?" >&2
    exit 1
fi
echo "10,000 rules, haproxy.cfg rendering: $listeners listeners, $bytes bytes," \
    "$instructions instructions, $((instructions / listeners)) a listener"
