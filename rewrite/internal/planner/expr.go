package planner

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// rules say where an expression is, which decides what it may do with
// declared columns. Anywhere, the database sees only ciphertext, so an
// encrypted column may not be computed on; the exceptions are the tests
// that don't look at the value: IS [NOT] NULL and count(col).
type rules struct {
	what    string // the clause, for messages: "WHERE", "ORDER BY", "a join condition", ...
	where   bool   // a WHERE clause: the key column may be matched with LIKE (rotation tools)
	strict  bool   // no mention of declared columns at all, not even IS NULL
	aliases bool   // bare names may name select-list columns (ORDER BY, GROUP BY, HAVING)
	// row is the row an upsert proposed (EXCLUDED, VALUES(c)); nil where
	// there is none.
	row *Relation
}

// check refuses e if it computes on declared data, and analyses its
// subqueries.
func (p *planner) check(sc *Scope, e model.Expr, r rules) error {
	if e == nil {
		return nil
	}
	c := &checker{p: p, sc: sc, rules: r}
	return c.expr(e)
}

func (p *planner) checkAll(sc *Scope, es []model.Expr, r rules) error {
	for _, e := range es {
		if err := p.check(sc, e, r); err != nil {
			return err
		}
	}
	return nil
}

// window checks a window definition: PARTITION BY, ORDER BY, frame offsets.
func (p *planner) window(sc *Scope, w *model.Window, r rules) error {
	if w == nil {
		return nil
	}
	r.what = "a window definition"
	for _, es := range [][]model.Expr{w.Partition, w.OrderBy, w.Frame} {
		if err := p.checkAll(sc, es, r); err != nil {
			return err
		}
	}
	return nil
}

// checker walks one expression.
type checker struct {
	p     *planner
	sc    *Scope
	rules rules
}

