package planner

import (
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// from analyses the FROM items of one query level (also UPDATE ... FROM,
// DELETE ... USING and the tables of a multi-table UPDATE or DELETE) into
// sc, and returns the relations "*" covers, in order.
func (p *planner) from(items []model.From, sc *Scope, m mode) ([]*Relation, error) {
	w := &fromWalk{p: p, sc: sc, m: m}
	for _, f := range items {
		if _, err := w.item(f); err != nil {
			return nil, err
		}
	}
	return w.leaves, nil
}

// fromWalk builds the relations of one query level's FROM items.
type fromWalk struct {
	p      *planner
	sc     *Scope
	m      mode
	leaves []*Relation
}

func (w *fromWalk) item(f model.From) ([]*Relation, error) {
	var r *Relation
	var alias string
	var cols []string
	switch t := f.(type) {
	case *model.TableRef:
		if w.m == modeEdit && t.Lost != nil {
			return nil, t.Lost
		}
		var err error
		if r, err = w.p.tableRel(t, w.sc); err != nil {
			return nil, err
		}
		alias, cols = t.Alias, t.ColAliases
	case *model.Derived:
		if w.m == modeEdit && t.Lost != nil {
			return nil, t.Lost
		}
		// Only a LATERAL subquery sees the FROM items before it.
		parent := &Scope{Parent: w.sc.Parent, CTEs: w.sc.CTEs}
		if t.Lateral {
			parent = w.sc
		}
		m := modeDescribe
		if w.m == modeEdit {
			m = modeEdit
		}
		res, err := w.p.query(t.Query, parent, m, false)
		if err != nil {
			return nil, err
		}
		r = &Relation{Derived: res, Ref: t.Ref}
		alias, cols = t.Alias, t.ColAliases
	case *model.FuncTable:
		if err := w.p.checkAll(w.sc, t.Args, rules{what: "a function in FROM"}); err != nil {
			return nil, err
		}
		r = &Relation{Opaque: true, Alias: t.Name}
		alias = t.Alias
	case *model.Join:
		return w.join(t)
	default:
		return nil, RefuseFromItem()
	}
	if alias != "" {
		r.Alias, r.Aliased = alias, true
	}
	if len(cols) > 0 {
		if r.Table != nil {
			return nil, rewrite.Refuse(r.Alias, "column aliases on a table with encrypted columns (%s) are not supported: kmsenc can't tell which column each renames; name the columns in a subquery", r.Alias)
		}
		if err := r.RenameColumns(cols); err != nil {
			return nil, err
		}
	}
	w.sc.Rels = append(w.sc.Rels, r)
	w.leaves = append(w.leaves, r)
	return []*Relation{r}, nil
}

// tableRel makes the relation of a table named in FROM: a CTE in scope, or
// a table (declared or not).
func (p *planner) tableRel(t *model.TableRef, sc *Scope) (*Relation, error) {
	if t.Schema == "" {
		if c := sc.FindCTE(t.Name); c != nil {
			return &Relation{Alias: t.Name, Ref: t.Ref, Derived: c.Result}, nil
		}
	}
	r := TableRelation(p.cfg, t.Name)
	r.Schema, r.Ref, r.Bare = t.Schema, t.Ref, t.Bare
	return r, nil
}

// targetRel makes the relation of the table a statement writes.
func (p *planner) targetRel(t *model.TableRef) *Relation {
	r := TableRelation(p.cfg, t.Name)
	r.Schema, r.Ref, r.Bare = t.Schema, t.Ref, t.Bare
	if t.Alias != "" {
		r.Alias, r.Aliased = t.Alias, true
	}
	return r
}

func (w *fromWalk) join(j *model.Join) ([]*Relation, error) {
	before, leaves := len(w.sc.Rels), len(w.leaves)
	left, err := w.item(j.Left)
	if err != nil {
		return nil, err
	}
	right, err := w.item(j.Right)
	if err != nil {
		return nil, err
	}
	both := append(append([]*Relation{}, left...), right...)
	switch {
	case j.On != nil:
		if err := w.p.check(w.sc, j.On, rules{what: "a join condition"}); err != nil {
			return nil, err
		}
	case len(j.Using) > 0:
		c := &checker{p: w.p, rules: rules{what: "a join condition (USING)"}}
		if err := UsingJoin(both, j.Using, c.refuseRef); err != nil {
			return nil, err
		}
	case j.Natural:
		if err := NaturalJoin(both); err != nil {
			return nil, err
		}
	}
	if j.Alias == "" {
		return both, nil
	}
	// "(a JOIN b) AS j": the alias hides a and b behind j's merged columns.
	for _, r := range both {
		if r.HasDeclared() {
			return nil, rewrite.Refuse(j.Alias, "an alias on a parenthesized join over tables with encrypted columns is not supported; alias the tables instead")
		}
	}
	w.sc.Rels = w.sc.Rels[:before]
	w.leaves = w.leaves[:leaves]
	r := &Relation{Opaque: true, Alias: j.Alias, Aliased: true}
	w.sc.Rels = append(w.sc.Rels, r)
	w.leaves = append(w.leaves, r)
	return []*Relation{r}, nil
}
