# Benchmarks against real peers; see docs/benchmarks.md.
.PHONY: bench bench-short

# Full run (~10 minutes): rewrites docs/benchmarks.md and docs/bench/*.png.
bench:
	go run ./bench

# Regression guard (<3 minutes): writes bench/out/, compares with bench/baseline.json.
bench-short:
	go run ./bench -short
