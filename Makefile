# ocix — build, test, benchmark. Every target shares one build cache.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ocix/ocix/core.Version=$(VERSION)
TOOLS := $(CURDIR)/.tools/bin

# The podman plugin is a nested Go module (plugins/podman/go.mod): podman's
# bindings need these build tags, and without them any go command on their
# packages fails (btrfs/version.h). Nested, a plain `go build/vet/test ./...`
# in the root never reaches them and core's go.mod stays small; the targets
# below build, vet and test that module with its tags.
PODMAN_MOD := plugins/podman
PODMAN_TAGS := remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp

# Pinned generators: `make proto` output depends on them byte for byte.
PROTOC_VERSION := 3.21.12
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

.PHONY: all build plugin-podman proto proto-check fmt-check fuzz-check vet unit e2e fuzz fuzz-applier install test bench demo clean tools

all: build

## build: bin/ocix and one bin/ocix-plugin-NAME per plugin.
build: plugin-podman
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## plugin-podman: bin/ocix-plugin-podman, from its own module, with its tags
## (the e2e tests build it into their own BIN with this target).
plugin-podman:
	@mkdir -p $(BIN)
	cd $(PODMAN_MOD) && $(GO) build -tags '$(PODMAN_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

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

## fmt-check: every tracked Go file, the nested podman module's included.
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; } >&2

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	cd $(PODMAN_MOD) && $(GO) vet -tags '$(PODMAN_TAGS)' ./...

## unit: hermetic unit tests with the race detector; no daemon needed.
unit:
	$(GO) test -race -count=1 ./...
	cd $(PODMAN_MOD) && $(GO) test -race -count=1 -tags '$(PODMAN_TAGS)' ./...

## e2e: the built binaries against real registries and daemons (root).
e2e: build
	$(GO) test -tags e2e -count=1 -timeout 40m ./e2e/...

## fuzz: every fuzz target for FUZZTIME each (CI: a few minutes in all).
## A crasher is written under the package's testdata/fuzz: commit it, and
## it runs as a regression case with the unit tests from then on.
FUZZTIME ?= 30s
# Each fuzz run goes through .ci/fuzz-once, which repeats a run only when Go
# 1.26's coordinator failed it at the fuzztime boundary with no finding.
FUZZ_ONCE := $(CURDIR)/.ci/fuzz-once
FUZZ_TARGETS := \
	./core/reference:FuzzParse \
	./plugins/api/registry:FuzzNextLink \
	./plugins/api/registry:FuzzParseChallenges \
	./plugins/api/registry:FuzzManifestType \
	./plugins/internal/inroot:FuzzResolve
fuzz: fuzz-applier
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t##*:} ($${t%%:*}, $(FUZZTIME))"; \
	  $(FUZZ_ONCE) $(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

# The applier's fuzz target writes hostile layers: it runs in a private
# mount namespace where / is read-only but for its scratch directory (its
# TMPDIR, where it extracts) and its corpus, so a write that escaped the
# extraction root fails with EROFS (which the target reports) instead of
# touching this machine. The checkout itself may be under /tmp: nothing is
# mounted over it. It runs once with each resolver (package inroot): the
# kernel's openat2 and the fallback that kernels before 5.6 get.
FUZZ_SCRATCH := $(CURDIR)/.tools/fuzz
FUZZ_CORPUS := $(CURDIR)/plugins/internal/applier/testdata/fuzz
fuzz-applier:
	@mkdir -p $(FUZZ_SCRATCH)/tmp $(FUZZ_CORPUS)
	$(GO) test -c -o $(FUZZ_SCRATCH)/applier.test ./plugins/internal/applier
	@set -e; for resolver in openat2 fallback; do \
	  echo "fuzz FuzzApply (resolver $$resolver, $(FUZZTIME))"; \
	  no=; [ $$resolver = openat2 ] || no=1; \
	  OCIX_NO_OPENAT2=$$no OCIX_TEST_WANT_RESOLVER=$$resolver $(FUZZ_ONCE) unshare -m sh -ec 'mount --make-rprivate /; mount --bind $(FUZZ_SCRATCH) $(FUZZ_SCRATCH); \
	    mount --bind $(FUZZ_CORPUS) $(FUZZ_CORPUS); mount -o remount,bind,ro /; \
	    cd $(CURDIR)/plugins/internal/applier && TMPDIR=$(FUZZ_SCRATCH)/tmp $(FUZZ_SCRATCH)/applier.test -test.run "^$$" \
	      -test.fuzz "^FuzzApply$$" -test.fuzztime $(FUZZTIME) -test.fuzzcachedir $(FUZZ_SCRATCH)/cache'; \
	done

## fuzz-check: fail when a Fuzz function in the repository is in neither
## FUZZ_TARGETS nor FUZZ_APPLIER (CI would never fuzz it), or when a listed
## target no longer exists (go test -fuzz would match nothing and pass).
FUZZ_APPLIER := ./plugins/internal/applier:FuzzApply # run by fuzz-applier, in its sandbox
fuzz-check:
	@found=$$(git grep -E '^func Fuzz[A-Za-z0-9_]*\(' -- '*_test.go' | \
	  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#./\1:\2#' | sort -u); \
	listed=$$(printf '%s\n' $(FUZZ_TARGETS) $(FUZZ_APPLIER) | sort -u); \
	missing=$$(comm -23 <(echo "$$found") <(echo "$$listed")); \
	stale=$$(comm -13 <(echo "$$found") <(echo "$$listed")); \
	[ -z "$$missing" ] || echo "fuzz targets CI does not run (add them to FUZZ_TARGETS in the Makefile):" $$missing >&2; \
	[ -z "$$stale" ] || echo "FUZZ_TARGETS lists fuzz targets that do not exist:" $$stale >&2; \
	[ -z "$$missing$$stale" ]

## install: what the tests need (apt packages as root, pinned Go tools in
## GOBIN, the current dockerd and its runc), each step skipped when it is
## there already. `make test` runs it first; .ci/run calls `make test`.
install:
	.ci/run install

## test: everything CI runs, after installing what is missing.
test: install proto-check fmt-check fuzz-check vet unit e2e fuzz

## bench: side-by-side figures against the tools users would pick instead.
bench: build
	$(GO) run -tags e2e ./e2e/cmd/ocix-bench

## demo: a registry inside the demo with a small "busybox"; tags, export, compare and (as root) a runc run.
demo: build
	$(GO) run ./e2e/cmd/ocix-demo

clean:
	rm -rf $(BIN)
