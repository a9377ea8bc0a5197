package postgres

import (
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
)

// This file converts cockroachdb-parser's tree of a query into the
// dialect-neutral model. The parser gives no offsets: the converter follows
// the tree in the token stream (locate.go) to find the spans the planner
// edits. A part it can't locate gets no span and a Lost error, which the
// planner returns if it needs that part.

// statement converts a parsed statement.
func (s *stmt) statement(ast tree.Statement) (*model.Statement, error) {
	st := &model.Statement{SQL: s.sql}
	for _, t := range s.toks[:s.end] {
		if t.Kind == Param {
			st.Params = append(st.Params, model.Param{Arg: paramNumber(s.sql, t) - 1, Span: model.Span{Start: t.Start, End: t.End}})
		}
	}
	var err error
	switch n := ast.(type) {
	case *tree.Select:
		st.Body, err = s.query(n, span{0, s.end}, nil)
	case *tree.Insert:
		st.Body, err = s.insert(n)
	case *tree.Update:
		st.Body, err = s.update(n)
	case *tree.Delete:
		st.Body, err = s.delete(n)
	default:
		err = rewrite.Refuse(s.text(0, min(s.end, 3)), "this kind of statement (%s) is not supported on tables with encrypted columns", ast.StatementTag())
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// byteSpan returns the text of tokens sp.
func (s *stmt) byteSpan(sp span) model.Span {
	if sp.from < 0 || sp.to <= sp.from || sp.to > len(s.toks) {
		return model.NoSpan
	}
	return model.Span{Start: s.toks[sp.from].Start, End: s.toks[sp.to-1].End}
}

// query converts a query. rng is its extent in the token stream when
// lost is nil; otherwise it is not located, and lost says why.
func (s *stmt) query(sel *tree.Select, rng span, lost error) (*model.Query, error) {
	q := &model.Query{}
	p := rng.from
	if sel.With != nil {
		var err error
		if q.With, p, lost, err = s.with(sel.With, rng, lost); err != nil {
			return nil, err
		}
	}
	var err error
	switch n := sel.Select.(type) {
	case *tree.SelectClause:
		q.Body, err = s.selectClause(n, span{p, rng.to}, lost)
	case *tree.ParenSelect:
		inner := span{}
		if lost == nil {
			if !s.isOp(p, "(") {
				lost = s.lost(p, "a parenthesized query")
			} else {
				inner = span{p + 1, s.match[p]}
			}
		}
		q.Body, err = s.query(n.Select, inner, lost)
	case *tree.UnionClause:
		op := &model.SetOp{}
		for _, side := range []*tree.Select{n.Left, n.Right} {
			sq, err := s.query(side, span{}, errNotLocated)
			if err != nil {
				return nil, err
			}
			op.Sides = append(op.Sides, sq)
		}
		q.Body = op
	case *tree.ValuesClause:
		v := &model.Values{}
		for _, row := range n.Rows {
			es, err := s.exprs(row)
			if err != nil {
				return nil, err
			}
			v.Rows = append(v.Rows, es)
		}
		q.Body = v
	default:
		err = rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
	}
	if err != nil {
		return nil, err
	}
	for _, o := range sel.OrderBy {
		if o.OrderType != tree.OrderByColumn {
			return nil, rewrite.Refuse("ORDER BY", "ORDER BY INDEX / PRIMARY KEY is not PostgreSQL")
		}
		k, err := s.sortKey(o.Expr)
		if err != nil {
			return nil, err
		}
		q.OrderBy = append(q.OrderBy, k)
	}
	if sel.Limit != nil {
		if q.Limit, err = s.exprs([]tree.Expr{sel.Limit.Count, sel.Limit.Offset}); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// errNotLocated is the Lost of parts kmsenc never locates (expression
// subqueries, set operations): it never edits them.
var errNotLocated = planner.RefuseLost("", "a subquery")

// subquery converts the query of a subquery expression.
func (s *stmt) subquery(ss tree.SelectStatement) (*model.Query, error) {
	switch n := ss.(type) {
	case *tree.ParenSelect:
		return s.query(n.Select, span{}, errNotLocated)
	case *tree.SelectClause, *tree.UnionClause, *tree.ValuesClause:
		return s.query(&tree.Select{Select: ss}, span{}, errNotLocated)
	}
	return nil, rewrite.Refuse("", "this kind of subquery is not supported in statements on encrypted tables")
}

// with converts a WITH clause and returns the index of the token after it.
func (s *stmt) with(w *tree.With, rng span, lost error) (*model.With, int, error, error) {
	mw := &model.With{Recursive: w.Recursive}
	p := rng.from
	var bodies []span
	if lost == nil {
		var err error
		if bodies, p, err = s.locateWith(w, rng); err != nil {
			lost = err
		}
	}
	for i, c := range w.CTEList {
		cte := &model.CTE{Name: string(c.Name.Alias)}
		for _, col := range c.Name.Cols {
			cte.Cols = append(cte.Cols, string(col.Name))
		}
		body, ok := c.Stmt.(*tree.Select)
		if !ok {
			cte.Writes = true
			mw.CTEs = append(mw.CTEs, cte)
			continue
		}
		b, bl := span{}, lost
		if bl == nil {
			b = bodies[i]
		}
		q, err := s.query(body, b, bl)
		if err != nil {
			return nil, 0, nil, err
		}
		cte.Query = q
		mw.CTEs = append(mw.CTEs, cte)
	}
	return mw, p, lost, nil
}

// selectClause converts SELECT ... FROM ... WHERE ... .
func (s *stmt) selectClause(n *tree.SelectClause, rng span, lost error) (any, error) {
	if n.TableSelect {
		if len(n.From.Tables) == 1 {
			if a, ok := n.From.Tables[0].(*tree.AliasedTableExpr); ok {
				if tn, ok := a.Expr.(*tree.TableName); ok {
					return &model.TableQuery{Table: tableRef(tn)}, nil
				}
			}
		}
		return nil, rewrite.Refuse("TABLE", "this form of TABLE is not supported in statements on encrypted tables")
	}
	// DISTINCT ON (...) compares only its expressions (the planner checks
	// them as it checks ORDER BY); plain DISTINCT compares whole rows.
	sel := &model.Select{Distinct: n.Distinct && len(n.DistinctOn) == 0, ListEnd: -1}
	var list listLoc
	from := span{}
	if lost == nil {
		var err error
		if list, from, err = s.locateSelectClause(n, rng); err != nil {
			lost = err
		}
	}
	sel.Lost = lost
	if lost == nil {
		sel.ListEnd = list.end
	}
	for i, se := range n.Exprs {
		it, err := s.selectItem(se)
		if err != nil {
			return nil, err
		}
		if lost == nil {
			it.Span = s.byteSpan(list.items[i])
		}
		sel.Items = append(sel.Items, it)
	}
	var err error
	if sel.From, err = s.fromItems(n.From.Tables, from, lost); err != nil {
		return nil, err
	}
	if n.Where != nil {
		if sel.Where, err = s.expr(n.Where.Expr); err != nil {
			return nil, err
		}
	}
	if sel.DistinctOn, err = s.exprs(n.DistinctOn); err != nil {
		return nil, err
	}
	for _, g := range n.GroupBy {
		k, err := s.sortKey(g)
		if err != nil {
			return nil, err
		}
		sel.GroupBy = append(sel.GroupBy, k)
	}
	if n.Having != nil {
		if sel.Having, err = s.expr(n.Having.Expr); err != nil {
			return nil, err
		}
	}
	for _, w := range n.Window {
		mw, err := s.window(w)
		if err != nil {
			return nil, err
		}
		sel.Windows = append(sel.Windows, mw)
	}
	return sel, nil
}

// selectItem converts an item of a select or RETURNING list.
func (s *stmt) selectItem(se tree.SelectExpr) (*model.SelectItem, error) {
	it := &model.SelectItem{Name: string(se.As), Span: model.NoSpan}
	inner := se.Expr
	for {
		p, ok := inner.(*tree.ParenExpr)
		if !ok {
			break
		}
		inner = p.Expr // "(email)" is named as email is
	}
	switch e := inner.(type) {
	case tree.UnqualifiedStar:
		it.Star, it.Text = true, "*"
		return it, nil
	case *tree.AllColumnsSelector:
		it.Star, it.Text = true, e.String()
		it.Qualifier = reversed(e.TableName.Parts[:e.TableName.NumParts])
		return it, nil
	case *tree.UnresolvedName:
		if e.Star {
			it.Star, it.Text = true, e.String()
			it.Qualifier = reversed(e.Parts[1:e.NumParts])
			return it, nil
		}
		if it.Name == "" {
			it.Name = e.Parts[0]
		}
	case *tree.FuncExpr:
		if it.Name == "" {
			if n, ok := e.Func.FunctionReference.(*tree.UnresolvedName); ok {
				it.Name = n.Parts[0]
			}
		}
	}
	x, err := s.expr(se.Expr)
	if err != nil {
		return nil, err
	}
	it.Expr, it.Text = x, tree.AsString(se.Expr)
	return it, nil
}

// sortKey converts an ORDER BY or GROUP BY key: a positive integer
// constant is a position.
func (s *stmt) sortKey(e tree.Expr) (*model.SortKey, error) {
	if n, ok := e.(*tree.NumVal); ok {
		if pos, err := n.AsInt64(); err == nil && pos >= 1 {
			return &model.SortKey{Position: int(min(pos, 1<<30)), Text: n.OrigString()}, nil
		}
	}
	x, err := s.expr(e)
	if err != nil {
		return nil, err
	}
	return &model.SortKey{Expr: x, Text: tree.AsString(e)}, nil
}

// reversed returns the parts of a name, which the parser gives last first,
// in text order.
func reversed(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[len(parts)-1-i] = p
	}
	return out
}

// tableRef converts a table name.
func tableRef(tn *tree.TableName) *model.TableRef {
	t := &model.TableRef{Name: string(tn.ObjectName)}
	if tn.ExplicitSchema {
		t.Schema = string(tn.SchemaName)
	}
	return t
}
