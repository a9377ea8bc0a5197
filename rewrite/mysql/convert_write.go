package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// This file converts INSERT, UPDATE and DELETE, and locates the parts the
// planner edits: the column list, each VALUES row and value (or the SET
// form's assignments), ON DUPLICATE KEY UPDATE's assignments, the values of
// UPDATE ... SET and the end of its WHERE, and MariaDB's RETURNING list.

// insert converts INSERT [INTO] t (cols) VALUES (...), ..., INSERT [INTO] t
// SET c = v, ... and INSERT ... SELECT, with a row alias, ON DUPLICATE KEY
// UPDATE and RETURNING.
func (s *stmt) insert(ins *ast.InsertStmt) (*model.Insert, error) {
	if ins.IsReplace {
		return nil, rewrite.Refuse("REPLACE", "%s", classReplace.reason())
	}
	tn, err := insertTable(ins)
	if err != nil {
		return nil, err
	}
	target, err := s.tableRef(tn, "")
	if err != nil {
		return nil, err
	}
	// MariaDB's RETURNING names the target's columns unqualified.
	target.Bare = true
	m := &model.Insert{Target: target, ColumnsEnd: -1, SetForm: ins.Setlist, SetEnd: -1, Columns: make([]string, 0, len(ins.Columns))}
	for _, c := range ins.Columns {
		if c.Table.O != "" && !strings.EqualFold(c.Table.O, tn.Name.O) {
			return nil, rewrite.Refuse(columnText(c), "the column %s is not one of %s", columnText(c), tn.Name.O)
		}
		m.Columns = append(m.Columns, c.Name.O)
	}
	if s.alias != nil {
		m.RowAlias = s.alias.name
		if s.alias.cols {
			if len(s.alias.colNames) == 0 {
				return nil, rewrite.Refuse(s.alias.name, "a row alias with an empty column list is not MySQL")
			}
			m.RowAliasCols = s.alias.colNames
		}
	}
	after := -1
	if ins.Select != nil {
		if m.Query, err = s.query(ins.Select); err != nil {
			return nil, err
		}
		m.Lost = s.lost(0, "the VALUES rows")
	} else {
		if after, err = s.insertRows(ins, tn, m); err != nil {
			return nil, err
		}
	}
	if len(ins.OnDuplicate) > 0 {
		if m.Upsert, err = s.onDuplicate(ins, after, m.Lost); err != nil {
			return nil, err
		}
	}
	if m.Returning, err = s.returning(tn, ""); err != nil {
		return nil, err
	}
	return m, nil
}

// insertRows converts the VALUES rows (or the SET form's one row) into m,
// locating them, and returns the index of the token after them (and the
// row alias), -1 when not located.
func (s *stmt) insertRows(ins *ast.InsertStmt, tn *ast.TableName, m *model.Insert) (int, error) {
	loc, err := s.locateInsert(ins, tn)
	after := -1
	if m.Lost, err = lostOrFail(err); err != nil {
		return 0, err
	}
	if m.Lost == nil {
		after = loc.after
		if ins.Setlist {
			m.SetEnd = s.toks[loc.setEnd-1].End
		} else {
			m.ColumnsEnd = s.toks[loc.colsClose-1].End
		}
	}
	m.Rows = make([]*model.Row, 0, len(ins.Lists))
	for r, row := range ins.Lists {
		mr := &model.Row{End: -1, Values: make([]model.Expr, 0, len(row)), Spans: make([]model.Span, 0, len(row))}
		var rl rowLoc
		if m.Lost == nil {
			rl = loc.rows[r]
			if rl.close >= 0 {
				mr.End = s.toks[rl.close-1].End
			}
		}
		for j, e := range row {
			sp := span{-1, -1}
			if m.Lost == nil && j < len(rl.values) {
				sp = rl.values[j]
			}
			x, bs, err := s.value(e, sp)
			if err != nil {
				return 0, err
			}
			mr.Values, mr.Spans = append(mr.Values, x), append(mr.Spans, bs)
		}
		if len(row) != len(ins.Columns) && m.Lost == nil && rl.close >= 0 {
			// For the planner's refusal of a row that doesn't match the
			// column list.
			mr.Text = s.describe(s.match[rl.close], rl.close+1)
		}
		m.Rows = append(m.Rows, mr)
	}
	return after, nil
}

