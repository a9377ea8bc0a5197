package planner

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// planUpdate plans UPDATE (ARCHITECTURE.md §5 rule 4): an UPDATE that sets
// encrypted columns must pin one row by its primary key; the values are
// encrypted under that row's data key, which the wrapper reads with
// Update.Lookup, and the WHERE gets "AND key_column = <the key>" so that
// they are only ever written under it. An UPDATE that sets no encrypted
// column passes through, its RETURNING list decrypted.
func (p *planner) planUpdate(u *model.Update) (*rewrite.Plan, error) {
	if u.With {
		return nil, RefuseWith("UPDATE")
	}
	if u.Multi {
		return p.updateMulti(u)
	}
	target := p.targetRel(u.Target)
	sc := &Scope{Rels: []*Relation{target}}
	extra, err := p.from(u.From, sc, modeDescribe)
	if err != nil {
		return nil, err
	}
	t := target.Table
	var enc []*model.Assignment
	for _, a := range u.Sets {
		if a.Tuple {
			for _, n := range a.Columns {
				if t != nil && (t.Column(n) != nil || t.IsKeyColumn(n) || t.IsContextColumn(n)) {
					return nil, rewrite.Refuse(n, "set %s on its own (%s = value), not in a (...) = (...) list", n, n)
				}
			}
			if err := p.check(sc, a.Value, rules{what: "SET"}); err != nil {
				return nil, err
			}
			continue
		}
		n := a.Columns[0]
		if len(a.Qualifier) > 0 && !named(target, a.Qualifier) {
			return nil, rewrite.Refuse(a.Text, "the column %s is not one of %s", a.Text, target.Alias)
		}
		switch {
		case t != nil && t.IsKeyColumn(n):
			return nil, RefuseSetKeyColumn(n, "the UPDATE", t)
		case t != nil && t.IsContextColumn(n):
			return nil, rewrite.Refuse(n, "the UPDATE changes context column %s, part of %s's encryption context: the row's data key would no longer unwrap; context columns can't change", n, t.Name)
		case t != nil && t.Column(n) != nil:
			enc = append(enc, a)
		default:
			if err := p.check(sc, a.Value, rules{what: "SET"}); err != nil {
				return nil, err
			}
		}
	}
	if err := p.check(sc, u.Where, rules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := p.sortKeys(u.OrderBy, nil, nil, sc, "ORDER BY"); err != nil {
		return nil, err
	}
	if err := p.checkAll(sc, u.Limit, rules{what: "LIMIT"}); err != nil {
		return nil, err
	}
	if len(enc) > 0 {
		return p.pinnedUpdate(u, target, enc)
	}
	out, err := p.returning(u.Returning, target, extra...)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return p.passThrough(), nil
	}
	return p.finish(&rewrite.Plan{Kind: rewrite.Select, Output: out})
}

// pinnedUpdate plans an UPDATE that sets encrypted columns (enc).
func (p *planner) pinnedUpdate(u *model.Update, target *Relation, enc []*model.Assignment) (*rewrite.Plan, error) {
	t := target.Table
	for _, a := range u.Sets {
		for _, n := range a.Columns {
			if t.IsPrimaryKey(n) {
				return nil, RefusePrimaryKeyChange(n)
			}
		}
	}
	if len(u.From) > 0 {
		return nil, rewrite.Refuse("FROM", "an UPDATE of encrypted columns can't have FROM; pin one row by its primary key")
	}
	pk, err := p.pinnedRow(u.Where, target)
	if err != nil {
		return nil, err
	}
	if u.Lost != nil {
		return nil, u.Lost
	}
	for _, a := range enc {
		if err := p.encryptValue(a.Value, a.Span, t.Column(a.Columns[0]), 0); err != nil {
			return nil, err
		}
	}
	if u.WhereEnd < 0 {
		return nil, lost(nil, "the WHERE condition")
	}
	p.insert(u.WhereEnd, text(" AND "+p.column(t.KeyColumn)+" = "), param(p.newSlot(rewrite.Param{Kind: rewrite.ParamRowKeyGuard}, u.WhereEnd)))
	out, err := p.returning(u.Returning, target)
	if err != nil {
		return nil, err
	}
	lookup := RowKeyLookup(t, u.Target.NameText, pk,
		func(c string) string { return p.d.QuoteIdent(p.d.Schema(c)) },
		p.d.Placeholder)
	return p.finish(&rewrite.Plan{Kind: rewrite.Update, Table: t, Update: lookup, Output: out})
}

