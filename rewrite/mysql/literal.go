package mysql

import (
	"strings"
	"unicode/utf8"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/schema"
)

// errLiteral says why a literal can't become a parameter; the caller turns
// it into a refusal that names the place, never the value.
type errLiteral struct{ why string }

func (e *errLiteral) Error() string { return e.why }

// decodeLiteral decodes the constant written as toks: a number with an
// optional sign; TRUE or FALSE; one or more adjacent quoted strings (which
// MySQL concatenates), with an optional character set introducer
// (_utf8mb4'...', _binary'...') or N prefix; a hex or bit literal.
func decodeLiteral(sql string, toks []Token) (rewrite.Literal, error) {
	if len(toks) == 0 {
		return rewrite.Literal{}, &errLiteral{"not a constant"}
	}
	text := sql[toks[0].Start:toks[len(toks)-1].End]
	first := toks[0]
	switch {
	case first.Kind == Op && len(toks) == 2 && toks[1].Kind == Number:
		sign := sql[first.Start:first.End]
		if sign != "-" && sign != "+" {
			break
		}
		v, err := decodeNumber(sign + sql[toks[1].Start:toks[1].End])
		return rewrite.Literal{Go: v, Text: text}, err
	case len(toks) == 1 && first.Kind == Number:
		v, err := decodeNumber(text)
		return rewrite.Literal{Go: v, Text: text}, err
	case len(toks) == 1 && first.Kind == Ident:
		switch strings.ToLower(text) {
		case "true":
			return rewrite.Literal{Go: true, Text: text}, nil
		case "false":
			return rewrite.Literal{Go: false, Text: text}, nil
		}
	case len(toks) == 1 && first.Kind == HexString:
		v, err := decodeHex(text)
		return rewrite.Literal{Go: v, Text: text}, err
	case len(toks) == 1 && first.Kind == BitString:
		v, err := decodeBits(text)
		return rewrite.Literal{Go: v, Text: text}, err
	case first.Kind == String || first.Kind == Ident && len(toks) > 1 && strings.HasPrefix(sql[first.Start:first.End], "_"):
		binary, utf8mb3 := false, first.Flags&FlagNational != 0
		strs := toks
		if first.Kind == Ident {
			// kmsenc encrypts the statement's UTF-8 text: a string the
			// server reads in another character set would be stored as
			// other characters (ARCHITECTURE.md §5, "Settings that change
			// how text reads").
			switch cs := strings.ToLower(sql[first.Start:first.End]); cs {
			case "_binary":
				binary = true
			case "_utf8mb4":
			case "_utf8", "_utf8mb3":
				utf8mb3 = true
			default:
				return rewrite.Literal{}, &errLiteral{"a string in the character set " + cs[1:] + " is stored as other characters than its UTF-8 text, which kmsenc would encrypt (write it without the introducer)"}
			}
			strs = toks[1:]
		}
		var b strings.Builder
		for _, t := range strs {
			if t.Kind != String {
				return rewrite.Literal{}, &errLiteral{"not a constant"}
			}
			decodeString(sql[t.Start:t.End], &b)
		}
		s := b.String()
		if !binary && !utf8.ValidString(s) {
			return rewrite.Literal{}, &errLiteral{"the string is not valid UTF-8"}
		}
		if utf8mb3 && strings.IndexFunc(s, func(r rune) bool { return r > 0xFFFF }) >= 0 {
			return rewrite.Literal{}, &errLiteral{"a utf8mb3 string (N'...', _utf8'...') can't hold characters beyond U+FFFF, which the server would refuse or replace (write it without the prefix, or with _utf8mb4)"}
		}
		return rewrite.Literal{Go: s, Text: text}, nil
	}
	return rewrite.Literal{}, &errLiteral{"not a constant"}
}

// decodeNumber reads an integer as int64 and anything with a fraction or an
// exponent as float64.
func decodeNumber(text string) (any, error) {
	return lexical.ParseNumber(text, 10)
}

// decodeString appends the value of a '...' or "..." token (with an optional
// N prefix) to b: MySQL's backslash escapes decoded, doubled quotes undone.
func decodeString(text string, b *strings.Builder) {
	q := strings.IndexAny(text, `'"`)
	quote := text[q]
	inner := text[q+1 : len(text)-1]
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == quote:
			// The lexer only lets a quote in doubled.
			b.WriteByte(c)
			i++
		case c == '\\' && i+1 < len(inner):
			i++
			switch e := inner[i]; e {
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'Z':
				b.WriteByte(0x1a)
			case '%', '_':
				// Kept with their backslash, for LIKE patterns.
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
}

// decodeHex returns the bytes of X'...' or 0x... as a string (MySQL's hex
// literals are binary strings).
func decodeHex(text string) (string, error) {
	var digits string
	if text[0] == '0' {
		digits = text[2:]
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
	} else {
		digits = text[2 : len(text)-1]
		if len(digits)%2 == 1 {
			return "", &errLiteral{"a hex literal needs an even number of digits"}
		}
	}
	b := make([]byte, len(digits)/2)
	for i := range b {
		hi, lo := hexValue(digits[2*i]), hexValue(digits[2*i+1])
		if hi < 0 || lo < 0 {
			return "", &errLiteral{"not a hex digit"}
		}
		b[i] = byte(hi<<4 | lo)
	}
	return string(b), nil
}

// decodeBits returns the bytes of B'...' or 0b... as a string, padded on the
// left to whole bytes as MySQL does.
func decodeBits(text string) (string, error) {
	var bits string
	if text[0] == '0' {
		bits = text[2:]
	} else {
		bits = text[2 : len(text)-1]
	}
	if pad := len(bits) % 8; pad != 0 {
		bits = strings.Repeat("0", 8-pad) + bits
	}
	b := make([]byte, len(bits)/8)
	for i := range bits {
		switch bits[i] {
		case '1':
			b[i/8] |= 0x80 >> (i % 8)
		case '0':
		default:
			return "", &errLiteral{"not a bit"}
		}
	}
	return string(b), nil
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// literalFor converts a constant to the value MySQL would store for it in a
// column whose plaintext type is t, or refuses where MySQL's conversion is
// not the codec's: TRUE is the number 1; a hex or bit literal is a number
// in a numeric column and bytes elsewhere; a number with a fraction or an
// exponent keeps MySQL's own spelling in a text column, so it is only
// taken for a float column.
func literalFor(lit rewrite.Literal, kind model.LitKind, t schema.Type) (rewrite.Literal, error) {
	switch v := lit.Go.(type) {
	case bool:
		if t != schema.Bool {
			lit.Go = boolInt(v)
		}
	case float64:
		if t != schema.Float {
			return lit, &errLiteral{"a number with a fraction or an exponent is only taken for a float column; write it as a quoted string"}
		}
	case string:
		if kind != model.LitHex && kind != model.LitBits {
			break
		}
		switch t {
		case schema.Text, schema.Bytes, schema.JSON:
		case schema.Int, schema.Float:
			if len(v) > 8 {
				return lit, &errLiteral{"a hex or bit literal longer than 8 bytes is not a number"}
			}
			var n uint64
			for i := 0; i < len(v); i++ {
				n = n<<8 | uint64(v[i])
			}
			if n > 1<<63-1 {
				return lit, &errLiteral{"a hex or bit literal out of int64 range"}
			}
			lit.Go = int64(n)
			if t == schema.Float {
				lit.Go = float64(n)
			}
		default:
			return lit, &errLiteral{"a hex or bit literal can't be a " + string(t) + " value"}
		}
	}
	return lit, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
