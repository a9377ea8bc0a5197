package planner

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// upsert checks ON CONFLICT / ON DUPLICATE KEY UPDATE (ARCHITECTURE.md §5
// rule 2). An update that sets an encrypted column must set all of them
// from the proposed row, and kmsenc then sets the key column from it too:
// a row never holds values under two keys.
func (p *planner) upsert(ins *model.Insert, target *Relation) error {
	u := ins.Upsert
	if u == nil {
		return nil
	}
	t := target.Table
	// The proposed row, as EXCLUDED, VALUES(c) and a row alias name it.
	row := &Relation{Base: true, Alias: "excluded", Aliased: true, Table: t, Opaque: t == nil}
	if t != nil {
		row.Instance = &TableInstance{Table: t, Relation: row}
	}
	rels := []*Relation{target}
	if u.Targeted {
		// EXCLUDED is a relation of the update's scope ("excluded.*").
		rels = append(rels, row)
	}
	if ins.RowAlias != "" {
		rels = append(rels, p.rowAliasRel(ins, row))
	}
	sc := &Scope{Rels: rels}
	what := "ON DUPLICATE KEY UPDATE"
	if u.Targeted {
		what = "ON CONFLICT DO UPDATE"
		if err := p.check(sc, u.Arbiter, rules{what: "ON CONFLICT ... WHERE", row: row}); err != nil {
			return err
		}
	}
	if u.DoNothing {
		return nil
	}
	set := map[string]bool{}
	ctxSet := map[string]bool{}
	for _, a := range u.Sets {
		if a.Tuple {
			for _, n := range a.Columns {
				if t != nil && (t.Column(n) != nil || t.IsKeyColumn(n) || t.IsContextColumn(n)) {
					return rewrite.Refuse(n, "set %s on its own (%s = %s), not in a (...) = (...) list", n, n, p.d.Proposed(n, ins.RowAlias))
				}
			}
			if err := p.check(sc, a.Value, rules{what: what + " SET", row: row}); err != nil {
				return err
			}
			continue
		}
		n := a.Columns[0]
		if len(a.Qualifier) > 0 && !named(target, a.Qualifier) {
			return rewrite.Refuse(a.Text, "%s may only set columns of %s", what, target.Alias)
		}
		switch {
		case !u.Targeted && noop(a, target):
			// c = c, or ent's c = LAST_INSERT_ID(t.c): the row keeps its value.
		case t != nil && t.IsKeyColumn(n):
			return RefuseSetKeyColumn(n, what, t)
		case t != nil && t.Column(n) != nil:
			if !p.fromProposedRow(ins, a.Value, n) {
				return rewrite.Refuse(n, "%s may only set encrypted column %s from the proposed row: %s = %s", what, n, n, p.d.Proposed(n, ins.RowAlias))
			}
			set[strings.ToLower(n)] = true
		case t != nil && t.IsContextColumn(n) && u.Targeted:
			if !inTarget(u, n) {
				return rewrite.Refuse(n, "ON CONFLICT DO UPDATE changes context column %s, which would leave the row's data key unusable; add %s to the conflict target or don't set it", n, n)
			}
			// In the target, the existing row's value equals the
			// proposed one: only setting it to that (or to itself)
			// keeps the context its data key was wrapped for.
			if !p.fromProposedRow(ins, a.Value, n) && !ownValue(a.Value, n, target) {
				return rewrite.Refuse(n, "ON CONFLICT DO UPDATE changes context column %s to a new value, which would leave the row's data key wrapped for the old one; don't set it (or set %s = %s)", n, n, p.d.Proposed(n, ins.RowAlias))
			}
		case t != nil && t.IsContextColumn(n):
			if !p.fromProposedRow(ins, a.Value, n) {
				return rewrite.Refuse(n, "%s changes context column %s, which would leave the row's data key unusable; don't set it, or set it and every encrypted column from the inserted row", what, n)
			}
			ctxSet[strings.ToLower(n)] = true
		default:
			if err := p.check(sc, a.Value, rules{what: what + " SET", row: row}); err != nil {
				return err
			}
		}
	}
	if err := p.check(sc, u.Where, rules{what: what + " ... WHERE", strict: true, row: row}); err != nil {
		return err
	}
	if len(set) == 0 {
		for c := range ctxSet {
			return rewrite.Refuse(c, "%s changes context column %s but no encrypted column, which would leave the row's data key unusable; don't set it", what, c)
		}
		return nil
	}
	if err := p.upsertCoversRow(ins, set, ctxSet); err != nil {
		return err
	}
	if u.Lost != nil || u.SetEnd < 0 {
		return lost(u.Lost, "the SET list of "+what)
	}
	key := p.column(t.KeyColumn)
	p.insert(u.SetEnd, text(", "+key+" = "+p.d.Proposed(p.d.Schema(t.KeyColumn), ins.RowAlias)))
	return nil
}

