package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// planUpdate plans UPDATE t SET declared = <? | constant | NULL>, ... WHERE
// <a conjunction holding pk = value for every primary key column> [ORDER
// BY ...] [LIMIT ...] (DESIGN §5 rule 4): the values are encrypted under
// the row's data key, which the wrapper reads with Update.Lookup, and the
// WHERE gets "AND key_column = ?" so that they are only ever written under
// that key. An UPDATE that sets no encrypted column passes through.
func (s *stmt) planUpdate(up *ast.UpdateStmt) (*rewrite.Plan, error) {
	if up.With != nil {
		return nil, rewrite.RefuseWith("UPDATE")
	}
	tn, alias, single := singleTable(up.TableRefs)
	if !single || up.MultipleTable {
		return s.updateMulti(up)
	}
	target, _ := s.targetRel(tn, alias)
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	t := target.Table
	if t == nil {
		if err := s.checkAssignments(up.List, sc); err != nil {
			return nil, err
		}
		return s.checkedPass(sc, up.Where, up.Order, up.Limit)
	}
	loc, err := s.locateUpdate(up)
	if err != nil {
		return nil, err
	}
	encrypted := false
	for j, a := range up.List {
		n := a.Column.Name.O
		if a.Column.Table.O != "" && !named(target, qualifier(a.Column)) {
			return nil, rewrite.Refuse(columnText(a.Column), "the column %s is not one of %s", columnText(a.Column), t.Name)
		}
		switch {
		case t.IsKeyColumn(n):
			return nil, rewrite.RefuseSetKeyColumn(n, "the UPDATE", t)
		case t.IsContextColumn(n):
			return nil, rewrite.Refuse(n, "the UPDATE changes context column %s of %s, which would leave the row's data key unusable; context columns can't change", n, t.Name)
		case t.Column(n) != nil:
			if err := s.encryptValue(a.Expr, loc.values[j], t.Column(n), 0); err != nil {
				return nil, err
			}
			encrypted = true
		default:
			if err := s.checkExpr(sc, a.Expr, exprRules{what: "SET"}); err != nil {
				return nil, err
			}
		}
	}
	if !encrypted {
		return s.checkedPass(sc, up.Where, up.Order, up.Limit)
	}
	for _, a := range up.List {
		if t.IsPrimaryKey(a.Column.Name.O) {
			return nil, rewrite.RefusePrimaryKeyChange(a.Column.Name.O)
		}
	}
	if err := s.checkExpr(sc, up.Where, exprRules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := s.orderLimit(up.Order, up.Limit, nil, nil, sc); err != nil {
		return nil, err
	}
	pins, err := s.pins(up.Where, target, t)
	if err != nil {
		return nil, err
	}
	key := quoteIdent(t.KeyColumn)
	s.edits.Insert(loc.whereEnd, text(" AND "+key+" = "), param(rewrite.Param{Kind: rewrite.ParamRowKeyGuard}))
	return s.finish(&rewrite.Plan{Kind: rewrite.Update, Table: t, Update: updatePlan(t, tableText(tn), pins)})
}

// updatePlan builds the row-key lookup of an UPDATE pinned by pins (one
// value per primary key column, in primary key order).
func updatePlan(t *schema.Table, table string, pins []rewrite.Value) *rewrite.UpdatePlan {
	return rewrite.RowKeyLookup(t, table, pins, quoteIdent, func(int) string { return "?" })
}

// singleTable returns the table of a single-table UPDATE or DELETE.
func singleTable(refs *ast.TableRefsClause) (tn *ast.TableName, alias string, ok bool) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, "", false
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, "", false
	}
	tn, ok = ts.Source.(*ast.TableName)
	return tn, ts.AsName.O, ok
}

// checkAssignments checks the values of SET assignments that write plain
// columns.
func (s *stmt) checkAssignments(list []*ast.Assignment, sc *rewrite.Scope) error {
	for _, a := range list {
		if err := s.checkExpr(sc, a.Expr, exprRules{what: "SET"}); err != nil {
			return err
		}
	}
	return nil
}

