// Package testenv gives the tests of the dialect packages the database
// servers of the test environment and a schema file. As in integration_test,
// where a server can't be reached a test skips with a message on a
// developer's machine and fails when the environment variable CI is set: CI
// must never pass by skipping. Only tests import it.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // "mysql", to ping the server
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to ping the server
)

// server is one database server of the test environment.
type server struct {
	name     string // for messages
	env      string // the variable that overrides fallback
	fallback string // DSN of the local server
	driver   string // plain driver to ping it with

	once sync.Once
	err  error
}

var (
	postgres = &server{name: "PostgreSQL", env: "KMSENC_TEST_POSTGRES_DSN",
		fallback: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", driver: "pgx"}
	mysql = &server{name: "MySQL", env: "KMSENC_TEST_MYSQL_DSN",
		fallback: "root@tcp(127.0.0.1:3306)/test", driver: "mysql"}
)

// PostgresDSN returns the URL DSN of the test PostgreSQL,
// KMSENC_TEST_POSTGRES_DSN or the local server, once it has answered.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return postgres.require(t)
}

// MySQLDSN returns the go-sql-driver/mysql DSN of the test MySQL or
// MariaDB, KMSENC_TEST_MYSQL_DSN or the local server, once it has answered.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	return mysql.require(t)
}

func (s *server) dsn() string {
	if dsn := os.Getenv(s.env); dsn != "" {
		return dsn
	}
	return s.fallback
}

func (s *server) require(t testing.TB) string {
	t.Helper()
	s.once.Do(func() {
		db, err := sql.Open(s.driver, s.dsn())
		if err != nil {
			s.err = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.err = db.PingContext(ctx)
	})
	if s.err != nil {
		msg := fmt.Sprintf("%s at %s not reachable (set %s): %v", s.name, s.dsn(), s.env, s.err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s.dsn()
}

// SchemaFile writes a valid schema file, with a fresh base64key:// master
// key, into dir and returns its path. (The key URL needs package
// providers/local imported.)
func SchemaFile(t testing.TB, dir string) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	schema := "key:\n  url: base64key://" + base64.URLEncoding.EncodeToString(key) +
		"\ntables:\n  users:\n    columns:\n      email: text\n"
	path := filepath.Join(dir, "kmsenc.yaml")
	if err := os.WriteFile(path, []byte(schema), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
