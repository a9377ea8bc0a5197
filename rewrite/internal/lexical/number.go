package lexical

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

var (
	errFloatRange = errors.New("number out of float64 range")
	errIntRange   = errors.New("integer out of int64 range")
)

// ParseNumber reads a numeric constant whose syntax a dialect's lexer has
// checked, written in base without prefix (a sign is allowed): an integer
// as int64, and in base 10 anything with a fraction or an exponent as
// float64. The error says why it fits neither.
func ParseNumber(text string, base int) (any, error) {
	if base == 10 && strings.ContainsAny(text, ".eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, errFloatRange
		}
		return f, nil
	}
	n, err := strconv.ParseInt(text, base, 64)
	if err != nil {
		return nil, errIntRange
	}
	return n, nil
}
