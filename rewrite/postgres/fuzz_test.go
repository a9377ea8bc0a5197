package postgres

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/parser"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// allGolden returns the SQL of every golden case: the seed corpus of the
// fuzz targets, so that "go test" runs them.
func allGolden() []string {
	var sqls []string
	for _, cases := range [][]golden{passThroughCases, insertCases, upsertCases, selectCases, derivedCases, updateCases, deleteCases, refusalCases} {
		for _, g := range cases {
			sqls = append(sqls, g.sql)
		}
	}
	return sqls
}

// FuzzLexer: the lexer never panics, and its tokens cover the text in
// order, without gaps or overlaps (up to the error, if any).
func FuzzLexer(f *testing.F) {
	for _, s := range allGolden() {
		f.Add(s)
	}
	for _, s := range []string{"'a'\n'b'", "$a$ $b$ $a$", "/* /* */ */", "E'\\''", `U&"a"`, "1e+", "$1x", "--\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := Lex(sql)
		at := 0
		for _, tk := range toks {
			if tk.Start != at || tk.End <= tk.Start || tk.End > len(sql) {
				t.Fatalf("token %v at %d: tokens must cover %q in order", tk, at, sql)
			}
			at = tk.End
		}
		if err == nil && at != len(sql) {
			t.Fatalf("tokens end at %d of %d", at, len(sql))
		}
	})
}

// FuzzRewrite: Rewrite never panics, and a plan it returns keeps the rule
// above all: every constant written for an encrypted column became a
// parameter that is encrypted, no other constant changed, every
// placeholder of the new text has its parameter, and the text still parses.
func FuzzRewrite(f *testing.F) {
	for _, s := range allGolden() {
		f.Add(s)
	}
	r := New(testConfig())
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := r.Rewrite(sql)
		if err != nil {
			if !strings.Contains(err.Error(), "unsupported statement") {
				t.Fatalf("Rewrite(%q): an error that is not a refusal: %v", sql, err)
			}
			if strings.Contains(err.Error(), "internal error") {
				// Rewrite turns a panic into a refusal; for the fuzzer it
				// is a bug.
				t.Fatalf("Rewrite(%q) panicked: %v", sql, err)
			}
			return
		}
		if p.Kind == rewrite.PassThrough {
			if p.SQL != sql || p.Params != nil {
				t.Fatalf("pass-through of %q changed it: %q", sql, p.SQL)
			}
			return
		}
		checkPlan(t, sql, p)
	})
}

// checkPlan checks a rewritten plan against an oracle computed from the
// AST of the original statement alone.
func checkPlan(t *testing.T, sql string, p *rewrite.Plan) {
	t.Helper()
	stmts, err := parser.Parse(sql)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("%q was planned but does not parse: %v", sql, err)
	}
	if _, err := parser.Parse(p.SQL); err != nil {
		t.Fatalf("the rewritten text of %q does not parse: %q: %v", sql, p.SQL, err)
	}
	if p.Update != nil {
		for _, q := range []string{p.Update.Lookup, p.Update.SetKey} {
			if _, err := parser.Parse(q); err != nil {
				t.Fatalf("%q does not parse: %v", q, err)
			}
		}
	}

	// Constants: exactly the encrypted values are gone, nothing is new.
	want, wantParams := encryptedConstants(stmts[0].AST)
	before, after := constants(t, sql), constants(t, p.SQL)
	for _, c := range after {
		if !remove(&before, c) {
			t.Fatalf("the rewritten text of %q has a constant %s that was not in it: %q", sql, c, p.SQL)
		}
	}
	sort.Strings(before)
	sort.Strings(want)
	if strings.Join(before, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("%q: constants removed %q, want exactly the encrypted values %q\nrewritten: %q", sql, before, want, p.SQL)
	}
	var encLits []string
	for _, prm := range p.Params {
		if _, isBool := prm.Value.Literal.Go.(bool); prm.Encrypt != nil && !prm.Value.IsArg() && !isBool {
			encLits = append(encLits, constantValue(prm.Value.Literal.Go))
		}
	}
	sort.Strings(encLits)
	sort.Strings(wantParams)
	if strings.Join(encLits, "\x00") != strings.Join(wantParams, "\x00") {
		t.Fatalf("%q: encrypted literal params %q, want %q", sql, encLits, wantParams)
	}

	// Placeholders: $1..$len(Params), each used.
	used := make([]bool, len(p.Params)+1)
	toks, err := Lex(p.SQL)
	if err != nil {
		t.Fatalf("the rewritten text does not lex: %v", err)
	}
	for _, tk := range toks {
		if tk.Kind == Param {
			n := paramNumber(p.SQL, tk)
			if n > len(p.Params) {
				t.Fatalf("%q: $%d has no parameter (%d params)", p.SQL, n, len(p.Params))
			}
			used[n] = true
		}
	}
	for n := 1; n < len(used); n++ {
		if !used[n] {
			t.Fatalf("%q: parameter $%d is never used", p.SQL, n)
		}
	}
}

