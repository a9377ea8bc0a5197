package mysql

import "strings"

// quoteIdent writes name as a MySQL identifier in backticks, which read
// back as name whatever the word and the SQL mode.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
