#!/usr/bin/env bash
# `make bench`: throughput measured in one run, the peer renderers' speed as ratios, and the
# package-benchmark suite (allocation counts are the CI gate; times vary 30-60% here).
# MAX_RULES limits the largest generated corpus (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product inlinelb
swift build -c release --package-path Benchmarks --product inlinelb-throughput
python3 -c "import jinja2" 2>/dev/null || python3 -m pip install --quiet jinja2
peers=$(mktemp -d)
trap 'rm -rf "$peers"' EXIT
Benchmarks/.build/release/inlinelb-throughput --inlinelb .build/release/inlinelb \
    --max-rules "${MAX_RULES:-1000000}" --peers-dir "$peers" | tee "$peers/ours.txt"
ours=$(awk '/ours for the peers/ {print $5}' "$peers/ours.txt")
python3 Benchmarks/peers/render_peers.py "$peers" > "$peers/peers.txt"
python3 - "$ours" "$peers/peers.txt" <<'PY'
import sys
def number(text):
    scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1)
    return float(text.rstrip("kM")) * scale
ours = number(sys.argv[1])
peers = dict(line.split() for line in open(sys.argv[2]))
print("")
print("haproxy.cfg rendering, same translated rules, byte-identical output:")
print(f"  inlinelb            {ours:>10.0f} listeners/s")
for name, label in (("jinja2", "Jinja2 (Octavia-style)"), ("fstrings", "Python f-strings")):
    value = float(peers[name])
    print(f"  {label:<22}{value:>7.0f} listeners/s   inlinelb is {ours / value:.1f}x faster")
PY
echo ""
cd Benchmarks && swift package --disable-sandbox benchmark --no-progress