// constants returns the decoded string and number constants of sql.
func constants(t *testing.T, sql string) []string {
	toks, err := Lex(sql)
	if err != nil {
		t.Fatalf("Lex(%q): %v", sql, err)
	}
	var out []string
	for _, tk := range toks {
		switch tk.Kind {
		case String, BitString, Number:
			lit, err := decodeLiteral(sql, []Token{tk})
			if err != nil {
				out = append(out, tk.Text(sql))
				continue
			}
			out = append(out, constantValue(lit.Go))
		}
	}
	return out
}

var minus = regexp.MustCompile(`^-`)

func constantValue(v any) string {
	switch g := v.(type) {
	case int64:
		return minus.ReplaceAllString(strconv.FormatInt(g, 10), "")
	case float64:
		return minus.ReplaceAllString(strconv.FormatFloat(g, 'g', -1, 64), "")
	case []byte:
		return string(g)
	}
	return fmt.Sprint(v)
}

func remove(list *[]string, s string) bool {
	for i, x := range *list {
		if x == s {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// encryptedConstants is the oracle: from the AST alone, the string and
// number constants written as values of encrypted columns, as written and
// as the parameters that must carry them (bytes columns read their string
// constants as bytea input).
func encryptedConstants(ast tree.Statement) (out, params []string) {
	cfg := testConfig()
	add := func(e tree.Expr, col *schema.Column) {
		switch v := e.(type) {
		case *tree.StrVal:
			out = append(out, v.RawString())
			if col.Type != schema.Bytes {
				params = append(params, v.RawString())
			} else if lit, err := byteaLiteral(rewrite.Literal{Go: v.RawString()}); err == nil {
				params = append(params, constantValue(lit.Go))
			}
		case *tree.NumVal:
			lit, err := decodeNumber(v.OrigString())
			if err == nil {
				out = append(out, constantValue(lit))
				params = append(params, constantValue(lit))
			}
		}
	}
	switch n := ast.(type) {
	case *tree.Insert:
		t := targetTable(cfg, n.Table)
		vals, ok := n.Rows.Select.(*tree.ValuesClause)
		if t == nil || !ok {
			return nil, nil
		}
		for _, row := range vals.Rows {
			for j, e := range row {
				if j < len(n.Columns) && t.Column(string(n.Columns[j])) != nil {
					add(e, t.Column(string(n.Columns[j])))
				}
			}
		}
	case *tree.Update:
		t := targetTable(cfg, n.Table)
		if t == nil {
			return nil, nil
		}
		for _, ue := range n.Exprs {
			if !ue.Tuple && t.Column(string(ue.Names[0])) != nil {
				add(ue.Expr, t.Column(string(ue.Names[0])))
			}
		}
	}
	return out, params
}

func targetTable(cfg *schema.Config, te tree.TableExpr) *schema.Table {
	if a, ok := te.(*tree.AliasedTableExpr); ok {
		if tn, ok := a.Expr.(*tree.TableName); ok {
			return cfg.Table(string(tn.ObjectName))
		}
	}
	return nil
}
