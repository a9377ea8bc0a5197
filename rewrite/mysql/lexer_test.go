package mysql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// render writes the tokens of sql as kind:text@start, skipping whitespace.
func render(sql string, toks []Token) string {
	var out []string
	for _, t := range toks {
		if t.Kind == Space {
			continue
		}
		s := fmt.Sprintf("%s:%s@%d", t.Kind, sql[t.Start:t.End], t.Start)
		if t.Flags&FlagExecutable != 0 {
			s += "!"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestLex(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"SELECT ?", "ident:SELECT@0 param:?@7"},
		{"`a``b`.`c`", "quoted-ident:`a``b`@0 op:.@6 quoted-ident:`c`@7"},
		{"a.b.*", "ident:a@0 op:.@1 ident:b@2 op:.@3 op:*@4"},
		// Strings: backslash escapes and doubled quotes.
		{`'it\'s' 'a''b' "d\"q" 'x\\'`, `string:'it\'s'@0 string:'a''b'@8 string:"d\"q"@15 string:'x\\'@22`},
		{"N'x' n'y' _utf8mb4'z'", "string:N'x'@0 string:n'y'@5 ident:_utf8mb4@10 string:'z'@18"},
		// Numbers, hex and bit literals, and identifiers that start with digits.
		{"1 1.5 .5 1. 1e5 1.5e-3 1e5x", "number:1@0 number:1.5@2 number:.5@6 number:1.@9 number:1e5@12 number:1.5e-3@16 number:1e5@23 ident:x@26"},
		{"0x1F X'4a' x'' 0b101 b'01' B'1'", "hex-string:0x1F@0 hex-string:X'4a'@5 hex-string:x''@11 bit-string:0b101@15 bit-string:b'01'@21 bit-string:B'1'@27"},
		{"0x1G 0x 0b12 0X1F 123abc 9e 9est", "ident:0x1G@0 ident:0x@5 ident:0b12@8 ident:0X1F@13 ident:123abc@18 ident:9e@25 ident:9est@28"},
		{"t.1e5 t . 1e5 `t`.1a", "ident:t@0 op:.@1 ident:1e5@2 ident:t@6 op:.@8 number:1e5@10 quoted-ident:`t`@14 op:.@17 ident:1a@18"},
		// Comments: # and "-- " to end of line, /* */ not nested.
		{"# users\nSELECT", "comment:# users@0 ident:SELECT@8"},
		{"a -- b\nc", "ident:a@0 comment:-- b@2 ident:c@7"},
		{"a--b", "ident:a@0 op:-@1 op:-@2 ident:b@3"},
		{"a --\tb", "ident:a@0 comment:--\tb@2"},
		{"a --", "ident:a@0 comment:--@2"},
		{"/* a /* b */ c", "comment:/* a /* b */@0 ident:c@13"},
		{"SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", "ident:SELECT@0 comment:/*+ MAX_EXECUTION_TIME(1) */@7 number:1@36"},
		// Executable comments: the delimiters are comments, the body code.
		{"SELECT /*! STRAIGHT_JOIN */ 1", "ident:SELECT@0 comment:/*!@7! ident:STRAIGHT_JOIN@11 comment:*/@25! number:1@28"},
		{"/*!40101 SET x='+00:00' */", "comment:/*!40101@0! ident:SET@9 ident:x@13 op:=@14 string:'+00:00'@15 comment:*/@24!"},
		{"/*M!100100 a*/", "comment:/*M!100100@0! ident:a@11 comment:*/@12!"},
		{"/*T![clustered_index] CLUSTERED */", "comment:/*T![clustered_index] CLUSTERED */@0"},
		// Placeholders, variables, operators.
		{"@a.b @'x y' @`z` @@global.sql_mode @ x ?", "variable:@a.b@0 variable:@'x y'@5 variable:@`z`@12 variable:@@global.sql_mode@17 op:@@35 ident:x@37 param:?@39"},
		{"a<=>b->>'$.c' :=!=<>", "ident:a@0 op:<=>@1 ident:b@4 op:->>@5 string:'$.c'@8 op::=@14 op:!=@16 op:<>@18"},
		{"(a,b);", "op:(@0 ident:a@1 op:,@2 ident:b@3 op:)@4 op:;@5"},
		{"é.ü", "ident:é@0 op:.@2 ident:ü@3"},
	} {
		toks, err := Lex(tc.sql)
		if err != nil {
			t.Errorf("Lex(%q): %v", tc.sql, err)
			continue
		}
		if got := render(tc.sql, toks); got != tc.want {
			t.Errorf("Lex(%q):\n got %s\nwant %s", tc.sql, got, tc.want)
		}
		if err := covers(tc.sql, toks); err != nil {
			t.Errorf("Lex(%q): %v", tc.sql, err)
		}
	}
}

// covers checks that toks cover sql exactly, in order.
func covers(sql string, toks []Token) error {
	at := 0
	for _, t := range toks {
		if t.Start != at || t.End <= t.Start || t.End > len(sql) {
			return fmt.Errorf("token %s [%d,%d) after offset %d", t.Kind, t.Start, t.End, at)
		}
		at = t.End
	}
	if at != len(sql) {
		return fmt.Errorf("tokens end at %d of %d", at, len(sql))
	}
	return nil
}

func TestLexErrors(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		offset int
		msg    string
	}{
		{"SELECT 'abc", 7, "unterminated quoted string"},
		{`SELECT "a\"`, 7, "unterminated quoted string"},
		{"SELECT `abc", 7, "unterminated quoted identifier"},
		{"SELECT X'4a", 7, "unterminated quoted string"},
		{"SELECT @'x", 8, "unterminated quoted string"},
		{"SELECT 1 /* x", 9, "unterminated /* comment"},
		{"SELECT /*! 'a*/' */ 1", 7, "can't tell where this executable comment ends"},
		{"SELECT /*! a # b */ 1", 7, "a comment inside an executable comment"},
		{"SELECT /*! a /*/ 1", 7, "can't tell where this executable comment ends"},
	} {
		_, err := Lex(tc.sql)
		var le *LexError
		if !errors.As(err, &le) {
			t.Errorf("Lex(%q) = %v, want a *LexError", tc.sql, err)
			continue
		}
		if le.Offset != tc.offset || !strings.Contains(le.Msg, tc.msg) {
			t.Errorf("Lex(%q) = %q at %d, want %q at %d", tc.sql, le.Msg, le.Offset, tc.msg, tc.offset)
		}
	}
}

