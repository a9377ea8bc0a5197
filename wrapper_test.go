package kmsenc

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/rewrite"
)

// mode is one way of running a statement through database/sql; every write
// test runs under each, as pgx's testWithAllQueryExecModes does.
type mode struct {
	name    string
	skip    bool // the base answers driver.ErrSkip to direct execution
	prepare bool // through db.Prepare / tx.Prepare
	tx      bool // inside a transaction
}

var modes = []mode{
	{name: "exec"},
	{name: "prepare", prepare: true},
	{name: "tx", tx: true},
	{name: "tx-prepare", tx: true, prepare: true},
	{name: "errskip", skip: true},
	{name: "errskip-tx", skip: true, tx: true},
}

// opts returns the leading option arguments the caller passes: none to a
// prepared statement, whose NumInput database/sql enforces.
func (m mode) opts() []any {
	if m.prepare {
		return nil
	}
	return []any{execMode(1)}
}

func forEachMode(t *testing.T, fn func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { fn(t, m) })
	}
}

type runner interface {
	Exec(query string, args ...any) (sql.Result, error)
	Query(query string, args ...any) (*sql.Rows, error)
	Prepare(query string) (*sql.Stmt, error)
}

// exec runs a statement without rows in mode m.
func (f *fixture) exec(m mode, query string, args ...any) (sql.Result, error) {
	f.t.Helper()
	f.base.skipDirect.Store(m.skip)
	var r runner = f.db
	if m.tx {
		tx, err := f.db.Begin()
		if err != nil {
			f.t.Fatal(err)
		}
		defer func() {
			if err := tx.Commit(); err != nil {
				f.t.Errorf("Commit: %v", err)
			}
		}()
		r = tx
	}
	if m.prepare {
		st, err := r.Prepare(query)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return st.Exec(args...)
	}
	return r.Exec(query, args...)
}

// query runs a statement with rows in mode m; done closes what it opened.
func (f *fixture) query(m mode, query string, args ...any) (rows *sql.Rows, done func(), err error) {
	f.t.Helper()
	f.base.skipDirect.Store(m.skip)
	var closers []func() error
	done = func() {
		for _, c := range slices.Backward(closers) {
			if err := c(); err != nil {
				f.t.Errorf("closing: %v", err)
			}
		}
	}
	var r runner = f.db
	if m.tx {
		tx, err := f.db.Begin()
		if err != nil {
			f.t.Fatal(err)
		}
		closers = append(closers, tx.Commit)
		r = tx
	}
	if m.prepare {
		var st *sql.Stmt
		if st, err = r.Prepare(query); err != nil {
			done()
			return nil, nil, err
		}
		closers = append(closers, st.Close)
		rows, err = st.Query(args...)
	} else {
		rows, err = r.Query(query, args...)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	closers = append(closers, rows.Close)
	return rows, done, nil
}

// mainCalls returns the calls that ran sql (not counting ErrSkip answers
// and prepares).
func (f *fixture) mainCalls(sql string) []call {
	return f.base.callsTo(sql, "exec", "query", "stmt.exec", "stmt.query")
}

// checkSkipPath checks, in an ErrSkip mode, that sql was tried directly
// once, then prepared once, run once and closed.
func (f *fixture) checkSkipPath(t *testing.T, m mode, sql string) {
	t.Helper()
	if !m.skip {
		return
	}
	for op, want := range map[string]int{"prepare": 1, "stmt.close": 1} {
		if got := len(f.base.callsTo(sql, op)); got != want {
			t.Errorf("%s of %q: %d times, want %d", op, sql, got, want)
		}
	}
	if got := len(f.base.callsTo(sql, "exec.skip", "query.skip")); got != 1 {
		t.Errorf("direct execution of %q tried %d times, want once", sql, got)
	}
}

// ---- 1, 2: INSERT ----

const (
	insertSQL    = "INSERT INTO users (id, email, avatar, age) VALUES ($1, $2, $3, $4), ($5, 'literal-canary', $6, $7)"
	insertSQLOut = "INSERT INTO users (id, email, avatar, age, encrypted_kms_key) VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)"
)

func (f *fixture) insertPlan() *rewrite.Plan {
	u := f.users
	email, avatar, age := u.Column("email"), u.Column("avatar"), u.Column("age")
	row := rewrite.Row{Context: []rewrite.ContextValue{{Name: "table", Fixed: "users"}}}
	return &rewrite.Plan{
		Kind: rewrite.Insert, SQL: insertSQLOut, NumInput: 7, Table: u,
		Rows: []rewrite.Row{row, row},
		Params: []rewrite.Param{
			{Value: rewrite.Arg(0)},
			{Value: rewrite.Arg(1), Encrypt: email},
			{Value: rewrite.Arg(2), Encrypt: avatar},
			{Value: rewrite.Arg(3), Encrypt: age},
			{Kind: rewrite.ParamWrappedKey, Row: 0},
			{Value: rewrite.Arg(4)},
			{Value: rewrite.Lit(rewrite.Literal{Go: "literal-canary", Text: "'literal-canary'"}), Encrypt: email, Row: 1},
			{Value: rewrite.Arg(5), Encrypt: avatar, Row: 1},
			{Value: rewrite.Arg(6), Encrypt: age, Row: 1},
			{Kind: rewrite.ParamWrappedKey, Row: 1},
		},
	}
}

const (
	emailCanary  = "alice-canary@example.com"
	avatarCanary = "avatar-canary-bytes"
)

func TestInsert(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		f := newFixture(t)
		f.plan(insertSQL, f.insertPlan())
		f.base.on(insertSQLOut, func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{affected: 2}, nil })

		args := append(m.opts(), 1, emailCanary, []byte(avatarCanary), 42, 2, nil, int64(-7))
		res, err := f.exec(m, insertSQL, args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 2 {
			t.Errorf("RowsAffected = %d, %v; want 2", n, err)
		}
		if got := f.base.callsTo(insertSQL); len(got) != 0 {
			t.Errorf("the base received the original statement: %+v", got)
		}
		calls := f.mainCalls(insertSQLOut)
		if len(calls) != 1 {
			t.Fatalf("the rewritten INSERT ran %d times, want once", len(calls))
		}
		f.checkSkipPath(t, m, insertSQLOut)
		if calls[0].inTx != m.tx {
			t.Errorf("the INSERT ran in a transaction: %v, want %v", calls[0].inTx, m.tx)
		}

		got := calls[0].args
		lead := len(m.opts())
		if len(got) != lead+10 {
			t.Fatalf("the base got %d arguments, want %d: %v", len(got), lead+10, got)
		}
		for i, a := range got {
			if a.Ordinal != i+1 {
				t.Errorf("argument %d has ordinal %d", i, a.Ordinal)
			}
		}
		if lead == 1 && got[0].Value != execMode(1) {
			t.Errorf("the leading option is %#v, want execMode(1) first", got[0].Value)
		}
		v := got[lead:]
		if v[0].Value != 1 || v[5].Value != 2 {
			t.Errorf("the ids reached the base as %#v and %#v, want 1 and 2 unchanged", v[0].Value, v[5].Value)
		}
		if v[7].Value != nil {
			t.Errorf("a NULL avatar reached the base as %#v, want nil", v[7].Value)
		}
		// Storage forms: base64 text for text columns, raw bytes for bytea.
		for _, i := range []int{1, 3, 6, 8} {
			s, ok := v[i].Value.(string)
			if !ok {
				t.Errorf("value %d for a text column is %T, want a base64 string", i, v[i].Value)
				continue
			}
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				t.Errorf("value %d for a text column is not base64: %v", i, err)
			}
		}
		if _, ok := v[2].Value.([]byte); !ok {
			t.Errorf("the value for the bytea column is %T, want []byte", v[2].Value)
		}
		w0, ok0 := v[4].Value.(string)
		w1, ok1 := v[9].Value.(string)
		if !ok0 || !ok1 || !strings.HasPrefix(w0, "v1:") || !strings.HasPrefix(w1, "v1:") {
			t.Fatalf("wrapped keys %#v, %#v; want v1:... strings", v[4].Value, v[9].Value)
		}
		if w0 == w1 {
			t.Error("both rows got the same wrapped key")
		}

		// Each row's values open under its own key, and only under it.
		ec := envelope.Context{"table": "users"}
		k0, err := f.unwrap(w0, ec)
		if err != nil {
			t.Fatal(err)
		}
		k1, err := f.unwrap(w1, ec)
		if err != nil {
			t.Fatal(err)
		}
		u := f.users
		for _, c := range []struct {
			k      *envelope.DataKey
			col    string
			stored driver.Value
			binary bool
			want   driver.Value
		}{
			{k0, "email", v[1].Value, false, emailCanary},
			{k0, "avatar", v[2].Value, true, []byte(avatarCanary)},
			{k0, "age", v[3].Value, false, int64(42)},
			{k1, "email", v[6].Value, false, "literal-canary"},
			{k1, "age", v[8].Value, false, int64(-7)},
		} {
			got, err := open(c.k, u.Column(c.col), c.stored, c.binary)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s decrypts to %#v, %v; want %#v", c.col, got, err, c.want)
			}
		}
		if _, err := open(k0, u.Column("email"), v[6].Value, false); !errors.Is(err, ErrDecrypt) {
			t.Errorf("row 2's email opens under row 1's key: %v", err)
		}

		assertNoCanary(t, f.base.log(), emailCanary, avatarCanary, "literal-canary")
		if enc, dec := f.counts(); enc != 2 || dec != 0 {
			t.Errorf("KMS calls: %d encrypts, %d decrypts; want 2 and 0", enc, dec)
		}
		if n := f.events.count(EventWrap); n != 2 {
			t.Errorf("%d wrap events, want 2", n)
		}
		f.checkNoLeaks(t)
	})
}

