# kmsenc: `make test` runs every test (unit, fuzz seeds, integration against
# the PostgreSQL at KMSENC_TEST_POSTGRES_DSN and the MariaDB/MySQL at
# KMSENC_TEST_MYSQL_DSN); `make example` runs the
# quickstart end to end; `make bench` prints the overhead against plain pgx.
GO ?= go

.PHONY: test unit integration example bench fuzz vet

test: unit integration

unit:
	$(GO) test -race -count=1 ./...

# The integration module's only tests are in its root package (ent/ and
# sqlc/ hold generated code).
integration:
	cd integration_test && $(GO) test -count=1 .

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
