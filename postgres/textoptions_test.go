package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kmsenc/kmsenc/rewrite"
)

// pgx.NamedArgs is applied before planning, as pgx.Conn applies it before
// sending, so kmsenc plans (and the database receives) "$n" text.
func TestTextOptionsNamedArgs(t *testing.T) {
	ctx := context.Background()
	args := []driver.NamedValue{
		{Ordinal: 1, Value: pgx.QueryExecModeExec},
		{Ordinal: 2, Value: pgx.NamedArgs{"id": int64(7), "email": "a@b"}},
	}
	sql, out, err := textOptions(ctx, `INSERT INTO users (id, email) VALUES (@id, @email) -- @not`, args, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := `INSERT INTO users (id, email) VALUES ($1, $2) -- @not`; sql != want {
		t.Errorf("text %q, want %q", sql, want)
	}
	if got, want := fmt.Sprint(out), fmt.Sprint([]driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeExec}, {Ordinal: 2, Value: int64(7)}, {Ordinal: 3, Value: "a@b"}}); got != want {
		t.Errorf("args %s, want %s", got, want)
	}

	sql, _, err = textOptions(ctx, `SELECT email FROM users WHERE id = @id`, []driver.NamedValue{{Ordinal: 1, Value: pgx.StrictNamedArgs{"id": 1}}}, false)
	if err != nil || sql != `SELECT email FROM users WHERE id = $1` {
		t.Errorf("StrictNamedArgs: %q, %v", sql, err)
	}
	if _, _, err := textOptions(ctx, `SELECT email FROM users WHERE id = @id`, []driver.NamedValue{{Ordinal: 1, Value: pgx.StrictNamedArgs{}}}, false); err == nil || errors.Is(err, rewrite.ErrUnsupported) {
		t.Errorf("StrictNamedArgs without a value: %v, want pgx's error", err)
	}

	plain := []driver.NamedValue{{Ordinal: 1, Value: int64(1)}}
	if sql, out, err := textOptions(ctx, `SELECT $1`, plain, false); err != nil || sql != `SELECT $1` || len(out) != 1 {
		t.Errorf("no rewriter: %q %v %v", sql, out, err)
	}
}

type customRewriter struct{}

func (customRewriter) RewriteQuery(ctx context.Context, conn *pgx.Conn, sql string, args []any) (string, []any, error) {
	return "INSERT INTO users (id, email) VALUES (1, 'plaintext')", nil, nil
}

// A rewriter whose text kmsenc can't know is refused, and so is any with a
// prepared statement.
func TestTextOptionsRefused(t *testing.T) {
	ctx := context.Background()
	_, _, err := textOptions(ctx, `SELECT 1`, []driver.NamedValue{{Ordinal: 1, Value: customRewriter{}}}, false)
	if !errors.Is(err, rewrite.ErrUnsupported) {
		t.Errorf("custom rewriter: %v, want a refusal", err)
	}
	_, _, err = textOptions(ctx, "", []driver.NamedValue{{Ordinal: 1, Value: pgx.NamedArgs{"id": 1}}}, true)
	if !errors.Is(err, rewrite.ErrUnsupported) {
		t.Errorf("prepared: %v, want a refusal", err)
	}
}
