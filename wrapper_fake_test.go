package kmsenc

// A fake base driver, a fake rewriter and a test dialect, in the manner of
// database/sql's fakedb_test.go, so that the wrapper can be tested through
// database/sql without a database. The fake records every SQL text and
// argument list it receives and answers from scripts keyed by SQL text; the
// rewriter returns hand-built plans, so these tests don't depend on a parser.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
	"github.com/kmsenc/kmsenc/providers/local"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// fakeResult is a scripted answer: rows for a query, RowsAffected for an exec.
type fakeResult struct {
	cols     []string
	types    []string // per column, as DatabaseTypeName reports it; may be nil
	rows     [][]driver.Value
	affected int64
}

// script answers one SQL text. It is called with the fake's lock released.
type script func(args []driver.NamedValue) (*fakeResult, error)

// call is one thing the base received.
type call struct {
	conn int
	op   string // exec, query, exec.skip, query.skip, prepare, stmt.exec, stmt.query, stmt.close, begin, commit, rollback
	sql  string
	args []driver.NamedValue
	inTx bool
}

// fakeBase is the base driver's connector and its shared state.
type fakeBase struct {
	// skipDirect makes ExecContext and QueryContext answer driver.ErrSkip,
	// as go-sql-driver/mysql does without interpolateParams.
	skipDirect atomic.Bool

	mu      sync.Mutex
	scripts map[string]script
	calls   []call
	nconn   int

	rowsOut  atomic.Int64 // rows the base handed out through Rows.Next
	openRows atomic.Int64 // results not yet closed
	nexts    atomic.Int64 // calls of Rows.Next, EOF included
}

var _ driver.Connector = (*fakeBase)(nil)

func newFakeBase() *fakeBase { return &fakeBase{scripts: make(map[string]script)} }

// on scripts the answer to a SQL text.
func (b *fakeBase) on(sql string, s script) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scripts[sql] = s
}

func (b *fakeBase) Connect(context.Context) (driver.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nconn++
	return &fakeConn{b: b, id: b.nconn}, nil
}

func (b *fakeBase) Driver() driver.Driver { return fakeDriver{} }

// log returns a copy of the calls so far.
func (b *fakeBase) log() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

// callsTo returns the calls with SQL text sql, of the given ops (any if none).
func (b *fakeBase) callsTo(sql string, ops ...string) []call {
	var out []call
	for _, c := range b.log() {
		if c.sql == sql && (len(ops) == 0 || slices.Contains(ops, c.op)) {
			out = append(out, c)
		}
	}
	return out
}

func (b *fakeBase) record(c call) {
	args := make([]driver.NamedValue, len(c.args))
	copy(args, c.args)
	for i, a := range args {
		if v, ok := a.Value.([]byte); ok {
			args[i].Value = append([]byte(nil), v...)
		}
	}
	c.args = args
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, c)
}

func (b *fakeBase) run(sql string, args []driver.NamedValue) (*fakeResult, error) {
	b.mu.Lock()
	s, ok := b.scripts[sql]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake: no script for %q", sql)
	}
	return s(args)
}

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("fake: open through the connector")
}

// fakeConn is one base connection.
type fakeConn struct {
	b    *fakeBase
	id   int
	inTx bool
}

var (
	_ driver.Conn               = (*fakeConn)(nil)
	_ driver.ExecerContext      = (*fakeConn)(nil)
	_ driver.QueryerContext     = (*fakeConn)(nil)
	_ driver.ConnPrepareContext = (*fakeConn)(nil)
	_ driver.ConnBeginTx        = (*fakeConn)(nil)
	_ driver.NamedValueChecker  = (*fakeConn)(nil)
)

func (c *fakeConn) rec(op, sql string, args []driver.NamedValue) {
	c.b.record(call{conn: c.id, op: op, sql: sql, args: args, inTx: c.inTx})
}

func (c *fakeConn) ExecContext(_ context.Context, sql string, args []driver.NamedValue) (driver.Result, error) {
	if c.b.skipDirect.Load() {
		c.rec("exec.skip", sql, args)
		return nil, driver.ErrSkip
	}
	c.rec("exec", sql, args)
	return c.b.exec(sql, args)
}

func (c *fakeConn) QueryContext(_ context.Context, sql string, args []driver.NamedValue) (driver.Rows, error) {
	if c.b.skipDirect.Load() {
		c.rec("query.skip", sql, args)
		return nil, driver.ErrSkip
	}
	c.rec("query", sql, args)
	return c.b.query(sql, args)
}

