// Package integration_test holds kmsenc's tests against real databases. It is
// its own module so that test-only dependencies never reach a user's go.sum.
//
// PostgreSQL is read from KMSENC_TEST_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it can't be
// reached the tests skip, unless CI is set: then they fail.
package integration
