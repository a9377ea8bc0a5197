package mysql

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
	"github.com/kmsenc/kmsenc/schema"
)

// dialect is what the planner needs to know of MySQL's SQL. It holds the
// statement being planned, whose tokens Near renders.
type dialect struct{ s *stmt }

var _ planner.Dialect = dialect{}

// WriteName writes a name in backticks, which read back as the name
// whatever the word and the SQL mode.
func (dialect) WriteName(b *strings.Builder, name string) { b.WriteString(quoteIdent(name)) }

// Schema returns a name of the schema file as it is spelled there: MySQL
// compares column names without case, and table names as the server's
// lower_case_table_names says, which the schema file's spelling matches.
func (dialect) Schema(name string) string     { return name }
func (dialect) QuoteIdent(name string) string { return quoteIdent(name) }
func (dialect) Placeholder(int) string        { return "?" }
func (dialect) Numbered() bool                { return false }
func (dialect) WholeRowRefs() bool            { return false }

// Proposed writes the value ON DUPLICATE KEY UPDATE proposed for column:
// VALUES(`c`), or `new`.`c` with the row alias new.
func (dialect) Proposed(column, rowAlias string) string {
	if rowAlias != "" {
		return quoteIdent(rowAlias) + "." + quoteIdent(column)
	}
	return "VALUES(" + quoteIdent(column) + ")"
}

// EncryptLiteral returns the value MySQL would store for lit in col
// (literalFor); the error says why that can't be exact, never the value.
func (dialect) EncryptLiteral(lit *model.Literal, col *schema.Column) (rewrite.Literal, error) {
	if lit.Err != nil {
		return rewrite.Literal{}, lit.Err
	}
	return literalFor(rewrite.Literal{Go: lit.Value, Text: lit.Text}, lit.Kind, col.Type)
}

// KeyLiteral returns lit as a context or primary key column given it reads
// back: TRUE is 1; a number with a fraction or an exponent reads back in
// the column's own spelling, and a hex or bit literal as a number or as
// bytes depending on the column, so neither is taken.
func (dialect) KeyLiteral(lit *model.Literal) (rewrite.Literal, bool) {
	if lit.Err != nil || lit.Kind == model.LitHex || lit.Kind == model.LitBits {
		return rewrite.Literal{}, false
	}
	l := rewrite.Literal{Go: lit.Value, Text: lit.Text}
	switch v := lit.Value.(type) {
	case bool:
		l.Go = boolInt(v)
	case int64, string:
	default:
		return rewrite.Literal{}, false
	}
	return l, true
}

// Near renders the tokens of sp for a refusal, every constant replaced by
// "…": a constant may be the plaintext of an encrypted column, and must not
// reach logs.
func (d dialect) Near(sp model.Span) string {
	s := d.s
	if !sp.Located() {
		return ""
	}
	i := s.tokAt(sp.Start)
	if i < 0 {
		return ""
	}
	j := i
	for j < len(s.toks) && s.toks[j].End <= sp.End {
		j++
	}
	return s.describe(i, j)
}