func (c *checker) all(es []model.Expr) error {
	for _, e := range es {
		if err := c.expr(e); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) expr(e model.Expr) error {
	switch n := e.(type) {
	case nil, *model.Param, *model.Literal, *model.Null, *model.Default:
		return nil
	case *model.ColumnRef:
		rf, err := c.resolve(n)
		if err != nil {
			return err
		}
		return c.refuseRef(rf, n.Text)
	case *model.StarRef:
		if len(n.Qualifier) == 0 {
			return nil
		}
		r, _, err := findRel(c.sc, n.Qualifier)
		if err != nil {
			return err
		}
		if r != nil && r.HasDeclared() {
			return rewrite.Refuse(n.Text, "%s inside an expression would expose the ciphertext of encrypted columns; name the columns", n.Text)
		}
		return nil
	case *model.Subquery:
		m := modeCheck
		if n.Exists {
			m = modeExists
		}
		_, err := c.p.query(n.Query, c.sc, m, false)
		return err
	case *model.IsNull:
		// NULL is never encrypted: any column may be tested.
		if cr := bareName(n.Operand); cr != nil && !c.rules.strict {
			_, err := c.resolve(cr)
			return err
		}
		return c.expr(n.Operand)
	case *model.Count:
		if err := c.p.window(c.sc, n.Window, c.rules); err != nil {
			return err
		}
		if cr := bareName(n.Arg); cr != nil && !c.rules.strict {
			if _, err := c.resolve(cr); err != nil {
				return err
			}
			return c.expr(n.Filter)
		}
		if err := c.expr(n.Arg); err != nil {
			return err
		}
		return c.expr(n.Filter)
	case *model.Compare:
		return c.compare(n)
	case *model.And:
		return c.all(n.Terms)
	case *model.Proposed:
		return c.proposed(n)
	case *model.Func:
		if err := c.p.window(c.sc, n.Window, c.rules); err != nil {
			return err
		}
		if err := c.all(n.Args); err != nil {
			return err
		}
		return c.expr(n.Filter)
	case *model.Paren:
		return c.expr(n.X)
	case *model.Cast:
		return c.expr(n.X)
	case *model.Other:
		return c.all(n.Args)
	}
	// A node the model doesn't know can't be shown harmless: fail closed.
	return rewrite.Refuse("", "kmsenc can't analyse an expression of this statement (%T); please report it", e)
}

// resolve resolves a column reference, looking first at the select list's
// aliases where the clause allows them.
func (c *checker) resolve(n *model.ColumnRef) (Ref, error) {
	if c.rules.aliases && len(n.Qualifier) == 0 {
		if rf, ok := outputRef(c.sc, n.Name); ok {
			return rf, nil
		}
	}
	return c.p.resolve(c.sc, n)
}

// refuseRef refuses a resolved reference that may not appear in an
// expression.
func (c *checker) refuseRef(rf Ref, text string) error {
	switch rf.Kind {
	case RefEncrypted:
		return rewrite.Refuse(text, "%s is an encrypted column: the database only holds its ciphertext, so it can't be used in %s (only IS [NOT] NULL and count(%s) can); do this in the application after reading it", text, c.rules.what, text)
	case RefKey:
		return RefuseKeyColumnUse(text, c.rules.what)
	case RefWholeRow:
		return rewrite.Refuse(text, "a whole-row reference to a table with encrypted columns (%s) would expose ciphertext; name the columns", text)
	}
	return nil
}

// compare gives the equality hint, and allows LIKE on the key column in
// WHERE (rotation tools select rows by key version: key NOT LIKE 'v2:%').
func (c *checker) compare(n *model.Compare) error {
	if !c.rules.strict {
		switch n.Op {
		case model.OpLike:
			if cr := bareName(n.Left); cr != nil && c.rules.where {
				rf, err := c.resolve(cr)
				if err != nil {
					return err
				}
				if rf.Kind == RefKey {
					return c.all(n.Right)
				}
			}
		case model.OpEqual, model.OpNullSafeEqual, model.OpNotEqual, model.OpIn, model.OpNotIn:
			for _, side := range append([]model.Expr{n.Left}, n.Right...) {
				cr := bareName(side)
				if cr == nil {
					continue
				}
				rf, err := c.resolve(cr)
				if err != nil {
					return err
				}
				if rf.Kind == RefEncrypted {
					return RefuseEquality(cr.Text)
				}
			}
		}
	}
	if err := c.expr(n.Left); err != nil {
		return err
	}
	return c.all(n.Right)
}

// proposed checks a use of the value an upsert proposed for a column
// (EXCLUDED.c, VALUES(c)) other than setting that column itself.
func (c *checker) proposed(n *model.Proposed) error {
	if c.rules.row == nil {
		return rewrite.Refuse(n.Text, "%s is only known in an upsert's update", n.Text)
	}
	rf, err := c.rules.row.Column(n.Column)
	if err != nil {
		return err
	}
	return c.refuseRef(rf, n.Text)
}

// bareName returns e as a column reference, looking through parentheses.
func bareName(e model.Expr) *model.ColumnRef {
	for {
		switch n := e.(type) {
		case *model.Paren:
			e = n.X
		case *model.ColumnRef:
			return n
		default:
			return nil
		}
	}
}

// resolve resolves a column reference in scope sc.
func (p *planner) resolve(sc *Scope, n *model.ColumnRef) (Ref, error) {
	if len(n.Qualifier) == 0 {
		var wholeRow func(*Scope, string) bool
		if p.d.WholeRowRefs() {
			wholeRow = isWholeRow
		}
		return sc.ResolveBare(n.Name, wholeRow)
	}
	r, outer, err := findRel(sc, n.Qualifier)
	if err != nil || r == nil {
		return Ref{}, err
	}
	rf, err := r.Column(n.Name)
	rf.Outer = outer
	return rf, err
}

// isWholeRow reports whether c, which names no column at level, names a
// relation with declared data: PostgreSQL reads it as a whole-row
// reference ("SELECT u FROM users u").
func isWholeRow(level *Scope, c string) bool {
	r, _, _ := findRel(level, []string{c})
	return r != nil && r.HasDeclared()
}

// findRel returns the relation a qualifier (table, or schema.table, in
// text order) names, searching from sc out. Names compare without case;
// a qualifier that could name two relations of one level of which one
// carries declared data is refused.
func findRel(sc *Scope, qual []string) (*Relation, bool, error) {
	outer := false
	for ; sc != nil; sc = sc.Parent {
		var found []*Relation
		for _, r := range sc.Rels {
			if named(r, qual) {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			for _, r := range found {
				if r.HasDeclared() {
					q := strings.Join(qual, ".")
					return nil, false, rewrite.Refuse(q, "%s could name two tables of this query (names compared without case); give them distinct aliases", q)
				}
			}
		}
		if len(found) > 0 {
			return found[0], outer, nil
		}
		outer = true
	}
	return nil, false, nil
}

// named reports whether a qualifier (table, or schema.table) names r.
func named(r *Relation, qual []string) bool {
	switch len(qual) {
	case 1:
		return r.Named(qual[0], "")
	case 2:
		return r.Named(qual[1], qual[0])
	}
	return false
}

// outputRef resolves a bare name against the select list's aliases (ORDER
// BY, GROUP BY and HAVING may use them); ok is false when no output column
// with declared data has that name.
func outputRef(sc *Scope, c string) (Ref, bool) {
	if sc == nil || sc.Outputs == nil {
		return Ref{}, false
	}
	for _, oc := range sc.Outputs.Cols {
		if oc.Hidden || !strings.EqualFold(oc.Name, c) {
			continue
		}
		switch oc.Kind {
		case ColEncrypted:
			return Ref{Kind: RefEncrypted, Instance: oc.Instance, Col: oc.Col}, true
		case ColKey:
			return Ref{Kind: RefKey, Instance: oc.Instance}, true
		}
	}
	return Ref{}, false
}
