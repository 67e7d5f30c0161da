# The README's commands, the benchmarks, and the fuzzers.
.PHONY: serve test check bench fuzz

serve:
	go run ./cmd/gathering serve

test:
	./scripts/test

check: test

bench:
	./scripts/bench

# FUZZTIME is how long `make fuzz` runs each fuzz function.
FUZZTIME ?= 10s

# fuzz runs every fuzz function of the module for FUZZTIME, one at a time
# (go test -fuzz takes one function of one package); `go test` alone runs
# only their seed corpora.
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for fn in $$(go test -list '^Fuzz' $$dir | grep '^Fuzz'); do \
			echo "go test -run '^$$' -fuzz '^$$fn$$' -fuzztime $(FUZZTIME) $$dir"; \
			go test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done
