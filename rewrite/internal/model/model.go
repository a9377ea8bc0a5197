// Package model is the dialect-neutral statement model of kmsenc's
// rewriter: what a dialect's converter makes of one statement once its
// parser has read it, and all that the planner (rewrite/internal/planner)
// reads. The planner resolves names, applies the rules of ARCHITECTURE.md
// §5 and edits the text; it never sees a parser's tree.
//
// A converter's duties:
//
//   - Every node kind of its parser's tree that it doesn't map to a node
//     here is refused (an error matching rewrite.ErrUnsupported) — never
//     dropped, never approximated. An expression the model has no node for
//     becomes Other with all of its operands, so that no column reference
//     escapes the planner's checks.
//   - Spans are byte offsets into Statement.SQL, taken from the text (the
//     lexer's tokens), never re-printed from the tree. Where the converter
//     can't locate a part that the planner may edit, it leaves the span at
//     -1 and sets Lost on the node (the refusal to return if the planner
//     needs it): a text kmsenc can't match to its tree is rewritten only
//     where nothing needs editing.
//   - Names are the names as the database reads them: unquoted identifiers
//     folded as the dialect folds them, quoted ones exact. Qualifiers are in
//     text order (schema, table).
package model

// Statement is one statement: its text, every placeholder of the text, and
// what it does.
type Statement struct {
	SQL string
	// Params are the caller's placeholders in text order: PostgreSQL's $n
	// (Arg n-1, any number of times each) and MySQL's '?' (Arg = its
	// ordinal). The planner sends every one it doesn't replace as the
	// caller's argument.
	Params []Param
	// Body is *Query, *Insert, *Update or *Delete.
	Body any
}

// Span is the text of a part of the statement: SQL[Start:End]. Start < 0:
// not located.
type Span struct{ Start, End int }

// NoSpan is the span of a part that was not located.
var NoSpan = Span{-1, -1}

// Located reports whether sp was found in the text.
func (sp Span) Located() bool { return sp.Start >= 0 && sp.End >= sp.Start }

// Query is a query expression: a SELECT, a set operation, VALUES or TABLE,
// with its WITH, ORDER BY and LIMIT.
type Query struct {
	With *With
	// Body is *Select, *SetOp, *Values, *TableQuery, or *Query (a
	// parenthesised query: "(SELECT ...) ORDER BY ...").
	Body    any
	OrderBy []*SortKey
	Limit   []Expr // LIMIT, OFFSET, FETCH counts; nil entries allowed
}

// With is a WITH clause.
type With struct {
	Recursive bool
	CTEs      []*CTE
}

// CTE is one WITH query.
type CTE struct {
	Name string
	Cols []string // WITH name(a, b) AS: renames the query's output columns
	// Query is the CTE's query; nil when it writes (INSERT/UPDATE/DELETE
	// in WITH) or is recursive: the planner refuses it.
	Query     *Query
	Writes    bool
	Recursive bool
}

// Select is SELECT ... [FROM ...] [WHERE ...] [GROUP BY ...] [HAVING ...]
// [WINDOW ...]: one query level.
type Select struct {
	Distinct   bool   // DISTINCT (or DISTINCTROW): compares output rows
	DistinctOn []Expr // PostgreSQL's DISTINCT ON (...)
	Items      []*SelectItem
	// ListEnd is the byte offset right after the last item: where kmsenc
	// adds the key and context columns. -1 when not located; then Lost.
	ListEnd int
	From    []From
	Where   Expr
	GroupBy []*SortKey
	Having  Expr
	Windows []*Window
	// Into: SELECT ... INTO (MySQL: variables, a file; PostgreSQL: a new
	// table) stores the output where kmsenc can't decrypt it.
	Into bool
	// Lost: the select list could not be matched to the text.
	Lost error
}

// SelectItem is one item of a select or RETURNING list.
type SelectItem struct {
	// Star: "*" (Qualifier nil) or "t.*" / "s.t.*".
	Star      bool
	Qualifier []string
	// Expr is the item's expression when not a star. A bare or qualified
	// column reference is *ColumnRef; parentheses are kept (Paren), so
	// "(email)" is an expression over the column.
	Expr Expr
	// Name is the output column's name: the alias, else the name the
	// database gives (a column's name, a function's name), else "".
	Name string
	// Span is the item's whole text (with its alias); a star item's is
	// what kmsenc replaces.
	Span Span
	Text string // for messages: the item as written, or as the tree prints it
}

// SetOp is UNION, INTERSECT or EXCEPT: the database compares or merges the
// rows of its sides.
type SetOp struct {
	Sides []*Query
}

// Values is a VALUES list used as a query.
type Values struct {
	Rows [][]Expr
}

// TableQuery is "TABLE t": all of t's columns, with nowhere to add the
// key column.
type TableQuery struct {
	Table *TableRef
}