// pinnedRow finds, in a WHERE that is a conjunction, "pk = value" for each
// primary key column of the target, value a parameter or a constant, and
// returns the values in primary key order.
func (p *planner) pinnedRow(where model.Expr, target *Relation) ([]rewrite.Value, error) {
	t := target.Table
	found := make([]*rewrite.Value, len(t.PrimaryKey))
	var visit func(e model.Expr)
	visit = func(e model.Expr) {
		switch n := e.(type) {
		case *model.Paren:
			visit(n.X)
		case *model.And:
			for _, term := range n.Terms {
				visit(term)
			}
		case *model.Compare:
			if n.Op != model.OpEqual || len(n.Right) != 1 {
				return
			}
			for _, pair := range [][2]model.Expr{{n.Left, n.Right[0]}, {n.Right[0], n.Left}} {
				cr := bareName(pair[0])
				if cr == nil || len(cr.Qualifier) > 0 && !named(target, cr.Qualifier) {
					continue
				}
				for i, pk := range t.PrimaryKey {
					if strings.EqualFold(cr.Name, pk) && found[i] == nil {
						if v, ok := p.valueOf(pair[1]); ok {
							found[i] = &v
						}
					}
				}
			}
		}
	}
	visit(where)
	vals := make([]rewrite.Value, len(found))
	for i, v := range found {
		if v == nil {
			return nil, rewrite.Refuse("WHERE", "an UPDATE of encrypted columns must pin one row by its primary key (%s = ...): kmsenc encrypts under that row's data key; add %s = %s to a WHERE of ANDed conditions", t.PrimaryKey[i], t.PrimaryKey[i], p.d.Placeholder(1))
		}
		vals[i] = *v
	}
	return vals, nil
}

// updateMulti checks a multi-table UPDATE: it may not set a declared, key
// or context column, and passes through.
func (p *planner) updateMulti(u *model.Update) (*rewrite.Plan, error) {
	sc := &Scope{}
	if _, err := p.from(u.From, sc, modeDescribe); err != nil {
		return nil, err
	}
	for _, a := range u.Sets {
		for _, n := range a.Columns {
			cr := &model.ColumnRef{Qualifier: a.Qualifier, Name: n, Text: a.Text}
			rf, err := p.resolve(sc, cr)
			if err != nil {
				return nil, err
			}
			if rf.Kind != RefPlain || contextColumn(sc, cr) {
				return nil, rewrite.Refuse(a.Text, "a multi-table UPDATE can't set %s of a table with encrypted columns; update that table on its own, by primary key", a.Text)
			}
		}
		if err := p.check(sc, a.Value, rules{what: "SET"}); err != nil {
			return nil, err
		}
	}
	return p.checkedPass(sc, u.Where, u.OrderBy, u.Limit, u.Returning)
}

// contextColumn reports whether c may name a context column of a declared
// table of sc.
func contextColumn(sc *Scope, c *model.ColumnRef) bool {
	for _, r := range sc.Rels {
		if r.Table == nil || !r.Table.IsContextColumn(c.Name) {
			continue
		}
		if len(c.Qualifier) == 0 || named(r, c.Qualifier) {
			return true
		}
	}
	return false
}

// checkedPass passes a statement on several tables through once its
// WHERE, ORDER BY and LIMIT are checked.
func (p *planner) checkedPass(sc *Scope, where model.Expr, order []*model.SortKey, limit []model.Expr, ret *model.Returning) (*rewrite.Plan, error) {
	if err := p.check(sc, where, rules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := p.sortKeys(order, nil, nil, sc, "ORDER BY"); err != nil {
		return nil, err
	}
	if err := p.checkAll(sc, limit, rules{what: "LIMIT"}); err != nil {
		return nil, err
	}
	if ret != nil {
		return nil, rewrite.Refuse("RETURNING", "RETURNING is only supported on statements that write one table")
	}
	return p.passThrough(), nil
}

// planDelete plans DELETE (ARCHITECTURE.md §5 rule 5): it passes through
// once its conditions are checked, and a RETURNING list of encrypted
// columns is decrypted.
func (p *planner) planDelete(d *model.Delete) (*rewrite.Plan, error) {
	if d.With {
		return nil, RefuseWith("DELETE")
	}
	if d.Multi {
		sc := &Scope{}
		if _, err := p.from(d.From, sc, modeDescribe); err != nil {
			return nil, err
		}
		return p.checkedPass(sc, d.Where, d.OrderBy, d.Limit, d.Returning)
	}
	target := p.targetRel(d.Target)
	sc := &Scope{Rels: []*Relation{target}}
	extra, err := p.from(d.From, sc, modeDescribe)
	if err != nil {
		return nil, err
	}
	if err := p.check(sc, d.Where, rules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := p.sortKeys(d.OrderBy, nil, nil, sc, "ORDER BY"); err != nil {
		return nil, err
	}
	if err := p.checkAll(sc, d.Limit, rules{what: "LIMIT"}); err != nil {
		return nil, err
	}
	out, err := p.returning(d.Returning, target, extra...)
	if err != nil || out == nil {
		if err != nil {
			return nil, err
		}
		return p.passThrough(), nil
	}
	return p.finish(&rewrite.Plan{Kind: rewrite.Delete, Output: out})
}
