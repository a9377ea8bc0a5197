package schema

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// expandEnv replaces each ${NAME} in s with the value of the environment
// variable NAME, so that a development key or a token never has to sit in the
// file. An unset variable is an error rather than "": an empty key URL or
// context value would fail later, far from its cause. Only the braced form is
// expanded; "$id" stays as it is (it names a column in a context value).
//
// Error messages name the variable but never echo s or a variable's value:
// s may be a key URL that holds a key.
func expandEnv(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:start])
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return "", errors.New(`"${" without a closing "}"; write ${NAME} to use the environment variable NAME`)
		}
		name := s[start+2 : start+end]
		if !isEnvName(name) {
			// The text isn't echoed: in a key URL it may be part of a key.
			return "", errors.New("a ${...} reference here is not a variable name; want ${NAME} with NAME made of letters, digits and _")
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set; set it, or write the value here instead of ${%s}", name, name)
		}
		b.WriteString(v)
		s = s[start+end+1:]
	}
}

// isEnvName reports whether name is a portable environment variable name.
func isEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