// SortKey is one key of ORDER BY, GROUP BY (or DISTINCT ON).
type SortKey struct {
	// Position > 0: the key is the n-th output column ("ORDER BY 2").
	// Position < 0: a position kmsenc can't read (a parameter).
	Position int
	Expr     Expr // when Position == 0
	Text     string
}

// From is a FROM item: *TableRef, *Derived, *FuncTable or *Join.
type From any

// TableRef is a table (or a CTE) named in FROM, or the target of a
// statement that writes.
type TableRef struct {
	Schema string // the schema (database) qualifier, "" when not written
	Name   string
	Alias  string
	// ColAliases: "AS t(a, b)", which renames the table's columns.
	ColAliases []string
	// Ref is how SQL kmsenc adds writes this table in "Ref.col": its alias
	// or its name as written (quoted as the text has it). "" when not
	// located; then Lost.
	Ref string
	// NameText is the table's name as written (with its qualifier), for
	// the statements kmsenc makes from an UPDATE.
	NameText string
	// Bare: kmsenc writes this table's columns unqualified (the target of
	// MariaDB's RETURNING).
	Bare bool
	Lost error
}

// Derived is a subquery in FROM.
type Derived struct {
	Query      *Query
	Lateral    bool // sees the FROM items before it
	Alias      string
	ColAliases []string
	Ref        string // the alias as written; "" when not located (Lost)
	Lost       error
}

// FuncTable is a function (or ROWS FROM, or anything else whose columns
// kmsenc can't know and that is never declared) in FROM.
type FuncTable struct {
	Name  string // the function's name, which is its default alias
	Args  []Expr
	Alias string
}

// Join is a join of two FROM items.
type Join struct {
	Left, Right From
	Natural     bool
	On          Expr
	Using       []string
	// Alias: "(a JOIN b) AS j", which hides a and b behind j.
	Alias string
}

// Expr is an expression: one of the node types below.
type Expr any

// ColumnRef is a column reference: "c", "t.c", "s.t.c".
type ColumnRef struct {
	Qualifier []string
	Name      string
	Text      string
	Span      Span
}

// StarRef is "t.*" inside an expression (a row constructor, a function's
// argument).
type StarRef struct {
	Qualifier []string
	Text      string
}

// Subquery is a query used as an expression: scalar, IN (...), ANY
// (...), EXISTS (...).
type Subquery struct {
	Query  *Query
	Exists bool // its output is ignored
}

// IsNull is "x IS [NOT] NULL" (and ISNULL/NOTNULL): it never reads a value.
type IsNull struct {
	Operand Expr
}

// Count is count(x) or count(*) without DISTINCT or ORDER BY: it only
// counts non-NULL values. Arg is nil for count(*).
type Count struct {
	Arg    Expr
	Filter Expr
	Window *Window
}

// Op is what a Compare compares.
type Op int

const (
	OpEqual         Op = iota // =
	OpNullSafeEqual           // <=>, IS NOT DISTINCT FROM
	OpNotEqual                // <>, !=, IS DISTINCT FROM
	OpIn                      // IN (...), = ANY (...)
	OpNotIn                   // NOT IN (...), <> ALL (...)
	OpLike                    // [NOT] LIKE / ILIKE / SIMILAR TO
	OpOrder                   // <, <=, >, >=, BETWEEN
)

// Compare is a comparison. Left and Right are the operands as written
// (parentheses kept, as Paren); Right may hold the several entries of
// IN (a, b, c).
type Compare struct {
	Op    Op
	Left  Expr
	Right []Expr
	Text  string
}

// And is a conjunction.
type And struct {
	Terms []Expr
}

// Param is a caller's placeholder used as a value.
type Param struct {
	Arg  int // 0-based
	Span Span
}

// LitKind says how a literal is written.
type LitKind int

const (
	LitString LitKind = iota // '...', E'...', $$...$$, N'...'
	LitNumber                // 1, -1.5, 1e3 (a sign is part of it)
	LitBool                  // TRUE, FALSE
	LitHex                   // X'..', 0x..
	LitBits                  // B'..', 0b..
)

// Literal is a constant as written: Value is its decoded value (Go nil for
// none), with Err set when it can't be decoded exactly. A literal of an
// encrypted column is sent as a parameter, never as text.
type Literal struct {
	Kind  LitKind
	Value any // string, int64, float64, bool
	Err   error
	Text  string
	Span  Span
}

// Null is the constant NULL.
type Null struct{ Span Span }

// Default is DEFAULT as a value.
type Default struct{ Span Span }

// Proposed is the value an upsert proposed for a column: PostgreSQL's
// EXCLUDED.c, MySQL's VALUES(c) and new.c (with a row alias).
type Proposed struct {
	Column string
	Text   string
}

