# Synk. `make run` starts the server; `make test` runs every check CI runs.
GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WASM_EXEC   := $(shell $(GO) env GOROOT)/lib/wasm
FUZZTIME    ?= 10s
ADDR        ?= 127.0.0.1:8080

.PHONY: deps all run build test lint vet fmt fmt-check generate test-go test-wasm fuzz bench check
all: fmt lint test

## run: start `synk serve` on $(ADDR) with defaults
run:
	$(GO) run ./cmd/synk serve -addr $(ADDR)

## build: the synk binary in bin/
build:
	$(GO) build -trimpath -o bin/synk ./cmd/synk

## test: lint, race-enabled tests, js/wasm tests under node, short fuzz runs
test: lint test-go test-wasm fuzz

test-go:
	$(GO) test -race -count=1 ./...

test-wasm: deps
	PATH="$(WASM_EXEC):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 ./protocol/... ./client/...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzParsePost$$' -fuzztime $(FUZZTIME) ./server

lint: fmt-check vet .cache/staticcheck
	.cache/staticcheck ./...
	GOOS=js GOARCH=wasm .cache/staticcheck ./protocol/... ./client/...

.cache/staticcheck:
	GOBIN=$(CURDIR)/.cache $(GO) install $(STATICCHECK)

vet:
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./protocol/... ./client/...

fmt:
	gofmt -s -w .
	$(GO) mod tidy

fmt-check:
	@out=$$(gofmt -s -l .); if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi

generate:
	$(GO) generate ./...

## check: everything builds for the browser too
check:
	GOOS=js GOARCH=wasm $(GO) build ./protocol/... ./client/...

## bench: codec and fan-out benchmarks (see README for the figures)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol
	$(GO) test -run '^$$' -bench Fanout -benchtime 600x ./internal/e2e

# The js/wasm tests run under node; install it if the machine lacks it.
deps:
	@bash .ci/deps.sh
