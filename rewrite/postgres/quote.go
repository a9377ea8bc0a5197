package postgres

import "strings"

// reservedWords are PostgreSQL's reserved keywords and the type/function
// name keywords: a column named like one must be double-quoted.
var reservedWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		all analyse analyze and any array as asc asymmetric both case cast check
		collate column constraint create current_catalog current_date current_role
		current_time current_timestamp current_user default deferrable desc distinct
		do else end except false fetch for foreign from grant group having in
		initially intersect into lateral leading limit localtime localtimestamp not
		null offset on only or order placing primary references returning select
		session_user some symmetric system_user table then to trailing true union
		unique user using variadic when where window with
		authorization binary collation concurrently cross current_schema freeze full
		ilike inner is isnull join left like natural notnull outer overlaps right
		similar tablesample verbose`) {
		reservedWords[w] = true
	}
}

// schemaName is how a name of the schema file is written in SQL: lower case,
// as PostgreSQL folds the unquoted names tables are usually created with.
func schemaName(name string) string { return strings.ToLower(name) }

// quoteIfNeeded writes name so that PostgreSQL reads it back as name: bare
// when it is a plain lower-case identifier and not a reserved word,
// double-quoted otherwise.
func quoteIfNeeded(name string) string {
	if plainIdent(name) && !reservedWords[name] {
		return name
	}
	return quoteIdent(name)
}

// quoteIdent always double-quotes name.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func plainIdent(name string) bool {
	if name == "" || len(name) > maxIdentLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '$'):
		default:
			return false
		}
	}
	return true
}
