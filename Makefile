# Set-up and everyday commands. `make run` and `make test` install what is missing
# (Debian packages, as root) before building.

SWIFT ?= swift
APT_PACKAGES := libxxhash-dev pkg-config haproxy iptables iproute2
OUT ?= out

.PHONY: deps build run test lint golden bench bench-instructions bench-check bench-thresholds fuzz clean

deps:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -ne 0 ]; then \
			echo "missing Debian packages:$$missing (run make as root, or apt-get install them)"; exit 1; \
		fi; \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The Swift runtime linked in: a run starts in 6 ms instead of 13 (no dynamic symbol binding).
build: deps
	$(SWIFT) build -c release --static-swift-stdlib --product inlinelb

run: build
	.build/release/inlinelb compile corpora/*.json -o $(OUT)
	.build/release/inlinelb verify corpora/*.json

test: deps lint bench-check
	$(SWIFT) test

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift Benchmarks/Package.swift Benchmarks/Sources Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources

# Throughput table, peer ratios and the package-benchmark suite (see Benchmarks/run.sh).
bench: deps
	Benchmarks/run.sh

# The simulator's instruction counts under callgrind, which do not vary between runs.
bench-instructions: deps
	Benchmarks/instructions.sh

# The CI gate: allocation counts against the committed thresholds (Benchmarks/Thresholds).
bench-check: deps
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark thresholds check --no-progress

# After a deliberate change in allocations: rewrite the thresholds, then review the diff.
bench-thresholds: deps
	Benchmarks/update-thresholds.sh

# libFuzzer on the corpus reader, the haproxy.cfg parser and the iptables-save parser, each for
# FUZZ_SECONDS (default 600); FUZZ_TARGETS picks some of corpus, haproxy, iptables.
fuzz: deps
	Fuzz/run.sh

# Rewrite the golden artifacts after a deliberate output change; review the diff.
golden:
	INLINELB_UPDATE_GOLDEN=1 $(SWIFT) test --filter GoldenTests

clean:
	rm -rf .build Benchmarks/.build Fuzz/.build-fuzz $(OUT)