func (c *fakeConn) PrepareContext(_ context.Context, sql string) (driver.Stmt, error) {
	c.rec("prepare", sql, nil)
	return &fakeStmt{c: c, sql: sql}, nil
}

func (c *fakeConn) Prepare(sql string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), sql)
}

func (c *fakeConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	c.inTx = true
	c.rec("begin", "", nil)
	return &fakeTx{c: c}, nil
}

func (c *fakeConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *fakeConn) Close() error { return nil }

// CheckNamedValue accepts any value, as pgx does, so that a dialect's
// leading option arguments reach the wrapper.
func (c *fakeConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (b *fakeBase) exec(sql string, args []driver.NamedValue) (driver.Result, error) {
	r, err := b.run(sql, args)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(r.affected), nil
}

func (b *fakeBase) query(sql string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := b.run(sql, args)
	if err != nil {
		return nil, err
	}
	b.openRows.Add(1)
	return &fakeRows{b: b, r: r}, nil
}

type fakeTx struct{ c *fakeConn }

func (tx *fakeTx) Commit() error {
	tx.c.rec("commit", "", nil)
	tx.c.inTx = false
	return nil
}

func (tx *fakeTx) Rollback() error {
	tx.c.rec("rollback", "", nil)
	tx.c.inTx = false
	return nil
}

// fakeStmt is a prepared statement. Its NumInput is the number of '$' of
// its SQL: the rewritten statement's count, not the caller's.
type fakeStmt struct {
	c   *fakeConn
	sql string
}

var (
	_ driver.StmtExecContext  = (*fakeStmt)(nil)
	_ driver.StmtQueryContext = (*fakeStmt)(nil)
)

func (s *fakeStmt) Close() error {
	s.c.rec("stmt.close", s.sql, nil)
	return nil
}

func (s *fakeStmt) NumInput() int { return strings.Count(s.sql, "$") }

func (s *fakeStmt) ExecContext(_ context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.rec("stmt.exec", s.sql, args)
	return s.c.b.exec(s.sql, args)
}

func (s *fakeStmt) QueryContext(_ context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.rec("stmt.query", s.sql, args)
	return s.c.b.query(s.sql, args)
}

func (s *fakeStmt) Exec(vals []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(vals))
}

func (s *fakeStmt) Query(vals []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(vals))
}

// fakeRows hands out a scripted result. It reports the column types of the
// script, upper-cased, so that a test can tell them from the wrapper's.
type fakeRows struct {
	b      *fakeBase
	r      *fakeResult
	pos    int
	closed bool
}

var (
	_ driver.RowsColumnTypeScanType         = (*fakeRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*fakeRows)(nil)
	_ driver.RowsColumnTypeLength           = (*fakeRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*fakeRows)(nil)
)

func (r *fakeRows) Columns() []string { return r.r.cols }

func (r *fakeRows) Close() error {
	if !r.closed {
		r.b.openRows.Add(-1)
	}
	r.closed = true
	return nil
}

func (r *fakeRows) Next(dest []driver.Value) error {
	r.b.nexts.Add(1)
	if r.closed {
		return errors.New("fake: Next on closed rows")
	}
	if r.pos >= len(r.r.rows) {
		return io.EOF
	}
	row := r.r.rows[r.pos]
	r.pos++
	if len(dest) != len(row) {
		return fmt.Errorf("fake: Next with %d destinations for %d columns", len(dest), len(row))
	}
	for i, v := range row {
		if b, ok := v.([]byte); ok {
			v = append([]byte(nil), b...)
		}
		dest[i] = v
	}
	r.b.rowsOut.Add(1)
	return nil
}

func (r *fakeRows) typ(i int) string {
	if i < len(r.r.types) {
		return r.r.types[i]
	}
	return "text"
}

func (r *fakeRows) ColumnTypeScanType(i int) reflect.Type {
	switch r.typ(i) {
	case "bigint":
		return reflect.TypeFor[int64]()
	case "bytea":
		return reflect.TypeFor[[]byte]()
	}
	return reflect.TypeFor[string]()
}

func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string { return strings.ToUpper(r.typ(i)) }

func (r *fakeRows) ColumnTypeLength(i int) (int64, bool) {
	if r.typ(i) == "varchar" {
		return 255, true
	}
	return 0, false
}

