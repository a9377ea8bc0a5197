package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/kmsenc/kmsenc/rewrite"
)

// exprRules say where an expression is, which decides what it may do with
// declared columns. Anywhere, the database sees only ciphertext, so an
// encrypted column may not be computed on; the exceptions are the tests
// that don't look at the value: IS [NOT] NULL and COUNT(col).
type exprRules struct {
	what    string // the clause, for messages: "WHERE", "ORDER BY", "a join condition", ...
	where   bool   // a WHERE clause: the key column may be matched with LIKE (rotation tools)
	strict  bool   // no mention of declared columns at all, not even IS NULL
	aliases bool   // bare names may name select-list columns (ORDER BY, GROUP BY, HAVING)
	// row: the relation VALUES(col) refers to (INSERT ... ON DUPLICATE KEY
	// UPDATE); nil where VALUES(col) has no row.
	row *rewrite.Relation
}

// checkExpr refuses e if it computes on declared data, and analyses its
// subqueries.
func (s *stmt) checkExpr(sc *rewrite.Scope, e ast.Node, rules exprRules) error {
	if e == nil {
		return nil
	}
	c := &checker{s: s, sc: sc, rules: rules}
	e.Accept(c)
	return c.err
}

func (s *stmt) checkExprs(sc *rewrite.Scope, es []ast.ExprNode, rules exprRules) error {
	for _, e := range es {
		if e == nil {
			continue
		}
		if err := s.checkExpr(sc, e, rules); err != nil {
			return err
		}
	}
	return nil
}

// checker is the ast.Visitor of checkExpr.
type checker struct {
	s     *stmt
	sc    *rewrite.Scope
	rules exprRules
	err   error
}

func (c *checker) Leave(n ast.Node) (ast.Node, bool) { return n, c.err == nil }

func (c *checker) Enter(n ast.Node) (ast.Node, bool) {
	if c.err != nil {
		return n, true
	}
	switch n := n.(type) {
	case *ast.ColumnNameExpr:
		c.err = c.name(n.Name)
		return n, true
	case *ast.ColumnName:
		// MATCH (col) AGAINST, DEFAULT(col) and the like.
		c.err = c.name(n)
		return n, true
	case *ast.SubqueryExpr:
		mode := modeCheck
		if n.Exists {
			mode = modeExists
		}
		_, c.err = c.s.analyzeQuery(n.Query, c.sc, mode, false)
		return n, true
	case *ast.ExistsSubqueryExpr:
		if sub, ok := n.Sel.(*ast.SubqueryExpr); ok {
			_, c.err = c.s.analyzeQuery(sub.Query, c.sc, modeExists, false)
			return n, true
		}
	case *ast.IsNullExpr:
		return n, c.nullTest(n.Expr)
	case *ast.AggregateFuncExpr:
		if !c.rules.strict && strings.EqualFold(n.F, ast.AggFuncCount) && !n.Distinct && len(n.Args) == 1 {
			if cn := bareName(n.Args[0]); cn != nil {
				_, c.err = resolve(c.sc, cn)
				return n, true
			}
		}
	case *ast.WindowFuncExpr:
		w := *c
		w.rules.what = "a window definition"
		n.Spec.Accept(&w)
		if c.err = w.err; c.err != nil {
			return n, true
		}
		if !c.rules.strict && strings.EqualFold(n.Name, ast.AggFuncCount) && !n.Distinct && len(n.Args) == 1 {
			if cn := bareName(n.Args[0]); cn != nil {
				_, c.err = resolve(c.sc, cn)
				return n, true
			}
		}
		c.err = c.s.checkExprs(c.sc, n.Args, c.rules)
		return n, true
	case *ast.WindowSpec:
		w := *c
		w.rules.what = "a window definition"
		for _, x := range []ast.Node{partitionBy(n), orderBy(n), frame(n)} {
			if x != nil {
				x.Accept(&w)
			}
		}
		c.err = w.err
		return n, true
	case *ast.BinaryOperationExpr:
		return n, c.comparison(n)
	case *ast.PatternInExpr:
		if cn := bareName(n.Expr); cn != nil && !c.rules.strict {
			c.err = c.equality(cn)
			return n, c.err != nil
		}
	case *ast.PatternLikeOrIlikeExpr:
		return n, c.like(n)
	case *ast.ValuesExpr:
		c.err = c.values(n)
		return n, true
	}
	return n, false
}

// Nil-safe accessors of a window specification's parts.
func partitionBy(w *ast.WindowSpec) ast.Node {
	if w.PartitionBy == nil {
		return nil
	}
	return w.PartitionBy
}

