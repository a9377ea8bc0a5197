package lexical

import "testing"

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`"Users"`:  "Users",
		`"a""b"`:   `a"b`,
		"`a``b`":   "a`b",
		"`a\"\"b`": `a""b`,
		`'it''s'`:  "it's",
	} {
		if got := Unquote(in); got != want {
			t.Errorf("Unquote(%s) = %q; want %q", in, got, want)
		}
	}
}
