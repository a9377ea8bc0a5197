// Package dialecttest holds what the tests of the dialect packages
// (kmsenc/postgres, kmsenc/mysql) share: the database servers of the test
// environment, a schema file, and the tests every dialect passes. As in
// integration_test, where a server can't be reached a test skips with a
// message on a developer's machine and fails when the environment variable
// CI is set: CI must never pass by skipping. Only tests import it.
package dialecttest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // "mysql", the plain driver
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", the plain driver

	"github.com/kmsenc/kmsenc"
	_ "github.com/kmsenc/kmsenc/providers/local" // base64key:// in SchemaFile
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
// key, into dir and returns its path.
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

// Ping opens a database with driver and dsn and pings it.
func Ping(driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Ping()
}

// TestRegistered checks that a dialect package's DriverName is the name
// the design gives it, and that database/sql knows it.
func TestRegistered(t *testing.T, driverName, want string) {
	t.Helper()
	if driverName != want {
		t.Errorf("DriverName = %q, want %q", driverName, want)
	}
	if !slices.Contains(sql.Drivers(), want) {
		t.Errorf("sql.Drivers() = %v, without %s", sql.Drivers(), want)
	}
}

// CheckSession is a dialect's Dialect.CheckSession.
type CheckSession func(ctx context.Context, query func(string) (string, error)) error

// Answer is the server's answer to a CheckSession query, and what
// CheckSession must make of it: nil to accept the connection, else an error
// it matches with errors.Is.
type Answer struct {
	Value   string
	Err     error
	WantErr error
}

// TestCheckSession runs check once per answer, and checks that it asks query
// and only that.
func TestCheckSession(t *testing.T, check CheckSession, query string, answers []Answer) {
	t.Helper()
	for _, a := range answers {
		var asked []string
		err := check(context.Background(), func(q string) (string, error) {
			asked = append(asked, q)
			return a.Value, a.Err
		})
		if !slices.Equal(asked, []string{query}) {
			t.Errorf("asked %q, want %q", asked, query)
		}
		if a.WantErr == nil && err != nil || !errors.Is(err, a.WantErr) {
			t.Errorf("answer %q, %v: err = %v, want %v", a.Value, a.Err, err, a.WantErr)
		}
	}
}

// TestConfigFromEnvironment checks that without kmsenc_config in the DSN
// KMSENC_CONFIG names the schema file, and that with neither, opening fails:
// there is no plaintext mode. dsn reaches the test server; unreachable
// needn't.
func TestConfigFromEnvironment(t *testing.T, driver, dsn, unreachable string) {
	t.Helper()
	t.Setenv(kmsenc.ConfigEnv, "")
	if _, err := sql.Open(driver, unreachable); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("no parameter and no %s: err = %v, want ErrConfig", kmsenc.ConfigEnv, err)
	}
	t.Setenv(kmsenc.ConfigEnv, SchemaFile(t, t.TempDir()))
	if err := Ping(driver, dsn); err != nil {
		t.Errorf("with %s: %v", kmsenc.ConfigEnv, err)
	}
}

// Session is a connection setting for TestSessions: the DSN of the plain
// driver with the setting, the same with kmsenc_config, and whether kmsenc
// must accept the connection.
type Session struct {
	Name     string
	PlainDSN string
	DSN      string
	OK       bool
}

// TestSessions connects with each session's settings, first through the
// plain driver, which must accept them all, then through kmsenc's driver,
// which must accept the OK ones and refuse the others with ErrConfig and an
// error that names setting.
func TestSessions(t *testing.T, plain, driver, setting string, sessions []Session) {
	for _, s := range sessions {
		t.Run(s.Name, func(t *testing.T) {
			if err := Ping(plain, s.PlainDSN); err != nil {
				t.Fatalf("the plain driver: %v", err)
			}
			err := Ping(driver, s.DSN)
			switch {
			case s.OK && err != nil:
				t.Errorf("refused: %v", err)
			case !s.OK && !errors.Is(err, kmsenc.ErrConfig):
				t.Errorf("err = %v, want ErrConfig", err)
			case !s.OK && !strings.Contains(err.Error(), setting):
				t.Errorf("the error doesn't name %s: %v", setting, err)
			}
		})
	}
}

// SplitCase is a DSN and what a dialect's DSN splitting must make of it:
// the DSN without kmsenc_config, and that parameter's value.
type SplitCase struct {
	Name   string
	DSN    string
	Clean  string
	Config string
}

// TestSplitDSN runs split on each case, and hands the cleaned DSN to params,
// the base driver's parser, which returns the parameters the base driver
// would send the server: kmsenc_config must not be among them.
func TestSplitDSN(t *testing.T, split func(string) (string, string, error), params func(dsn string) (map[string]string, error), cases []SplitCase) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			clean, cfg, err := split(c.DSN)
			if err != nil {
				t.Fatal(err)
			}
			if clean != c.Clean || cfg != c.Config {
				t.Errorf("got (%q, %q), want (%q, %q)", clean, cfg, c.Clean, c.Config)
			}
			p, err := params(clean)
			if err != nil {
				t.Fatalf("the base driver refuses the cleaned DSN: %v", err)
			}
			if _, ok := p[kmsenc.ConfigParam]; ok {
				t.Errorf("the base driver still sees %s in %q", kmsenc.ConfigParam, clean)
			}
		})
	}
}

// OpenWithConfigParam opens kmsenc's driver with dsn, which names the schema
// file with kmsenc_config, after checking that the plain driver refuses that
// DSN: the server refuses a parameter it doesn't know, so statements that
// run on the returned database show that the base driver never saw it.
func OpenWithConfigParam(t *testing.T, plain, driver, dsn string) *sql.DB {
	t.Helper()
	if err := Ping(plain, dsn); err == nil {
		t.Fatalf("the plain driver connected with %s in the DSN; this test shows nothing", kmsenc.ConfigParam)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
