package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestVariants rewrites variants of every golden and refusal statement —
// its placeholders replaced by constants (as bun writes them), comments
// between all its tokens, its words in upper case — and checks the plan
// invariants of each (verifyPlan): a statement whose placeholders became
// constants must still leave no constant in an encrypted column.
func TestVariants(t *testing.T) {
	cfg := testConfig(t)
	r := New(cfg)
	var sqls []string
	for _, tc := range goldens {
		sqls = append(sqls, tc.sql)
	}
	for _, tc := range refusals {
		sqls = append(sqls, tc.sql)
	}
	for _, sql := range sqls {
		toks, err := Lex(sql)
		if err != nil {
			continue
		}
		for _, v := range variants(sql, toks) {
			p, err := r.Rewrite(v)
			if err != nil {
				if !errors.Is(err, rewrite.ErrUnsupported) {
					t.Errorf("Rewrite(%q): %v", v, err)
				}
				if strings.Contains(err.Error(), "CANARY") {
					t.Errorf("Rewrite(%q): %v repeats a constant", v, err)
				}
				continue
			}
			if err := verifyPlan(cfg, v, p); err != nil {
				t.Errorf("Rewrite(%q) = %q: %v", v, p.SQL, err)
			}
		}
	}
}

func variants(sql string, toks []Token) []string {
	var consts, numbers, comments, upper strings.Builder
	for i, t := range toks {
		text := sql[t.Start:t.End]
		switch t.Kind {
		case Param:
			consts.WriteString("'CANARY\\'s'")
			numbers.WriteString("-424242")
		default:
			consts.WriteString(text)
			numbers.WriteString(text)
		}
		if t.Significant() && i > 0 {
			comments.WriteString("/* c */")
		}
		comments.WriteString(text)
		if t.Kind == Ident {
			text = strings.ToUpper(text)
		}
		upper.WriteString(text)
	}
	return []string{consts.String(), numbers.String(), comments.String(), upper.String()}
}
