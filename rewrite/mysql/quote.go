package mysql

import "strings"

// quoteIdent writes name as a MySQL identifier in backticks, which read
// back as name whatever the word and the SQL mode.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// names writes the names kmsenc adds to a select list (rewrite.Names): in
// backticks, as the schema file spells them.
type names struct{}

func (names) WriteName(b *strings.Builder, name string) { b.WriteString(quoteIdent(name)) }
func (names) Schema(name string) string                 { return name }
