package postgres

import (
	"strconv"

	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/schema"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1: longer identifiers are
// truncated to this many bytes.
const maxIdentLen = 63

// Touches reports whether any identifier token of sql (quoted or not) names
// something cfg.Touches reports: a declared table, an encrypted column or a
// key column. It is the conservative test of ARCHITECTURE.md §5, made on tokens so
// that a reference the analysis misses can't slip by. A U&"..." identifier
// counts as touching: its name is not read here.
func Touches(cfg *schema.Config, sql string, toks []Token) bool {
	var buf lexical.NameBuf
	for _, t := range toks {
		if touchesIdent(cfg, sql, t, &buf) {
			return true
		}
	}
	return false
}

// touchesIdent is Touches for one token. buf is scratch space so that the
// common case does not allocate.
func touchesIdent(cfg *schema.Config, sql string, t Token, buf *lexical.NameBuf) bool {
	switch t.Kind {
	case Ident:
		text := sql[t.Start:t.End]
		// PostgreSQL truncates a longer name; check both spellings.
		return lexical.TouchesWord(cfg, text, buf) ||
			len(text) > maxIdentLen && lexical.TouchesWord(cfg, text[:maxIdentLen], buf)
	case QuotedIdent:
		if t.Flags&FlagUnicode != 0 {
			return true
		}
		v := lexical.Unquote(sql[t.Start:t.End])
		if len(v) > maxIdentLen && cfg.Touches(v[:maxIdentLen]) {
			return true
		}
		return cfg.Touches(v)
	}
	return false
}

// foldIdent folds an unquoted identifier the way PostgreSQL does with a
// multi-byte server encoding: ASCII letters only.
func foldIdent(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// identValue returns the name an Ident or QuotedIdent token stands for.
func identValue(sql string, t Token) string {
	if t.Kind == QuotedIdent {
		return lexical.Unquote(sql[t.Start:t.End])
	}
	return foldIdent(sql[t.Start:t.End])
}

// paramNumber returns n of a $n token.
func paramNumber(sql string, t Token) int {
	n, _ := strconv.Atoi(sql[t.Start+1 : t.End])
	return n
}

// severalStatements reports whether a ';' is followed by anything but
// whitespace, comments and more ';'.
func severalStatements(toks []Token, sql string) bool {
	semi := false
	for _, t := range toks {
		if !t.Significant() {
			continue
		}
		if t.Kind == Op && sql[t.Start] == ';' {
			semi = true
			continue
		}
		if semi {
			return true
		}
	}
	return false
}
