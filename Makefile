# numbers: `make run` brings the whole system up locally, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
PKGS := ./...

.PHONY: help run test test-short vet lint build fmt-check tools-check infra-check

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

tools-check:
	@command -v $(GO) >/dev/null || { echo "make: Go 1.26+ is needed and was not found. Install it from https://go.dev/dl (Debian: apt-get install golang-go)"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make: Node.js 20+ and npm are needed for the local SQS server. Install them: apt-get install nodejs npm (or https://nodejs.org)"; exit 1; }

run: tools-check ## Postgres, local SQS, proxy and worker in the foreground (Ctrl-C stops all)
	$(GO) run ./local run

test: tools-check vet ## vet + every test (with a private Postgres and local SQS)
	$(GO) run ./local test -- $(GO) test -race -count=1 -timeout 10m $(PKGS)

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
