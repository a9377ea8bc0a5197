package mysql

import "strings"

// quoteIdent writes name as a MySQL identifier in backticks, which read
// back as name whatever the word and the SQL mode.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// colRef writes column name of r as kmsenc adds it to a statement:
// "ref.`name`", or just "`name`" in a RETURNING list.
func (r *relation) colRef(name string) string {
	if r.bare {
		return quoteIdent(name)
	}
	return r.ref + "." + quoteIdent(name)
}

// starRef writes "ref.*", or "*" in a RETURNING list.
func (r *relation) starRef() string {
	if r.bare {
		return "*"
	}
	return r.ref + ".*"
}
