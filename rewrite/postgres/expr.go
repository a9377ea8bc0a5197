package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree/treecmp"

	"github.com/kmsenc/kmsenc/rewrite"
)

// exprRules say where an expression is, which decides what it may do with
// declared columns. Anywhere, the database sees only ciphertext, so an
// encrypted column may not be computed on; the exceptions are the tests
// that don't look at the value: IS [NOT] NULL and count(col).
type exprRules struct {
	what   string // the clause, for messages: "WHERE", "ORDER BY", "a join condition", ...
	where  bool   // a WHERE clause: the key column may be matched with LIKE (rotation tools)
	strict bool   // no mention of declared columns at all, not even IS NULL
}

// checkExpr refuses e if it computes on declared data, and analyses its
// subqueries.
func (s *stmt) checkExpr(sc *rewrite.Scope, e tree.Expr, rules exprRules) error {
	if e == nil {
		return nil
	}
	c := &checker{s: s, sc: sc, rules: rules}
	tree.WalkExprConst(c, e)
	return c.err
}

func (s *stmt) checkExprs(sc *rewrite.Scope, es []tree.Expr, rules exprRules) error {
	for _, e := range es {
		if err := s.checkExpr(sc, e, rules); err != nil {
			return err
		}
	}
	return nil
}

// checker is the tree.Visitor of checkExpr.
type checker struct {
	s     *stmt
	sc    *rewrite.Scope
	rules exprRules
	err   error
}

func (c *checker) VisitPost(e tree.Expr) tree.Expr { return e }

func (c *checker) VisitPre(e tree.Expr) (bool, tree.Expr) {
	if c.err != nil {
		return false, e
	}
	switch n := e.(type) {
	case *tree.UnresolvedName:
		c.err = c.name(n)
		return false, e
	case *tree.AllColumnsSelector:
		c.err = c.star(n.TableName.Parts[:n.TableName.NumParts], n.String())
		return false, e
	case *tree.Subquery:
		mode := modeCheck
		if n.Exists {
			mode = modeExists
		}
		_, c.err = c.s.analyzeStatement(n.Select, c.sc, mode)
		return false, e
	case *tree.IsNullExpr:
		return c.nullTest(n.Expr), e
	case *tree.IsNotNullExpr:
		return c.nullTest(n.Expr), e
	case *tree.FuncExpr:
		return c.funcExpr(n)
	case *tree.ComparisonExpr:
		return c.comparison(n)
	}
	return true, e
}

// name checks a column reference inside an expression.
func (c *checker) name(n *tree.UnresolvedName) error {
	if n.Star {
		parts := make([]string, 0, n.NumParts-1)
		for i := 1; i < n.NumParts; i++ {
			parts = append(parts, n.Parts[i])
		}
		return c.star(parts, n.String())
	}
	rf, err := resolve(c.sc, n)
	if err != nil {
		return err
	}
	return c.refuseRef(rf, n.String())
}

// refuseRef refuses a resolved reference that may not appear in an
// expression.
func (c *checker) refuseRef(rf rewrite.Ref, text string) error {
	switch rf.Kind {
	case rewrite.RefEncrypted:
		return rewrite.Refuse(text, "%s is an encrypted column: the database only holds its ciphertext, so it can't be used in %s (only IS [NOT] NULL and count(%s) can); do this in the application after reading it", text, c.rules.what, text)
	case rewrite.RefKey:
		return rewrite.RefuseKeyColumnUse(text, c.rules.what)
	case rewrite.RefWholeRow:
		return rewrite.Refuse(text, "a whole-row reference to a table with encrypted columns (%s) would expose ciphertext; name the columns", text)
	}
	return nil
}

// star checks "t.*" inside an expression.
func (c *checker) star(qual []string, text string) error {
	if len(qual) == 0 {
		return nil
	}
	if r, _ := findRel(c.sc, qual); r != nil && r.HasDeclared() {
		return rewrite.Refuse(text, "%s inside an expression would expose the ciphertext of encrypted columns; name the columns", text)
	}
	return nil
}

