package mysql

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// seeds are the golden and refusal statements and a few lexer corner cases;
// go test runs them as the fuzz targets' corpus.
func seeds(f *testing.F) {
	for _, tc := range goldens {
		f.Add(tc.sql)
	}
	for _, tc := range refusals {
		f.Add(tc.sql)
	}
	for _, s := range []string{
		"SELECT 'a\\'b', \"c\"\"d\", `e``f` FROM t -- x\n# y\n/* z */",
		"SELECT 0x1G, 0b12, 1e5x, t.1e5, .5, @a.b, @@global.x, ? FROM t",
		"/*!40101 SET @x = '+00:00' */;",
		"INSERT INTO users (id, email) VALUES (?, ?) AS new ON DUPLICATE KEY UPDATE email = new.email RETURNING id",
		"SELECT 1; SELECT 2",
		// Found by the fuzzer: a parenthesised column is a no-op assignment.
		"INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE ssn = (ssn)",
	} {
		f.Add(s)
	}
}

// FuzzMySQLLexer checks that the lexer never panics, that its tokens cover
// the text, and that where the TiDB parser reads a statement it finds its
// placeholders exactly where the lexer does.
func FuzzMySQLLexer(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := Lex(sql)
		if err != nil {
			var le *LexError
			if !errors.As(err, &le) || le.Offset < 0 || le.Offset > len(sql) {
				t.Fatalf("Lex(%q): %v", sql, err)
			}
			return
		}
		if err := covers(sql, toks); err != nil {
			t.Fatalf("Lex(%q): %v", sql, err)
		}
		if !comparable(sql, toks) {
			return
		}
		s := &stmt{sql: sql}
		node, err := s.parse(sql)
		if err != nil {
			return
		}
		var pc paramCollector
		node.Accept(&pc)
		var mine []int
		for _, t := range toks {
			if t.Kind == Param {
				mine = append(mine, t.Start)
			}
		}
		sort.Ints(pc.offsets)
		if len(mine) != len(pc.offsets) {
			t.Fatalf("Lex(%q): placeholders at %v, the parser's at %v", sql, mine, pc.offsets)
		}
		for i := range mine {
			if mine[i] != pc.offsets[i] {
				t.Fatalf("Lex(%q): placeholders at %v, the parser's at %v", sql, mine, pc.offsets)
			}
		}
	})
}

// comparable reports whether the TiDB parser is meant to read sql as MySQL
// does: the lexer knows where they differ (executable and /*T! comments,
// "--" before a control character, 0X and 0x1G spellings, invalid UTF-8,
// bytes TiDB takes for whitespace), and the rewriter refuses or checks those.
func comparable(sql string, toks []Token) bool {
	for _, t := range toks {
		if t.Flags&(FlagExecutable|FlagTiDB) != 0 {
			return false
		}
		text := sql[t.Start:t.End]
		if t.Kind == Comment && strings.HasPrefix(text, "--") && len(text) > 2 && text[2] != ' ' && text[2] != '\t' && text[2] != '\n' && text[2] != '\r' && text[2] != '\f' && text[2] != '\v' {
			return false
		}
		if t.Kind == Ident && len(text) > 0 && isDigit(text[0]) {
			return false
		}
	}
	for i := 0; i < len(sql); i++ {
		if c := sql[i]; c >= 0x80 || c < ' ' && c != '\t' && c != '\n' && c != '\r' || c == '\\' {
			return false
		}
	}
	return true
}

// FuzzMySQLRewrite checks that Rewrite never panics, refuses only with
// rewrite.ErrUnsupported, and that every plan it returns keeps the
// invariants of verifyPlan: above all, no constant written into an
// encrypted column is left in the SQL sent.
func FuzzMySQLRewrite(f *testing.F) {
	seeds(f)
	cfg := testConfig(f)
	r := New(cfg)
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := r.Rewrite(sql)
		if err != nil {
			if !errors.Is(err, rewrite.ErrUnsupported) {
				t.Fatalf("Rewrite(%q): %v does not match ErrUnsupported", sql, err)
			}
			return
		}
		if err := verifyPlan(cfg, sql, p); err != nil {
			t.Fatalf("Rewrite(%q) = %s plan %q: %v", sql, p.Kind, p.SQL, err)
		}
	})
}
