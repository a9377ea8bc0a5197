# kmsenc: `make test` runs every test (unit, fuzz seeds, integration against
# the PostgreSQL at KMSENC_TEST_POSTGRES_DSN); `make example` runs the
# quickstart end to end; `make bench` prints the overhead against plain pgx.
GO ?= go

.PHONY: test unit integration example bench fuzz vet

test: unit integration

unit:
	$(GO) test -race -count=1 ./...

integration:
	cd integration_test && $(GO) test -count=1 ./...

example:
	$(GO) run ./examples/quickstart

bench:
	cd integration_test && $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 .

fuzz:
	$(GO) test -fuzz FuzzRewrite -fuzztime 60s ./rewrite/postgres/
	$(GO) test -fuzz FuzzLexer -fuzztime 60s ./rewrite/postgres/

vet:
	$(GO) vet ./...
	cd integration_test && $(GO) vet ./...
