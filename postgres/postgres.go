// Package postgres registers the kmsenc driver for PostgreSQL, over pgx:
//
//	import _ "github.com/kmsenc/kmsenc/postgres"
//
//	db, err := sql.Open("kmsenc+postgres",
//		"postgres://app@db:5432/app?kmsenc_config=/etc/app/kmsenc.yaml")
//
// The DSN is pgx's, in URL or keyword/value form, plus the kmsenc_config
// parameter (or the KMSENC_CONFIG environment variable) naming the schema
// file. pgx's options work as they do with pgx alone, including the
// default_query_exec_mode DSN parameter and a leading pgx.QueryExecMode
// argument.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialect"
	"github.com/kmsenc/kmsenc/rewrite"
	rwpostgres "github.com/kmsenc/kmsenc/rewrite/postgres"
	"github.com/kmsenc/kmsenc/schema"
)

// DriverName is the name this package registers with database/sql.
const DriverName = "kmsenc+postgres"

func init() {
	sql.Register(DriverName, kmsenc.NewDriver(newDialect()))
}

// NewConnector returns a kmsenc connector over a pgx connector, for
// sql.OpenDB. Build base with stdlib.GetConnector or
// stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(dsn).
func NewConnector(base driver.Connector, cfg *kmsenc.Config, opts ...kmsenc.Option) (*kmsenc.Connector, error) {
	return kmsenc.NewConnector(base, newDialect(), cfg, opts...)
}

// newDialect returns the PostgreSQL dialect.
func newDialect() *dialect.Dialect {
	return &dialect.Dialect{
		Name:     "postgres",
		OpenBase: openBase,
		SplitDSN: splitDSN,
		NewRewriter: func(cfg *schema.Config) rewrite.Rewriter {
			return rwpostgres.New(cfg, rwpostgres.StandardConformingStrings())
		},
		CheckSession:   checkSession,
		LeadingOptions: leadingOptions,
		TextOptions:    textOptions,
		ColumnsQuery: `SELECT column_name::text, data_type::text, column_default::text, character_maximum_length::int8
FROM information_schema.columns
WHERE lower(table_name) = lower($1) AND table_schema = ANY (current_schemas(false))
ORDER BY ordinal_position`,
		Storage:     storage,
		TypeName:    typeName,
		QuoteIdent:  func(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` },
		Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	}
}

// checkSession refuses a connection whose standard_conforming_strings is
// off (a role, database or DSN option can set it): kmsenc reads every string
// literal as "on" says, and refuses statements that would change it.
func checkSession(ctx context.Context, query func(string) (string, error)) error {
	v, err := query("SHOW standard_conforming_strings")
	if err != nil {
		return fmt.Errorf("kmsenc: reading standard_conforming_strings: %w", err)
	}
	if v != "on" {
		return fmt.Errorf("%w: the connection has standard_conforming_strings = %s; kmsenc needs it on (the default since PostgreSQL 9.1): remove the setting from the role, database or DSN", kmsenc.ErrConfig, v)
	}
	return nil
}

func openBase(dsn string) (driver.Connector, error) {
	return stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(dsn)
}

// leadingOptions counts pgx's option arguments, which pgx reads before the
// statement's values (pgx.Conn.Query and Exec).
func leadingOptions(args []driver.NamedValue) int {
	n := 0
	for _, a := range args {
		switch a.Value.(type) {
		case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID, pgx.QueryRewriter:
			n++
		default:
			return n
		}
	}
	return n
}

// textOptions applies a leading pgx.NamedArgs or pgx.StrictNamedArgs as
// pgx.Conn would (its RewriteQuery turns "@name" into "$n" and the map into
// the arguments), so that kmsenc plans the text PostgreSQL receives; the
// other options stay. Another pgx.QueryRewriter could make any text, and is
// refused, as is a rewriter for a prepared statement, whose text is fixed.
func textOptions(ctx context.Context, query string, args []driver.NamedValue, prepared bool) (string, []driver.NamedValue, error) {
	n := leadingOptions(args)
	at := -1
	for i := range n {
		if _, ok := args[i].Value.(pgx.QueryRewriter); ok {
			at = i // pgx uses the last one
		}
	}
	if at < 0 {
		return query, args, nil
	}
	rw := args[at].Value.(pgx.QueryRewriter)
	switch rw.(type) {
	case pgx.NamedArgs, pgx.StrictNamedArgs:
	default:
		return "", nil, rewrite.Refuse("", "a pgx.QueryRewriter of type %T can make any statement text, which kmsenc would not see before it is sent; pass the statement's values as arguments (pgx.NamedArgs and pgx.StrictNamedArgs are understood)", rw)
	}
	if prepared {
		return "", nil, rewrite.Refuse("", "%T can't be used with a prepared statement: its text is fixed when it is prepared; run the statement directly (db.Exec, db.Query)", rw)
	}
	vals := make([]any, 0, len(args)-n)
	for _, a := range args[n:] {
		vals = append(vals, a.Value)
	}
	text, newArgs, err := rw.RewriteQuery(ctx, nil, query, vals)
	if err != nil {
		return "", nil, fmt.Errorf("kmsenc: rewrite query failed: %w", err)
	}
	out := make([]driver.NamedValue, 0, n-1+len(newArgs))
	for i, a := range args[:n] {
		if i != at {
			out = append(out, driver.NamedValue{Ordinal: len(out) + 1, Value: a.Value})
		}
	}
	for _, v := range newArgs {
		out = append(out, driver.NamedValue{Ordinal: len(out) + 1, Value: v})
	}
	return text, out, nil
}

func storage(dataType string) (binary, ok bool) {
	switch dataType {
	case "text", "character varying", "character":
		return false, true
	case "bytea":
		return true, true
	}
	return false, false
}

func typeName(t schema.Type) string {
	switch t {
	case schema.Text:
		return "TEXT"
	case schema.Bytes:
		return "BYTEA"
	case schema.Int:
		return "INT8"
	case schema.Float:
		return "FLOAT8"
	case schema.Bool:
		return "BOOL"
	case schema.Date:
		return "DATE"
	case schema.Timestamp:
		return "TIMESTAMPTZ"
	case schema.JSON:
		return "JSONB"
	}
	return ""
}
