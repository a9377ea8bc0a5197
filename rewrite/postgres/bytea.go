package postgres

import (
	"encoding/hex"
	"errors"

	"github.com/kmsenc/kmsenc/rewrite"
)

// byteaLiteral reads a string constant for a bytes column as PostgreSQL reads
// bytea input: the hex form '\x0102...' or the escape form, where '\\' is a
// backslash and '\ooo' an octal byte. Drivers that interpolate values, such
// as bun, write []byte this way; encrypting the text itself would store the
// wrong plaintext.
func byteaLiteral(lit rewrite.Literal) (rewrite.Literal, error) {
	s, ok := lit.Go.(string)
	if !ok {
		return lit, errors.New("a bytes column takes a string constant in bytea form")
	}
	if len(s) >= 2 && s[0] == '\\' && (s[1] == 'x' || s[1] == 'X') {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return lit, errors.New("malformed bytea hex constant")
		}
		lit.Go = b
		return lit, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			b = append(b, '\\')
			i++
		case i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3':
			b = append(b, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
		default:
			return lit, errors.New("malformed bytea escape constant")
		}
	}
	lit.Go = b
	return lit, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