func (r *fakeRows) ColumnTypeNullable(int) (bool, bool) { return true, true }

// fakeRewriter returns hand-built plans; any other SQL text passes through.
type fakeRewriter struct {
	mu    sync.Mutex
	plans map[string]*rewrite.Plan
	errs  map[string]error
	calls int
}

func (r *fakeRewriter) Rewrite(sql string) (*rewrite.Plan, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if err, ok := r.errs[sql]; ok {
		return nil, err
	}
	if p, ok := r.plans[sql]; ok {
		return p, nil
	}
	return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: -1}, nil
}

// execMode is the test dialect's leading option argument, like pgx's
// QueryExecMode.
type execMode int

const columnsQuery = "SELECT column_name, data_type, column_default, max_len FROM columns WHERE table_name = $1"

func testDialect(rw rewrite.Rewriter) *dialect.Dialect {
	return &dialect.Dialect{
		Name:        "fake",
		NewRewriter: func(*schema.Config) rewrite.Rewriter { return rw },
		LeadingOptions: func(args []driver.NamedValue) int {
			n := 0
			for n < len(args) {
				if _, ok := args[n].Value.(execMode); !ok {
					break
				}
				n++
			}
			return n
		},
		ColumnsQuery: columnsQuery,
		Storage: func(dataType string) (binary, ok bool) {
			switch dataType {
			case "text", "varchar":
				return false, true
			case "bytea":
				return true, true
			}
			return false, false
		},
		TypeName: func(t schema.Type) string { return "PLAIN_" + strings.ToUpper(string(t)) },
		ContextRule: func(c dialect.Column) (*canon.Rule, error) {
			if c.DataType != "bigint" {
				return nil, fmt.Errorf("context column %s.%s is %s", c.Table, c.Name, c.DataType)
			}
			return &canon.Rule{Column: c.Table + "." + c.Name, SQLType: c.DataType, Kind: canon.Integer, Exact: true}, nil
		},
	}
}

// The schema of these tests. users has the default context {table: users};
// accounts puts the row's id in its context.
const testSchema = `
key:
  url: base64key://%s
tables:
  users:
    columns:
      email: text
      avatar: bytes
      age: int
  accounts:
    context:
      table: accounts
      id: $id
    columns:
      note: text
`

// dbColumns is what ColumnsQuery reports: (name, data type, default, max len).
var dbColumns = map[string][][]driver.Value{
	"users": {
		{"id", "bigint", "nextval('users_id_seq')", nil},
		{"encrypted_kms_key", "text", nil, nil},
		{"email", "text", nil, nil},
		{"avatar", "bytea", nil, nil},
		{"age", "text", nil, nil},
		{"name", "varchar", nil, int64(255)},
	},
	"accounts": {
		{"id", "bigint", nil, nil},
		{"encrypted_kms_key", "text", nil, nil},
		{"note", "text", nil, nil},
	},
}

// fixture is one kmsenc database over a fake base.
type fixture struct {
	t      *testing.T
	base   *fakeBase
	rw     *fakeRewriter
	cfg    *Config
	master []byte
	prov   *local.Provider // the connector's provider: counts the KMS calls
	writer *local.Provider // the test's own provider of the same master key
	conn   *Connector
	db     *sql.DB
	events *eventLog
	users  *schema.Table
	accts  *schema.Table
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{t: t, base: newFakeBase(), events: &eventLog{}}
	f.rw = &fakeRewriter{plans: make(map[string]*rewrite.Plan), errs: make(map[string]error)}
	f.master = make([]byte, local.KeySize)
	rand.Read(f.master)
	keyURL := "base64key://" + base64.StdEncoding.EncodeToString(f.master)
	var err error
	if f.cfg, err = schema.Parse(fmt.Appendf(nil, testSchema, base64.StdEncoding.EncodeToString(f.master)), "test.yaml"); err != nil {
		t.Fatal(err)
	}
	if f.cfg.Key.URL != keyURL {
		t.Fatalf("key URL %q, want %q", f.cfg.Key.URL, keyURL)
	}
	f.users, f.accts = f.cfg.Table("users"), f.cfg.Table("accounts")
	if f.prov, err = local.New(f.master); err != nil {
		t.Fatal(err)
	}
	if f.writer, err = local.New(f.master); err != nil {
		t.Fatal(err)
	}
	f.base.on(columnsQuery, func(args []driver.NamedValue) (*fakeResult, error) {
		return &fakeResult{
			cols: []string{"column_name", "data_type", "column_default", "max_len"},
			rows: dbColumns[asString(args[0].Value)],
		}, nil
	})
	opts = append([]Option{WithProvider(keyURL, f.prov), WithHook(f.events)}, opts...)
	if f.conn, err = NewConnector(f.base, testDialect(f.rw), f.cfg, opts...); err != nil {
		t.Fatal(err)
	}
	f.db = sql.OpenDB(f.conn)
	t.Cleanup(func() { f.db.Close() })
	return f
}

