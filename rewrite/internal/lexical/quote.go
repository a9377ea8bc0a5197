package lexical

import "strings"

// Unquote returns the name a quoted identifier token stands for ("..." in
// PostgreSQL, `...` or "..." in MySQL): the quotes removed, a doubled quote
// undoubled, case kept.
func Unquote(text string) string {
	if len(text) < 2 {
		return ""
	}
	inner := text[1 : len(text)-1]
	if strings.IndexByte(inner, text[0]) < 0 {
		// The common case, checked first: the statements of the fast
		// path are full of quoted names.
		return inner
	}
	q := text[:1]
	return strings.ReplaceAll(inner, q+q, q)
}
