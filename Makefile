# Gent — make targets. `make run` and `make test` are all a fresh machine needs.
GO ?= go
export GOFLAGS ?= -mod=mod

.PHONY: run daemon test build bench lint deps postgres haproxy clean

run: postgres build ## start gentd (embedded Postgres) and the TUI
	./scripts/run.sh

daemon: postgres build ## run only the daemon, in the foreground
	./bin/gentd

build: deps
	$(GO) build -o bin/gentd ./cmd/gentd
	$(GO) build -o bin/genttui ./cmd/genttui

deps:
	@command -v $(GO) >/dev/null || { echo "Go is required: https://go.dev/dl/"; exit 1; }
	$(GO) mod download

postgres:
	@./scripts/ensure-postgres.sh

haproxy: ## the load balancer of the cluster end-to-end test (TestHAProxy)
	@./scripts/ensure-haproxy.sh

test: postgres haproxy deps ## vet and run every test (real Postgres, SMTP, DNS on loopback)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...
	cd third_party/go-sdk && $(GO) test -count=1 ./internal/json/  # the patched MCP SDK (third_party/go-sdk/GENT.md)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# Go benchmarks of the hot paths (MIME parse, DKIM sign/verify, token check,
# message store, inbound screening; the shared rate limit alone and after token auth; MCP tool calls
# against the same REST calls, as mcp/rest; the API's metrics middleware, as api-metrics/on against /off)
# and the screening corpus rates, then the load program against a gentd it starts itself:
# inbound SMTP (each case between two runs of an fsync-per-message sink, --baseline), the send pipeline, token auth, the read API, idle memory.
# A few minutes; docs/BENCHMARKS.md has the figures and longer runs.
# BENCH_FLAGS adds gentbench flags, e.g. BENCH_FLAGS="--repeat 3 --pprof prof".
BENCH_PKGS = ./daemon/mail/ ./daemon/delivery/ ./daemon/auth/ ./daemon/ratelimit/ ./daemon/screening/ ./daemon/mcp/ ./daemon/api/ ./daemon/metrics/
bench: postgres deps ## Go benchmarks of the hot paths, then the load program (gentbench)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s $(BENCH_PKGS)
	$(GO) test -count=1 -v -run '^TestCorpus$$' ./daemon/screening/ | grep -E 'malicious:|benign:'
	$(GO) run ./cmd/gentbench --baseline $(BENCH_FLAGS)

clean:
	rm -rf bin
