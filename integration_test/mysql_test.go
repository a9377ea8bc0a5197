package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/mysql"
)

const defaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test"

// mysqlDSN is the configured DSN. Tests work in a database of their own
// (mysqlWith, d.dsn, d.base, d.raw); this one only reaches the server.
func mysqlDSN() string {
	if dsn := os.Getenv("KMSENC_TEST_MYSQL_DSN"); dsn != "" {
		return dsn
	}
	return defaultMySQLDSN
}

var (
	myOnce sync.Once
	myErr  error
)

// requireMySQL skips the test when MySQL/MariaDB can't be reached, or fails
// it when CI is set.
func requireMySQL(t testing.TB) {
	t.Helper()
	myOnce.Do(func() {
		db, err := sql.Open("mysql", mysqlDSN())
		if err != nil {
			myErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		myErr = db.PingContext(ctx)
	})
	if myErr != nil {
		msg := fmt.Sprintf("MySQL at %s not reachable (set KMSENC_TEST_MYSQL_DSN): %v", mysqlDSN(), myErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// mysqlWith returns the DSN of t's database with extra parameters.
func mysqlWith(t testing.TB, params map[string]string) string {
	t.Helper()
	cfg, err := mysqlDSNIn(myServer.ns(t))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		switch k {
		case "interpolateParams":
			cfg.InterpolateParams = v == "true"
		default:
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[k] = v
		}
	}
	return cfg.FormatDSN()
}

var placeholderRE = regexp.MustCompile(`\$\d+`)

var mysqlDialect = &dialect{
	name:    "mysql",
	modes:   []string{"interpolateParams=false", "interpolateParams=true"},
	require: requireMySQL,
	srv:     myServer,
	raw: func(ns string) (*sql.DB, error) {
		cfg, err := mysqlDSNIn(ns)
		if err != nil {
			return nil, err
		}
		return sql.Open("mysql", cfg.FormatDSN())
	},
	base: func(t testing.TB, mode string) (driver.Connector, error) {
		k, v, _ := strings.Cut(mode, "=")
		cfg, err := gomysql.ParseDSN(mysqlWith(t, map[string]string{k: v}))
		if err != nil {
			return nil, err
		}
		return gomysql.NewConnector(cfg)
	},
	connector: mysql.NewConnector,
	dsn: func(t testing.TB, params map[string]string) string {
		return mysqlWith(t, params)
	},
	// The suite's statements hold no '$' inside strings.
	placeholders: func(s string) string { return placeholderRE.ReplaceAllString(s, "?") },
}

func init() { dialects = append(dialects, mysqlDialect) }

// setupMySQL is setup for MySQL-only tests, once per interpolation mode.
func forEachMySQLMode(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, mode := range mysqlDialect.modes {
		t.Run(mode, func(t *testing.T) {
			fn(t, setupDialect(t, mysqlDialect, mode, suiteSchema, nil, suiteDDL(mysqlDialect)...))
		})
	}
}

// TestMySQLInsertIDs: LastInsertId and RowsAffected stay what MySQL says,
// for one row and for many (ent computes bulk ids as LastInsertId + i).
func TestMySQLInsertIDs(t *testing.T) {
	t.Parallel()
	forEachMySQLMode(t, func(t *testing.T, e *env) {
		res := e.exec(`INSERT INTO profiles (user_id, note) VALUES ($1, $2)`, 1, canary("id"))
		first, err := res.LastInsertId()
		if n, _ := res.RowsAffected(); err != nil || first < 1 || n != 1 {
			t.Fatalf("single insert: id %d, %v, %d rows", first, err, n)
		}
		res = e.exec(`INSERT INTO profiles (user_id, note) VALUES ($1, $2), ($3, $4), ($5, $6)`, 2, canary("id"), 3, canary("id"), 4, canary("id"))
		id, err := res.LastInsertId()
		if n, _ := res.RowsAffected(); err != nil || id != first+1 || n != 3 {
			t.Fatalf("multi-row insert: id %d (want %d), %v, %d rows", id, first+1, err, n)
		}
		for i := int64(0); i < 3; i++ {
			var uid int64
			if err := e.queryRow(`SELECT user_id FROM profiles WHERE id = $1`, id+i).Scan(&uid); err != nil || uid != 2+i {
				t.Errorf("row %d: user %d, %v", id+i, uid, err)
			}
		}
	})
}

// TestMySQLInsertSet covers INSERT ... SET, one row.
func TestMySQLInsertSet(t *testing.T) {
	t.Parallel()
	forEachMySQLMode(t, func(t *testing.T, e *env) {
		em := canary("set")
		e.exec(`INSERT INTO users SET id = $1, name = $2, email = $3`, 1, "Ann", em)
		e.assertStored("users", []string{"email"}, em)
		var got string
		if err := e.queryRow(`SELECT email FROM users WHERE id = 1`).Scan(&got); err != nil || got != em {
			t.Errorf("read %q, %v", got, err)
		}
	})
}

// TestMySQLTooShortColumn: with a non-strict sql_mode MySQL truncates a
// too-long value with only a warning. kmsenc checks the column's length
// first and refuses: a clear error, and no row.
func TestMySQLTooShortColumn(t *testing.T) {
	t.Parallel()
	requireMySQL(t)
	for _, mode := range mysqlDialect.modes {
		t.Run(mode, func(t *testing.T) {
			e := setupDialect(t, mysqlDialect, mode, suiteSchema, nil,
				`DROP TABLE IF EXISTS profiles, users`,
				`CREATE TABLE users (id bigint PRIMARY KEY, name text, email varchar(40), ssn text, encrypted_kms_key text)`)
			// The raw connection proves the server would truncate silently.
			// (SET SESSION: a connection of this test's raw pool, which
			// its next mode may reuse and sets the same; never the
			// server's setting.)
			if _, err := e.raw.Exec(`SET SESSION sql_mode = ''`); err != nil {
				t.Fatal(err)
			}
			conn, err := e.db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(context.Background(), `SET SESSION sql_mode = ''`); err != nil {
				t.Fatal(err)
			}
			_, err = conn.ExecContext(context.Background(), e.q(`INSERT INTO users (id, email) VALUES ($1, $2)`), 1, "a-long-enough-address@example.com")
			if err == nil || !strings.Contains(err.Error(), "users.email") || !strings.Contains(err.Error(), "40") {
				t.Errorf("err = %v, want a clear error naming users.email and its length", err)
			}
			if n := e.count("users"); n != 0 {
				t.Errorf("%d rows written", n)
			}
			// A value that fits is fine.
			if _, err := conn.ExecContext(context.Background(), e.q(`INSERT INTO users (id, email) VALUES ($1, $2)`), 2, "a"); err != nil {
				t.Errorf("short value: %v", err)
			}
		})
	}
}

// TestMySQLNoBackslashEscapesRefused: a connection whose sql_mode has
// NO_BACKSLASH_ESCAPES is refused with ErrConfig, and so is a statement that
// would switch it on.
func TestMySQLNoBackslashEscapesRefused(t *testing.T) {
	t.Parallel()
	e := setupDialect(t, mysqlDialect, "interpolateParams=false", suiteSchema, nil, suiteDDL(mysqlDialect)...)
	db, err := sql.Open("kmsenc+mysql", mysqlWith(t, map[string]string{"kmsenc_config": e.cfg, "sql_mode": "'NO_BACKSLASH_ESCAPES'"}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), "NO_BACKSLASH_ESCAPES") {
		t.Errorf("connection with NO_BACKSLASH_ESCAPES: err = %v, want ErrConfig naming the mode", err)
	}
	if _, err := e.execErr(`SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'`); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
		t.Errorf("SET sql_mode: err = %v, want ErrUnsupportedStatement", err)
	}
}
