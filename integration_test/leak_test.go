package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The leak checks every suite uses: a recorder between kmsenc and the base
// driver that sees every SQL text and argument kmsenc sends, and a scan of
// every table of the test database. No canary (a plaintext written to an
// encrypted column) may appear in either.

// canaries holds every canary handed out, so checks can look for all.
var canaries struct {
	sync.Mutex
	list []string
}

func allCanaries() []string {
	canaries.Lock()
	defer canaries.Unlock()
	return append([]string(nil), canaries.list...)
}

// canaryPrefix starts every canary (see canary).
const canaryPrefix = "canary-"

// canarySet finds canaries in a text without trying each in turn: there are
// thousands by the end of a run, and the checks read every statement and
// every stored value. Every canary starts with canaryPrefix, so one that is
// in a text starts where the prefix does.
type canarySet struct {
	set     map[string]bool
	lengths []int    // of the canaries, each once
	other   []string // canaries without the prefix (none today): tried in turn
}

func newCanarySet(cs []string) *canarySet {
	s := &canarySet{set: map[string]bool{}}
	seen := map[int]bool{}
	for _, c := range cs {
		if !strings.HasPrefix(c, canaryPrefix) {
			s.other = append(s.other, c)
			continue
		}
		s.set[c] = true
		if !seen[len(c)] {
			seen[len(c)] = true
			s.lengths = append(s.lengths, len(c))
		}
	}
	return s
}

// in returns the canaries text holds.
func (s *canarySet) in(text string) []string {
	var found []string
	for off := 0; ; {
		i := strings.Index(text[off:], canaryPrefix)
		if i < 0 {
			break
		}
		at := text[off+i:]
		for _, n := range s.lengths {
			if n <= len(at) && s.set[at[:n]] {
				found = append(found, at[:n])
			}
		}
		off += i + 1
	}
	for _, c := range s.other {
		if strings.Contains(text, c) {
			found = append(found, c)
		}
	}
	return found
}

// recorder is a driver.Connector that records what passes to the base.
type recorder struct {
	base driver.Connector
	mu   sync.Mutex
	sent []string // SQL texts and rendered arguments
}

func (r *recorder) record(sql string, args []driver.NamedValue) {
	var b strings.Builder
	b.WriteString(sql)
	for _, a := range args {
		b.WriteString("\x00")
		switch v := a.Value.(type) {
		case []byte:
			b.Write(v)
		default:
			fmt.Fprint(&b, v)
		}
	}
	r.mu.Lock()
	r.sent = append(r.sent, b.String())
	r.mu.Unlock()
}

// assertNoCanary fails t if any recorded text or argument holds a canary.
func (r *recorder) assertNoCanary(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := newCanarySet(allCanaries())
	for _, s := range r.sent {
		for _, c := range cs.in(s) {
			t.Errorf("kmsenc sent plaintext %q to the database in: %q", c, strings.ReplaceAll(s, "\x00", " | "))
		}
	}
}

func (r *recorder) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &recConn{Conn: c, r: r}, nil
}

func (r *recorder) Driver() driver.Driver { return r.base.Driver() }

// recConn forwards every optional interface of the base connection.
type recConn struct {
	driver.Conn
	r *recorder
}

// Unwrap returns the base connection, whose session kmsenc+postgres checks.
func (c *recConn) Unwrap() driver.Conn { return c.Conn }

func (c *recConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.r.record(query, nil)
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &recStmt{Stmt: st, r: c.r, query: query}, nil
}

func (c *recConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *recConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.r.record(query, args)
	return e.ExecContext(ctx, query, args)
}

func (c *recConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.r.record(query, args)
	return q.QueryContext(ctx, query, args)
}

func (c *recConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	//lint:ignore SA1019 the fallback for a base driver without ConnBeginTx
	return c.Conn.Begin()
}

func (c *recConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *recConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *recConn) ResetSession(ctx context.Context) error {
	if s, ok := c.Conn.(driver.SessionResetter); ok {
		return s.ResetSession(ctx)
	}
	return nil
}

func (c *recConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type recStmt struct {
	driver.Stmt
	r     *recorder
	query string
}

func (s *recStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.r.record(s.query, args)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	//lint:ignore SA1019 the fallback for a base statement without StmtExecContext
	return s.Stmt.Exec(vals)
}

func (s *recStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.r.record(s.query, args)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	//lint:ignore SA1019 the fallback for a base statement without StmtQueryContext
	return s.Stmt.Query(vals)
}

// scanAllTables reads every table of the namespaces (schemas or databases)
// through the plain driver and fails t if any column of any row holds a
// canary.
func scanAllTables(t testing.TB, d *dialect, namespaces ...string) {
	t.Helper()
	if err := d.srv.start(); err != nil {
		t.Fatal(err)
	}
	admin := d.srv.admin
	// Every relation that holds rows: tables and materialized views, and
	// on MySQL everything but views.
	list := `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'm') ORDER BY 1`
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if d.name == "mysql" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type <> 'VIEW' ORDER BY 1`
		quote = func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
	}
	cs := newCanarySet(allCanaries())
	for _, ns := range namespaces {
		rows, err := admin.Query(list, ns)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for _, table := range tables {
			scanTable(t, admin, ns+"."+table, quote(ns)+"."+quote(table), cs)
		}
	}
}

// scanTable fails t if any column of any row of table holds a canary.
func scanTable(t testing.TB, db *sql.DB, name, quoted string, cs *canarySet) {
	t.Helper()
	rs, err := db.Query(`SELECT * FROM ` + quoted)
	if err != nil {
		t.Fatalf("scanning %s: %v", name, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	for rs.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatalf("scanning %s: %v", name, err)
		}
		for i, v := range vals {
			for _, c := range cs.in(string(v)) {
				t.Errorf("%s.%s holds plaintext %q", name, cols[i], c)
			}
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("scanning %s: %v", name, err)
	}
}

// TestCanarySet: canarySet.in finds what trying each canary with
// strings.Contains finds.
func TestCanarySet(t *testing.T) {
	t.Parallel()
	cs := []string{"canary-a-1-XY", "canary-a-1-XYZ", "canary-bb-2-Q", "canary-c-3-R", "plain-secret"}
	set := newCanarySet(cs)
	for _, text := range []string{
		"", "nothing here", "canary-", "canary-a-1-X", "canary-a-1-XYZ", "xcanary-a-1-XY", "canary-canary-bb-2-Q.",
		"canary-c-3-R canary-a-1-XY and plain-secret", "canary-bb-2-", "canary-a-1-XYcanary-c-3-R",
	} {
		var want []string
		for _, c := range cs {
			if strings.Contains(text, c) {
				want = append(want, c)
			}
		}
		got := set.in(text)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("in(%q) = %q, want %q", text, got, want)
		}
	}
}
