package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// This file converts INSERT, UPDATE and DELETE, and locates the parts the
// planner edits: the column list, each VALUES row and value, the SET list
// of ON CONFLICT DO UPDATE, the values of UPDATE ... SET, the end of WHERE,
// RETURNING.

// targetRef converts the table an INSERT, UPDATE or DELETE writes.
func targetRef(te tree.TableExpr) (*model.TableRef, error) {
	ate, ok := te.(*tree.AliasedTableExpr)
	if !ok {
		return nil, rewrite.Refuse("", "this kind of target table is not supported")
	}
	tn, ok := ate.Expr.(*tree.TableName)
	if !ok || ate.IndexFlags != nil {
		return nil, rewrite.Refuse("", "this kind of target table is not supported")
	}
	t := tableRef(tn)
	t.Alias = string(ate.As.Alias)
	if t.Alias != "" {
		t.Schema = ""
	}
	return t, nil
}

func (s *stmt) insert(ins *tree.Insert) (*model.Insert, error) {
	if ins.OnConflict.IsUpsertAlias() {
		return nil, rewrite.Refuse("UPSERT", "UPSERT is not PostgreSQL; use INSERT ... ON CONFLICT")
	}
	target, err := targetRef(ins.Table)
	if err != nil {
		return nil, err
	}
	m := &model.Insert{With: ins.With != nil, Target: target, ColumnsEnd: -1, Overriding: s.overriding}
	for _, c := range ins.Columns {
		m.Columns = append(m.Columns, string(c))
	}
	after := 0
	switch vals, ok := ins.Rows.Select.(*tree.ValuesClause); {
	case ins.DefaultValues():
		m.DefaultValues = true
	case ok && ins.Rows.With == nil && len(ins.Rows.OrderBy) == 0 && ins.Rows.Limit == nil:
		var loc insertLoc
		if len(ins.Columns) > 0 {
			if loc, err = s.locateInsert(ins, vals); err != nil {
				m.Lost = err
			}
		} else {
			m.Lost = s.lost(0, "the column list")
		}
		if m.Lost == nil {
			target.Ref, target.NameText = loc.ref, loc.name
			m.ColumnsEnd = s.toks[loc.colsClose-1].End
			after = loc.after
		}
		for r, row := range vals.Rows {
			mr := &model.Row{End: -1}
			if m.Lost == nil {
				rl := loc.rows[r]
				mr.End, mr.Text = s.toks[rl.close-1].End, s.text(rl.open, rl.close+1)
			}
			for j, e := range row {
				sp := span{-1, -1}
				if m.Lost == nil {
					sp = loc.rows[r].values[j]
				}
				x, bs, err := s.value(e, sp)
				if err != nil {
					return nil, err
				}
				mr.Values, mr.Spans = append(mr.Values, x), append(mr.Spans, bs)
			}
			m.Rows = append(m.Rows, mr)
		}
	default:
		if m.Query, err = s.query(ins.Rows, span{}, errNotLocated); err != nil {
			return nil, err
		}
	}
	if ins.OnConflict != nil {
		if m.Upsert, err = s.onConflict(ins.OnConflict, after, m.Lost); err != nil {
			return nil, err
		}
	}
	if m.Returning, err = s.returning(ins.Returning, after, m.Lost); err != nil {
		return nil, err
	}
	return m, nil
}

// value converts a value of a VALUES row or SET list at tokens sp (from <
// 0: not located). A placeholder, constant, NULL or DEFAULT gets its span
// only when the tokens there are exactly it, and a constant is decoded from
// its tokens, as PostgreSQL reads them.
func (s *stmt) value(e tree.Expr, sp span) (model.Expr, model.Span, error) {
	x, err := s.expr(e)
	if err != nil || sp.from < 0 {
		return x, model.NoSpan, err
	}
	bs := s.byteSpan(sp)
	switch v := e.(type) {
	case *tree.ParenExpr:
		// (v): the value inside, located between the brackets.
		if sp.to-sp.from >= 3 && s.isOp(sp.from, "(") && s.match[sp.from] == sp.to-1 {
			inner, _, err := s.value(v.Expr, span{sp.from + 1, sp.to - 1})
			return &model.Paren{X: inner}, bs, err
		}
	case *tree.CastExpr:
		if inner, typ, ok := s.castTokens(v, sp); ok {
			x, _, err := s.value(v.Expr, inner)
			c := &model.Cast{X: x, Text: s.text(sp.from, sp.to)}
			c.Type, c.Keeps = castType(s.typeName(typ))
			return c, bs, err
		}
	case *tree.Placeholder:
		p := x.(*model.Param)
		if sp.to == sp.from+1 && s.toks[sp.from].Kind == Param && paramNumber(s.sql, s.toks[sp.from]) == int(v.Idx)+1 {
			p.Span = bs
		} else {
			bs = model.NoSpan
		}
	case *tree.StrVal, *tree.NumVal, *tree.DBool:
		lit := x.(*model.Literal)
		if !s.literalTokens(e, sp) {
			return x, model.NoSpan, nil
		}
		dl, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
		lit.Value, lit.Text, lit.Err, lit.Span = dl.Go, dl.Text, err, bs
		if s.toks[sp.from].Kind == BitString {
			lit.Kind = model.LitBits
		}
	case *tree.DBitArray:
		x.(*model.Literal).Span = bs
	case tree.DefaultVal:
		if sp.to != sp.from+1 || !s.kw(sp.from, "default") {
			bs = model.NoSpan
		}
		x.(*model.Default).Span = bs
	default:
		if e == tree.DNull {
			if sp.to != sp.from+1 || !s.kw(sp.from, "null") {
				bs = model.NoSpan
			}
			x.(*model.Null).Span = bs
		}
	}
	return x, bs, nil
}

