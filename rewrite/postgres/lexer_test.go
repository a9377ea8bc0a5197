package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// tok renders a token as kind:text for comparisons.
func tok(sql string, t Token) string { return fmt.Sprintf("%s:%s", t.Kind, t.Text(sql)) }

// significant lexes sql and renders its significant tokens.
func significant(t *testing.T, sql string) []string {
	t.Helper()
	toks, err := Lex(sql)
	if err != nil {
		t.Fatalf("Lex(%q): %v", sql, err)
	}
	var out []string
	for _, tk := range toks {
		if tk.Significant() {
			out = append(out, tok(sql, tk))
		}
	}
	return out
}

func TestLexTokens(t *testing.T) {
	tests := []struct {
		sql  string
		want []string
	}{
		{`SELECT a.b, "X""y" FROM t`, []string{"ident:SELECT", "ident:a", "op:.", "ident:b", "op:,", `quoted-ident:"X""y"`, "ident:FROM", "ident:t"}},
		// Strings: '' escapes; E'' backslash escapes, including \'; N''; U&''.
		{`'it''s' E'a\'b\\' N'n' U&'\0041'`, []string{`string:'it''s'`, `string:E'a\'b\\'`, `string:N'n'`, `string:U&'\0041'`}},
		// A backslash ends nothing in a standard string.
		{`'a\' email`, []string{`string:'a\'`, "ident:email"}},
		// Continuation: segments separated by a newline are one literal.
		{"'a'\n  'b' -- c\n'c' 'd'", []string{"string:'a'\n  'b' -- c\n'c'", "string:'d'"}},
		{"'a' 'b'", []string{"string:'a'", "string:'b'"}},
		// Dollar quotes, with and without tags; $n is a parameter.
		{`$$ it's -- $$ $tag$ $$ email $tag$ $1 $23`, []string{"string:$$ it's -- $$", "string:$tag$ $$ email $tag$", "param:$1", "param:$23"}},
		{`$a$x$b$y$a$`, []string{"string:$a$x$b$y$a$"}},
		// An identifier may hold $: not a dollar quote.
		{`a$b$ c`, []string{"ident:a$b$", "ident:c"}},
		// Bit strings; '' ends them.
		{`B'0101' X'1F' b'1'`, []string{"bit-string:B'0101'", "bit-string:X'1F'", "bit-string:b'1'"}},
		// Numbers.
		{`1 1.5 .5 1. 1e10 1.5E-3 0x1F 0o17 0b101 1_000`, []string{"number:1", "number:1.5", "number:.5", "number:1.", "number:1e10", "number:1.5E-3", "number:0x1F", "number:0o17", "number:0b101", "number:1_000"}},
		{`1..2`, []string{"number:1", "op:..", "number:2"}},
		// Operators: longest run, cut at comments, no trailing + or -.
		{`a::int<>b<=c=-1||d->>'k'@>e`, []string{"ident:a", "op:::", "ident:int", "op:<>", "ident:b", "op:<=", "ident:c", "op:=", "op:-", "number:1", "op:||", "ident:d", "op:->>", "string:'k'", "op:@>", "ident:e"}},
		{`a+/*c*/b a--c` + "\nb", []string{"ident:a", "op:+", "ident:b", "ident:a", "ident:b"}},
		// '-' may end an operator that holds one of ~ ! @ # ^ & | ` ? %.
		{`a @- b ~- c`, []string{"ident:a", "op:@-", "ident:b", "op:~-", "ident:c"}},
		{`x := 1 =>`, []string{"ident:x", "op::=", "number:1", "op:=>"}},
		// Nested comments hide everything inside.
		{`/* a /* email */ ssn */ x`, []string{"ident:x"}},
		// -- comments end at \r as well as \n.
		{"-- email\rx", []string{"ident:x"}},
		// Punctuation and lone characters.
		{`f(a[1]);$ \`, []string{"ident:f", "op:(", "ident:a", "op:[", "number:1", "op:]", "op:)", "op:;", "op:$", `op:\`}},
		// High-bit bytes are identifier characters.
		{`SELECT émail`, []string{"ident:SELECT", "ident:émail"}},
		{`U&"e\0041" u&x`, []string{`quoted-ident:U&"e\0041"`, "ident:u", "op:&", "ident:x"}},
	}
	for _, tt := range tests {
		got := significant(t, tt.sql)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Lex(%q)\n got %q\nwant %q", tt.sql, got, tt.want)
		}
	}
}

func TestLexOffsets(t *testing.T) {
	sql := "SELECT  $1 /*c*/ -- d\n"
	toks, err := Lex(sql)
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{
		{Kind: Ident, Start: 0, End: 6},
		{Kind: Space, Start: 6, End: 8},
		{Kind: Param, Start: 8, End: 10},
		{Kind: Space, Start: 10, End: 11},
		{Kind: Comment, Start: 11, End: 16},
		{Kind: Space, Start: 16, End: 17},
		{Kind: Comment, Start: 17, End: 21},
		{Kind: Space, Start: 21, End: 22},
	}
	if fmt.Sprint(toks) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", toks, want)
	}
}

func TestLexErrors(t *testing.T) {
	for _, sql := range []string{
		`SELECT 'abc`,
		`SELECT E'abc\'`,
		`SELECT "abc`,
		`SELECT ""`,
		`SELECT /* a /* b */`,
		`SELECT $tag$ abc $ta$`,
		`SELECT 123abc`,
		`SELECT 1e`,
		`SELECT 0x`,
		`SELECT $1abc`,
		`SELECT $99999999999`,
		`SELECT B'01`,
	} {
		_, err := Lex(sql)
		var le *LexError
		if !errors.As(err, &le) {
			t.Errorf("Lex(%q) = %v, want a *LexError", sql, err)
		}
	}
}

func TestTouches(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		sql  string
		want bool
	}{
		{`SELECT 1`, false},
		{`SELECT * FROM Users`, true},
		{`SELECT "EMAIL" FROM t`, true},
		{`SELECT encrypted_kms_key FROM t`, true},
		{`SELECT 'users', $$email$$, E'ssn' -- email`, false},
		{`SELECT /* users */ 1`, false},
		{`SELECT id FROM orders`, false},
		{`SELECT U&"\0075sers"`, true}, // not read: counts as touching
		{`SELECT ` + strings.Repeat("x", 70), false},
	}
	for _, tt := range tests {
		toks, err := Lex(tt.sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := Touches(cfg, tt.sql, toks); got != tt.want {
			t.Errorf("Touches(%q) = %v, want %v", tt.sql, got, tt.want)
		}
	}
}

func TestSeveralStatements(t *testing.T) {
	for sql, want := range map[string]bool{
		`SELECT 1`:                 false,
		`SELECT 1;`:                false,
		`SELECT 1; -- done` + "\n": false,
		`SELECT 1;;`:               false,
		`SELECT 1; SELECT 2`:       true,
		`SELECT ';'`:               false,
	} {
		toks, err := Lex(sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := severalStatements(toks, sql); got != want {
			t.Errorf("severalStatements(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestDecodeLiteral(t *testing.T) {
	tests := []struct {
		sql  string
		want any
	}{
		{`'a''b'`, "a'b"},
		{`E'a\nb\t\'\\\x41\101\u00e9'`, "a\nb\t'\\AAé"},
		{`E'\U0001F600\uD83D\uDE00'`, "😀😀"},
		{"'a'\n'b' -- c\n 'c'", "abc"},
		{`N'x'`, "x"},
		{`$$it's$$`, "it's"},
		{`$q$a$$b$q$`, "a$$b"},
		{`42`, int64(42)},
		{`- 42`, int64(-42)},
		{`1_000`, int64(1000)},
		{`0x1F`, int64(31)},
		{`1.5`, 1.5},
		{`1e3`, 1000.0},
		{`TRUE`, true},
		{`false`, false},
	}
	for _, tt := range tests {
		toks := lexSignificant(t, tt.sql)
		lit, err := decodeLiteral(tt.sql, toks)
		if err != nil {
			t.Errorf("decodeLiteral(%q): %v", tt.sql, err)
			continue
		}
		if lit.Go != tt.want {
			t.Errorf("decodeLiteral(%q) = %#v, want %#v", tt.sql, lit.Go, tt.want)
		}
		if lit.Text != tt.sql {
			t.Errorf("decodeLiteral(%q).Text = %q", tt.sql, lit.Text)
		}
	}
	for _, sql := range []string{`B'01'`, `U&'x'`, `E'\v'`, `E'\u00'`, `E'\xff'`, `99999999999999999999`, `x`} {
		if _, err := decodeLiteral(sql, lexSignificant(t, sql)); err == nil {
			t.Errorf("decodeLiteral(%q) succeeded, want an error", sql)
		}
	}
}

func lexSignificant(t *testing.T, sql string) []Token {
	t.Helper()
	all, err := Lex(sql)
	if err != nil {
		t.Fatal(err)
	}
	var toks []Token
	for _, tk := range all {
		if tk.Significant() {
			toks = append(toks, tk)
		}
	}
	return toks
}