// Func is a function call other than a plain count.
type Func struct {
	Name   string // lower case, without schema
	Args   []Expr
	Filter Expr
	Window *Window
	Text   string
}

// Window is a window definition: PARTITION BY, ORDER BY, frame offsets.
type Window struct {
	Partition []Expr
	OrderBy   []Expr
	Frame     []Expr
}

// Paren is a parenthesised expression.
type Paren struct{ X Expr }

// Cast is a cast of an expression to a type: PostgreSQL's x::t and CAST(x
// AS t), MySQL's CAST(x AS t). The planner treats it as an expression over
// X, except around a value (ARCHITECTURE.md §5, "Casts"):
//
//   - Type names the schema file's type ("text", "bytes", "int", "float",
//     "bool", "date", "timestamp", "json") whose values the cast leaves as
//     they are, as the converter read the type's tokens; "" for any other
//     cast (a length, a precision, another type). A value of that type cast
//     so may be encrypted with the cast dropped.
//   - Keeps: the cast, left in the text, stores a key or context value the
//     application passes as the column stores it (an integer type, text
//     without a length), so the value is the argument.
type Cast struct {
	X     Expr
	Type  string
	Keeps bool
	Text  string
}

// Other is any other expression: an operator, CASE, a cast, a row, an
// array... The planner checks its operands.
type Other struct {
	Args []Expr
	Text string
}

// Insert is INSERT INTO t ... (and MySQL's INSERT ... SET).
type Insert struct {
	With   bool // WITH ... INSERT
	Target *TableRef
	// Columns: the column list (or the columns of MySQL's SET form), nil
	// when not written. ColumnsEnd is the byte offset after the last
	// column's name, where kmsenc adds the key column.
	Columns    []string
	ColumnsEnd int
	// One of Rows (VALUES, or the SET form's single row), Query (INSERT ...
	// SELECT), DefaultValues.
	Rows          []*Row
	Query         *Query
	DefaultValues bool
	// SetForm: MySQL's INSERT ... SET c = v, ...; the key column goes in as
	// ", key = ?" at SetEnd.
	SetForm bool
	SetEnd  int
	// RowAlias: MySQL's "AS new [(a, b)]"; RowAliasCols its column names.
	RowAlias     string
	RowAliasCols []string
	// Overriding: PostgreSQL's OVERRIDING SYSTEM VALUE ("system") or
	// OVERRIDING USER VALUE ("user"), else "".
	Overriding string
	Upsert     *Upsert
	Returning  *Returning
	Lost       error
}

// Row is one VALUES row.
type Row struct {
	Values []Expr
	Spans  []Span // the text of each value
	// End is the byte offset after the last value (before ')'), where the
	// row's wrapped key goes. -1 for the SET form.
	End  int
	Text string
}

// Upsert is PostgreSQL's ON CONFLICT and MySQL's ON DUPLICATE KEY UPDATE.
type Upsert struct {
	// Targeted: ON CONFLICT names its conflict target (Columns, or
	// Constraint); MySQL's duplicate may be on any unique key.
	Targeted   bool
	Columns    []string
	Constraint string
	TargetText string // for messages
	Arbiter    Expr   // ON CONFLICT (...) WHERE
	DoNothing  bool
	Sets       []*Assignment
	Where      Expr
	// SetEnd is the byte offset after the last assignment, where kmsenc
	// adds the key column's. -1 when not located; then Lost.
	SetEnd int
	Lost   error
}

// Assignment is "c = v" of an UPDATE or upsert, or "(a, b) = (...)".
type Assignment struct {
	// Columns: one column, or the columns of a tuple assignment (Tuple).
	Columns   []string
	Qualifier []string // "t.c = ...": the table written before the column
	Tuple     bool
	Value     Expr
	Span      Span // the value's text
	Text      string
}

// Returning is a RETURNING list.
type Returning struct {
	Items   []*SelectItem
	ListEnd int
	Lost    error
}

// Update is UPDATE.
type Update struct {
	With bool
	// Target is the table written; Multi when several (MySQL's UPDATE a,
	// b SET ...), whose tables are then in From.
	Target *TableRef
	Multi  bool
	From   []From // PostgreSQL's FROM; MySQL's tables of a multi-table UPDATE
	Sets   []*Assignment
	Where  Expr
	// WhereEnd is the byte offset after the WHERE condition: kmsenc adds
	// "AND key = ?" there. -1 when there is no WHERE or it was not located.
	WhereEnd  int
	OrderBy   []*SortKey
	Limit     []Expr
	Returning *Returning
	Lost      error
}

// Delete is DELETE.
type Delete struct {
	With      bool
	Target    *TableRef
	Multi     bool
	From      []From // PostgreSQL's USING; MySQL's tables of a multi-table DELETE
	Where     Expr
	OrderBy   []*SortKey
	Limit     []Expr
	Returning *Returning
}