// castTokens splits the tokens sp of a cast into the operand's and the
// type's: "v::t" at its last "::" outside brackets, "CAST(v AS t)" at the
// last AS inside its brackets. ok is false when the tokens are not such.
func (s *stmt) castTokens(c *tree.CastExpr, sp span) (inner, typ span, ok bool) {
	switch c.SyntaxMode {
	case tree.CastShort:
		at := -1
		for i := sp.from; i < sp.to; i = s.skip(i) {
			if s.isOp(i, "::") {
				at = i
			}
		}
		if at > sp.from && at+1 < sp.to {
			return span{sp.from, at}, span{at + 1, sp.to}, true
		}
	case tree.CastExplicit:
		open := sp.from + 1
		if !s.kw(sp.from, "cast") || !s.isOp(open, "(") || s.match[open] != sp.to-1 {
			return span{}, span{}, false
		}
		at := -1
		for i := open + 1; i < sp.to-1; i = s.skip(i) {
			if s.kw(i, "as") {
				at = i
			}
		}
		if at > open+1 && at+1 < sp.to-1 {
			return span{open + 1, at}, span{at + 1, sp.to - 1}, true
		}
	}
	return span{}, span{}, false
}

// typeName returns the type name of tokens sp as PostgreSQL reads it when
// it is unquoted words only ("double precision"), else "".
func (s *stmt) typeName(sp span) string {
	var b strings.Builder
	for i := sp.from; i < sp.to; i++ {
		if s.toks[i].Kind != Ident {
			return ""
		}
		if i > sp.from {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToLower(s.text(i, i+1)))
	}
	return b.String()
}

// castType says what a cast to the type named name (typeName) does to a
// value (model.Cast): the schema type whose values it leaves as they are,
// and whether it keeps a key or context value as the application passes it.
// A length, a precision, a schema or a quoted name is none of these.
func castType(name string) (typ string, keeps bool) {
	switch name {
	case "text", "varchar", "character varying":
		return "text", true
	case "bigint", "int8":
		return "int", true
	case "integer", "int", "int4", "smallint", "int2":
		// Narrower than the int codec's 64 bits: as a key or context value
		// the database checks the range; as an encrypted value it
		// couldn't, so it is not the int type's own.
		return "", true
	case "bytea":
		return "bytes", false
	case "double precision", "float8":
		return "float", false
	case "boolean", "bool":
		return "bool", false
	case "date":
		return "date", false
	case "timestamptz", "timestamp with time zone":
		return "timestamp", false
	case "json":
		// Not jsonb, which normalises the document.
		return "json", false
	}
	return "", false
}

// literalTokens checks that the tokens of sp are the constant e.
func (s *stmt) literalTokens(e tree.Expr, sp span) bool {
	toks := s.toks[sp.from:sp.to]
	switch e.(type) {
	case *tree.StrVal:
		return len(toks) == 1 && (toks[0].Kind == String || toks[0].Kind == BitString)
	case *tree.NumVal:
		return len(toks) == 1 && toks[0].Kind == Number ||
			len(toks) == 2 && toks[1].Kind == Number && (s.isOp(sp.from, "-") || s.isOp(sp.from, "+"))
	case *tree.DBool:
		return len(toks) == 1 && s.kwIn(sp.from, "true", "false")
	}
	return false
}

// onConflict converts ON CONFLICT; after is the token after the VALUES
// rows.
func (s *stmt) onConflict(oc *tree.OnConflict, after int, lost error) (*model.Upsert, error) {
	s.upsert = true
	defer func() { s.upsert = false }()
	u := &model.Upsert{Targeted: true, Constraint: string(oc.Constraint), DoNothing: oc.DoNothing, SetEnd: -1}
	for _, c := range oc.Columns {
		u.Columns = append(u.Columns, string(c))
	}
	var err error
	if u.Arbiter, err = s.expr(oc.ArbiterPredicate); err != nil {
		return nil, err
	}
	if oc.DoNothing {
		return u, nil
	}
	for _, ue := range oc.Exprs {
		a, err := s.assignment(ue)
		if err != nil {
			return nil, err
		}
		u.Sets = append(u.Sets, a)
	}
	if oc.Where != nil {
		if u.Where, err = s.expr(oc.Where.Expr); err != nil {
			return nil, err
		}
	}
	if u.Lost = lost; lost == nil {
		list, err := s.locateConflictSet(oc, after)
		if err != nil {
			u.Lost = err
		} else {
			u.SetEnd = list.end
		}
	}
	return u, nil
}