// An ErrSkip from the base must not make database/sql run kmsenc's
// statement a second time: every row would get a second data key.
func TestInsertErrSkipWrapsOnce(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		f := newFixture(t)
		f.plan(insertSQL, f.insertPlan())
		f.base.on(insertSQLOut, func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{affected: 2}, nil })
		m := mode{skip: true, prepare: prepare}
		if _, err := f.exec(m, insertSQL, append(m.opts(), 1, "a", []byte("b"), 3, 4, []byte("c"), 5)...); err != nil {
			t.Fatal(err)
		}
		if enc, _ := f.counts(); enc != 2 {
			t.Errorf("prepare=%v: %d wraps for 2 rows, want 2", prepare, enc)
		}
		f.rw.mu.Lock()
		planned := f.rw.calls
		f.rw.mu.Unlock()
		if planned != 1 {
			t.Errorf("prepare=%v: the statement was planned %d times (database/sql ran it again?)", prepare, planned)
		}
		if n := len(f.mainCalls(insertSQLOut)); n != 1 {
			t.Errorf("prepare=%v: the INSERT ran %d times, want once", prepare, n)
		}
	}
}

// INSERT ... RETURNING decrypts with the keys it just made: no unwrap.
func TestInsertReturning(t *testing.T) {
	const (
		q    = "INSERT INTO users (email) VALUES ($1) RETURNING id, email"
		qOut = "INSERT INTO users (email, encrypted_kms_key) VALUES ($1, $2) RETURNING id, email, encrypted_kms_key AS __kmsenc_k0"
	)
	forEachMode(t, func(t *testing.T, m mode) {
		f := newFixture(t)
		email := f.users.Column("email")
		f.plan(q, &rewrite.Plan{
			Kind: rewrite.Insert, SQL: qOut, NumInput: 1, Table: f.users,
			Rows: []rewrite.Row{{Context: []rewrite.ContextValue{{Name: "table", Fixed: "users"}}}},
			Params: []rewrite.Param{
				{Value: rewrite.Arg(0), Encrypt: email},
				{Kind: rewrite.ParamWrappedKey},
			},
			Output: &rewrite.Output{
				Columns: []rewrite.OutputColumn{
					{Kind: rewrite.OutPlain, Instance: -1},
					{Kind: rewrite.OutEncrypted, Instance: 0, Column: email},
					{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
				},
				Instances: []rewrite.Instance{{Table: f.users, Key: 2}},
			},
		})
		f.base.on(qOut, func(args []driver.NamedValue) (*fakeResult, error) {
			v := args[len(args)-2:]
			return &fakeResult{cols: []string{"id", "email", "__kmsenc_k0"}, types: []string{"bigint", "text", "text"},
				rows: [][]driver.Value{{int64(9), v[0].Value, v[1].Value}}}, nil
		})
		rows, done, err := f.query(m, q, append(m.opts(), emailCanary)...)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		if cols, _ := rows.Columns(); !slices.Equal(cols, []string{"id", "email"}) {
			t.Errorf("Columns() = %q", cols)
		}
		var id int64
		var got string
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		if err := rows.Scan(&id, &got); err != nil || id != 9 || got != emailCanary {
			t.Errorf("Scan = %d, %q, %v", id, got, err)
		}
		if enc, dec := f.counts(); enc != 1 || dec != 0 {
			t.Errorf("KMS calls: %d encrypts, %d decrypts; want 1 and 0", enc, dec)
		}
		assertNoCanary(t, f.base.log(), emailCanary)
	})
}

// ---- 3: SELECT ----

const (
	selectStarSQL = "SELECT * FROM users"
	selectStarOut = "SELECT *, users.encrypted_kms_key AS __kmsenc_k0 FROM users"
)

var (
	usersStarCols  = []string{"id", "encrypted_kms_key", "email", "avatar", "age", "name", "__kmsenc_k0"}
	usersStarTypes = []string{"bigint", "text", "text", "bytea", "text", "varchar", "text"}
)

func (f *fixture) selectStarPlan() *rewrite.Plan {
	return &rewrite.Plan{
		Kind: rewrite.Select, SQL: selectStarOut, NumInput: 0,
		Output: &rewrite.Output{
			Columns: []rewrite.OutputColumn{
				{Star: true, Instance: 0, End: "__kmsenc_k0"},
				{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
			},
			Instances: []rewrite.Instance{{Table: f.users, Key: 1}},
		},
	}
}

// userRow returns a users row as the database holds it, in usersStarCols
// order; a nil key makes a row without a key.
func (f *fixture) userRow(t *testing.T, id int64, k *testKey, email, avatar, age any, name any) []driver.Value {
	t.Helper()
	u := f.users
	seal := func(col string, v any, binary bool) driver.Value {
		if v == nil {
			return nil
		}
		return k.seal(t, u.Column(col), v, binary)
	}
	var w driver.Value
	if k != nil {
		w = k.wrapped
	}
	return []driver.Value{id, w, seal("email", email, false), seal("avatar", avatar, true), seal("age", age, false), name, w}
}

func TestSelectStar(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		f := newFixture(t)
		f.plan(selectStarSQL, f.selectStarPlan())
		ec := envelope.Context{"table": "users"}
		k1, k2, k4 := f.newKey(ec), f.newKey(ec), f.newKey(ec)
		stored := [][]driver.Value{
			f.userRow(t, 1, &k1, emailCanary, []byte(avatarCanary), 42, "Alice"),
			f.userRow(t, 2, &k2, nil, nil, 0, nil),
			f.userRow(t, 3, nil, nil, nil, nil, "legacy"),    // no key, no values
			f.userRow(t, 4, &k4, nil, nil, nil, "no values"), // nothing to decrypt: no unwrap
		}
		f.base.on(selectStarOut, func([]driver.NamedValue) (*fakeResult, error) {
			return &fakeResult{cols: usersStarCols, types: usersStarTypes, rows: stored}, nil
		})
		rows, done, err := f.query(m, selectStarSQL, m.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		closed := false
		defer func() {
			if !closed {
				done()
			}
		}()

		cols, _ := rows.Columns()
		if want := []string{"id", "email", "avatar", "age", "name"}; !slices.Equal(cols, want) {
			t.Errorf("Columns() = %q, want %q: the key columns must be hidden", cols, want)
		}
		types, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		wantTypes := []struct {
			scan   reflect.Type
			dbName string
			length bool
		}{
			{reflect.TypeFor[int64](), "BIGINT", false},
			{reflect.TypeFor[string](), "PLAIN_TEXT", false},
			{reflect.TypeFor[[]byte](), "PLAIN_BYTES", false},
			{reflect.TypeFor[int64](), "PLAIN_INT", false},
			{reflect.TypeFor[string](), "VARCHAR", true}, // after a hidden column: the base's own
		}
		for i, ct := range types {
			if i >= len(wantTypes) {
				break
			}
			w := wantTypes[i]
			_, hasLen := ct.Length()
			if ct.ScanType() != w.scan || ct.DatabaseTypeName() != w.dbName || hasLen != w.length {
				t.Errorf("column %s: ScanType %v, DatabaseTypeName %q, has length %v; want %v, %q, %v",
					ct.Name(), ct.ScanType(), ct.DatabaseTypeName(), hasLen, w.scan, w.dbName, w.length)
			}
		}

		var got [][]any
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			got = append(got, vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := [][]any{
			{int64(1), emailCanary, []byte(avatarCanary), int64(42), "Alice"},
			{int64(2), nil, nil, int64(0), nil},
			{int64(3), nil, nil, nil, "legacy"},
			{int64(4), nil, nil, nil, "no values"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rows = %#v\nwant %#v", got, want)
		}
		if enc, dec := f.counts(); enc != 0 || dec != 2 {
			t.Errorf("KMS calls: %d encrypts, %d decrypts; want 0 and 2", enc, dec)
		}
		closed = true
		done()
		f.checkSkipPath(t, m, selectStarOut) // the base statement closes with the rows
		f.checkNoLeaks(t)
		assertNoCanary(t, f.base.log(), emailCanary, avatarCanary)
	})
}

// Two stars whose relations share column names (id, name, email): each run
// ends at the marker the rewriter put after it, so pets.email, a plain
// column, passes through while users.email is decrypted.
func TestSelectTwoStars(t *testing.T) {
	const (
		q    = "SELECT * FROM pets JOIN users ON users.id = pets.owner"
		qOut = "SELECT pets.*, NULL AS __kmsenc_m0, users.*, users.encrypted_kms_key AS __kmsenc_k0 FROM pets JOIN users ON users.id = pets.owner"
	)
	f := newFixture(t)
	f.plan(q, &rewrite.Plan{Kind: rewrite.Select, SQL: qOut, NumInput: 0, Output: &rewrite.Output{
		Columns: []rewrite.OutputColumn{
			{Star: true, Instance: -1, End: "__kmsenc_m0"},
			{Kind: rewrite.OutPlain, Instance: -1, Hidden: true},
			{Star: true, Instance: 0, End: "__kmsenc_k0"},
			{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
		},
		Instances: []rewrite.Instance{{Table: f.users, Key: 3}},
	}})
	k := f.newKey(envelope.Context{"table": "users"})
	user := f.userRow(t, 1, &k, emailCanary, nil, 30, "Alice")
	pets := []driver.Value{int64(10), "Rex", "rex@example.com", int64(1), nil}
	f.base.on(qOut, func([]driver.NamedValue) (*fakeResult, error) {
		return &fakeResult{
			cols: append([]string{"id", "name", "email", "owner", "__kmsenc_m0"}, usersStarCols...),
			rows: [][]driver.Value{append(slices.Clone(pets), user...)},
		}, nil
	})
	rows, err := f.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if want := []string{"id", "name", "email", "owner", "id", "email", "avatar", "age", "name"}; !slices.Equal(cols, want) {
		t.Errorf("Columns() = %q, want %q", cols, want)
	}
	got := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range got {
		ptrs[i] = &got[i]
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	want := []any{int64(10), "Rex", "rex@example.com", int64(1), int64(1), emailCanary, nil, int64(30), "Alice"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row %#v\nwant %#v", got, want)
	}
}

// A context column ($id) comes back hidden and binds the key to the row: a
// key moved to another row fails to unwrap.
func TestSelectContextColumn(t *testing.T) {
	const (
		q    = "SELECT note FROM accounts WHERE id = $1"
		qOut = "SELECT note, encrypted_kms_key AS __kmsenc_k0, id AS __kmsenc_c0 FROM accounts WHERE id = $1"
	)
	for _, tt := range []struct {
		name   string
		rowID  int64
		errDec bool
	}{
		{"own row", 7, false},
		{"key and value moved to another row", 8, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			note := f.accts.Column("note")
			f.plan(q, &rewrite.Plan{
				Kind: rewrite.Select, SQL: qOut, NumInput: 1, Params: []rewrite.Param{{Value: rewrite.Arg(0)}},
				Output: &rewrite.Output{
					Columns: []rewrite.OutputColumn{
						{Kind: rewrite.OutEncrypted, Instance: 0, Column: note},
						{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
						{Kind: rewrite.OutContext, Instance: 0, Name: "id", Hidden: true},
					},
					Instances: []rewrite.Instance{{Table: f.accts, Key: 1, Context: []int{2}}},
				},
			})
			k := f.newKey(envelope.Context{"table": "accounts", "id": "7"})
			f.base.on(qOut, func(args []driver.NamedValue) (*fakeResult, error) {
				return &fakeResult{cols: []string{"note", "__kmsenc_k0", "__kmsenc_c0"},
					rows: [][]driver.Value{{k.seal(t, note, "note-canary", false), k.wrapped, tt.rowID}}}, nil
			})
			var got string
			err := f.db.QueryRow(q, execMode(1), 7).Scan(&got)
			if tt.errDec {
				if !errors.Is(err, ErrDecrypt) {
					t.Errorf("Scan = %q, %v; want ErrDecrypt", got, err)
				} else if want := "kmsenc: row of accounts (id=8, key v1): "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Scan: %v; want it to start %q (the table, context values and key version)", err, want)
				}
				return
			}
			if err != nil || got != "note-canary" {
				t.Errorf("Scan = %q, %v", got, err)
			}
			call := f.mainCalls(qOut)
			if len(call) != 1 || len(call[0].args) != 2 || call[0].args[0].Value != execMode(1) || call[0].args[1].Value != 7 {
				t.Errorf("the base got %+v, want the option and 7", call)
			}
		})
	}
}

func TestSelectMismatchedResult(t *testing.T) {
	const (
		q    = "SELECT id, email FROM users"
		qOut = "SELECT id, email, encrypted_kms_key AS __kmsenc_k0 FROM users"
	)
	for _, tt := range []struct {
		name string
		star bool
		cols []string
	}{
		{"too few columns", false, []string{"id", "email"}},
		{"too many columns", false, []string{"id", "email", "__kmsenc_k0", "extra"}},
		{"star without its end", true, []string{"id", "email", "encrypted_kms_key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			email := f.users.Column("email")
			p := &rewrite.Plan{Kind: rewrite.Select, SQL: qOut, NumInput: 0, Output: &rewrite.Output{
				Columns: []rewrite.OutputColumn{
					{Kind: rewrite.OutPlain, Instance: -1},
					{Kind: rewrite.OutEncrypted, Instance: 0, Column: email},
					{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
				},
				Instances: []rewrite.Instance{{Table: f.users, Key: 2}},
			}}
			if tt.star {
				p = f.selectStarPlan()
				p.SQL = qOut
			}
			f.plan(q, p)
			var opened int
			f.base.on(qOut, func([]driver.NamedValue) (*fakeResult, error) {
				opened++
				row := make([]driver.Value, len(tt.cols))
				return &fakeResult{cols: tt.cols, rows: [][]driver.Value{row}}, nil
			})
			rows, err := f.db.Query(q)
			if err == nil {
				rows.Close()
			}
			if !errors.Is(err, ErrUnsupportedStatement) {
				t.Errorf("Query = %v; want ErrUnsupportedStatement", err)
			}
			if opened != 1 {
				t.Errorf("the base ran the query %d times", opened)
			}
			if n := f.base.openRows.Load(); n != 0 {
				t.Errorf("%d base results left open", n)
			}
		})
	}
}

// Rows that fail authentication fail the read with ErrDecrypt; none is
// handed out as if its ciphertext were plaintext.
func TestSelectDecryptFailures(t *testing.T) {
	tamper := func(v driver.Value) driver.Value {
		switch v := v.(type) {
		case string:
			b, _ := base64.StdEncoding.DecodeString(v)
			b[len(b)-1] ^= 1
			return base64.StdEncoding.EncodeToString(b)
		case []byte:
			b := bytes.Clone(v)
			b[20] ^= 1
			return b
		}
		panic("tamper: not ciphertext")
	}
	// Each error names the row (its table, and the key version when the
	// key column has one) and what is wrong, never a value.
	tests := []struct {
		name string
		edit func(f *fixture, row []driver.Value, k testKey)
		is   error
		want []string
	}{
		{"key column NULL, value set", func(f *fixture, row []driver.Value, _ testKey) { row[1], row[6] = nil, nil },
			ErrDecrypt, []string{"row of users has no data key in encrypted_kms_key but email holds a value: the key column was cleared"}},
		{"key column NULL, plaintext written without kmsenc", func(f *fixture, row []driver.Value, _ testKey) {
			row[1], row[6], row[2] = nil, nil, emailCanary
		}, ErrDecrypt, []string{"row of users has no data key but email holds a value that is not ciphertext: it was written without kmsenc; encrypt existing rows first (see README: Adopting kmsenc on a table with rows)"}},
		{"tampered text", func(f *fixture, row []driver.Value, _ testKey) { row[2] = tamper(row[2]) },
			ErrDecrypt, []string{"row of users (key v1)", "users.email was tampered with"}},
		{"tampered bytea", func(f *fixture, row []driver.Value, _ testKey) { row[3] = tamper(row[3]) },
			ErrDecrypt, []string{"row of users (key v1)", "users.avatar was tampered with"}},
		{"value moved to another column", func(f *fixture, row []driver.Value, _ testKey) { row[4] = row[2] },
			ErrDecrypt, []string{"row of users (key v1)", "users.age"}},
		{"value under another row's key", func(f *fixture, row []driver.Value, _ testKey) {
			other := f.newKey(envelope.Context{"table": "users"})
			row[2] = other.seal(f.t, f.users.Column("email"), emailCanary, false)
		}, ErrDecrypt, []string{"row of users (key v1)", "users.email"}},
		{"plaintext written without kmsenc", func(f *fixture, row []driver.Value, _ testKey) { row[2] = emailCanary },
			ErrDecrypt, []string{"row of users (key v1): email: decryption failed: not a kmsenc ciphertext"}},
		{"wrapped key tampered", func(f *fixture, row []driver.Value, k testKey) {
			w := k.wrapped[:len(k.wrapped)-4] + "AAA="
			row[1], row[6] = w, w
		}, ErrDecrypt, []string{"row of users (key v1)", "decrypt with master key base64key://(redacted) failed"}},
		{"unknown key version", func(f *fixture, row []driver.Value, k testKey) {
			w := "v7" + k.wrapped[2:]
			row[1], row[6] = w, w
		}, ErrUnknownKeyVersion, []string{"row of users (key v7): unknown master key version", "add version 7 to key.previous_versions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.plan(selectStarSQL, f.selectStarPlan())
			k := f.newKey(envelope.Context{"table": "users"})
			row := f.userRow(t, 1, &k, emailCanary, []byte(avatarCanary), 42, "Alice")
			tt.edit(f, row, k)
			f.base.on(selectStarOut, func([]driver.NamedValue) (*fakeResult, error) {
				return &fakeResult{cols: usersStarCols, types: usersStarTypes, rows: [][]driver.Value{row}}, nil
			})
			rows, err := f.db.Query(selectStarSQL)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if rows.Next() {
				var id, age any
				var email, avatar, name any
				err := rows.Scan(&id, &email, &avatar, &age, &name)
				t.Fatalf("a row came through: %#v %#v %#v %#v (%v)", id, email, avatar, age, err)
			}
			err = rows.Err()
			if !errors.Is(err, tt.is) {
				t.Fatalf("rows.Err() = %v; want %v", err, tt.is)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("rows.Err() = %q; want it to say %q", msg, w)
				}
			}
			if strings.Count(msg, "kmsenc:") != 1 || !strings.HasPrefix(msg, "kmsenc: ") {
				t.Errorf("rows.Err() = %q; want one kmsenc: prefix, at the start", msg)
			}
			if strings.Contains(msg, emailCanary) || strings.Contains(msg, avatarCanary) {
				t.Errorf("rows.Err() = %q holds a plaintext", msg)
			}
		})
	}
}

// The read-ahead window unwraps its rows' keys together and stays bounded.
func TestSelectReadAhead(t *testing.T) {
	const (
		q      = "SELECT id, email FROM users"
		qOut   = "SELECT id, email, encrypted_kms_key AS __kmsenc_k0 FROM users"
		window = 4
	)
	for _, tt := range []struct {
		name     string
		rows     int
		distinct int
	}{
		{"distinct keys", 10, 10},
		{"shared keys", 10, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, WithReadAhead(window))
			email := f.users.Column("email")
			f.plan(q, &rewrite.Plan{Kind: rewrite.Select, SQL: qOut, NumInput: 0, Output: &rewrite.Output{
				Columns: []rewrite.OutputColumn{
					{Kind: rewrite.OutPlain, Instance: -1},
					{Kind: rewrite.OutEncrypted, Instance: 0, Column: email},
					{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
				},
				Instances: []rewrite.Instance{{Table: f.users, Key: 2}},
			}})
			keys := make([]testKey, tt.distinct)
			for i := range keys {
				keys[i] = f.newKey(envelope.Context{"table": "users"})
			}
			var stored [][]driver.Value
			for i := range tt.rows {
				k := keys[i%len(keys)]
				stored = append(stored, []driver.Value{int64(i), k.seal(t, email, "mail-"+string(rune('a'+i)), false), k.wrapped})
			}
			f.base.on(qOut, func([]driver.NamedValue) (*fakeResult, error) {
				return &fakeResult{cols: []string{"id", "email", "__kmsenc_k0"}, rows: stored}, nil
			})

			read := func() {
				t.Helper()
				rows, err := f.db.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				// Count from here: Query read the table's columns, not the result.
				f.base.rowsOut.Store(0)
				f.base.nexts.Store(0)
				for i := range tt.rows {
					if !rows.Next() {
						t.Fatalf("row %d: no row: %v", i+1, rows.Err())
					}
					var id int64
					var got string
					if err := rows.Scan(&id, &got); err != nil || got != "mail-"+string(rune('a'+i)) {
						t.Fatalf("row %d: %q, %v", i+1, got, err)
					}
					out := int(f.base.rowsOut.Load())
					if ahead := out - (i + 1); ahead < 0 || ahead >= window {
						t.Errorf("after %d rows handed out the base handed out %d: %d buffered, want 0..%d", i+1, out, ahead, window-1)
					}
					if i == 0 && out != window {
						t.Errorf("the first row read %d rows ahead, want a window of %d", out, window)
					}
				}
				if rows.Next() {
					t.Fatal("more rows than stored")
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if n := f.base.nexts.Load(); n != int64(tt.rows+1) {
					t.Errorf("base Next called %d times for %d rows, want %d", n, tt.rows, tt.rows+1)
				}
			}
			read()
			if _, dec := f.counts(); dec != int64(tt.distinct) {
				t.Errorf("%d unwraps for %d distinct keys", dec, tt.distinct)
			}
			read() // again: every key is in the cache
			if _, dec := f.counts(); dec != int64(tt.distinct) {
				t.Errorf("reading again: %d unwraps in all, want %d (cached)", dec, tt.distinct)
			}
			if n := f.events.count(EventUnwrap); n != tt.distinct {
				t.Errorf("%d unwrap events, want %d", n, tt.distinct)
			}
		})
	}
}

// With the window's keys unwrapped as it is read, a window's first row
// already had every unwrap of the window made: the KMS calls grow by window.
func TestSelectReadAheadUnwrapsPerWindow(t *testing.T) {
	const (
		q    = "SELECT id, email FROM users"
		qOut = "SELECT id, email, encrypted_kms_key AS __kmsenc_k0 FROM users"
	)
	f := newFixture(t, WithReadAhead(4))
	email := f.users.Column("email")
	f.plan(q, &rewrite.Plan{Kind: rewrite.Select, SQL: qOut, NumInput: 0, Output: &rewrite.Output{
		Columns: []rewrite.OutputColumn{
			{Kind: rewrite.OutPlain, Instance: -1},
			{Kind: rewrite.OutEncrypted, Instance: 0, Column: email},
			{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
		},
		Instances: []rewrite.Instance{{Table: f.users, Key: 2}},
	}})
	var stored [][]driver.Value
	for i := range 10 {
		k := f.newKey(envelope.Context{"table": "users"})
		stored = append(stored, []driver.Value{int64(i), k.seal(t, email, "x", false), k.wrapped})
	}
	f.base.on(qOut, func([]driver.NamedValue) (*fakeResult, error) {
		return &fakeResult{cols: []string{"id", "email", "__kmsenc_k0"}, rows: stored}, nil
	})
	rows, err := f.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []int64{4, 4, 4, 4, 8, 8, 8, 8, 10, 10}
	for i := range 10 {
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		if _, dec := f.counts(); dec != want[i] {
			t.Errorf("after row %d: %d unwraps, want %d", i+1, dec, want[i])
		}
	}
}

// ---- 4: UPDATE ----

const (
	updateSQL    = "UPDATE users SET email = $1 WHERE id = $2"
	updateSQLOut = "UPDATE users SET email = $1 WHERE id = $2 AND encrypted_kms_key = $3"
	lookupSQL    = "SELECT encrypted_kms_key FROM users WHERE id = $1 FOR UPDATE"
	setKeySQL    = "UPDATE users SET encrypted_kms_key = $1 WHERE id = $2 AND encrypted_kms_key IS NULL"
)

func (f *fixture) updatePlan() *rewrite.Plan {
	return &rewrite.Plan{
		Kind: rewrite.Update, SQL: updateSQLOut, NumInput: 2, Table: f.users,
		Params: []rewrite.Param{
			{Value: rewrite.Arg(0), Encrypt: f.users.Column("email")},
			{Value: rewrite.Arg(1)},
			{Kind: rewrite.ParamRowKeyGuard},
		},
		Update: &rewrite.UpdatePlan{
			Lookup: lookupSQL, LookupParams: []rewrite.Value{rewrite.Arg(1)},
			SetKey: setKeySQL, SetKeyParams: []rewrite.Value{rewrite.Arg(1)},
		},
	}
}

// storedRow is the one users row the update tests' fake database holds.
type storedRow struct {
	exists bool
	key    driver.Value // nil or the wrapped key
	// afterLookup, if set, runs after each lookup (a concurrent writer).
	afterLookup func(r *storedRow, n int)
	// onSetKey, if set, replaces the SetKey behavior.
	onSetKey func(r *storedRow, w string) int64
	// updateAffects, if set, overrides the UPDATE's RowsAffected.
	updateAffects func(n int) int64
	lookups       int
	updates       int
}

func (f *fixture) scriptRow(r *storedRow) {
	f.base.on(lookupSQL, func([]driver.NamedValue) (*fakeResult, error) {
		r.lookups++
		res := &fakeResult{cols: []string{"encrypted_kms_key"}}
		if r.exists {
			res.rows = [][]driver.Value{{r.key}}
		}
		if r.afterLookup != nil {
			r.afterLookup(r, r.lookups)
		}
		return res, nil
	})
	f.base.on(setKeySQL, func(args []driver.NamedValue) (*fakeResult, error) {
		w := asString(args[len(args)-2].Value)
		if r.onSetKey != nil {
			return &fakeResult{affected: r.onSetKey(r, w)}, nil
		}
		if r.exists && r.key == nil {
			r.key = w
			return &fakeResult{affected: 1}, nil
		}
		return &fakeResult{}, nil
	})
	f.base.on(updateSQLOut, func(args []driver.NamedValue) (*fakeResult, error) {
		r.updates++
		guard := args[len(args)-1].Value
		n := int64(0)
		if r.exists && guard != nil && guard == r.key {
			n = 1
		}
		if r.updateAffects != nil {
			n = r.updateAffects(r.updates)
		}
		return &fakeResult{affected: n}, nil
	})
}

func TestUpdate(t *testing.T) {
	type want struct {
		lookups, setKeys, updates int
		encrypts, decrypts        int64
		affected                  int64
		guard                     string // "stored", "new", "other", "nil"
	}
	tests := []struct {
		name string
		row  func(f *fixture, stored, other testKey) *storedRow
		want want
	}{
		{"row with a key", func(f *fixture, stored, _ testKey) *storedRow {
			return &storedRow{exists: true, key: stored.wrapped}
		}, want{lookups: 1, updates: 1, decrypts: 1, affected: 1, guard: "stored"}},
		{"keyless row gets a new key", func(*fixture, testKey, testKey) *storedRow {
			return &storedRow{exists: true}
		}, want{lookups: 2, setKeys: 1, updates: 1, encrypts: 1, affected: 1, guard: "new"}},
		{"keyless row keyed first by another writer", func(_ *fixture, _, other testKey) *storedRow {
			return &storedRow{exists: true, onSetKey: func(r *storedRow, _ string) int64 { r.key = other.wrapped; return 0 }}
		}, want{lookups: 2, setKeys: 1, updates: 1, encrypts: 1, decrypts: 1, affected: 1, guard: "other"}},
		{"missing row", func(*fixture, testKey, testKey) *storedRow {
			return &storedRow{}
		}, want{lookups: 1, updates: 1, affected: 0, guard: "nil"}},
		{"key changed after the lookup: one retry", func(_ *fixture, stored, other testKey) *storedRow {
			return &storedRow{exists: true, key: stored.wrapped, afterLookup: func(r *storedRow, n int) {
				if n == 1 {
					r.key = other.wrapped
				}
			}}
		}, want{lookups: 2, updates: 2, decrypts: 2, affected: 1, guard: "other"}},
		{"no row affected twice: only one retry", func(_ *fixture, stored, _ testKey) *storedRow {
			return &storedRow{exists: true, key: stored.wrapped, updateAffects: func(int) int64 { return 0 }}
		}, want{lookups: 2, updates: 2, decrypts: 1, affected: 0, guard: "stored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, m mode) {
				f := newFixture(t)
				f.plan(updateSQL, f.updatePlan())
				ec := envelope.Context{"table": "users"}
				stored, other := f.newKey(ec), f.newKey(ec)
				row := tt.row(f, stored, other)
				f.scriptRow(row)

				res, err := f.exec(m, updateSQL, append(m.opts(), emailCanary, 5)...)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != tt.want.affected {
					t.Errorf("RowsAffected = %d, want %d", n, tt.want.affected)
				}
				w := tt.want
				lookups := f.mainCalls(lookupSQL)
				setKeys := f.mainCalls(setKeySQL)
				updates := f.mainCalls(updateSQLOut)
				if len(lookups) != w.lookups || len(setKeys) != w.setKeys || len(updates) != w.updates {
					t.Fatalf("%d lookups, %d SetKeys, %d UPDATEs; want %d, %d, %d",
						len(lookups), len(setKeys), len(updates), w.lookups, w.setKeys, w.updates)
				}
				if enc, dec := f.counts(); enc != w.encrypts || dec != w.decrypts {
					t.Errorf("KMS calls: %d encrypts, %d decrypts; want %d and %d", enc, dec, w.encrypts, w.decrypts)
				}

				// Order and connection: lookup, [SetKey, lookup], UPDATE, all
				// on one base connection, inside the caller's transaction.
				log := f.base.log()
				var seq []string
				connID := -1
				for _, c := range log {
					if c.op == "prepare" || c.op == "stmt.close" || strings.HasSuffix(c.op, ".skip") || c.sql == "" || c.sql == columnsQuery {
						continue
					}
					switch c.sql {
					case lookupSQL:
						seq = append(seq, "lookup")
					case setKeySQL:
						seq = append(seq, "setkey")
					case updateSQLOut:
						seq = append(seq, "update")
					default:
						t.Errorf("unexpected statement %q", c.sql)
					}
					if connID == -1 {
						connID = c.conn
					} else if c.conn != connID {
						t.Errorf("%s ran on base connection %d, the first statement on %d", c.sql, c.conn, connID)
					}
					if c.inTx != m.tx {
						t.Errorf("%s: in a transaction %v, want %v", c.sql, c.inTx, m.tx)
					}
				}
				if seq[0] != "lookup" || seq[len(seq)-1] != "update" {
					t.Errorf("statement order %v: want the lookup first and the UPDATE last", seq)
				}

				// The lookup gets the caller's options and the pinned id.
				lead := len(m.opts())
				la := lookups[0].args
				if len(la) != lead+1 || la[lead].Value != 5 {
					t.Errorf("lookup arguments %+v, want the options and 5", la)
				}

				last := updates[len(updates)-1].args
				if len(last) != lead+3 {
					t.Fatalf("UPDATE arguments %+v", last)
				}
				if last[lead+1].Value != 5 {
					t.Errorf("the UPDATE's id is %#v, want 5", last[lead+1].Value)
				}
				guard := last[lead+2].Value
				var key *envelope.DataKey
				switch w.guard {
				case "stored":
					if guard != stored.wrapped {
						t.Errorf("guard %#v, want the stored key", guard)
					}
					key = stored.dk
				case "other":
					if guard != other.wrapped {
						t.Errorf("guard %#v, want the other writer's key", guard)
					}
					key = other.dk
				case "new":
					s, ok := guard.(string)
					if !ok || !strings.HasPrefix(s, "v1:") || s == stored.wrapped || s == other.wrapped {
						t.Fatalf("guard %#v, want a new v1: key", guard)
					}
					sk := setKeys[0].args
					if len(sk) != lead+2 || sk[lead].Value != s || sk[lead+1].Value != 5 {
						t.Errorf("SetKey arguments %+v, want the options, the new key and 5", sk)
					}
					if key, err = f.unwrap(s, ec); err != nil {
						t.Fatal(err)
					}
				case "nil":
					if guard != nil {
						t.Errorf("guard %#v for a missing row, want nil", guard)
					}
				}
				if key != nil {
					got, err := open(key, f.users.Column("email"), last[lead].Value, false)
					if err != nil || got != emailCanary {
						t.Errorf("the new email decrypts under the row's key to %#v, %v", got, err)
					}
				}
				assertNoCanary(t, log, emailCanary)
				f.checkNoLeaks(t)
			})
		})
	}
}

// ---- 5: refusal ----

func TestRefusal(t *testing.T) {
	const q = "SELECT id FROM users WHERE email LIKE $1"
	f := newFixture(t)
	refusal := rewrite.Refuse("email LIKE $1", "an encrypted column can't be compared")
	f.rw.errs[q] = refusal

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnsupportedStatement) {
			t.Errorf("%s = %v; want ErrUnsupportedStatement", what, err)
		}
		var re *rewrite.RefusalError
		if !errors.As(err, &re) || re.Near != "email LIKE $1" {
			t.Errorf("%s = %v; want the *rewrite.RefusalError", what, err)
		}
	}
	_, err := f.db.Exec(q, "x")
	check("Exec", err)
	_, err = f.db.Query(q, "x")
	check("Query", err)
	_, err = f.db.Prepare(q)
	check("Prepare", err)
	err = f.db.QueryRow(q, "x").Scan(new(int))
	check("QueryRow", err)
	tx, err := f.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(q, "x")
	check("tx.Exec", err)
	tx.Rollback()
	f.base.skipDirect.Store(true)
	_, err = f.db.Exec(q, "x")
	check("Exec, base answering ErrSkip", err)

	for _, c := range f.base.log() {
		if c.sql != "" {
			t.Errorf("the base received %s %q", c.op, c.sql)
		}
	}
	var refused int
	for _, e := range f.events.all() {
		if e.Kind == EventRefused {
			refused++
			if !errors.Is(e.Err, ErrUnsupportedStatement) {
				t.Errorf("refusal event with error %v", e.Err)
			}
		}
	}
	if refused != 6 {
		t.Errorf("%d refusal events for 6 refused statements", refused)
	}
	if enc, dec := f.counts(); enc+dec != 0 {
		t.Errorf("%d KMS calls for refused statements", enc+dec)
	}
}

// ---- 6: pass-through ----

func TestPassThrough(t *testing.T) {
	const (
		q = "SELECT name FROM pets WHERE id = $1 AND tag = $2"
		e = "UPDATE pets SET name = $1 WHERE id = $2"
	)
	forEachMode(t, func(t *testing.T, m mode) {
		f := newFixture(t)
		f.base.on(q, func([]driver.NamedValue) (*fakeResult, error) {
			return &fakeResult{cols: []string{"name"}, types: []string{"varchar"}, rows: [][]driver.Value{{"Rex"}}}, nil
		})
		f.base.on(e, func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{affected: 3}, nil })

		// A pass-through statement the base declines is prepared by
		// database/sql, which enforces the base statement's NumInput: no
		// options then, as with the base driver alone.
		opts := m.opts()
		if m.skip {
			opts = nil
		}
		args := append(opts, 5, []byte("tag"))
		rows, done, err := f.query(m, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		types, _ := rows.ColumnTypes()
		if len(types) != 1 || types[0].DatabaseTypeName() != "VARCHAR" {
			t.Errorf("column types %v, want the base's", types)
		}
		var name string
		if !rows.Next() || rows.Scan(&name) != nil || name != "Rex" {
			t.Errorf("row %q, %v", name, rows.Err())
		}
		done()
		res, err := f.exec(m, e, append(opts, "Max", 5)...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 3 {
			t.Errorf("RowsAffected %d, want 3", n)
		}

		for sql, want := range map[string][]any{q: args, e: append(opts, "Max", 5)} {
			calls := f.mainCalls(sql)
			if len(calls) != 1 {
				t.Fatalf("%q ran %d times, want once", sql, len(calls))
			}
			var got []any
			for i, a := range calls[0].args {
				if a.Ordinal != i+1 || a.Name != "" {
					t.Errorf("argument %d: %+v", i, a)
				}
				got = append(got, a.Value)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q got arguments %#v, want %#v unchanged", sql, got, want)
			}
			if m.skip && len(f.base.callsTo(sql, "prepare")) != 1 {
				t.Errorf("%q: with ErrSkip, want one prepare", sql)
			}
		}
		for _, c := range f.base.log() {
			if c.sql == columnsQuery {
				t.Error("a pass-through statement read a table's columns")
			}
		}
		if enc, dec := f.counts(); enc+dec != 0 {
			t.Errorf("%d KMS calls for pass-through statements", enc+dec)
		}
		f.checkNoLeaks(t)
	})
}

// ---- 8: NumInput ----

func TestStmtNumInput(t *testing.T) {
	f := newFixture(t)
	f.plan(insertSQL, f.insertPlan())
	f.plan(updateSQL, f.updatePlan())
	const pass = "SELECT $1, $2"
	ctx := context.Background()
	c, err := f.conn.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		sql  string
		want int
	}{
		{insertSQL, 7}, // the base statement has 10
		{updateSQL, 2}, // the base statement has 3
		{pass, 2},      // the base's own count
	} {
		st, err := c.(driver.ConnPrepareContext).PrepareContext(ctx, tt.sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.NumInput(); got != tt.want {
			t.Errorf("NumInput of %q = %d, want %d", tt.sql, got, tt.want)
		}
		st.Close()
	}

	// database/sql enforces it with the caller's count.
	st, err := f.db.Prepare(insertSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Exec(1, "a", nil, 3, 4, nil); err == nil || !strings.Contains(err.Error(), "expected 7 arguments, got 6") {
		t.Errorf("Exec with 6 of 7 arguments = %v", err)
	}
	if _, err := st.Exec(1, "a", nil, 3, 4, nil, 5, 6); err == nil || !strings.Contains(err.Error(), "expected 7 arguments, got 8") {
		t.Errorf("Exec with 8 of 7 arguments = %v", err)
	}
	if enc, _ := f.counts(); enc != 0 {
		t.Errorf("%d wraps for statements that were not run", enc)
	}
}

// A rewritten statement run without Prepare checks the caller's argument
// count itself: database/sql does not, and the base sees a different count.
func TestArgumentCount(t *testing.T) {
	f := newFixture(t)
	f.plan(updateSQL, f.updatePlan())
	f.scriptRow(&storedRow{exists: true, key: f.newKey(envelope.Context{"table": "users"}).wrapped})
	if _, err := f.db.Exec(updateSQL, execMode(1), "a"); err == nil {
		t.Error("an UPDATE with 1 of 2 arguments ran")
	}
	if _, err := f.db.Exec(updateSQL, execMode(1), "a", 5, "extra"); err == nil {
		t.Error("an UPDATE with 3 arguments for 2 placeholders ran, the extra one dropped")
	}
}

// The Plan contract allows NumInput -1 ("unknown"). The wrapper must then
// still refuse a call with too few arguments with an error, not a panic.
func TestUnknownNumInputTooFewArgs(t *testing.T) {
	f := newFixture(t)
	p := f.updatePlan()
	p.NumInput = -1
	f.plan(updateSQL, p)
	f.scriptRow(&storedRow{exists: true, key: f.newKey(envelope.Context{"table": "users"}).wrapped})
	ctx := context.Background()
	c, err := f.conn.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		_, err = c.(driver.ExecerContext).ExecContext(ctx, updateSQL, []driver.NamedValue{{Ordinal: 1, Value: "a"}})
		return err
	}()
	if err == nil || strings.HasPrefix(err.Error(), "panic: ") {
		t.Errorf("an UPDATE with 1 argument for 2 values = %v; want an error", err)
	}
}
