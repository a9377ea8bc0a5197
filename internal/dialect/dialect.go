// Package dialect is the contract between kmsenc's dialect-agnostic wrapper
// (package kmsenc) and its dialect packages (kmsenc/postgres, kmsenc/mysql):
// the [Dialect] a dialect package fills in. It is internal: applications
// import a dialect package, never this.
package dialect

import (
	"context"
	"database/sql/driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// Dialect is what a dialect package (kmsenc/postgres, kmsenc/mysql) supplies
// to the dialect-agnostic wrapper, through kmsenc.NewDriver and
// kmsenc.NewConnector.
type Dialect struct {
	// Name is the dialect's name, e.g. "postgres".
	Name string
	// OpenBase returns the base driver's connector for a DSN from which the
	// kmsenc_config parameter has been removed.
	OpenBase func(dsn string) (driver.Connector, error)
	// SplitDSN removes the kmsenc_config parameter from dsn and returns the
	// cleaned DSN and the parameter's value ("" if absent).
	SplitDSN func(dsn string) (clean, configPath string, err error)
	// NewRewriter returns the dialect's rewriter for a schema.
	NewRewriter func(cfg *schema.Config) rewrite.Rewriter
	// LeadingOptions returns how many leading arguments are options of the
	// base driver (pgx's QueryExecMode, QueryResultFormats, ...) rather than
	// values of the statement's placeholders. Nil means none ever are.
	LeadingOptions func(args []driver.NamedValue) int
	// TextOptions applies the leading options that rewrite the statement's
	// text (pgx's NamedArgs: "@name" to "$n") as the base driver would, so
	// that kmsenc plans the text the database receives, and returns the
	// text and the arguments without those options. It refuses an option
	// whose text it can't know (another pgx.QueryRewriter), and any with a
	// prepared statement (prepared true). Nil means none ever are.
	TextOptions func(ctx context.Context, query string, args []driver.NamedValue, prepared bool) (string, []driver.NamedValue, error)
	// ColumnsQuery lists a table's columns. It takes the table name as its one
	// placeholder and returns rows of (column name, data type, column
	// default or NULL, maximum character length or NULL).
	ColumnsQuery string
	// Storage classifies a data type as ColumnsQuery reports it: binary
	// (bytea, blob...) or text; ok is false for a type that can't hold
	// ciphertext at all.
	Storage func(dataType string) (binary, ok bool)
	// TypeName is the DatabaseTypeName reported for a decrypted column.
	TypeName func(t schema.Type) string
	// UniqueKeysQuery lists the names of a table's unique keys other than
	// its primary key; it takes the table name as its one placeholder. Nil
	// for dialects whose plans never ask (rewrite.Plan.PrimaryKeyOnlyUnique).
	UniqueKeysQuery string
	// CheckSession, if set, runs on every new connection before it is used:
	// query runs a statement on it and returns the first column of its first
	// row. An error refuses the connection (PostgreSQL: kmsenc needs
	// standard_conforming_strings on).
	CheckSession func(ctx context.Context, query func(sql string) (string, error)) error
	// QuoteIdent quotes an identifier for generated SQL.
	QuoteIdent func(name string) string
	// Placeholder returns the n-th (1-based) placeholder of generated SQL.
	Placeholder func(n int) string
}
