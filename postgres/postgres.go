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
		CheckSession:    checkSession,
		CheckConn:       checkConn,
		DependentsQuery: dependentsQuery,
		TextOptions:     textOptions,
		LeadingOptions:  leadingOptions,
		ColumnsQuery: `SELECT c.column_name::text, c.data_type::text, c.column_default::text, c.character_maximum_length::int8,
  c.numeric_precision::int8, c.numeric_scale::int8, c.udt_name::text,
  (SELECT co.collname::text FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
   WHERE co.collname = c.collation_name AND n.nspname = c.collation_schema AND NOT co.collisdeterministic)
FROM information_schema.columns c
WHERE lower(c.table_name) = lower($1) AND c.table_schema = ANY (current_schemas(false))
ORDER BY c.ordinal_position`,
		CatalogQuery: catalogQuery,
		ContextRule:  contextRule,
		Storage:      storage,
		TypeName:     typeName,
		QuoteIdent:   func(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` },
		Placeholder:  func(n int) string { return "$" + strconv.Itoa(n) },
	}
}

// catalogQuery is the dialect's CatalogQuery for n table names.
func catalogQuery(n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	return `SELECT table_name::text, column_name::text, data_type::text, column_default::text, character_maximum_length::int8
FROM information_schema.columns
WHERE table_schema = ANY (current_schemas(false)) AND lower(table_name) IN (` + strings.Join(ph, ", ") + `)
UNION ALL
SELECT table_name::text, NULL, NULL, NULL, NULL
FROM information_schema.tables
WHERE table_schema = ANY (current_schemas(false))`
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

// checkConn checks what the server last reported (ParameterStatus) of the
// two settings that decide how it reads text: standard_conforming_strings
// must be on, client_encoding UTF8. PostgreSQL reports both whenever they
// change, however they change (SET, RESET, set_config with any name, UPDATE
// pg_settings, a function's SET clause, the role's or database's settings,
// options=-c, PGCLIENTENCODING), and pgx keeps the latest, so checking them
// before each statement is exact and costs two map lookups. UTF8 only: in
// encodings such as SJIS or BIG5 a character's second byte can be a quote
// or a backslash, in single-byte ones the server would store other
// characters than the ones kmsenc encrypts from a literal, and pgx's own
// simple protocol refuses anything but UTF8.
//
// The base connection is pgx's *stdlib.Conn, or a wrapper of one that has
// an Unwrap() driver.Conn method; anything else is refused.
func checkConn(base driver.Conn) error {
	for u, ok := base.(interface{ Unwrap() driver.Conn }); ok; u, ok = base.(interface{ Unwrap() driver.Conn }) {
		base = u.Unwrap()
	}
	pc, ok := base.(interface{ Conn() *pgx.Conn })
	if !ok {
		return fmt.Errorf("%w: kmsenc+postgres needs pgx's stdlib connections (got %T), or wrappers of them with an Unwrap() driver.Conn method, to see the session's settings", kmsenc.ErrConfig, base)
	}
	pg := pc.Conn().PgConn()
	if v := pg.ParameterStatus("standard_conforming_strings"); v != "on" {
		return fmt.Errorf("%w: the connection has standard_conforming_strings = %q; kmsenc reads strings with it on (the default since PostgreSQL 9.1): remove the setting from the statement, role, database or DSN that turns it off", kmsenc.ErrConfig, v)
	}
	if v := pg.ParameterStatus("client_encoding"); v != "UTF8" {
		return fmt.Errorf("%w: the connection has client_encoding = %q; kmsenc reads and writes text as UTF8 only: remove the setting from the statement, role, database, DSN or PGCLIENTENCODING that changes it", kmsenc.ErrConfig, v)
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
