// Package rewrite turns SQL text into a Plan: the SQL to send to the database
// instead, where each of its placeholders gets its value, which values to
// encrypt under which row's data key, and how to decrypt the rows that come
// back. It knows the schema file, and nothing of cryptography or drivers.
//
// This package holds what the driver wrapper uses: the Plan types, the
// Rewriter interface, the plan cache (NewCache) and the refusal error. The
// work is done below it (ARCHITECTURE.md §5):
//
//   - rewrite/postgres and rewrite/mysql: each dialect's exact lexer, the
//     classification of statements, its parser, and a converter from the
//     parser's tree into the statement model;
//   - rewrite/internal/model: the dialect-neutral statement model;
//   - rewrite/internal/planner: the rules, written once: scopes and name
//     resolution, what is rewritten and what is refused, the edits;
//   - rewrite/internal/lexical: what the lexers share (the touches test on
//     words, numbers, quoted names).
//
// The rule above all: a statement that touches a table with encrypted
// columns is either fully understood and rewritten, or refused with an
// error matching ErrUnsupported before anything is sent.
package rewrite

import (
	"errors"
	"fmt"

	"github.com/kmsenc/kmsenc/schema"
)

// ErrUnsupported is matched (errors.Is) by every refusal. The root package
// exports it as kmsenc.ErrUnsupportedStatement.
var ErrUnsupported = errors.New("kmsenc: unsupported statement")

// RefusalError is a refusal: why, and the part of the statement at fault.
type RefusalError struct {
	Reason string // what is wrong and what to do instead
	Near   string // the part of the statement at fault (may be empty)
}

func (e *RefusalError) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("kmsenc: unsupported statement: %s", e.Reason)
	}
	return fmt.Sprintf("kmsenc: unsupported statement: %s (near %q)", e.Reason, e.Near)
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *RefusalError) Is(target error) bool { return target == ErrUnsupported }

// Refuse returns a *RefusalError.
func Refuse(near, format string, args ...any) error {
	return &RefusalError{Reason: fmt.Sprintf(format, args...), Near: near}
}

// Rewriter plans SQL texts of one dialect against one schema. Implementations
// are safe for concurrent use; the wrapper caches plans by SQL text.
type Rewriter interface {
	// Rewrite returns the plan for sql, or an error matching ErrUnsupported.
	Rewrite(sql string) (*Plan, error)
}

// Kind says what the wrapper must do to run a plan.
type Kind int

const (
	// PassThrough: send SQL and the caller's arguments unchanged; the statement
	// touches no encrypted data (or is DDL). Output is nil.
	PassThrough Kind = iota
	// Insert: one fresh data key per element of Rows; Params carry the wrapped
	// keys and the encrypted values. Output decrypts a RETURNING list.
	Insert
	// Select: Params are the caller's arguments (renumbered as needed);
	// Output decrypts the result.
	Select
	// Update: find the pinned row's key with Update.Lookup first; Params carry
	// values encrypted under it. Output decrypts a RETURNING list.
	Update
	// Delete: like Select; Output decrypts a RETURNING list.
	Delete
)