// assignment converts one item of a SET list.
func (s *stmt) assignment(ue *tree.UpdateExpr) (*model.Assignment, error) {
	a := &model.Assignment{Tuple: ue.Tuple, Span: model.NoSpan}
	for _, n := range ue.Names {
		a.Columns = append(a.Columns, string(n))
	}
	a.Text = a.Columns[0]
	var err error
	a.Value, err = s.expr(ue.Expr)
	return a, err
}

// returning converts a RETURNING list, located at or after token after
// when lost is nil.
func (s *stmt) returning(rc tree.ReturningClause, after int, lost error) (*model.Returning, error) {
	exprs, ok := rc.(*tree.ReturningExprs)
	if !ok {
		return nil, nil
	}
	r := &model.Returning{ListEnd: -1}
	var list listLoc
	if lost == nil {
		var err error
		if list, _, err = s.locateReturning(tree.SelectExprs(*exprs), after); err != nil {
			lost = err
		}
	}
	r.Lost = lost
	if lost == nil {
		r.ListEnd = list.end
	}
	for i, se := range *exprs {
		it, err := s.selectItem(se)
		if err != nil {
			return nil, err
		}
		if lost == nil {
			it.Span = s.byteSpan(list.items[i])
		}
		r.Items = append(r.Items, it)
	}
	return r, nil
}

func (s *stmt) update(u *tree.Update) (*model.Update, error) {
	if len(u.OrderBy) > 0 || u.Limit != nil {
		return nil, rewrite.Refuse("LIMIT", "UPDATE ... ORDER BY / LIMIT is not PostgreSQL")
	}
	target, err := targetRef(u.Table)
	if err != nil {
		return nil, err
	}
	m := &model.Update{With: u.With != nil, Target: target, WhereEnd: -1}
	if m.From, err = s.fromItems(u.From, span{}, errNotLocated); err != nil {
		return nil, err
	}
	for _, ue := range u.Exprs {
		a, err := s.assignment(ue)
		if err != nil {
			return nil, err
		}
		m.Sets = append(m.Sets, a)
	}
	if u.Where != nil {
		if m.Where, err = s.expr(u.Where.Expr); err != nil {
			return nil, err
		}
	}
	after := 1
	loc, err := s.locateUpdate(u)
	if err != nil {
		m.Lost = err
		if err := s.locateTarget(target, 1); err != nil {
			target.Lost = err
		}
	} else {
		target.Ref, target.NameText = loc.ref, loc.table
		m.WhereEnd, after = loc.whereEnd, loc.afterWhere
		for i, ue := range u.Exprs {
			if ue.Tuple {
				continue
			}
			x, bs, err := s.value(ue.Expr, loc.sets[i])
			if err != nil {
				return nil, err
			}
			m.Sets[i].Value, m.Sets[i].Span = x, bs
		}
	}
	if m.Returning, err = s.returning(u.Returning, after, target.Lost); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *stmt) delete(d *tree.Delete) (*model.Delete, error) {
	if d.Batch != nil {
		return nil, rewrite.Refuse("BATCH", "DELETE BATCH is not PostgreSQL")
	}
	target, err := targetRef(d.Table)
	if err != nil {
		return nil, err
	}
	m := &model.Delete{With: d.With != nil, Target: target}
	if m.From, err = s.fromItems(d.Using, span{}, errNotLocated); err != nil {
		return nil, err
	}
	if d.Where != nil {
		if m.Where, err = s.expr(d.Where.Expr); err != nil {
			return nil, err
		}
	}
	for _, o := range d.OrderBy {
		x, err := s.expr(o.Expr)
		if err != nil {
			return nil, err
		}
		m.OrderBy = append(m.OrderBy, &model.SortKey{Expr: x, Text: tree.AsString(o.Expr)})
	}
	if d.Limit != nil {
		if m.Limit, err = s.exprs([]tree.Expr{d.Limit.Count, d.Limit.Offset}); err != nil {
			return nil, err
		}
	}
	if _, ok := d.Returning.(*tree.ReturningExprs); ok {
		if !s.kw(0, "delete") || !s.kw(1, "from") {
			target.Lost = s.lost(0, "DELETE FROM")
		} else if err := s.locateTarget(target, 2); err != nil {
			target.Lost = err
		}
	}
	if m.Returning, err = s.returning(d.Returning, 0, target.Lost); err != nil {
		return nil, err
	}
	return m, nil
}
