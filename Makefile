# e-dossier ledger. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := .edossier/bin
TOOLS_DIR  := .edossier/tools
# -count=1: never report a cached pass. The real-network tests build the chaincode and
# the gateway as separate binaries, which Go's test cache does not see, so a cached
# result could hide a change to them.
GO_TEST_FLAGS ?= -count=1
BENCHTIME  ?= 20s

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: ## Build the pinned Fabric tools into .edossier/tools (first build: minutes)
	@./scripts/build-tools.sh

.PHONY: deps
# Debian packages the project uses: jq and curl (the tutorial and its test), chromium and
# a CJK font (the portal's browser tests, gateway/web/browser), postgresql (the index's
# PostgreSQL tests start a throw-away server). Installed only if missing.
DEB_PKGS := jq curl chromium fonts-noto-cjk postgresql
deps: ## Install the Debian packages the tutorial and the tests use (jq, curl, chromium, fonts-noto-cjk, postgresql) if missing
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi; fi
	@$(MAKE) --no-print-directory deps-npm

# axe-core, the accessibility checker the portal's browser tests run on every page
# (pinned; installed with npm into .edossier/node, nothing of it runs in the product).
AXE_VERSION := 4.14.1
AXE_JS      := .edossier/node/node_modules/axe-core/axe.min.js
.PHONY: deps-npm
deps-npm: ## Install axe-core (npm, pinned) for the portal's accessibility tests if missing
	@test -f $(AXE_JS) && grep -q '"version": "$(AXE_VERSION)"' .edossier/node/node_modules/axe-core/package.json || { \
	  command -v npm >/dev/null || { echo "installing npm with apt-get"; \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm; else sudo apt-get update -qq && sudo apt-get install -y -qq npm; fi; }; \
	  echo "installing axe-core $(AXE_VERSION) with npm into .edossier/node"; \
	  mkdir -p .edossier/node && npm install --silent --no-audit --no-fund --prefix .edossier/node axe-core@$(AXE_VERSION); }

.PHONY: build
build: ## Build edossierctl and the chaincode server into .edossier/bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./cmd/...

.PHONY: run
run: tools deps build ## Bring up network + chaincode + gateway (demo keys) and leave them running
	$(BIN)/edossierctl network up
	$(BIN)/edossierctl gateway start

.PHONY: status
status: build ## Show the network's processes and the gateway
	$(BIN)/edossierctl network status
	$(BIN)/edossierctl gateway status

.PHONY: down
down: build ## Stop gateway and network, keep ledgers and files
	$(BIN)/edossierctl gateway stop
	$(BIN)/edossierctl network down

.PHONY: clean
clean: build ## Stop everything and remove all state (ledgers, files, keys)
	$(BIN)/edossierctl gateway stop
	$(BIN)/edossierctl network clean
	rm -rf .edossier/gateway

# The gateway runs under the race detector; everything else without.
RACE_PKGS := ./gateway/... ./cmd/edossier-gateway/...

.PHONY: test
test: tools deps ## Run the whole test suite (unit + real-network tests; the gateway with -race)
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt needed on the files above"; exit 1)
	go vet ./...
	go test -race $(GO_TEST_FLAGS) -timeout 30m $(RACE_PKGS)
	go test $(GO_TEST_FLAGS) -timeout 60m $$(go list ./... | grep -v -e '/gateway' -e '/cmd/edossier-gateway')

.PHONY: test-unit
test-unit: ## The fast tier: unit tests only, no Fabric network (-short skips every real-network test)
	go test -short $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: tools ## Gateway benchmarks on a real network beside raw Fabric baselines, summary table (about 5 min; BENCHTIME=20s)
	go test ./cmd/edossier-gateway -run '^$$' -bench Gateway -benchtime $(BENCHTIME) -timeout 60m

.PHONY: bench-import
bench-import: tools ## Import 100,000 files of 1 KiB with edossierctl import (per record, then in Merkle batches) beside raw AppendRecords / AnchorBatch (about 10 min)
	EDOSSIER_BENCH_RSS=0 EDOSSIER_BENCH_IMPORT=100000 go test ./cmd/edossier-gateway -run '^$$' -bench 'Gateway/^$$' -timeout 45m

.PHONY: bench-anchor
bench-anchor: tools ## Only the batch-anchoring rows of bench-import (per-record sample, --anchor, --anchor --cid-only, raw AnchorBatch)
	EDOSSIER_BENCH_RSS=0 EDOSSIER_BENCH_IMPORT=100000 EDOSSIER_BENCH_ANCHOR_ONLY=1 go test ./cmd/edossier-gateway -run '^$$' -bench 'Gateway/^$$' -timeout 45m

.PHONY: lint
lint: ## gofmt and go vet
	gofmt -l . | (! grep .)
	go vet ./...
