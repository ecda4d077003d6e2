# Synk. `make run` starts the server; `make test` runs every check CI runs.
GO          ?= go
# go.mod names the toolchain (go1.26.10: Go 1.26.8's net/http, crypto/tls and
# crypto/x509 have known vulnerabilities our code reaches, see vulncheck).
# auto fetches it from the module proxy when the installed Go is older;
# Debian's and our CI image's GOTOOLCHAIN=local would build with the old one.
export GOTOOLCHAIN := auto
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOIMPORTS   := golang.org/x/tools/cmd/goimports@v0.51.0
# The browser bundle (make wasm) is built with Go 1.27.3, which the go
# command takes from the module proxy like a module (76 MB, once): the same
# code is 22 KB of brotli smaller than with go1.26.10 (issue 20.2). Its
# wasm_exec.js and the js/wasm tests come from the same toolchain; the
# server, the edge worker and everything else stay on go.mod's toolchain.
WASM_TOOLCHAIN := go1.27.3
export SYNK_WASM_TOOLCHAIN := $(WASM_TOOLCHAIN)
WASM_EXEC    = $(shell GOTOOLCHAIN=$(WASM_TOOLCHAIN) $(GO) env GOROOT)/lib/wasm
# Fuzzing: make fuzz runs every target for FUZZTIME (1m); make test runs
# each for a fixed number of inputs (fuzz-brief, about 10 s each here). See
# .ci/fuzz.sh for Go 1.26's deadline race with durations.
FUZZTIME    ?= 1m
ADDR        ?= 127.0.0.1:8080
DATA        ?= .cache/synk-data

.PHONY: deps all help run build wasm wasm-size test test-browser npm bench-browser lint ts-check vet fmt fmt-check imports-check vulncheck generate generate-check test-go test-wasm fuzz fuzz-brief bench check compare soak edge test-edge
all: fmt lint test

## help: this list
help:
	@awk '/^## [a-z-]+: / { sub(/^## /, ""); i = index($$0, ": "); printf "  %-15s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2) }' $(MAKEFILE_LIST)

## run: build the browser client and bin/synk, then start `synk serve` on $(ADDR) with defaults (Ctrl-C stops it)
run: build
	@exec bin/synk serve -addr $(ADDR) -data $(DATA)

## build: the synk binary, browser client embedded, in bin/
build: wasm
	$(GO) build -trimpath -o bin/synk ./cmd/synk

## wasm: web/static/synk.wasm and wasm_exec.js from this toolchain, with .br and .gz.
## -tags synkbrowser leaves out what the page never uses and costs the most:
## the msgpack library (synk.js hands values over encoded) and fmt.
## Inlining is off (-l): it makes the bundle ~70 KB smaller in brotli, within budget.
## GOWASM=satconv,signext (in every browser since 2021, and in workerd): single
## instructions for float-to-int and sign extension; the size is the same within 1 KB.
STATIC := web/static
# WASM_BUDGET: issue 20.2's 600 KB (599,488 B on 2026-12-01, with messages in areas).
WASM_BUDGET := 600000
BROWSER_TAGS := synkbrowser
export GOWASM := satconv,signext
wasm:
	GOTOOLCHAIN=$(WASM_TOOLCHAIN) GOOS=js GOARCH=wasm $(GO) build -tags $(BROWSER_TAGS) -trimpath -gcflags=all=-l -ldflags='-s -w' -o $(STATIC)/synk.wasm ./wasm
	cp "$(WASM_EXEC)/wasm_exec.js" $(STATIC)/wasm_exec.js
	$(GO) run ./internal/precompress -report -max-br $(WASM_BUDGET) $(STATIC)/synk.wasm
	$(GO) run ./internal/precompress $(STATIC)/wasm_exec.js $(STATIC)/synk.js $(STATIC)/synk-worker.js $(STATIC)/synk-codec.js $(STATIC)/synk-naf.js

## edge: the edge worker (wasm/edge) with its JS glue and workerd config, in .cache/edge.
## EDGE_BUDGET: its brotli size now plus ~20 KB: 1,895,433 B, of which ~13 KB is the reflection-free
## frame codec (protocol/wire.go), added while the server keeps the msgpack library for its object API.
EDGE := .cache/edge
EDGE_BUDGET := 1915000
edge:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(EDGE)/synk.wasm ./wasm/edge
	$(GO) run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o $(EDGE)/gen
	cp $(EDGE)/gen/wasm_exec.js wasm/edge/entry.mjs wasm/edge/workerd.capnp wasm/edge/wrangler.toml $(EDGE)/
	$(GO) run ./internal/precompress -report -max-br $(EDGE_BUDGET) $(EDGE)/synk.wasm

## test-edge: the edge worker under a local workerd: HTTP, Go clients, a restart
test-edge: deps edge
	SYNK_EDGE_DIR=$(CURDIR)/$(EDGE) WORKERD=$(CURDIR)/web/test/node_modules/.bin/workerd \
		$(GO) test -count=1 -run TestEdge -v ./wasm/edge

## test: lint, race-enabled tests, js/wasm tests under node, browser tests, short fuzz runs
test: lint wasm test-go test-wasm test-browser test-edge fuzz-brief

## wasm-size: code per Go package in the browser bundle, largest first
wasm-size:
	GOTOOLCHAIN=$(WASM_TOOLCHAIN) GOOS=js GOARCH=wasm $(GO) build -tags $(BROWSER_TAGS) -trimpath -gcflags=all=-l -o .cache/named.wasm ./wasm
	$(GO) run ./internal/wasmsize .cache/named.wasm

