# The README's commands, and the benchmarks.
.PHONY: serve test check bench

serve:
	go run ./cmd/gathering serve

test:
	./scripts/test

check: test

bench:
	./scripts/bench
