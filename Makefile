# ocix — build, test, benchmark. Every target shares one module and build cache.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ocix/ocix/core.Version=$(VERSION)
TOOLS := $(CURDIR)/.tools/bin

# Pinned generators: `make proto` output depends on them byte for byte.
PROTOC_VERSION := 3.21.12
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

.PHONY: all build proto proto-check fmt-check vet unit e2e test bench demo clean tools

all: build

## build: bin/ocix and one bin/ocix-plugin-NAME per plugin.
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## proto: regenerate proto/pluginpb from proto/plugin.proto.
proto: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	@protoc --version | grep -qx 'libprotoc $(PROTOC_VERSION)' || \
	  { echo "make proto: need protoc $(PROTOC_VERSION) (Debian 12's protobuf-compiler), found: $$(protoc --version)" >&2; exit 1; }
	PATH=$(TOOLS):$$PATH protoc \
	  --go_out=. --go_opt=module=github.com/ocix/ocix \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/ocix/ocix \
	  proto/plugin.proto

## proto-check: fail when the committed generated code is stale.
proto-check: proto
	@git diff --exit-code --stat -- proto/ || \
	  { echo "proto/pluginpb is stale: run 'make proto' and commit the result" >&2; exit 1; }

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; } >&2

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

## unit: hermetic unit tests with the race detector; no daemon needed.
unit:
	$(GO) test -race -count=1 ./...

## e2e: the built binaries against real registries and daemons (root).
e2e: build
	$(GO) test -tags e2e -count=1 -timeout 40m ./e2e/...

## test: everything CI runs.
test: proto-check fmt-check vet unit e2e

## bench: side-by-side figures against the tools users would pick instead.
bench: build
	$(GO) run -tags e2e ./e2e/cmd/ocix-bench

## demo: a local registry with busybox, then ocix listing its tags.
demo: build
	$(GO) run ./e2e/cmd/ocix-demo

clean:
	rm -rf $(BIN)
