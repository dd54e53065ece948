# e-dossier ledger. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := .edossier/bin
TOOLS_DIR  := .edossier/tools
GO_TEST_FLAGS ?=

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: ## Build the pinned Fabric tools into .edossier/tools (first build: minutes)
	@./scripts/build-tools.sh

.PHONY: build
build: ## Build edossierctl and the chaincode server into .edossier/bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./cmd/...

.PHONY: run
run: tools build ## Bring the network up and leave it running
	$(BIN)/edossierctl network up

.PHONY: status
status: build ## Show the network's processes
	$(BIN)/edossierctl network status

.PHONY: down
down: build ## Stop the network, keep its ledgers
	$(BIN)/edossierctl network down

.PHONY: clean
clean: build ## Stop the network and remove its state
	$(BIN)/edossierctl network clean

.PHONY: test
test: tools ## Run the whole test suite (unit + real-network tests)
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	go vet ./...
	go test $(GO_TEST_FLAGS) -timeout 60m ./...

.PHONY: lint
lint: ## gofmt and go vet
	gofmt -l . | (! grep .)
	go vet ./...
