package postgres

import (
	"strconv"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
	"github.com/kmsenc/kmsenc/schema"
)

// dialect is what the planner needs to know of PostgreSQL's SQL.
type dialect struct{ sql string }

var _ planner.Dialect = dialect{}

// WriteName writes a name bare where PostgreSQL reads it back unchanged,
// double-quoted otherwise.
func (dialect) WriteName(b *strings.Builder, name string) { b.WriteString(quoteIfNeeded(name)) }

// Schema returns a name of the schema file in lower case, as PostgreSQL
// folds the unquoted names tables are usually created with.
func (dialect) Schema(name string) string     { return schemaName(name) }
func (dialect) QuoteIdent(name string) string { return quoteIdent(name) }
func (dialect) Placeholder(n int) string      { return "$" + strconv.Itoa(n) }
func (dialect) Numbered() bool                { return true }
func (dialect) WholeRowRefs() bool            { return true }

// Proposed writes EXCLUDED.column.
func (dialect) Proposed(column, _ string) string { return "EXCLUDED." + quoteIfNeeded(column) }

// EncryptLiteral returns the value PostgreSQL would store for lit in col:
// a string constant for a bytes column is read as bytea input.
func (dialect) EncryptLiteral(lit *model.Literal, col *schema.Column) (rewrite.Literal, error) {
	if lit.Kind == model.LitBits {
		return rewrite.Literal{}, rewrite.Refuse(lit.Text, "kmsenc can't encrypt the bit string constant %s for column %s; pass the value as a parameter", lit.Text, col.Name)
	}
	if lit.Err != nil {
		return rewrite.Literal{}, lit.Err
	}
	if _, ok := lit.Value.(float64); ok && col.Type != schema.Float {
		// PostgreSQL reads it as numeric, which keeps its own spelling
		// (-1.50, 1.5E+2) in a text column.
		return rewrite.Literal{}, rewrite.Refuse(lit.Text, "kmsenc can't encrypt the number %s for column %s, which is not a float column: the server would store it spelled as a numeric; write it as a quoted string or pass the value as a parameter", lit.Text, col.Name)
	}
	l := rewrite.Literal{Go: lit.Value, Text: lit.Text}
	if col.Type == schema.Bytes {
		return byteaLiteral(l)
	}
	return l, nil
}

// KeyLiteral returns lit as PostgreSQL reads back a column given it.
func (dialect) KeyLiteral(lit *model.Literal) (rewrite.Literal, bool) {
	if lit.Err != nil || lit.Kind == model.LitBits {
		return rewrite.Literal{}, false
	}
	return rewrite.Literal{Go: lit.Value, Text: lit.Text}, true
}

// Near returns the text of sp.
func (d dialect) Near(sp model.Span) string {
	if !sp.Located() || sp.End > len(d.sql) {
		return ""
	}
	return d.sql[sp.Start:sp.End]
}

// CastHint names the casts castType finds to be typ's own.
func (dialect) CastHint(typ schema.Type) string {
	switch typ {
	case schema.Text:
		return "::text, ::varchar"
	case schema.Int:
		return "::bigint, ::int8"
	case schema.Bytes:
		return "::bytea"
	case schema.Float:
		return "::double precision, ::float8"
	case schema.Bool:
		return "::boolean, ::bool"
	case schema.Date:
		return "::date"
	case schema.Timestamp:
		return "::timestamptz"
	case schema.JSON:
		return "::json, not ::jsonb"
	}
	return "none"
}