func (k Kind) String() string {
	switch k {
	case PassThrough:
		return "pass-through"
	case Insert:
		return "insert"
	case Select:
		return "select"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Plan is what kmsenc does with one SQL text. A Plan is immutable once built
// and shared by every execution of the same text, on every connection.
type Plan struct {
	Kind Kind
	// SQL is the text to send. For PassThrough it is the original text.
	SQL string
	// NumInput is the number of arguments the caller must pass (not counting
	// a driver's leading option arguments), or -1 if unknown. For PostgreSQL it
	// is the highest $n of the original text; for MySQL the number of '?'.
	NumInput int
	// Params feed the placeholders of SQL: Params[i] is the value of the
	// (i+1)-th placeholder ($i+1 in PostgreSQL, the (i+1)-th '?' in MySQL).
	// Nil for PassThrough: the caller's arguments are sent as they are.
	Params []Param
	// Table is the table written by an Insert or Update.
	Table *schema.Table
	// Rows holds one entry per row an Insert writes, in VALUES order.
	Rows []Row
	// Update is set for Kind Update.
	Update *UpdatePlan
	// Output is set when the statement returns rows that carry encrypted
	// columns, key columns or context columns; nil otherwise.
	Output *Output
	// PrimaryKeyOnlyUnique: the statement is exact only if Table has no
	// unique key besides its primary key. A MySQL ON DUPLICATE KEY UPDATE
	// that gives a row a new data key made for the inserted row's context
	// ($id) is right when the duplicate is on the primary key, but a
	// duplicate on another unique key would update a row whose id differs.
	// The wrapper checks the table and refuses otherwise.
	PrimaryKeyOnlyUnique bool
	// SessionChange: the statement may change a session setting that decides
	// how the server reads text (MySQL: SET, EXECUTE, compound statements).
	// The wrapper reads the settings again before the connection's next
	// statement.
	SessionChange bool
}

// ParamKind says where a placeholder's value comes from.
type ParamKind int

const (
	// ParamValue: Value, encrypted for Encrypt under row Row's data key when
	// Encrypt is set, sent as it is otherwise.
	ParamValue ParamKind = iota
	// ParamWrappedKey: the key column value ("v1:...") of Insert row Row.
	ParamWrappedKey
	// ParamRowKeyGuard: the key column value the Update lookup found (or
	// created); the rewritten UPDATE adds "AND key_column = <this>" so that
	// values are only ever written under the row's own key.
	ParamRowKeyGuard
)

// Param is the value of one placeholder of Plan.SQL.
type Param struct {
	Kind    ParamKind
	Value   Value          // ParamValue
	Encrypt *schema.Column // ParamValue: nil, or the column to encrypt for
	Row     int            // Insert: index into Plan.Rows; Update: always 0
}

// Value is a value taken from the statement: the caller's argument Arg
// (0-based, after the driver's leading option arguments), or, when Arg < 0, a
// literal of the SQL text, already decoded (quotes and escapes removed).
type Value struct {
	Arg     int
	Literal Literal
}

// IsArg reports whether v is a caller argument.
func (v Value) IsArg() bool { return v.Arg >= 0 }

// Arg returns a Value for the caller's argument i (0-based).
func Arg(i int) Value { return Value{Arg: i} }

// Lit returns a Value for a literal.
func Lit(l Literal) Value { return Value{Arg: -1, Literal: l} }

// Literal is a constant of the SQL text: Go value nil (NULL), string (a quoted
// string, unescaped), int64 or float64 (a number; Text keeps its spelling),
// bool (TRUE/FALSE).
type Literal struct {
	Go   any
	Text string // the literal as written, for error messages and numbers
}

// Row is one row written by an Insert: the sources of its encryption context.
type Row struct {
	// Context holds one entry per schema ContextEntry of Plan.Table, in the
	// same order. Fixed entries have Column == "" and their Value set.
	Context []ContextValue
}

// ContextValue is one entry of a row's encryption context.
type ContextValue struct {
	Name   string
	Fixed  string // set when the entry is a constant of the schema file
	Column string // set when the entry is a column's value ("$id")
	Value  Value  // the statement's value for Column
}

// UpdatePlan is the extra work of an UPDATE that sets encrypted columns of
// one row pinned by its primary key.
type UpdatePlan struct {
	// Lookup reads the pinned row's key column, then its context columns in
	// Table.ContextColumns() order. It locks the row (FOR UPDATE) so that
	// inside a transaction the key can't change before the UPDATE runs.
	Lookup       string
	LookupParams []Value
	// SetKey gives a keyless row its first key: its first placeholder is the
	// new wrapped key, the rest are SetKeyParams; it only matches while the
	// key column IS NULL, so two writers can never both set one. After it the
	// wrapper runs Lookup again and uses whatever key the row then holds.
	SetKey       string
	SetKeyParams []Value
}

// Output says how to turn the result rows of Plan.SQL into what the caller
// sees: which columns to decrypt, with which table instance's key, and which
// to hide. Result columns are matched to Columns in order; a Star entry
// matches a run of columns of unknown length that ends right before the
// column named End (which is itself the next entry of Columns).
type Output struct {
	Columns   []OutputColumn
	Instances []Instance
}

// OutputKind says what a result column holds.
type OutputKind int

const (
	// OutPlain: a column of no encrypted table; passed through.
	OutPlain OutputKind = iota
	// OutEncrypted: an encrypted column of Instance; decrypted.
	OutEncrypted
	// OutKey: the key column of Instance.
	OutKey
	// OutContext: context column Name of Instance.
	OutContext
)

// OutputColumn describes one result column, or a run of them (Star).
type OutputColumn struct {
	Kind     OutputKind
	Instance int            // index into Output.Instances; -1 for OutPlain
	Column   *schema.Column // OutEncrypted
	Name     string         // OutContext: the context column's name
	Hidden   bool           // added by kmsenc: removed from what the caller sees
	// Star marks a run from "*" or "t.*". Instance < 0: a relation without
	// encrypted columns, every column passes through. Instance >= 0: columns
	// whose names are encrypted columns of the instance's table are decrypted,
	// and one named like its key column is hidden.
	Star bool
	End  string // Star: the name of the column that follows the run
}

// Instance is one occurrence of an encrypted table in a statement (a table
// joined twice is two instances). Key and Context are indexes into
// Output.Columns of the entries that carry its key column and its context
// columns (in Table.ContextColumns() order).
type Instance struct {
	Table   *schema.Table
	Key     int
	Context []int
}

// MarkerPrefix starts the aliases of the columns kmsenc adds to a statement.
const MarkerPrefix = "__kmsenc_"
