# kmsenc: `make test` runs every test (unit, fuzz seeds, integration against
# the PostgreSQL at KMSENC_TEST_POSTGRES_DSN and the MariaDB/MySQL at
# KMSENC_TEST_MYSQL_DSN); `make example` runs the
# quickstart end to end; `make bench` prints the overhead against plain pgx.
GO ?= go

# How many integration tests run at once (each top-level test works in a
# schema/database of its own).
IT_PARALLEL ?= 8

.PHONY: test unit integration example bench fuzz vet

# make test runs the unit tests (with -race) and the integration tests at the
# same time, prints what go test prints, then where the time went (.ci/test).
test:
	@GO='$(GO)' IT_PARALLEL='$(IT_PARALLEL)' bash .ci/test

# unit and integration run the two parts alone, with go test's own output.
unit:
	$(GO) test -race -count=1 ./...

# The integration module's tests are in its root package (ent/ and sqlc/
# hold generated code) and in the timing tool of make test.
integration:
	cd integration_test && $(GO) test -count=1 -parallel $(IT_PARALLEL) . ./internal/testtime

example:
	$(GO) run ./examples/quickstart

bench:
	$(GO) test -run '^$$' -bench InsertCPU -benchtime 100000x -count 1 .
	cd integration_test && $(GO) test -run '^$$' -bench Overhead -benchtime 3x -count 1 .

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime 60s ./rewrite/postgres/
	$(GO) test -run '^$$' -fuzz '^FuzzLexer$$' -fuzztime 60s ./rewrite/postgres/
	$(GO) test -run '^$$' -fuzz '^FuzzMySQLRewrite$$' -fuzztime 60s ./rewrite/mysql/
	$(GO) test -run '^$$' -fuzz '^FuzzMySQLLexer$$' -fuzztime 60s ./rewrite/mysql/

vet:
	$(GO) vet ./...
	cd integration_test && $(GO) vet ./...