// bareName returns e as a column reference, looking through parentheses.
func bareName(e tree.Expr) *tree.UnresolvedName {
	for {
		switch n := e.(type) {
		case *tree.ParenExpr:
			e = n.Expr
		case *tree.UnresolvedName:
			if n.Star {
				return nil
			}
			return n
		default:
			return nil
		}
	}
}

// nullTest allows col IS [NOT] NULL on any column (NULL is never
// encrypted); it reports whether to walk into the operand.
func (c *checker) nullTest(operand tree.Expr) bool {
	n := bareName(operand)
	if n == nil || c.rules.strict {
		return true
	}
	_, c.err = resolve(c.sc, n)
	return false
}

// funcExpr allows count(col) and count(*), and walks window definitions,
// which tree.WalkExpr does not.
func (c *checker) funcExpr(f *tree.FuncExpr) (bool, tree.Expr) {
	if f.WindowDef != nil {
		if c.err = c.window(f.WindowDef); c.err != nil {
			return false, f
		}
	}
	if !c.rules.strict && isCount(f) && f.Type != tree.DistinctFuncType && len(f.OrderBy) == 0 {
		if n := bareName(f.Exprs[0]); n != nil {
			if _, c.err = resolve(c.sc, n); c.err != nil {
				return false, f
			}
			c.err = c.s.checkExpr(c.sc, f.Filter, c.rules)
			return false, f
		}
	}
	return true, f
}

func isCount(f *tree.FuncExpr) bool {
	n, ok := f.Func.FunctionReference.(*tree.UnresolvedName)
	return ok && !n.Star && strings.EqualFold(n.Parts[0], "count") &&
		(n.NumParts == 1 || n.NumParts == 2 && strings.EqualFold(n.Parts[1], "pg_catalog")) &&
		len(f.Exprs) == 1
}

// window checks a window definition: PARTITION BY, ORDER BY, frame offsets.
func (c *checker) window(w *tree.WindowDef) error {
	rules := c.rules
	rules.what = "a window definition"
	if err := c.s.checkExprs(c.sc, w.Partitions, rules); err != nil {
		return err
	}
	for _, o := range w.OrderBy {
		if err := c.s.checkExpr(c.sc, o.Expr, rules); err != nil {
			return err
		}
	}
	if w.Frame != nil {
		for _, b := range []*tree.WindowFrameBound{w.Frame.Bounds.StartBound, w.Frame.Bounds.EndBound} {
			if b != nil {
				if err := c.s.checkExpr(c.sc, b.OffsetExpr, rules); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// comparison gives the equality hint, and allows LIKE on the key column in
// WHERE (rotation tools select rows by key version: key NOT LIKE 'v2:%').
func (c *checker) comparison(cmp *tree.ComparisonExpr) (bool, tree.Expr) {
	if c.rules.strict {
		return true, cmp
	}
	op := cmp.Operator.Symbol
	if op == treecmp.Any || op == treecmp.Some || op == treecmp.All {
		op = cmp.SubOperator.Symbol
	}
	switch op {
	case treecmp.Like, treecmp.NotLike, treecmp.ILike, treecmp.NotILike:
		if n := bareName(cmp.Left); n != nil && c.rules.where {
			rf, err := resolve(c.sc, n)
			if err != nil {
				c.err = err
				return false, cmp
			}
			if rf.Kind == rewrite.RefKey {
				c.err = c.s.checkExpr(c.sc, cmp.Right, c.rules)
				return false, cmp
			}
		}
	case treecmp.EQ, treecmp.NE, treecmp.In, treecmp.NotIn, treecmp.IsDistinctFrom, treecmp.IsNotDistinctFrom:
		for _, side := range []tree.Expr{cmp.Left, cmp.Right} {
			n := bareName(side)
			if n == nil {
				continue
			}
			rf, err := resolve(c.sc, n)
			if err != nil {
				c.err = err
				return false, cmp
			}
			if rf.Kind == rewrite.RefEncrypted {
				c.err = rewrite.RefuseEquality(n.String())
				return false, cmp
			}
		}
	}
	return true, cmp
}
