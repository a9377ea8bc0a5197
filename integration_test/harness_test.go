package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib" // also the plain driver "pgx", to read raw rows

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/postgres"
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/local"
)

// execModes are pgx's five ways to run a statement; every test runs under
// each (pgx's own testWithAllQueryExecModes is the model).
var execModes = []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"}

// dialect is one database the suite runs against. Test bodies are written
// once, with PostgreSQL's $n placeholders; q turns them into the dialect's.
type dialect struct {
	name  string
	modes []string // connection modes every test runs under
	// require skips (or under CI fails) when the server is unreachable.
	require func(t testing.TB)
	// srv is the test run on the dialect's server: the namespaces (schemas
	// or databases) the tests work in (namespace_test.go).
	srv *nsServer
	// raw opens the plain driver, working in the namespace ns.
	raw func(ns string) (*sql.DB, error)
	// base returns the plain driver's connector for a mode, working in t's
	// namespace.
	base func(t testing.TB, mode string) (driver.Connector, error)
	// connector wraps a base connector with kmsenc.
	connector func(base driver.Connector, cfg *kmsenc.Config, opts ...kmsenc.Option) (*kmsenc.Connector, error)
	// dsn returns a DSN for sql.Open("kmsenc+...") with extra parameters,
	// working in t's namespace.
	dsn func(t testing.TB, params map[string]string) string
	// placeholders rewrites $n placeholders for the dialect.
	placeholders func(string) string
}

var postgresDialect = &dialect{
	name:    "postgres",
	modes:   execModes,
	require: requirePostgres,
	srv:     pgServer,
	raw: func(ns string) (*sql.DB, error) {
		dsn, err := postgresDSNIn(ns)
		if err != nil {
			return nil, err
		}
		return sql.Open("pgx", dsn)
	},
	base: func(t testing.TB, mode string) (driver.Connector, error) {
		return postgresBase(t, withParams(t, postgresTestDSN(t), map[string]string{"default_query_exec_mode": mode}))
	},
	connector:    postgres.NewConnector,
	dsn:          func(t testing.TB, params map[string]string) string { return withParams(t, postgresTestDSN(t), params) },
	placeholders: func(s string) string { return s },
}

// dialects lists the databases the suite runs against.
var dialects = []*dialect{postgresDialect}

