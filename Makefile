# foldboard's vocabulary. `make test` is what CI runs (.ci/run).

GO    ?= go
# Run at a pinned version, so nobody needs templ installed, nor a different one.
TEMPL ?= $(GO) run github.com/a-h/templ/cmd/templ@v0.3.977

# CI=true turns a missing browser, DynamoDB Local or redis-server from a skip into a failure.
# Make passes it on from the environment or `make CI=true` anyway; say so here.
ifdef CI
export CI
endif

.PHONY: run deps generate check-generated lint test e2e screenshots bench bench-cluster

## run: start foldboard here (see main.go for its flags and environment)
run:
	$(GO) run .

## deps: install Chromium, the Playwright driver, Java, DynamoDB Local and redis-server (idempotent)
deps:
	scripts/deps.sh

# templ writes each template's path, relative to -path, into the generated code
# (for its error messages); the committed files name it relative to its own
# directory (layout.templ, not views/layout.templ), so generate directory by
# directory, from the root, whatever the caller's checkout.
TEMPL_DIRS = $(sort $(dir $(shell git ls-files --cached --others --exclude-standard -- '*.templ')))

## generate: regenerate the *_templ.go files from the .templ files
generate:
	@for dir in $(TEMPL_DIRS); do $(TEMPL) generate -log-level warn -path "$$dir" || exit 1; done

## check-generated: fail if the committed *_templ.go files are not what templ generates
check-generated: generate
	@git diff --exit-code --stat -- '*_templ.go' || \
		{ echo 'check-generated: *_templ.go differ from `templ generate` (above); run make generate and commit them' >&2; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- '*_templ.go'); \
	if [ -n "$$untracked" ]; then \
		echo "check-generated: generated but not committed:" >&2; echo "$$untracked" >&2; exit 1; \
	fi

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo "lint: not gofmt'ed (run gofmt -w):" >&2; echo "$$unformatted" >&2; exit 1; \
	fi
	$(GO) vet ./...

## test: everything CI checks: deps, generated code, lint, and every test under -race
test: deps check-generated lint
	$(GO) test -race -count=1 ./...

## e2e: the browser tests only
e2e:
	$(GO) test -count=1 ./e2e/...

## screenshots: the README's pictures of the main pages, taken by the e2e tests from seeded data
screenshots:
	FOLDBOARD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshotsOfTheMainPages$$' ./e2e/

## bench: every benchmark, no tests, each beside its raw baseline (BENCHMARKS.md says how to read them);
# One package at a time (-p 1), so that no two benchmarks share the machine.
bench:
	scripts/deps.sh java dynamodb redis
	@echo "bench: $$(nproc) cores; $$(uptime)"
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -timeout 30m ./...
	@echo "bench: $$(nproc) cores; $$(uptime)"

## bench-cluster: the cluster's benchmarks alone (BenchmarkCluster: instances of the built binary on one
# DynamoDB Local and one Redis; BENCHMARKS.md "A cluster of instances"), 6-9 minutes here; `make bench` runs them too.
bench-cluster:
	scripts/deps.sh java dynamodb redis
	@echo "bench-cluster: $$(nproc) cores; $$(uptime)"
	$(GO) test -run '^$$' -bench '^BenchmarkCluster$$' -benchtime 1x -timeout 40m ./internal/crashtest
	@echo "bench-cluster: $$(nproc) cores; $$(uptime)"