// insertTable returns the table an INSERT writes.
func insertTable(ins *ast.InsertStmt) (*ast.TableName, error) {
	if ins.Table != nil && ins.Table.TableRefs != nil && ins.Table.TableRefs.Right == nil {
		if ts, ok := ins.Table.TableRefs.Left.(*ast.TableSource); ok {
			if tn, ok := ts.Source.(*ast.TableName); ok && ts.AsName.O == "" {
				return tn, nil
			}
		}
	}
	return nil, rewrite.Refuse("", "this kind of INSERT target is not supported")
}

// value converts a value of a VALUES row, of the SET form or of UPDATE
// ... SET, at tokens sp (from < 0: not located), and returns the span of
// its text. A placeholder, constant, NULL or DEFAULT keeps its span only
// where the tokens there are exactly it, and an expression only where it
// starts at the parser's offset: otherwise the value is not located, and
// the planner refuses to encrypt it.
func (s *stmt) value(e ast.ExprNode, sp span) (model.Expr, model.Span, error) {
	x, err := s.expr(e)
	if err != nil || sp.from < 0 {
		return x, model.NoSpan, err
	}
	bs := s.byteSpan(sp)
	if !bs.Located() {
		return x, model.NoSpan, nil
	}
	switch v := x.(type) {
	case *model.Param:
		if sp.to != sp.from+1 || v.Span != bs {
			return x, model.NoSpan, nil
		}
	case *model.Literal:
		if v.Span != bs {
			return x, model.NoSpan, nil
		}
	case *model.Null:
		if sp.to != sp.from+1 || v.Span != bs {
			v.Span = model.NoSpan
			return x, model.NoSpan, nil
		}
	case *model.Default:
		if sp.to != sp.from+1 || !s.kw(sp.from, "default") || s.toks[sp.from].Start != e.OriginTextPosition() {
			return x, model.NoSpan, nil
		}
		v.Span = bs
	default:
		if s.toks[sp.from].Start != e.OriginTextPosition() {
			return x, model.NoSpan, nil
		}
	}
	return x, bs, nil
}

// onDuplicate converts ON DUPLICATE KEY UPDATE, located at token after
// when lost is nil. VALUES(c) in its assignments is the proposed value.
func (s *stmt) onDuplicate(ins *ast.InsertStmt, after int, lost error) (*model.Upsert, error) {
	s.upsert = true
	defer func() { s.upsert = false }()
	u := &model.Upsert{SetEnd: -1, Lost: lost}
	for _, a := range ins.OnDuplicate {
		ma := newAssignment(a.Column)
		var err error
		if ma.Value, err = s.expr(a.Expr); err != nil {
			return nil, err
		}
		u.Sets = append(u.Sets, ma)
	}
	if lost == nil {
		at, err := s.locateOnDuplicate(ins, after)
		if u.Lost, err = lostOrFail(err); err != nil {
			return nil, err
		}
		if u.Lost == nil {
			u.SetEnd = at
		}
	}
	return u, nil
}

// newAssignment starts the assignment of a SET list to column c.
func newAssignment(c *ast.ColumnName) *model.Assignment {
	return &model.Assignment{Columns: []string{c.Name.O}, Qualifier: qualifier(c), Text: columnText(c), Span: model.NoSpan}
}

