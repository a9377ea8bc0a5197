package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/kmsenc/kmsenc/rewrite"
)

// conn wraps one base connection. Statements that touch no encrypted table
// go straight to it; the others run their plan (exec.go).
type conn struct {
	c    *Connector
	base driver.Conn
	// recheck: a statement that may have changed how the server reads text
	// ran (rewrite.Plan.SessionChange); the session check runs again before
	// the next statement.
	recheck bool
	// broken: the session no longer reads text as kmsenc lexes it; every
	// later statement fails with this error, and database/sql discards the
	// connection (IsValid, ResetSession).
	broken error
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

// plan returns the statement's plan; a refusal is reported to the hooks.
// The session is checked first: a statement is lexed only while the server
// reads text the way kmsenc's lexer does.
func (cn *conn) plan(ctx context.Context, query string) (*rewrite.Plan, error) {
	if err := cn.ready(ctx); err != nil {
		return nil, err
	}
	p, err := cn.c.rewriter.Rewrite(query)
	if err != nil {
		cn.c.emit(ctx, Event{Kind: EventRefused, Err: err})
		return nil, err
	}
	if p.SessionChange {
		cn.recheck = true
	}
	return p, nil
}

// ready checks, before a statement is lexed or run, that the session still
// reads text as kmsenc's lexer does (ARCHITECTURE.md §5, "Settings that
// change how text reads"): the session check again after a statement that
// may have changed the settings, then the dialect's check of the base
// connection, which needs no round trip. A failure leaves the connection
// unusable.
func (cn *conn) ready(ctx context.Context) error {
	if cn.broken != nil {
		return cn.broken
	}
	var err error
	if cn.recheck {
		cn.recheck = false
		err = cn.checkSession(ctx)
	}
	if err == nil && cn.c.dialect.CheckConn != nil {
		err = cn.c.dialect.CheckConn(cn.base)
	}
	if err != nil {
		cn.broken = fmt.Errorf("%w; kmsenc sends no more statements on this connection", err)
		return cn.broken
	}
	return nil
}

// checkSession runs the dialect's session check (when a connection is made
// and after a statement that may have changed the settings).
func (cn *conn) checkSession(ctx context.Context) error {
	if cn.c.dialect.CheckSession == nil {
		return nil
	}
	query := func(sql string) (string, error) {
		vals, err := cn.queryStrings(ctx, sql)
		if err != nil || len(vals) == 0 {
			return "", err
		}
		return vals[0], nil
	}
	return cn.c.dialect.CheckSession(ctx, query)
}

// Prepare implements driver.Conn.
func (cn *conn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

// PrepareContext prepares the plan's SQL on the base connection: the
// original text for a pass-through statement, the rewritten one otherwise.
func (cn *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	p, err := cn.plan(ctx, query)
	if err != nil {
		return nil, err
	}
	bs, err := cn.basePrepare(ctx, p.SQL)
	if err != nil {
		return nil, err
	}
	return &stmt{cn: cn, plan: p, base: bs}, nil
}

// Close implements driver.Conn.
func (cn *conn) Close() error { return cn.base.Close() }

// Begin implements driver.Conn.
func (cn *conn) Begin() (driver.Tx, error) {
	return cn.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx forwards to the base connection. The transaction needs no wrapper:
// kmsenc's own statements (key lookups) run on the same connection, and so
// inside the same transaction.
func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cn.base.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errors.New("kmsenc: the base driver supports no transaction options")
	}
	//lint:ignore SA1019 the fallback for a base driver without ConnBeginTx
	return cn.base.Begin()
}

// ExecContext runs a statement without rows.
func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	query, args, err := cn.textOptions(ctx, query, args, false)
	if err != nil {
		return nil, err
	}
	p, err := cn.plan(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.Kind == rewrite.PassThrough {
		if e, ok := cn.base.(driver.ExecerContext); ok {
			return e.ExecContext(ctx, query, args)
		}
		return nil, driver.ErrSkip
	}
	return cn.execPlan(ctx, p, args, cn.connTarget(p))
}

// QueryContext runs a statement with rows.
func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	query, args, err := cn.textOptions(ctx, query, args, false)
	if err != nil {
		return nil, err
	}
	p, err := cn.plan(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.Kind == rewrite.PassThrough {
		if q, ok := cn.base.(driver.QueryerContext); ok {
			return q.QueryContext(ctx, query, args)
		}
		return nil, driver.ErrSkip
	}
	return cn.queryPlan(ctx, p, args, cn.connTarget(p))
}

// Ping forwards to the base connection.
func (cn *conn) Ping(ctx context.Context) error {
	if p, ok := cn.base.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession forwards to the base connection, after checking the session
// (ready): a connection whose settings kmsenc can't lex under is bad.
func (cn *conn) ResetSession(ctx context.Context) error {
	if cn.ready(ctx) != nil {
		return driver.ErrBadConn
	}
	if r, ok := cn.base.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid forwards to the base connection; a connection whose session
// failed its check (ready) is not valid.
func (cn *conn) IsValid() bool {
	if cn.broken != nil || cn.c.dialect.CheckConn != nil && cn.c.dialect.CheckConn(cn.base) != nil {
		return false
	}
	if v, ok := cn.base.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// textOptions applies the dialect's text-rewriting options
// (dialect.Dialect.TextOptions), if any, before the text is planned.
func (cn *conn) textOptions(ctx context.Context, query string, args []driver.NamedValue, prepared bool) (string, []driver.NamedValue, error) {
	if cn.c.dialect.TextOptions == nil {
		return query, args, nil
	}
	q, a, err := cn.c.dialect.TextOptions(ctx, query, args, prepared)
	if err != nil {
		if errors.Is(err, rewrite.ErrUnsupported) {
			cn.c.emit(ctx, Event{Kind: EventRefused, Err: err})
		}
		return "", nil, err
	}
	return q, a, nil
}

// CheckNamedValue lets the base driver accept its own argument types (pgx
// takes any Go value); without a checker database/sql's default conversion
// applies.
func (cn *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cn.base.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// basePrepare prepares sql on the base connection.
func (cn *conn) basePrepare(ctx context.Context, sql string) (driver.Stmt, error) {
	if p, ok := cn.base.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, sql)
	}
	return cn.base.Prepare(sql)
}

// baseExec runs sql on the base connection; a base that declines direct
// execution (driver.ErrSkip, as go-sql-driver/mysql does without
// interpolateParams) gets a prepared statement. kmsenc itself never returns
// ErrSkip after it has planned a statement: database/sql would run it again,
// and every row would get a second data key.
func (cn *conn) baseExec(ctx context.Context, sql string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := cn.base.(driver.ExecerContext); ok {
		res, err := e.ExecContext(ctx, sql, args)
		if !errors.Is(err, driver.ErrSkip) {
			return res, err
		}
	}
	st, err := cn.basePrepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return stmtExec(ctx, st, args)
}

// baseQuery is baseExec for statements with rows.
func (cn *conn) baseQuery(ctx context.Context, sql string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := cn.base.(driver.QueryerContext); ok {
		rows, err := q.QueryContext(ctx, sql, args)
		if !errors.Is(err, driver.ErrSkip) {
			return rows, err
		}
	}
	st, err := cn.basePrepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	rows, err := stmtQuery(ctx, st, args)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &closingRows{Rows: rows, stmt: st}, nil
}

// connTarget runs a plan's main statement through the connection.
func (cn *conn) connTarget(p *rewrite.Plan) target {
	return target{
		exec: func(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
			return cn.baseExec(ctx, p.SQL, args)
		},
		query: func(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
			return cn.baseQuery(ctx, p.SQL, args)
		},
	}
}

// target is where a plan's main statement runs: the connection, or a
// prepared statement.
type target struct {
	exec  func(ctx context.Context, args []driver.NamedValue) (driver.Result, error)
	query func(ctx context.Context, args []driver.NamedValue) (driver.Rows, error)
}

func stmtExec(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := st.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := namedToValues(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 the fallback for a base statement without StmtExecContext
	return st.Exec(vals)
}

func stmtQuery(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := st.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := namedToValues(args)
	if err != nil {
		return nil, err
	}
	//lint:ignore SA1019 the fallback for a base statement without StmtQueryContext
	return st.Query(vals)
}

func namedToValues(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("kmsenc: the base driver does not support named arguments")
		}
		vals[i] = a.Value
	}
	return vals, nil
}

// closingRows closes the statement it came from after the rows.
type closingRows struct {
	driver.Rows
	stmt driver.Stmt
}

func (r *closingRows) Close() error {
	err := r.Rows.Close()
	return errors.Join(err, r.stmt.Close())
}