## test-browser: the demo pages and synk.js in headless Chromium (playwright-core)
test-browser: deps build edge
	cd web/test && node --test --test-concurrency=1 codec.test.mjs e2e.test.mjs npm.test.mjs naf.test.mjs

## npm: pack the browser client as the npm package "synk" (web/npm) into .cache/npm
npm: wasm
	bash web/npm/pack.sh .cache/npm

## bench-browser: what avatar poses cost a page (synk.js beside plain JS), page load to joined room, 1,000 sequential presence round trips, NAF update bytes, and a NAF page's bytes with and without areas
bench-browser: deps build
	cd web/test && node bench.mjs

test-go:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestServer_idleStack$$' ./server
	$(GO) test -C bench -race -count=1 ./...

test-wasm: deps
	GOTOOLCHAIN=$(WASM_TOOLCHAIN) PATH="$(WASM_EXEC):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 ./protocol/... ./client/...

# package:target:inputs
FUZZ_TARGETS := protocol:FuzzDecode:300000 protocol:FuzzCheck:300000 \
	server:FuzzParsePost:80000 internal/store:FuzzDecodeStored:90000 server:FuzzParseEvent:20000 \
	server/auth:FuzzVerify:100000 server:FuzzChunkRequest:60000 client:FuzzParseState:45000 client:FuzzSplitBatch:50000 \
	internal/folder:FuzzDecodeRecord:100000 internal/folder:FuzzLoadIndex:10000 \
	server:FuzzFrameConn:20000 internal/bridge:FuzzDecodeEntries:100000 internal/chunkpack:FuzzReader:100000 internal/chunkstore:FuzzParseMeta:20000

## fuzz: every fuzz target for FUZZTIME (default 1m)
fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh $(FUZZ_TARGETS)

## fuzz-brief: every fuzz target for a fixed number of inputs (make test)
fuzz-brief:
	FUZZTIME= bash .ci/fuzz.sh $(FUZZ_TARGETS)

## lint: gofmt, goimports, vet, staticcheck and govulncheck (native and js/wasm), generated code current
lint: fmt-check imports-check generate-check vet check ts-check vulncheck .cache/staticcheck
	.cache/staticcheck ./...
	cd bench && ../.cache/staticcheck ./...
	GOOS=js GOARCH=wasm .cache/staticcheck $(JS_PKGS)
	GOOS=js GOARCH=wasm .cache/staticcheck -tags $(BROWSER_TAGS) -tests=false ./wasm ./client ./protocol ./internal/bridge ./internal/mpw ./internal/wraperr

# Every package that builds for js/wasm (the browser client, the edge
# server and what they use; the server's tests are native-only): all but
# the native binary and the native end-to-end tests.
JS_PKGS = $(shell $(GO) list ./... | grep -v -e /cmd/synk -e /internal/e2e)

.cache/staticcheck:
	GOBIN=$(CURDIR)/.cache $(GO) install $(STATICCHECK)

.cache/goimports:
	GOBIN=$(CURDIR)/.cache $(GO) install $(GOIMPORTS)

imports-check: .cache/goimports
	@out=$$(.cache/goimports -l . | grep -v node_modules); if [ -n "$$out" ]; then echo "goimports would change:"; echo "$$out"; exit 1; fi

## vulncheck: govulncheck over every module and the js/wasm builds, against the
## Go vulnerability database as of VULNDB (a golang.org/x/vulndb version; bump it to update)
VULNDB := v0.0.0-20261105234957-e22db6528018
vulncheck:
	@VULNDB=$(VULNDB) bash .ci/vulncheck.sh

## ts-check: tsc checks synk.js against synk.d.ts, and a typed usage of it (web/test/usage.ts)
ts-check: deps
	mkdir -p web/test/.impl && cp web/static/synk.js web/static/synk-codec.js web/test/.impl/
	web/test/node_modules/.bin/tsc -p web/test/tsconfig.json

## generate-check: go generate leaves the generated files as committed
generate-check:
	$(GO) generate ./...
	@git diff --exit-code -- '*_string.go' || { echo "go generate changed the files above: commit them"; exit 1; }

vet:
	$(GO) vet ./...
	$(GO) vet -C bench ./...
	GOOS=js GOARCH=wasm $(GO) vet $(JS_PKGS)

fmt:
	gofmt -s -w .
	$(GO) mod tidy
	$(GO) mod tidy -C bench

fmt-check:
	@out=$$(gofmt -s -l .); if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi

generate:
	$(GO) generate ./...

## check: the client builds for the browser, and the server for the edge; the
## browser bundle's packages with its tags (what they may link: wasm/deps_test.go)
check:
	GOOS=js GOARCH=wasm $(GO) build ./protocol/... ./client/... ./server/...
	GOOS=js GOARCH=wasm $(GO) build -tags $(BROWSER_TAGS) -o /dev/null ./wasm
	GOOS=js GOARCH=wasm $(GO) vet -tags $(BROWSER_TAGS) ./wasm ./internal/bridge ./internal/mpw ./internal/wraperr

## compare: Synk beside centrifuge and a bare hub (docs/BENCHMARKS.md); ~31 minutes
compare:
	$(GO) run -C bench ./compare -runs 3 -out ../docs/bench

## soak: 200 clients for 2 minutes; lost writes, goroutines and heap (bench/soak);
## then the multi-process cluster test with 30 s of writing between its kills
soak:
	$(GO) run -C bench ./soak -conns 200 -duration 2m
	$(GO) test -count=1 -run TestCluster -v ./internal/chaos -long

## bench: codec and fan-out benchmarks (see README for the figures)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol
	$(GO) test -C bench -run '^$$' -bench Fanout -benchtime 600x ./load

# Node, Chromium and playwright-core for the js/wasm and browser tests.
deps:
	@bash .ci/deps.sh
