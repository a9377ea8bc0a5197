package mysql

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/schema"
)

// refusedToken returns the refusal of a statement whose token t names an
// object found over an encrypted table when the connector opened
// (schema.Config.Refused: a view, a table with a trigger writing into one,
// a routine), or nil. It reads identifiers, quoted or not, and
// double-quoted strings (an identifier under ANSI_QUOTES), wherever they
// stand. It costs nothing when nothing was found.
func refusedToken(cfg *schema.Config, sql string, t Token) error {
	if !cfg.HasRefused() {
		return nil
	}
	var name string
	switch {
	case t.Kind == Ident:
		name = sql[t.Start:t.End]
	case t.Kind == QuotedIdent, t.Kind == String && t.Flags&FlagDouble != 0:
		name = lexical.Unquote(sql[t.Start:t.End])
	default:
		return nil
	}
	why := cfg.Refused(name)
	if why == "" {
		// "1view" is one identifier to MySQL, "1" and "view" to a reader
		// that splits off the number: check both, as the touches test does.
		if t.Kind == Ident && isDigit(name[0]) {
			if rest := afterNumber(name); rest != "" {
				why = cfg.Refused(rest)
			}
		}
		if why == "" {
			return nil
		}
	}
	return rewrite.Refuse(strings.ToLower(name), "%s", why)
}