// plan makes the rewriter answer sql with p.
func (f *fixture) plan(sql string, p *rewrite.Plan) {
	f.rw.mu.Lock()
	defer f.rw.mu.Unlock()
	f.rw.plans[sql] = p
}

func (f *fixture) counts() (encrypts, decrypts int64) { return f.prov.Counts() }

// testKey is a data key made by the test, whose raw bytes the test knows,
// wrapped by the fixture's master key as kmsenc would have wrapped it.
type testKey struct {
	raw     []byte
	dk      *envelope.DataKey
	wrapped string
}

func (f *fixture) newKey(ec envelope.Context) testKey {
	f.t.Helper()
	raw := make([]byte, envelope.DataKeySize)
	rand.Read(raw)
	dk, err := envelope.DataKeyFromBytes(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	ct, err := f.writer.Encrypt(context.Background(), raw, ec)
	if err != nil {
		f.t.Fatal(err)
	}
	return testKey{raw: raw, dk: dk, wrapped: envelope.FormatWrappedKey(1, ct)}
}

// seal returns what the database holds for plaintext v of col under k.
func (k testKey) seal(t *testing.T, col *schema.Column, v any, binary bool) driver.Value {
	t.Helper()
	pt, err := envelope.Encode(col.Type, v)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.StoreValue(k.dk.Seal(col.AssociatedData(), pt), binary)
}

// unwrap unwraps a key column value with the test's own provider.
func (f *fixture) unwrap(wrapped string, ec envelope.Context) (*envelope.DataKey, error) {
	v, ct, err := envelope.ParseWrappedKey(wrapped)
	if err != nil {
		return nil, err
	}
	if v != 1 {
		return nil, fmt.Errorf("version %d, want 1", v)
	}
	raw, err := f.writer.Decrypt(context.Background(), ct, ec)
	if err != nil {
		return nil, err
	}
	return envelope.DataKeyFromBytes(raw)
}

// open decrypts a stored value of col under dk, as the database holds it.
func open(dk *envelope.DataKey, col *schema.Column, stored driver.Value, binary bool) (driver.Value, error) {
	sealed, err := envelope.LoadValue(stored, binary)
	if err != nil {
		return nil, err
	}
	pt, err := dk.Open(col.AssociatedData(), sealed)
	if err != nil {
		return nil, err
	}
	return envelope.Decode(col.Type, pt)
}

// eventLog is a Hook that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) Event(_ context.Context, e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

func (l *eventLog) count(k EventKind) int {
	n := 0
	for _, e := range l.all() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// checkNoLeaks fails if a base result is still open or a prepared base
// statement was never closed.
func (f *fixture) checkNoLeaks(t *testing.T) {
	t.Helper()
	if n := f.base.openRows.Load(); n != 0 {
		t.Errorf("%d base results left open", n)
	}
	open := map[string]int{}
	for _, c := range f.base.log() {
		switch c.op {
		case "prepare":
			open[c.sql]++
		case "stmt.close":
			open[c.sql]--
		}
	}
	for sql, n := range open {
		if n != 0 {
			t.Errorf("%d base statements of %q left open", n, sql)
		}
	}
}

// assertNoCanary fails if any SQL text or argument the base received holds
// one of the canaries, as text or bytes.
func assertNoCanary(t *testing.T, calls []call, canaries ...string) {
	t.Helper()
	for _, c := range calls {
		for _, s := range canaries {
			if strings.Contains(c.sql, s) {
				t.Errorf("the base received plaintext %q in SQL %q", s, c.sql)
			}
			for _, a := range c.args {
				var text string
				switch v := a.Value.(type) {
				case string:
					text = v
				case []byte:
					text = string(v)
				default:
					text = fmt.Sprint(v)
				}
				if strings.Contains(text, s) {
					t.Errorf("the base received plaintext %q in an argument of %s %q", s, c.op, c.sql)
				}
			}
		}
	}
}
