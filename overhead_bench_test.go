package kmsenc_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"io"
	"testing"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialect"
	_ "github.com/kmsenc/kmsenc/providers/local"
	"github.com/kmsenc/kmsenc/rewrite"
	rwpostgres "github.com/kmsenc/kmsenc/rewrite/postgres"
	"github.com/kmsenc/kmsenc/schema"
)

// discard is a base driver that does nothing, so that a benchmark through
// it measures kmsenc's own CPU per statement, without a database's noise.
type discard struct{}

func (discard) Connect(context.Context) (driver.Conn, error) { return discardConn{}, nil }
func (discard) Driver() driver.Driver                        { return nil }

type discardConn struct{}

func (discardConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (discardConn) Close() error                        { return nil }
func (discardConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }
func (discardConn) CheckNamedValue(*driver.NamedValue) error {
	return nil
}
func (discardConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
func (discardConn) QueryContext(_ context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	// Only kmsenc's column lookup queries; answer as PostgreSQL would.
	return &columnRows{rows: [][]driver.Value{
		{"id", "bigint", nil, nil}, {"name", "text", nil, nil}, {"email", "text", nil, nil},
		{"ssn", "text", nil, nil}, {"encrypted_kms_key", "text", nil, nil},
	}}, nil
}

type columnRows struct {
	rows [][]driver.Value
	i    int
}

func (r *columnRows) Columns() []string { return []string{"c", "t", "d", "l"} }
func (r *columnRows) Close() error      { return nil }
func (r *columnRows) Next(dest []driver.Value) error {
	if r.i >= len(r.rows) {
		return io.EOF
	}
	copy(dest, r.rows[r.i])
	r.i++
	return nil
}

// BenchmarkInsertCPU reports the CPU kmsenc adds to one single-row INSERT
// with two encrypted text columns (a fresh data key, its wrap by a local
// master key, two seals), against the same statement sent straight to the
// discarding base.
func BenchmarkInsertCPU(b *testing.B) {
	key := make([]byte, 32)
	rand.Read(key)
	cfg, err := schema.Parse([]byte(fmt.Sprintf("key:\n  url: base64key://%s\ntables:\n  users:\n    columns:\n      email: text\n      ssn: text\n",
		base64.URLEncoding.EncodeToString(key))), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d := &dialect.Dialect{
		Name:         "postgres",
		NewRewriter:  func(c *schema.Config) rewrite.Rewriter { return rwpostgres.New(c) },
		ColumnsQuery: "columns",
		Storage:      func(t string) (bool, bool) { return t == "bytea", true },
		TypeName:     func(schema.Type) string { return "" },
	}
	conn, err := kmsenc.NewConnector(discard{}, d, cfg)
	if err != nil {
		b.Fatal(err)
	}
	enc, plain := sql.OpenDB(conn), sql.OpenDB(discard{})
	defer enc.Close()
	defer plain.Close()
	const insert = `INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`
	run := func(db *sql.DB) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := db.Exec(insert, i, "name", "user@example.com", "123-45-6789"); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("plain", run(plain))
	b.Run("kmsenc", run(enc))
}