// upsertCoversRow checks an upsert that sets encrypted columns: it must set
// all of them, and keep the row's context: with a conflict target, its
// context columns are in the target, so the existing row has the proposed
// row's values. MySQL doesn't say which unique key a duplicate is on: a
// context column set from the inserted row is safe; one of the primary key
// is safe when the table has no other unique key, which the wrapper checks
// (Plan.PrimaryKeyOnlyUnique); any other is refused.
func (p *planner) upsertCoversRow(ins *model.Insert, set, ctxSet map[string]bool) error {
	u := ins.Upsert
	t := p.targetRel(ins.Target).Table
	for _, c := range t.ColumnNames() {
		if !set[strings.ToLower(c)] {
			what := "ON DUPLICATE KEY UPDATE"
			if u.Targeted {
				what = "ON CONFLICT DO UPDATE"
			}
			return rewrite.Refuse(c, "%s sets some encrypted columns of %s but not %s: the row would hold values under two data keys; also set %s = %s", what, t.Name, c, c, p.d.Proposed(c, ins.RowAlias))
		}
	}
	for _, c := range t.ContextColumns() {
		switch {
		case u.Targeted && u.Constraint != "":
			return rewrite.Refuse("ON CONSTRAINT", "ON CONFLICT ON CONSTRAINT can't show that context column %s stays the same; name the conflict columns: ON CONFLICT (%s)", c, c)
		case u.Targeted && !inTarget(u, c):
			return rewrite.Refuse(c, "context column %s must be in the ON CONFLICT target, or the updated row's context would not match its new key: ON CONFLICT (%s, ...)", c, c)
		case u.Targeted, ctxSet[strings.ToLower(c)]:
		case t.IsPrimaryKey(c):
			p.primaryKeyOnlyUnique = true
		default:
			return rewrite.Refuse(c, "context column %s of %s is not part of the primary key, and MySQL doesn't say which unique key a duplicate is on: the updated row's context could differ from its new key's; also set %s = %s", c, t.Name, c, p.d.Proposed(c, ins.RowAlias))
		}
	}
	if len(ins.RowAliasCols) > 0 {
		return rewrite.Refuse(ins.RowAlias, "a row alias with column names (AS %s(...)) is not supported when ON DUPLICATE KEY UPDATE sets encrypted columns; use AS %s without them, or VALUES(col)", ins.RowAlias, ins.RowAlias)
	}
	return nil
}

func inTarget(u *model.Upsert, c string) bool {
	for _, n := range u.Columns {
		if strings.EqualFold(n, c) {
			return true
		}
	}
	return false
}

// fromProposedRow reports whether e is the proposed row's value of col:
// EXCLUDED.col, VALUES(col), or alias.col with a row alias that names no
// columns.
func (p *planner) fromProposedRow(ins *model.Insert, e model.Expr, col string) bool {
	switch v := e.(type) {
	case *model.Proposed:
		return strings.EqualFold(v.Column, col)
	case *model.ColumnRef:
		return ins.RowAlias != "" && len(ins.RowAliasCols) == 0 && len(v.Qualifier) == 1 &&
			strings.EqualFold(v.Qualifier[0], ins.RowAlias) && strings.EqualFold(v.Name, col)
	}
	return false
}

// rowAliasRel makes the relation of a row alias: the proposed row under
// another name, its columns renamed when the alias names them (AS new(a,
// b) renames the INSERT's columns in order).
func (p *planner) rowAliasRel(ins *model.Insert, row *Relation) *Relation {
	t := row.Table
	if len(ins.RowAliasCols) == 0 {
		return &Relation{Base: true, Alias: ins.RowAlias, Aliased: true, Table: t, Instance: row.Instance, Opaque: t == nil}
	}
	res := &Result{}
	for j, name := range ins.RowAliasCols {
		var rf Ref
		if j < len(ins.Columns) {
			rf, _ = row.Column(ins.Columns[j]) // a table's column: no error
		}
		res.Cols = append(res.Cols, rf.Output(name))
	}
	if len(ins.Columns) == 0 && t != nil {
		// INSERT INTO t VALUES (...) AS new(a, b): which column each names
		// is unknown.
		res = &Result{Opaque: true, Cols: []ResultColumn{{Kind: ColRun, Instance: row.Instance}}}
	}
	return &Relation{Alias: ins.RowAlias, Aliased: true, Derived: res}
}

// noop reports whether an assignment gives a column its own value: c = c,
// c = t.c, or c = LAST_INSERT_ID(c) (which ORMs use to learn the id of the
// row an upsert found).
func noop(a *model.Assignment, target *Relation) bool {
	e := a.Value
	if f, ok := e.(*model.Func); ok && f.Name == "last_insert_id" && len(f.Args) == 1 {
		e = f.Args[0]
	}
	return ownValue(e, a.Columns[0], target)
}

// ownValue reports whether e is column c of target itself: c or t.c.
func ownValue(e model.Expr, c string, target *Relation) bool {
	cr := bareName(e)
	return cr != nil && strings.EqualFold(cr.Name, c) && (len(cr.Qualifier) == 0 || named(target, cr.Qualifier))
}
