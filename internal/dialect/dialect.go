// Package dialect is the contract between kmsenc's dialect-agnostic wrapper
// (package kmsenc) and its dialect packages (kmsenc/postgres, kmsenc/mysql):
// the [Dialect] a dialect package fills in. It is internal: applications
// import a dialect package, never this.
package dialect

import (
	"context"
	"database/sql/driver"

	"github.com/kmsenc/kmsenc/internal/canon"
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
	// default or NULL, maximum character length or NULL), optionally
	// followed by (numeric precision or NULL, numeric scale or NULL, full
	// column type or NULL, collation or NULL) for ContextRule.
	ColumnsQuery string
	// CatalogQuery, if set, returns the query of the check at open
	// (ARCHITECTURE.md §4.2), which takes n placeholders, each a declared
	// table name in lower case. It returns one row (table name, column
	// name, data type, column default or NULL, maximum length or NULL) per
	// column of each table of the connection's schema(s) whose lower-case
	// name is one of them, and one row (table name, NULL, NULL, NULL, NULL)
	// per table and view there, so that a declared table that is missing
	// can be matched against the names that exist. Nil skips the check.
	CatalogQuery func(n int) string
	// ContextRule returns how the values of a context column ("$id") of
	// type c become the canonical text of the encryption context, or an
	// error saying why a column of that type can't be a context column. Nil
	// means the dialect allows no context columns.
	ContextRule func(c Column) (*canon.Rule, error)
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
	// DependentsQuery, if set, lists what the connector's first connection
	// finds in the catalog that could read or write a declared table
	// without kmsenc (kmsenc's catalog.go says how each kind is judged).
	// It takes no arguments and returns rows of eight text columns: kind
	// ("path", "depends", "rule", "inherits", "trigger", "routine",
	// "view"), schema, name, detail, the schema and name of what the
	// object is on or runs, the code (or NULL where it can't be read),
	// and the code's language. System schemas are left out.
	DependentsQuery string
	// CheckSession, if set, runs on every new connection before it is used:
	// query runs a statement on it and returns the first column of its first
	// row. An error refuses the connection (PostgreSQL: kmsenc needs
	// standard_conforming_strings on).
	CheckSession func(ctx context.Context, query func(sql string) (string, error)) error
	// CheckConn, if set, checks the base connection's session state without
	// a round trip, before every statement is lexed and when a connection is
	// made, validated or reset (PostgreSQL: the standard_conforming_strings
	// and client_encoding the server last reported). An error makes the
	// connection unusable (ARCHITECTURE.md §5, "Settings that change how text
	// reads").
	CheckConn func(base driver.Conn) error
	// QuoteIdent quotes an identifier for generated SQL.
	QuoteIdent func(name string) string
	// Placeholder returns the n-th (1-based) placeholder of generated SQL.
	Placeholder func(n int) string
}

// Column is a column's type as ColumnsQuery reports it.
type Column struct {
	Table, Name string // as the schema file writes them, for messages
	DataType    string // lower case: "bigint", "character varying", "uuid"
	MaxLen      int64  // character (or binary) length; 0 when none
	Precision   int64  // numeric precision; -1 when none
	Scale       int64  // numeric scale; -1 when none
	ColumnType  string // lower case; MySQL's full type, "int(10) unsigned"
	Collation   string // the collation ColumnsQuery reports, "" when none
}
