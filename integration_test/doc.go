// Package integration_test holds kmsenc's tests against real databases. It is
// its own module so that test-only dependencies never reach a user's go.sum.
//
// PostgreSQL is read from KMSENC_TEST_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and MariaDB/MySQL
// from KMSENC_TEST_MYSQL_DSN (default root@tcp(127.0.0.1:3306)/test). When
// one can't be reached its tests skip, unless CI is set: then they fail.
//
// The tests never touch the tables of those databases: each run creates
// schemas (PostgreSQL) or databases (MySQL) named kmsenc_test_<run>_*, one
// per top-level test, and drops them at the end (namespace_test.go), so the
// DSN's user needs CREATE on the database (PostgreSQL) or CREATE and DROP
// of databases (MySQL). KMSENC_TEST_KEEP=1 keeps them to look at after a
// run; the next run without it drops them.
package integration
