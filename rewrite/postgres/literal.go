package postgres

import (
	"strings"
	"unicode/utf8"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
)

// errLiteral says why a literal can't become a parameter; the caller turns
// it into a refusal that names the value.
type errLiteral struct{ why string }

func (e *errLiteral) Error() string { return e.why }

// decodeLiteral decodes the constant written as toks (one token, or a sign
// and a number): a quoted string, a number, TRUE or FALSE.
func decodeLiteral(sql string, toks []Token) (rewrite.Literal, error) {
	text := sql[toks[0].Start:toks[len(toks)-1].End]
	switch {
	case len(toks) == 2 && toks[0].Kind == Op && toks[1].Kind == Number &&
		(sql[toks[0].Start:toks[0].End] == "-" || sql[toks[0].Start:toks[0].End] == "+"):
		v, err := decodeNumber(sql[toks[0].Start:toks[0].End] + sql[toks[1].Start:toks[1].End])
		return rewrite.Literal{Go: v, Text: text}, err
	case len(toks) != 1:
		return rewrite.Literal{}, &errLiteral{"not a single constant"}
	}
	t := toks[0]
	switch t.Kind {
	case Number:
		v, err := decodeNumber(text)
		return rewrite.Literal{Go: v, Text: text}, err
	case String:
		v, err := decodeString(text, t.Flags)
		return rewrite.Literal{Go: v, Text: text}, err
	case Ident:
		switch strings.ToLower(text) {
		case "true":
			return rewrite.Literal{Go: true, Text: text}, nil
		case "false":
			return rewrite.Literal{Go: false, Text: text}, nil
		}
	case BitString:
		return rewrite.Literal{}, &errLiteral{"a bit string constant can't be encrypted"}
	}
	return rewrite.Literal{}, &errLiteral{"not a constant"}
}

// decodeNumber reads an integer as int64 and anything with a fraction or an
// exponent as float64.
func decodeNumber(text string) (any, error) {
	clean := strings.ReplaceAll(text, "_", "")
	sign := ""
	if clean != "" && (clean[0] == '-' || clean[0] == '+') {
		sign, clean = clean[:1], clean[1:]
	}
	base := 10
	if len(clean) > 2 && clean[0] == '0' {
		switch clean[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			clean = clean[2:]
		}
	}
	return lexical.ParseNumber(sign+clean, base)
}

// decodeString returns the value of a String token: quotes removed,
// escapes decoded, continued segments ('a'<newline>'b') joined.
func decodeString(text string, flags uint8) (string, error) {
	if flags&FlagUnicode != 0 {
		return "", &errLiteral{"U&'...' strings are not supported"}
	}
	if flags&FlagDollar != 0 {
		open := strings.IndexByte(text[1:], '$') + 2
		return text[open : len(text)-open], nil
	}
	i := strings.IndexByte(text, '\'') // skip an E or N prefix
	var b strings.Builder
	escape := flags&FlagEscape != 0
	for i < len(text) {
		// text[i] is an opening quote.
		i++
		for {
			c := text[i]
			if c == '\'' {
				if i+1 < len(text) && text[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			if c == '\\' && escape {
				n, err := unescape(text, i, &b)
				if err != nil {
					return "", err
				}
				i = n
				continue
			}
			b.WriteByte(c)
			i++
		}
		// Skip the whitespace and comments up to a continued segment.
		for i < len(text) && text[i] != '\'' {
			if text[i] == '-' && i+1 < len(text) && text[i+1] == '-' {
				i = lineCommentEnd(text, i)
				continue
			}
			i++
		}
	}
	s := b.String()
	if !utf8.ValidString(s) {
		return "", &errLiteral{"the string is not valid UTF-8"}
	}
	return s, nil
}

// unescape decodes the backslash escape of an E'...' string at text[i] into
// b and returns the index after it.
func unescape(text string, i int, b *strings.Builder) (int, error) {
	c := text[i+1]
	switch {
	case c >= '0' && c <= '7':
		j, v := i+1, 0
		for j < len(text) && j < i+4 && text[j] >= '0' && text[j] <= '7' {
			v = v*8 + int(text[j]-'0')
			j++
		}
		b.WriteByte(byte(v))
		return j, nil
	case c == 'x' && i+2 < len(text) && isHexDigit(text[i+2]):
		j, v := i+2, 0
		for j < len(text) && j < i+4 && isHexDigit(text[j]) {
			v = v*16 + hexValue(text[j])
			j++
		}
		b.WriteByte(byte(v))
		return j, nil
	case c == 'u' || c == 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		r, ok := hexRune(text, i+2, n)
		if !ok {
			return 0, &errLiteral{"invalid Unicode escape"}
		}
		j := i + 2 + n
		if r >= 0xD800 && r <= 0xDBFF {
			// A UTF-16 surrogate pair: \uD83D\uDE00.
			if j+1 < len(text) && text[j] == '\\' && (text[j+1] == 'u' || text[j+1] == 'U') {
				m := 4
				if text[j+1] == 'U' {
					m = 8
				}
				lo, ok := hexRune(text, j+2, m)
				if ok && lo >= 0xDC00 && lo <= 0xDFFF {
					b.WriteRune(0x10000 + (r-0xD800)<<10 + (lo - 0xDC00))
					return j + 2 + m, nil
				}
			}
			return 0, &errLiteral{"invalid Unicode surrogate pair"}
		}
		if r == 0 || r >= 0xDC00 && r <= 0xDFFF || r > utf8.MaxRune {
			return 0, &errLiteral{"invalid Unicode escape value"}
		}
		b.WriteRune(r)
		return j, nil
	case c == 'v':
		// PostgreSQL versions disagree on \v; a parameter is unambiguous.
		return 0, &errLiteral{`the escape \v means different things to different PostgreSQL versions`}
	}
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	default:
		b.WriteByte(c)
	}
	return i + 2, nil
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// hexRune reads exactly n hex digits at text[i:].
func hexRune(text string, i, n int) (rune, bool) {
	if i+n > len(text) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(text[i : i+n]) {
		if !isHexDigit(c) {
			return 0, false
		}
		r = r*16 + rune(hexValue(c))
	}
	return r, true
}