// checkedPass passes a statement through once its WHERE, ORDER BY and
// LIMIT are checked.
func (s *stmt) checkedPass(sc *rewrite.Scope, where ast.ExprNode, order *ast.OrderByClause, limit *ast.Limit) (*rewrite.Plan, error) {
	if err := s.checkExpr(sc, where, exprRules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := s.orderLimit(order, limit, nil, nil, sc); err != nil {
		return nil, err
	}
	if s.ret != nil {
		return nil, rewrite.Refuse("RETURNING", "RETURNING is only supported on single-table INSERT and DELETE")
	}
	return s.passThrough(), nil
}

// updateMulti checks a multi-table UPDATE: it may not set a declared,
// key or context column, and passes through.
func (s *stmt) updateMulti(up *ast.UpdateStmt) (*rewrite.Plan, error) {
	sc := &rewrite.Scope{}
	if _, err := s.fromClause(up.TableRefs, sc, modeDescribe); err != nil {
		return nil, err
	}
	for _, a := range up.List {
		rf, err := resolve(sc, a.Column)
		if err != nil {
			return nil, err
		}
		if rf.Kind != rewrite.RefPlain || contextColumn(sc, a.Column) {
			return nil, rewrite.Refuse(columnText(a.Column), "a multi-table UPDATE can't set %s of a table with encrypted columns; update that table on its own, by primary key", columnText(a.Column))
		}
	}
	if err := s.checkAssignments(up.List, sc); err != nil {
		return nil, err
	}
	return s.checkedPass(sc, up.Where, up.Order, up.Limit)
}

// contextColumn reports whether c may name a context column of a declared
// table of sc.
func contextColumn(sc *rewrite.Scope, c *ast.ColumnName) bool {
	for _, r := range sc.Rels {
		if r.Table == nil || !r.Table.IsContextColumn(c.Name.O) {
			continue
		}
		if c.Table.O == "" || named(r, qualifier(c)) {
			return true
		}
	}
	return false
}

// pins finds, in the AND-conjunction of where, "pk = value" for every
// primary key column of t, and returns the values in primary key order.
func (s *stmt) pins(where ast.ExprNode, target *rewrite.Relation, t *schema.Table) ([]rewrite.Value, error) {
	conj := conjuncts(where, nil)
	vals := make([]rewrite.Value, len(t.PrimaryKey))
	for i, pk := range t.PrimaryKey {
		found := false
		for _, e := range conj {
			if v, ok := s.pinValue(e, target, pk); ok {
				vals[i], found = v, true
				break
			}
		}
		if !found {
			return nil, rewrite.Refuse("WHERE", "an UPDATE that sets encrypted columns of %s must pin one row by its primary key: WHERE %s = ? (AND ...)", t.Name, strings.Join(t.PrimaryKey, " = ? AND "))
		}
	}
	return vals, nil
}

// conjuncts flattens an AND-conjunction, looking through parentheses.
func conjuncts(e ast.ExprNode, out []ast.ExprNode) []ast.ExprNode {
	switch n := e.(type) {
	case nil:
		return out
	case *ast.ParenthesesExpr:
		return conjuncts(n.Expr, out)
	case *ast.BinaryOperationExpr:
		if n.Op == opcode.LogicAnd {
			return conjuncts(n.R, conjuncts(n.L, out))
		}
	}
	return append(out, e)
}

// pinValue returns v when e is "pk = v" or "v = pk" for column pk of
// target, v being a placeholder or a constant.
func (s *stmt) pinValue(e ast.ExprNode, target *rewrite.Relation, pk string) (rewrite.Value, bool) {
	b, ok := e.(*ast.BinaryOperationExpr)
	if !ok || b.Op != opcode.EQ {
		return rewrite.Value{}, false
	}
	for _, side := range [][2]ast.ExprNode{{b.L, b.R}, {b.R, b.L}} {
		cn := bareName(side[0])
		if cn == nil || !strings.EqualFold(cn.Name.O, pk) || cn.Table.O != "" && !named(target, qualifier(cn)) {
			continue
		}
		v := side[1]
		if p, ok := v.(*driver.ParamMarkerExpr); ok {
			if arg := s.argOf(p.Offset); arg >= 0 {
				return rewrite.Arg(arg), true
			}
			continue
		}
		if !isConstant(v) {
			continue
		}
		i := s.tokAt(v.OriginTextPosition())
		sp, ok := s.literalSpan(i)
		if !ok {
			continue
		}
		if val, ok := s.valueOf(v, sp); ok {
			return val, true
		}
	}
	return rewrite.Value{}, false
}

// literalSpan returns the tokens of the constant that starts at token i.
func (s *stmt) literalSpan(i int) (span, bool) {
	if i < 0 || i >= s.end {
		return span{}, false
	}
	t := s.toks[i]
	switch {
	case (s.isOp(i, "-") || s.isOp(i, "+")) && i+1 < s.end && s.toks[i+1].Kind == Number:
		return span{i, i + 2}, true
	case t.Kind == Number || t.Kind == HexString || t.Kind == BitString || s.kwIn(i, "true", "false"):
		return span{i, i + 1}, true
	case t.Kind == Ident && strings.HasPrefix(s.sql[t.Start:t.End], "_") && i+1 < s.end && s.toks[i+1].Kind == String,
		t.Kind == String:
		j := i + 1
		for j < s.end && s.toks[j].Kind == String {
			j++
		}
		return span{i, j}, true
	}
	return span{}, false
}

// updateLoc is where the parts of an UPDATE are.
type updateLoc struct {
	values   []span // the value of each assignment
	whereEnd int    // byte offset after the WHERE condition
}

// locateUpdate finds the assignments of UPDATE ... SET and the end of its
// WHERE condition.
func (s *stmt) locateUpdate(up *ast.UpdateStmt) (updateLoc, error) {
	var loc updateLoc
	set := s.findKeyword(1, s.end, "set")
	if set < 0 {
		return loc, s.lost(0, "SET")
	}
	clause := func(i int) bool { return s.kwIn(i, "where", "order", "limit") && !s.afterAS(i) }
	items, end := s.split(set+1, s.end, clause)
	if len(items) != len(up.List) {
		return loc, s.lost(set, "the SET list")
	}
	for j, it := range items {
		e, parts := s.nameTokens(it.from, it.to)
		if len(parts) == 0 || !strings.EqualFold(parts[len(parts)-1], up.List[j].Column.Name.O) || !(s.isOp(e, "=") || s.isOp(e, ":=")) || e+1 >= it.to {
			return loc, s.lost(it.from, "the assignment to "+up.List[j].Column.Name.O)
		}
		loc.values = append(loc.values, span{e + 1, it.to})
	}
	if up.Where == nil {
		return loc, nil
	}
	if !s.kw(end, "where") || end+1 >= s.end || s.toks[end+1].Start != up.Where.OriginTextPosition() {
		return loc, s.lost(end, "WHERE")
	}
	stop := s.end
	for i := end + 1; i < s.end; i = s.skip(i) {
		if s.kw(i, "order") && s.kw(i+1, "by") || s.kw(i, "limit") {
			stop = i
			break
		}
	}
	if stop <= end+1 {
		return loc, s.lost(end, "the WHERE condition")
	}
	loc.whereEnd = s.toks[stop-1].End
	return loc, nil
}