// update converts UPDATE: a single-table UPDATE writes Target, whose SET
// values and WHERE end are located; a multi-table UPDATE (UPDATE a JOIN b
// SET ...) has its tables in From.
func (s *stmt) update(up *ast.UpdateStmt) (*model.Update, error) {
	m := &model.Update{With: up.With != nil, WhereEnd: -1}
	var err error
	tn, alias, single := singleTable(up.TableRefs)
	if single && !up.MultipleTable {
		if m.Target, err = s.tableRef(tn, alias); err != nil {
			return nil, err
		}
	} else {
		m.Multi = true
		if m.From, err = s.fromClause(up.TableRefs); err != nil {
			return nil, err
		}
	}
	var loc updateLoc
	if !m.Multi {
		loc, err = s.locateUpdate(up)
		if m.Lost, err = lostOrFail(err); err != nil {
			return nil, err
		}
	}
	for j, a := range up.List {
		sp := span{-1, -1}
		if !m.Multi && m.Lost == nil {
			sp = loc.values[j]
		}
		ma := newAssignment(a.Column)
		if ma.Value, ma.Span, err = s.value(a.Expr, sp); err != nil {
			return nil, err
		}
		m.Sets = append(m.Sets, ma)
	}
	if m.Where, err = s.expr(up.Where); err != nil {
		return nil, err
	}
	if up.Where != nil && m.Lost == nil && !m.Multi {
		m.WhereEnd = loc.whereEnd
	}
	if up.Order != nil {
		if m.OrderBy, err = s.sortKeys(up.Order.Items); err != nil {
			return nil, err
		}
	}
	if m.Limit, err = s.limit(up.Limit); err != nil {
		return nil, err
	}
	return m, nil
}

// delete converts DELETE: single-table, with MariaDB's RETURNING, or
// multi-table.
func (s *stmt) delete(del *ast.DeleteStmt) (*model.Delete, error) {
	m := &model.Delete{With: del.With != nil}
	var err error
	tn, alias, single := singleTable(del.TableRefs)
	if single && !del.IsMultiTable {
		if m.Target, err = s.tableRef(tn, alias); err != nil {
			return nil, err
		}
		// MariaDB's RETURNING names the target's columns unqualified.
		m.Target.Bare = true
	} else {
		m.Multi = true
		if m.From, err = s.fromClause(del.TableRefs); err != nil {
			return nil, err
		}
		tn = nil
	}
	if m.Where, err = s.expr(del.Where); err != nil {
		return nil, err
	}
	if del.Order != nil {
		if m.OrderBy, err = s.sortKeys(del.Order.Items); err != nil {
			return nil, err
		}
	}
	if m.Limit, err = s.limit(del.Limit); err != nil {
		return nil, err
	}
	if m.Returning, err = s.returning(tn, alias); err != nil {
		return nil, err
	}
	return m, nil
}

// returning converts MariaDB's RETURNING list (blanked out of the text the
// parser read: see maskClauses), written over table tn (nil: a statement
// on several tables, whose list is not converted). The list is parsed as
// "SELECT <list> FROM <tn>", laid out so that its offsets are those of the
// original text. A list that names no declared table or column and has no
// star returns no declared data: it is kept without items, unparsed (GORM's
// "RETURNING `id`").
func (s *stmt) returning(tn *ast.TableName, alias string) (*model.Returning, error) {
	if s.ret == nil {
		return nil, nil
	}
	r := &model.Returning{ListEnd: -1}
	list := s.ret.list
	if tn == nil || !s.mayReturnDeclared(list) {
		return r, nil
	}
	start, end := s.toks[list.from].Start, s.toks[list.to-1].End
	if start < len("SELECT ") {
		return nil, s.lost(list.from, "the RETURNING list")
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", start-len("SELECT ")))
	b.WriteString("SELECT ")
	b.WriteString(s.sql[start:end])
	b.WriteString(" FROM ")
	b.WriteString(tableText(tn))
	if alias != "" {
		b.WriteString(" AS " + quoteIdent(alias))
	}
	node, err := s.parse(b.String())
	if err != nil {
		return nil, rewrite.Refuse("RETURNING", "kmsenc can't parse the RETURNING list, so it can't tell what it returns of encrypted columns")
	}
	sel, ok := node.(*ast.SelectStmt)
	if !ok || sel.Kind != ast.SelectStmtKindSelect || sel.Fields == nil || sel.Where != nil ||
		sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil || sel.With != nil {
		return nil, s.lost(list.from, "the RETURNING list")
	}
	if err := s.checkParams(node, s.retText()); err != nil {
		return nil, err
	}
	loc, err := s.locateFields(sel.Fields.Fields)
	if r.Lost, err = lostOrFail(err); err != nil {
		return nil, err
	}
	if r.Lost == nil {
		r.ListEnd = loc.end
	}
	if r.Items, err = s.selectItems(sel.Fields.Fields, loc, r.Lost); err != nil {
		return nil, err
	}
	return r, nil
}
