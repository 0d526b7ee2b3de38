# The Lambda functions (functions/): included from the root Makefile, or run
# alone with `make -f Makefile -f functions/lambda.mk lambda`.
GO ?= go
LAMBDA_FUNCS := http sqs
LAMBDA_OUT := build/lambda
LAMBDA_RIE := build/tools/aws-lambda-rie
LAMBDA_RIE_MODULE := github.com/aws/aws-lambda-runtime-interface-emulator
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
# The one definition of the artifact names: infra/ and the workflows name
# these paths, and infra/scripts/guards.sh checks them against lambda-zips.
LAMBDA_ZIP = $(LAMBDA_OUT)/numbers-$(1)-arm64.zip
LAMBDA_ZIPS := $(foreach f,$(LAMBDA_FUNCS),$(call LAMBDA_ZIP,$(f)))

.PHONY: lambda lambda-zips lambda-test lambda-native lambda-rie lambda-bench

lambda-zips: ## print the paths `make lambda` writes, one a line
	@printf '%s\n' $(LAMBDA_ZIPS)

lambda: ## build both functions for Lambda arm64 (provided.al2023) and zip them (with the RDS CA bundle, /var/task/rds-global-bundle.pem)
	@set -e; for f in $(LAMBDA_FUNCS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(LAMBDA_OUT)/arm64/$$f/bootstrap ./functions/$$f; \
	  (cd functions/tools && $(GO) run ./lambdazip -o ../../$(call LAMBDA_ZIP,$$f) -f rds-global-bundle.pem=../../infra/images/rds-global-bundle.pem ../../$(LAMBDA_OUT)/arm64/$$f/bootstrap); \
	done
	@echo "Lambda packages (GOOS=linux GOARCH=arm64, runtime provided.al2023, handler bootstrap):"
	@for f in $(LAMBDA_FUNCS); do \
	  printf '  %-38s %9d bytes (%s)\n' $(LAMBDA_OUT)/arm64/$$f/bootstrap $$(stat -c %s $(LAMBDA_OUT)/arm64/$$f/bootstrap) "$$(file -b $(LAMBDA_OUT)/arm64/$$f/bootstrap 2>/dev/null | cut -d, -f1-2 || true)"; \
	  printf '  %-38s %9d bytes\n' $(call LAMBDA_ZIP,$$f) $$(stat -c %s $(call LAMBDA_ZIP,$$f)); \
	done

# The functions for this machine, as the emulator runs them.
lambda-native:
	@set -e; for f in $(LAMBDA_FUNCS); do \
	  GOOS=linux CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(LAMBDA_OUT)/native/$$f/bootstrap ./functions/$$f; \
	done

# The AWS Lambda Runtime Interface Emulator, built from the Go module proxy at
# the version pinned in functions/tools/go.mod.
lambda-rie:
	@cd functions/tools && $(GO) build -o ../../$(LAMBDA_RIE) $(LAMBDA_RIE_MODULE)/cmd/aws-lambda-rie

lambda-test: lambda-native lambda-rie ## run both functions under the Lambda Runtime Interface Emulator with the golden events
	@echo "lambda-test: functions/{http,sqs} under the AWS Lambda Runtime Interface Emulator (aws-lambda-rie $$(cd functions/tools && $(GO) list -m -f '{{.Version}}' $(LAMBDA_RIE_MODULE))), one invoke at a time, on loopback"
	NUMBERS_LAMBDA_DIR=$(CURDIR)/$(LAMBDA_OUT)/native NUMBERS_RIE=$(CURDIR)/$(LAMBDA_RIE) \
	  $(GO) run ./local test -- $(GO) test -tags lambdarie -count=1 -v -timeout 5m ./functions/rietest

lambda-bench: lambda-native lambda-rie ## measure functions (emulator) against proxy/worker for docs/lambda-vs-ecs.md
	$(GO) build -o build/bench/ ./proxy ./worker
	$(GO) run ./local test -- $(GO) run ./functions/bench $(LAMBDA_BENCH_ARGS)
