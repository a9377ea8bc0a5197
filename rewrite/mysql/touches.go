package mysql

import (
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/schema"
)

// Touches reports whether any identifier token of sql (quoted or not) names
// something cfg.Touches reports: a declared table, an encrypted column or a
// key column. It is the conservative test of ARCHITECTURE.md §5, made on tokens so
// that a reference the analysis misses can't slip by. A double-quoted
// string counts when its text is such a name: a server running with
// ANSI_QUOTES reads it as an identifier.
func Touches(cfg *schema.Config, sql string, toks []Token) bool {
	var buf lexical.NameBuf
	for _, t := range toks {
		if touchesToken(cfg, sql, t, &buf) {
			return true
		}
	}
	return false
}

// touchesToken is Touches for one token. buf is scratch space so that the
// common case does not allocate.
func touchesToken(cfg *schema.Config, sql string, t Token, buf *lexical.NameBuf) bool {
	switch t.Kind {
	case Ident:
		text := sql[t.Start:t.End]
		if lexical.TouchesWord(cfg, text, buf) {
			return true
		}
		// "123abc" is one identifier to MySQL; a reader that splits off
		// the number would see "abc": check both.
		if isDigit(text[0]) {
			if rest := afterNumber(text); rest != "" && rest != text && lexical.TouchesWord(cfg, rest, buf) {
				return true
			}
		}
	case QuotedIdent:
		return cfg.Touches(lexical.Unquote(sql[t.Start:t.End]))
	case String:
		if t.Flags&FlagDouble != 0 {
			return cfg.Touches(lexical.Unquote(sql[t.Start:t.End]))
		}
	}
	return false
}

// afterNumber returns what follows a leading number in a word that starts
// with a digit: 0x.., 0b.., or digits with a fraction and exponent.
func afterNumber(w string) string {
	i := 0
	if len(w) > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') {
		i = 2
		for i < len(w) && isHexDigit(w[i]) {
			i++
		}
		return w[i:]
	}
	if len(w) > 2 && w[0] == '0' && (w[1] == 'b' || w[1] == 'B') {
		i = 2
		for i < len(w) && (w[i] == '0' || w[i] == '1') {
			i++
		}
		return w[i:]
	}
	for i < len(w) && isDigit(w[i]) {
		i++
	}
	if i+1 < len(w) && (w[i] == 'e' || w[i] == 'E') {
		j := i + 1
		if w[j] == '+' || w[j] == '-' {
			j++
		}
		if j < len(w) && isDigit(w[j]) {
			for j < len(w) && isDigit(w[j]) {
				j++
			}
			i = j
		}
	}
	return w[i:]
}

// identValue returns the name an Ident or QuotedIdent token stands for.
func identValue(sql string, t Token) string {
	if t.Kind == QuotedIdent {
		return lexical.Unquote(sql[t.Start:t.End])
	}
	return sql[t.Start:t.End]
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
