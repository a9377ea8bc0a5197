package kmsenc

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// sessionFixture is a fixture whose dialect checks a session setting the
// fake base keeps: "SHOW mode" answers it (CheckSession), and CheckConn
// reads a flag without a round trip, as PostgreSQL's ParameterStatus check
// does.
type sessionFixture struct {
	*fixture
	mu      sync.Mutex
	mode    string      // what "SHOW mode" answers: "ok" or anything else
	badConn atomic.Bool // what CheckConn sees
	checks  atomic.Int64
	db      *sql.DB
}

func newSessionFixture(t *testing.T) *sessionFixture {
	f := &sessionFixture{fixture: newFixture(t), mode: "ok"}
	f.base.on("SHOW mode", func([]driver.NamedValue) (*fakeResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.checks.Add(1)
		return &fakeResult{cols: []string{"mode"}, rows: [][]driver.Value{{f.mode}}}, nil
	})
	for _, m := range []string{"ok", "bad"} {
		f.base.on("SET mode "+m, func([]driver.NamedValue) (*fakeResult, error) {
			f.setMode(m)
			return &fakeResult{}, nil
		})
		f.plan("SET mode "+m, &rewrite.Plan{Kind: rewrite.PassThrough, SQL: "SET mode " + m, SessionChange: true})
	}
	f.base.on("SELECT 1", func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{}, nil })
	d := testDialect(f.rw)
	d.CheckSession = func(_ context.Context, query func(string) (string, error)) error {
		v, err := query("SHOW mode")
		if err != nil {
			return err
		}
		if v != "ok" {
			return errors.New("kmsenc: mode is " + v)
		}
		return nil
	}
	d.CheckConn = func(driver.Conn) error {
		if f.badConn.Load() {
			return errors.New("kmsenc: the connection's encoding changed")
		}
		return nil
	}
	c, err := NewConnector(f.base, d, f.cfg, WithProvider(f.cfg.Key.URL, f.prov))
	if err != nil {
		t.Fatal(err)
	}
	f.db = sql.OpenDB(c)
	f.db.SetMaxOpenConns(1)
	t.Cleanup(func() { f.db.Close() })
	return f
}

func (f *sessionFixture) setMode(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

// sentOn returns the ids of the connections that received sql.
func (f *sessionFixture) sentOn(sql string) []int {
	var ids []int
	for _, c := range f.base.callsTo(sql) {
		ids = append(ids, c.conn)
	}
	return ids
}

// TestSessionRecheck: after a statement whose plan says it may change the
// session, the session check runs again before the connection's next
// statement; when it fails, that statement and every later one on the
// connection fail without reaching the base, and database/sql discards it.
func TestSessionRecheck(t *testing.T) {
	f := newSessionFixture(t)
	if _, err := f.db.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	before := f.checks.Load()
	if _, err := f.db.Exec("SELECT 1"); err != nil || f.checks.Load() != before {
		t.Fatalf("a statement that changes nothing: %v, %d more checks", err, f.checks.Load()-before)
	}
	if _, err := f.db.Exec("SET mode ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("SELECT 1"); err != nil || f.checks.Load() != before+1 {
		t.Fatalf("after SET mode ok: %v, %d more checks, want 1", err, f.checks.Load()-before)
	}

	ctx := context.Background()
	c, err := f.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.PrepareContext(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET mode bad"); err != nil {
		t.Fatal(err)
	}
	sent := len(f.sentOn("SELECT 1"))
	for i := 0; i < 2; i++ {
		if _, err := c.ExecContext(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "mode is bad") || !strings.Contains(err.Error(), "no more statements") {
			t.Errorf("statement %d after SET mode bad: err = %v", i, err)
		}
	}
	if _, err := st.Exec(); err == nil {
		t.Error("a statement prepared before SET mode bad ran after it")
	}
	if n := len(f.sentOn("SELECT 1")); n != sent {
		t.Errorf("%d statements reached the base after the session went bad", n-sent)
	}
	var valid bool
	if err := c.Raw(func(dc any) error {
		valid = dc.(driver.Validator).IsValid()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if valid {
		t.Error("IsValid is true for a connection whose session went bad")
	}
	st.Close()
	c.Close()

	// The pool discarded it: the next connection is checked when made.
	f.setMode("ok")
	if _, err := f.db.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if ids := f.sentOn("SELECT 1"); ids[len(ids)-1] == ids[0] {
		t.Errorf("the statement ran on connection %d, the spoiled one", ids[0])
	}
}

// TestSessionCheckConn: the dialect's CheckConn runs before every
// statement and makes a failing connection unusable, even once it passes
// again (a transaction's end can restore a setting).
func TestSessionCheckConn(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	c, err := f.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	f.badConn.Store(true)
	if _, err := c.ExecContext(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "encoding changed") {
		t.Errorf("err = %v, want the CheckConn error", err)
	}
	f.badConn.Store(false)
	if _, err := c.QueryContext(ctx, "SELECT 1"); err == nil {
		t.Error("a connection that failed CheckConn ran a statement later")
	}
	if n := len(f.sentOn("SELECT 1")); n != 1 {
		t.Errorf("%d statements reached the base, want 1", n)
	}
	err = c.Raw(func(dc any) error {
		if dc.(driver.SessionResetter).ResetSession(ctx) != driver.ErrBadConn {
			t.Error("ResetSession accepts a connection that failed CheckConn")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