func orderBy(w *ast.WindowSpec) ast.Node {
	if w.OrderBy == nil {
		return nil
	}
	return w.OrderBy
}

func frame(w *ast.WindowSpec) ast.Node {
	if w.Frame == nil {
		return nil
	}
	return w.Frame
}

// name checks a column reference inside an expression.
func (c *checker) name(n *ast.ColumnName) error {
	rf, err := c.resolve(n)
	if err != nil {
		return err
	}
	return c.refuseRef(rf, columnText(n))
}

// resolve resolves a column reference, looking first at the select list's
// aliases where the clause allows them.
func (c *checker) resolve(n *ast.ColumnName) (rewrite.Ref, error) {
	if c.rules.aliases && n.Table.O == "" {
		if rf, ok := outputRef(c.sc, n.Name.O); ok {
			return rf, nil
		}
	}
	return resolve(c.sc, n)
}

// columnText writes a column reference for messages.
func columnText(n *ast.ColumnName) string {
	parts := make([]string, 0, 3)
	for _, p := range []string{n.Schema.O, n.Table.O, n.Name.O} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// refuseRef refuses a resolved reference that may not appear in an
// expression.
func (c *checker) refuseRef(rf rewrite.Ref, text string) error {
	switch rf.Kind {
	case rewrite.RefEncrypted:
		return rewrite.Refuse(text, "%s is an encrypted column: the database only holds its ciphertext, so it can't be used in %s (only IS [NOT] NULL and COUNT(%s) can); do this in the application after reading it", text, c.rules.what, text)
	case rewrite.RefKey:
		return rewrite.RefuseKeyColumnUse(text, c.rules.what)
	}
	return nil
}

// bareName returns e as a column reference, looking through parentheses.
func bareName(e ast.ExprNode) *ast.ColumnName {
	for {
		switch n := e.(type) {
		case *ast.ParenthesesExpr:
			e = n.Expr
		case *ast.ColumnNameExpr:
			return n.Name
		default:
			return nil
		}
	}
}

// nullTest allows col IS [NOT] NULL on any column (NULL is never
// encrypted); it reports whether to skip the operand.
func (c *checker) nullTest(operand ast.ExprNode) bool {
	n := bareName(operand)
	if n == nil || c.rules.strict {
		return false
	}
	_, c.err = c.resolve(n)
	return true
}

// comparison gives the equality hint; it reports whether to skip the
// operands.
func (c *checker) comparison(b *ast.BinaryOperationExpr) bool {
	if c.rules.strict {
		return false
	}
	switch b.Op {
	case opcode.EQ, opcode.NE, opcode.NullEQ:
		for _, side := range []ast.ExprNode{b.L, b.R} {
			if n := bareName(side); n != nil {
				if c.err = c.equality(n); c.err != nil {
					return true
				}
			}
		}
	}
	return false
}

// equality refuses an equality test on an encrypted column with the hint
// about blind indexes.
func (c *checker) equality(n *ast.ColumnName) error {
	rf, err := c.resolve(n)
	if err != nil {
		return err
	}
	if rf.Kind == rewrite.RefEncrypted {
		return rewrite.RefuseEquality(columnText(n))
	}
	return nil
}

// like allows LIKE on the key column in WHERE: rotation tools select rows
// by key version (key NOT LIKE 'v2:%'). It reports whether to skip the
// operands.
func (c *checker) like(p *ast.PatternLikeOrIlikeExpr) bool {
	n := bareName(p.Expr)
	if n == nil || !c.rules.where || c.rules.strict {
		return false
	}
	rf, err := c.resolve(n)
	if err != nil {
		c.err = err
		return true
	}
	if rf.Kind != rewrite.RefKey {
		return false
	}
	c.err = c.s.checkExprs(c.sc, []ast.ExprNode{p.Pattern}, c.rules)
	return true
}

// values checks VALUES(col): the value the INSERT proposed for col, which
// may not be computed on when col is encrypted.
func (c *checker) values(v *ast.ValuesExpr) error {
	if v.Column == nil {
		return nil
	}
	if c.rules.row == nil {
		return c.name(v.Column.Name)
	}
	n := v.Column.Name.Name.O
	rf, err := c.rules.row.Column(n)
	if err != nil {
		return err
	}
	if rf.Kind != rewrite.RefPlain {
		return rewrite.Refuse("VALUES("+n+")", "VALUES(%s) is the inserted row's encrypted value or key: it may only set %s itself (%s = VALUES(%s)), never be computed on", n, n, n, n)
	}
	return nil
}