// forEachDialect runs fn once per dialect and connection mode, each with
// fresh tables made by ddl(d).
func forEachDialect(t *testing.T, schemaYAML string, ddl func(d *dialect) []string, fn func(t *testing.T, e *env)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			for _, mode := range d.modes {
				t.Run(mode, func(t *testing.T) {
					fn(t, setupDialect(t, d, mode, schemaYAML, nil, ddl(d)...))
				})
			}
		})
	}
}

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresDSN is the configured DSN. Tests work in a namespace of their own
// (postgresTestDSN, d.dsn, d.base, d.raw); this one only reaches the server.
func postgresDSN() string {
	if dsn := os.Getenv("KMSENC_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return defaultPostgresDSN
}

var (
	pgOnce sync.Once
	pgErr  error
)

// requirePostgres skips the test when PostgreSQL can't be reached, or fails
// it when CI is set: CI must never pass by skipping.
func requirePostgres(t testing.TB) {
	t.Helper()
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", postgresDSN())
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	if pgErr != nil {
		msg := fmt.Sprintf("PostgreSQL at %s not reachable (set KMSENC_TEST_POSTGRES_DSN): %v", postgresDSN(), pgErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// env is one test's view of the database: through kmsenc, and raw.
type env struct {
	t    testing.TB
	d    *dialect
	mode string
	db   *sql.DB // through kmsenc
	// connector is db's kmsenc connector.
	connector *kmsenc.Connector
	raw       *sql.DB // the plain driver: what lies in the database (one pool for the test's envs)
	key       *local.Provider
	keyURL    string
	cfg       string // schema file path
	events    *eventLog
}

// eventLog records kmsenc events, so tests can count KMS calls and check
// that no event carries a secret.
type eventLog struct {
	mu     sync.Mutex
	events []kmsenc.Event
}

func (l *eventLog) Event(_ context.Context, e kmsenc.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) count(kind kmsenc.EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// newKey returns a fresh base64key:// URL.
func newKey(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "base64key://" + base64.URLEncoding.EncodeToString(b)
}

// withParams adds query parameters to a URL DSN.
func withParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	s, err := withParamsErr(dsn, params)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withParamsErr(dsn string, params map[string]string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// setup creates the tables (ddl runs through the plain driver, dropping
// them first) and opens kmsenc with schema (a YAML schema file whose key
// section kmsenc fills in) under one exec mode.
func setup(t testing.TB, mode, schemaYAML string, ddl ...string) *env {
	t.Helper()
	return setupDialect(t, postgresDialect, mode, schemaYAML, nil, ddl...)
}

// setupDialect is setup for a dialect, with the provider seen by kmsenc
// wrapped by wrap (to count, slow down or refuse calls) when wrap is not nil.
func setupDialect(t testing.TB, d *dialect, mode, schemaYAML string, wrap func(providers.Provider) providers.Provider, ddl ...string) *env {
	t.Helper()
	d.require(t)
	raw, err := d.srv.raw(d.srv.ns(t), d.raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range ddl {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	keyURL := newKey(t)
	cfgPath := filepath.Join(t.TempDir(), "kmsenc.yaml")
	full := fmt.Sprintf("key:\n  url: %s\n%s", keyURL, schemaYAML)
	if err := os.WriteFile(cfgPath, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, d: d, mode: mode, raw: raw, keyURL: keyURL, cfg: cfgPath}
	e.open(wrap)
	return e
}

// reopen returns a second kmsenc database over the same tables, schema file
// and master key as e, with its own connector (so a cold key cache).
func reopen(t testing.TB, e *env, wrap func(providers.Provider) providers.Provider) *env {
	t.Helper()
	return reopenWith(t, e, wrap)
}

// reopenWith is reopen with extra connector options.
func reopenWith(t testing.TB, e *env, wrap func(providers.Provider) providers.Provider, opts ...kmsenc.Option) *env {
	t.Helper()
	e2 := &env{t: t, d: e.d, mode: e.mode, raw: e.raw, keyURL: e.keyURL, cfg: e.cfg}
	e2.open(wrap, opts...)
	return e2
}

// open opens e.db through kmsenc.
func (e *env) open(wrap func(providers.Provider) providers.Provider, opts ...kmsenc.Option) {
	t := e.t
	t.Helper()
	keyURL, mode := e.keyURL, e.mode
	cfg, err := kmsenc.LoadConfig(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := providers.Open(context.Background(), keyURL)
	if err != nil {
		t.Fatal(err)
	}
	key := opened.(*local.Provider)
	events := &eventLog{}
	plain, err := e.d.base(t, mode)
	if err != nil {
		t.Fatal(err)
	}
	// Every SQL text and argument kmsenc sends is recorded, and checked
	// for plaintext when the test ends; benchmarks measure kmsenc alone.
	var base driver.Connector = plain
	if _, bench := t.(*testing.B); !bench {
		rec := &recorder{base: plain}
		t.Cleanup(func() { rec.assertNoCanary(t) })
		base = rec
	}
	var p providers.Provider = key
	if wrap != nil {
		p = wrap(key)
	}
	opts = append([]kmsenc.Option{kmsenc.WithProvider(keyURL, p)}, opts...)
	if _, bench := t.(*testing.B); !bench {
		opts = append(opts, kmsenc.WithHook(events))
	}
	conn, err := e.d.connector(base, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	e.db, e.key, e.events, e.connector = db, key, events, conn
}

var canarySeq struct {
	sync.Mutex
	n int
}

// canary returns a distinctive plaintext that must never be found in the
// database.
func canary(tag string) string {
	canarySeq.Lock()
	defer canarySeq.Unlock()
	canarySeq.n++
	c := fmt.Sprintf("%s%s-%d-%s", canaryPrefix, tag, canarySeq.n, rand.Text()[:8])
	canaries.Lock()
	canaries.list = append(canaries.list, c)
	canaries.Unlock()
	return c
}

var wrappedKeyRE = regexp.MustCompile(`^v1:[A-Za-z0-9+/]+={0,2}$`)

// assertStored reads every row of table raw and checks that none of the
// canaries appears in any column (as text, or inside bytes), and that every
// row whose encrypted columns hold a value has a v1: key.
func (e *env) assertStored(table string, encrypted []string, canaries ...string) {
	e.t.Helper()
	rows, err := e.raw.Query(`SELECT * FROM ` + table) //nolint:gosec // test tables
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		hasValue := false
		var key any
		for i, c := range cols {
			s := fmt.Sprint(vals[i])
			if b, ok := vals[i].([]byte); ok {
				s = string(b)
			}
			for _, cn := range canaries {
				if strings.Contains(s, cn) {
					e.t.Errorf("%s.%s holds plaintext %q", table, c, cn)
				}
			}
			for _, enc := range encrypted {
				if c == enc && vals[i] != nil {
					hasValue = true
				}
			}
			if c == "encrypted_kms_key" {
				key = vals[i]
				if b, ok := key.([]byte); ok { // MySQL returns text as bytes
					key = string(b)
				}
			}
		}
		if hasValue {
			k, ok := key.(string)
			if !ok || !wrappedKeyRE.MatchString(k) {
				e.t.Errorf("%s row with encrypted values has key column %v, want v1:<base64>", table, key)
			}
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	if n == 0 {
		e.t.Errorf("%s holds no rows: the write test wrote nothing", table)
	}
}

// count returns the rows of table, read raw.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.raw.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// pick returns the statement for the env's dialect.
func (e *env) pick(postgres, mysql string) string {
	if e.d.name == "mysql" {
		return mysql
	}
	return postgres
}

// q returns query with the dialect's placeholders.
func (e *env) q(query string) string { return e.d.placeholders(query) }

// exec runs a statement through kmsenc and fails the test on error.
func (e *env) exec(query string, args ...any) sql.Result {
	e.t.Helper()
	res, err := e.db.Exec(e.q(query), args...)
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return res
}

// The methods below run through kmsenc with the dialect's placeholders.
func (e *env) execErr(query string, args ...any) (sql.Result, error) {
	return e.db.Exec(e.q(query), args...)
}

func (e *env) query(query string, args ...any) (*sql.Rows, error) {
	return e.db.Query(e.q(query), args...)
}

func (e *env) queryRow(query string, args ...any) *sql.Row {
	return e.db.QueryRow(e.q(query), args...)
}

func (e *env) prepare(query string) (*sql.Stmt, error) { return e.db.Prepare(e.q(query)) }

// rawExec runs a statement through the plain driver.
func (e *env) rawExec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.raw.Exec(e.q(query), args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// postgresBase opens pgx's database/sql connector for dsn.
func postgresBase(t testing.TB, dsn string) (driver.Connector, error) {
	t.Helper()
	return stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(dsn)
}