// TestLexANSIQuotes: under ANSI_QUOTES "..." is an identifier, and its
// text is what Touches looks up.
func TestLexANSIQuotes(t *testing.T) {
	sql := `SELECT "a""b" FROM "users"`
	toks, err := lexMode(sql, modeANSIQuotes)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(sql, toks), `ident:SELECT@0 quoted-ident:"a""b"@7 ident:FROM@14 quoted-ident:"users"@19`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if !Touches(testConfig(t), sql, toks) {
		t.Error(`Touches misses "users" under ANSI_QUOTES`)
	}
}

func TestTouches(t *testing.T) {
	cfg := testConfig(t)
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SELECT a FROM plain", false},
		{"SELECT a FROM USERS", true},
		{"SELECT `Email` FROM plain", true},
		{"SELECT a FROM plain WHERE b = 'users' -- users", false},
		{"SELECT wrapped_key FROM plain", true},
		{"SELECT id FROM plain", false},
		{"SELECT 1email", true}, // a reader that splits "1" "email" sees email
		{"SELECT @email", false},
		{`SELECT "email"`, true},
	} {
		toks, err := Lex(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := Touches(cfg, tc.sql, toks); got != tc.want {
			t.Errorf("Touches(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

func TestSeveralStatements(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", false},
		{"SELECT 1;", false},
		{"SELECT 1; -- done\n;", false},
		{"SELECT ';'", false},
		{"SELECT 1; SELECT 2", true},
		{"SELECT 1;/**/SELECT 2", true},
	} {
		toks, err := Lex(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := severalStatements(toks, tc.sql); got != tc.want {
			t.Errorf("severalStatements(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

func TestDecodeLiteral(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want any
	}{
		{`'it\'s'`, "it's"},
		{`'a''b'`, "a'b"},
		{`"d\"q"`, `d"q`},
		{`"a""b"`, `a"b`},
		{`'\0\b\n\r\t\Z\\\x'`, "\x00\b\n\r\t\x1a\\x"},
		{`'\%\_'`, `\%\_`},
		{`'a' "b" 'c'`, "abc"},
		{`N'ü'`, "ü"},
		{`_binary'x'`, "x"},
		{"X'6869'", "hi"},
		{"0x6869", "hi"},
		{"0x169", "\x01\x69"},
		{"b'1000001'", "A"},
		{"0b1000001", "A"},
		{"42", int64(42)},
		{"- 42", int64(-42)},
		{"+4.5", 4.5},
		{"1e3", 1000.0},
		{"TRUE", true},
		{"false", false},
	} {
		all, err := Lex(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		var toks []Token
		for _, t := range all {
			if t.Significant() {
				toks = append(toks, t)
			}
		}
		lit, err := decodeLiteral(tc.sql, toks)
		if err != nil {
			t.Errorf("decodeLiteral(%s): %v", tc.sql, err)
			continue
		}
		if lit.Go != tc.want {
			t.Errorf("decodeLiteral(%s) = %#v, want %#v", tc.sql, lit.Go, tc.want)
		}
	}
	for _, bad := range []string{"X'123'", "99999999999999999999", "'\xff'", "a", "1 + 2"} {
		toks, _ := Lex(bad)
		var sig []Token
		for _, t := range toks {
			if t.Significant() {
				sig = append(sig, t)
			}
		}
		if _, err := decodeLiteral(bad, sig); err == nil {
			t.Errorf("decodeLiteral(%s) succeeded", bad)
		}
	}
}
