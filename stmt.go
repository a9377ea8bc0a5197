package kmsenc

import (
	"context"
	"database/sql/driver"

	"github.com/kmsenc/kmsenc/rewrite"
)

// stmt is a prepared statement: the base driver's statement for the plan's
// SQL, run with the plan's arguments.
type stmt struct {
	cn   *conn
	plan *rewrite.Plan
	base driver.Stmt
}

var (
	_ driver.Stmt             = (*stmt)(nil)
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

// Close closes the base statement.
func (s *stmt) Close() error { return s.base.Close() }

// NumInput reports the number of arguments the caller passes: the original
// statement's placeholders, not the rewritten one's.
func (s *stmt) NumInput() int {
	if s.plan.Kind == rewrite.PassThrough {
		return s.base.NumInput()
	}
	return s.plan.NumInput
}

// Exec implements driver.Stmt.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(args))
}

// Query implements driver.Stmt.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(args))
}

// ExecContext runs the statement, once the session has been checked.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if _, _, err := s.cn.textOptions(ctx, "", args, true); err != nil {
		return nil, err
	}
	if s.plan.Kind == rewrite.PassThrough {
		return stmtExec(ctx, s.base, args)
	}
	return s.cn.execPlan(ctx, s.plan, args, s.target())
}

// QueryContext runs the statement, once the session has been checked.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if _, _, err := s.cn.textOptions(ctx, "", args, true); err != nil {
		return nil, err
	}
	if s.plan.Kind == rewrite.PassThrough {
		return stmtQuery(ctx, s.base, args)
	}
	return s.cn.queryPlan(ctx, s.plan, args, s.target())
}

// ready checks the connection's session (conn.ready) before an execution,
// and marks it for another check after one that may change it.
func (s *stmt) ready(ctx context.Context) error {
	if err := s.cn.ready(ctx); err != nil {
		return err
	}
	if s.plan.SessionChange {
		s.cn.recheck = true
	}
	return nil
}

// target runs the plan's main statement through the prepared statement.
func (s *stmt) target() target {
	return target{
		exec: func(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
			return stmtExec(ctx, s.base, args)
		},
		query: func(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
			return stmtQuery(ctx, s.base, args)
		},
	}
}

func valuesToNamed(vals []driver.Value) []driver.NamedValue {
	args := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return args
}
