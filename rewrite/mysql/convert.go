package mysql

import (
	"strconv"

	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// This file converts the TiDB parser's tree of a statement into the
// dialect-neutral model (rewrite/internal/model), which the planner reads.
// The parser gives where expressions and select items start; the token
// stream gives where the parts the planner edits end (locate.go). A part
// that can't be located gets no span and a Lost error, which the planner
// returns only if it must edit that part. A node kind the converter doesn't
// know is refused, never dropped.

// statement converts a parsed statement.
func (s *stmt) statement(node ast.StmtNode) (*model.Statement, error) {
	st := &model.Statement{SQL: s.sql, Params: make([]model.Param, len(s.params))}
	for n, i := range s.params {
		st.Params[n] = model.Param{Arg: n, Span: s.byteSpan(span{i, i + 1})}
	}
	var err error
	switch n := node.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		if s.ret != nil || s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		var q *model.Query
		if q, err = s.query(n.(ast.ResultSetNode)); err == nil && s.intoVars {
			markInto(q)
		}
		st.Body = q
	case *ast.InsertStmt:
		st.Body, err = s.insert(n)
	case *ast.UpdateStmt:
		if s.ret != nil || s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		st.Body, err = s.update(n)
	case *ast.DeleteStmt:
		if s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		st.Body, err = s.delete(n)
	default:
		err = rewrite.Refuse(s.describe(0, min(s.end, 3)), "this kind of statement is not supported on tables with encrypted columns")
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// byteSpan returns the text of tokens sp, or NoSpan.
func (s *stmt) byteSpan(sp span) model.Span {
	if sp.from < 0 || sp.to <= sp.from || sp.to > len(s.toks) {
		return model.NoSpan
	}
	return model.Span{Start: s.toks[sp.from].Start, End: s.toks[sp.to-1].End}
}

// query converts a query: SELECT, TABLE, VALUES, or a set operation.
func (s *stmt) query(n ast.ResultSetNode) (*model.Query, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return s.selectQuery(n)
	case *ast.SetOprStmt:
		inner, err := s.setOprList(n.SelectList)
		if err != nil {
			return nil, err
		}
		return s.queryClauses(n.With, inner, n.OrderBy, n.Limit)
	}
	return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
}

// queryClauses makes the query of body with its WITH, ORDER BY and LIMIT.
func (s *stmt) queryClauses(w *ast.WithClause, body any, order *ast.OrderByClause, limit *ast.Limit) (*model.Query, error) {
	q := &model.Query{Body: body}
	var err error
	if q.With, err = s.with(w); err != nil {
		return nil, err
	}
	if order != nil {
		if q.OrderBy, err = s.sortKeys(order.Items); err != nil {
			return nil, err
		}
	}
	if q.Limit, err = s.limit(limit); err != nil {
		return nil, err
	}
	return q, nil
}

// setOprList converts the sides of UNION, EXCEPT and INTERSECT.
func (s *stmt) setOprList(l *ast.SetOprSelectList) (*model.Query, error) {
	if l == nil {
		return nil, rewrite.Refuse("", "this kind of set operation is not supported in statements on encrypted tables")
	}
	op := &model.SetOp{}
	for _, side := range l.Selects {
		var q *model.Query
		var err error
		switch side := side.(type) {
		case *ast.SelectStmt:
			q, err = s.selectQuery(side)
		case *ast.SetOprSelectList:
			q, err = s.setOprList(side)
		default:
			err = rewrite.Refuse("", "this kind of set operation is not supported in statements on encrypted tables")
		}
		if err != nil {
			return nil, err
		}
		op.Sides = append(op.Sides, q)
	}
	return s.queryClauses(l.With, op, l.OrderBy, l.Limit)
}

// selectQuery converts a SELECT, TABLE or VALUES statement.
func (s *stmt) selectQuery(sel *ast.SelectStmt) (*model.Query, error) {
	var body any
	switch sel.Kind {
	case ast.SelectStmtKindSelect:
		var err error
		if body, err = s.selectClause(sel); err != nil {
			return nil, err
		}
	case ast.SelectStmtKindTable:
		tn, alias, ok := singleTable(sel.From)
		if !ok || alias != "" {
			return nil, rewrite.Refuse("TABLE", "this form of TABLE is not supported in statements on encrypted tables")
		}
		t, err := s.tableRef(tn, "")
		if err != nil {
			return nil, err
		}
		body = &model.TableQuery{Table: t}
	case ast.SelectStmtKindValues:
		v := &model.Values{}
		for _, row := range sel.Lists {
			es, err := s.exprs(row.Values)
			if err != nil {
				return nil, err
			}
			v.Rows = append(v.Rows, es)
		}
		body = v
	default:
		return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
	}
	return s.queryClauses(sel.With, body, sel.OrderBy, sel.Limit)
}

// selectClause converts SELECT ... FROM ... WHERE ... GROUP BY ... HAVING
// ... WINDOW ..., locating its select list.
func (s *stmt) selectClause(sel *ast.SelectStmt) (*model.Select, error) {
	m := &model.Select{Distinct: sel.Distinct, Into: sel.SelectIntoOpt != nil, ListEnd: -1}
	var fields []*ast.SelectField
	if sel.Fields != nil {
		fields = sel.Fields.Fields
	}
	list, err := s.locateFields(fields)
	if m.Lost, err = lostOrFail(err); err != nil {
		return nil, err
	}
	if m.Lost == nil {
		m.ListEnd = list.end
	}
	if m.Items, err = s.selectItems(fields, list, m.Lost); err != nil {
		return nil, err
	}
	if m.From, err = s.fromClause(sel.From); err != nil {
		return nil, err
	}
	if m.Where, err = s.expr(sel.Where); err != nil {
		return nil, err
	}
	if sel.GroupBy != nil {
		if m.GroupBy, err = s.sortKeys(sel.GroupBy.Items); err != nil {
			return nil, err
		}
	}
	if sel.Having != nil {
		if m.Having, err = s.expr(sel.Having.Expr); err != nil {
			return nil, err
		}
	}
	for i := range sel.WindowSpecs {
		w, err := s.window(&sel.WindowSpecs[i])
		if err != nil {
			return nil, err
		}
		m.Windows = append(m.Windows, w)
	}
	return m, nil
}

// selectItems converts the items of a select or RETURNING list; list is
// where they are when lost is nil.
func (s *stmt) selectItems(fields []*ast.SelectField, list listLoc, lost error) ([]*model.SelectItem, error) {
	items := make([]*model.SelectItem, 0, len(fields))
	for i, f := range fields {
		it := &model.SelectItem{Name: f.AsName.O, Span: model.NoSpan}
		if lost == nil {
			it.Span = s.byteSpan(list.items[i])
		}
		switch {
		case f.WildCard != nil:
			it.Star, it.Text = true, "*"
			switch w := f.WildCard; {
			case w.Table.O == "":
			case w.Schema.O == "":
				it.Qualifier, it.Text = []string{w.Table.O}, w.Table.O+".*"
			default:
				it.Qualifier, it.Text = []string{w.Schema.O, w.Table.O}, w.Schema.O+"."+w.Table.O+".*"
			}
		default:
			x, err := s.expr(f.Expr)
			if err != nil {
				return nil, err
			}
			it.Expr = x
			if cr, ok := x.(*model.ColumnRef); ok {
				it.Text = cr.Text
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// sortKeys converts ORDER BY and GROUP BY keys. A number is a position (the
// parser makes it a PositionExpr); a placeholder is a position kmsenc can't
// read, since a driver that interpolates arguments writes a number there.
func (s *stmt) sortKeys(by []*ast.ByItem) ([]*model.SortKey, error) {
	keys := make([]*model.SortKey, 0, len(by))
	for _, b := range by {
		k := &model.SortKey{}
		switch e := b.Expr.(type) {
		case *ast.PositionExpr:
			k.Position, k.Text = e.N, strconv.Itoa(e.N)
			if e.P != nil || e.N < 1 {
				k.Position, k.Text = -1, "?"
			}
		case *driver.ParamMarkerExpr:
			k.Position, k.Text = -1, "?"
		default:
			x, err := s.expr(e)
			if err != nil {
				return nil, err
			}
			k.Expr = x
			if cr, ok := x.(*model.ColumnRef); ok {
				k.Text = cr.Text
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// limit converts LIMIT count [OFFSET offset] (nil entries for none).
func (s *stmt) limit(l *ast.Limit) ([]model.Expr, error) {
	if l == nil {
		return nil, nil
	}
	return s.exprs([]ast.ExprNode{l.Count, l.Offset})
}

// markInto marks the SELECT whose output "INTO @a, ..." stores (maskInto):
// the query's own, through parentheses. A set operation's sides are
// checked as plain anyway.
func markInto(q *model.Query) {
	for {
		switch b := q.Body.(type) {
		case *model.Query:
			q = b
			continue
		case *model.Select:
			b.Into = true
		}
		return
	}
}

// with converts a WITH clause.
func (s *stmt) with(w *ast.WithClause) (*model.With, error) {
	if w == nil {
		return nil, nil
	}
	mw := &model.With{Recursive: w.IsRecursive}
	for _, c := range w.CTEs {
		cte := &model.CTE{Name: c.Name.O, Recursive: c.IsRecursive}
		for _, col := range c.ColNameList {
			cte.Cols = append(cte.Cols, col.O)
		}
		if c.Query == nil || c.Query.Query == nil {
			return nil, rewrite.Refuse(c.Name.O, "this form of WITH query is not supported in statements on encrypted tables")
		}
		q, err := s.query(c.Query.Query)
		if err != nil {
			return nil, err
		}
		cte.Query = q
		mw.CTEs = append(mw.CTEs, cte)
	}
	return mw, nil
}

// window converts a window specification: PARTITION BY, ORDER BY and the
// frame's offsets.
func (s *stmt) window(w *ast.WindowSpec) (*model.Window, error) {
	mw := &model.Window{}
	var err error
	if w.PartitionBy != nil {
		if mw.Partition, err = s.byExprs(w.PartitionBy.Items); err != nil {
			return nil, err
		}
	}
	if w.OrderBy != nil {
		if mw.OrderBy, err = s.byExprs(w.OrderBy.Items); err != nil {
			return nil, err
		}
	}
	if w.Frame != nil {
		for _, b := range []ast.ExprNode{w.Frame.Extent.Start.Expr, w.Frame.Extent.End.Expr} {
			if b == nil {
				continue
			}
			x, err := s.expr(b)
			if err != nil {
				return nil, err
			}
			mw.Frame = append(mw.Frame, x)
		}
	}
	return mw, nil
}

// byExprs converts the expressions of a list of BY items.
func (s *stmt) byExprs(by []*ast.ByItem) ([]model.Expr, error) {
	out := make([]model.Expr, 0, len(by))
	for _, b := range by {
		x, err := s.expr(b.Expr)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}
