# numbers: `make run` brings the whole system up locally, `make test` runs every test.
SHELL := /bin/bash
# The approved toolchain; the go command fetches it from the module proxy. A new
# machine starts on its own Go and ignores go.mod's toolchain line, so say it here.
export GOTOOLCHAIN := go1.27.3
GO ?= go
PKGS := ./...

.PHONY: local-bin help run test vet lint build fmt-check tools-check infra-check loadtest test-e2e bench images test-images vulncheck

help: ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

tools-check:
	@command -v $(GO) >/dev/null || { echo "make: Go is needed (any version: it fetches go1.27.3 itself) and was not found. Install it from https://go.dev/dl (Debian: apt-get install golang-go)"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make: Node.js 20+ and npm are needed for the local SQS server. Install them: apt-get install nodejs npm (or https://nodejs.org)"; exit 1; }

# make lambda, make lambda-test, make lambda-bench: the Lambda functions.
include functions/lambda.mk

# The local tool is built and run directly (not with `go run`) so that Ctrl-C
# and SIGTERM reach it, and it stops what it started in order.
LOCAL_BIN := .local/bin/numbers-local

local-bin: tools-check
	@mkdir -p .local/bin
	$(GO) build -o $(LOCAL_BIN) ./local

run: local-bin ## Postgres, local SQS, proxy and worker in the foreground (Ctrl-C stops all)
	exec $(LOCAL_BIN) run

test: local-bin vet ## vet + every test (with a private Postgres and local SQS)
	$(LOCAL_BIN) test -- $(GO) test -race -count=1 -timeout 10m $(PKGS)

test-e2e: tools-check ## browser test: the page in headless Chromium against a fresh local stack; screenshots in build/e2e/
	$(GO) test -tags e2e -count=1 -v -timeout 15m ./e2e/

vet: tools-check
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' $(PKGS))); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet fmt-check ## vet, gofmt and staticcheck
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS)

build: tools-check ## build the binaries into bin/
	$(GO) build -o bin/ ./proxy ./worker

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
bench: tools-check ## side-by-side benchmark: raw SQS/Postgres limits, async product, sync baseline (RUNS=3 RATE=2000 DURATION=30s MAX_RATE=9000)
	RUNS=$(or $(RUNS),3) RATE=$(RATE) DURATION=$(DURATION) $(if $(MAX_RATE),MAX_RATE=$(MAX_RATE)) bash loadtest/bench.sh

loadtest: tools-check ## make loadtest TARGET=http://127.0.0.1:8080 RATE=2000 DURATION=30s REPORT=report.json [HTML=report.html] [DB=postgres://...]
	$(GO) build -o bin/loadtest ./loadtest
	./bin/loadtest -target $(TARGET) -rate $(RATE) -duration $(DURATION) -report $(REPORT) $(if $(HTML),-html $(HTML)) $(if $(DB),-database-url '$(DB)')
