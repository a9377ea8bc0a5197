package planner

import (
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// A Result describes the output columns of a query: what the caller, or an
// outer query, gets.
type Result struct {
	Cols   []ResultColumn
	Opaque bool // nothing declared; columns unknown
}

// ColumnKind says what an output column holds.
type ColumnKind int

const (
	ColPlain     ColumnKind = iota // no declared data
	ColEncrypted                   // an encrypted column of rewrite.Instance
	ColKey                         // the key column of rewrite.Instance
	ColContext                     // context column Context of rewrite.Instance
	ColRun                         // the columns of "*" or "t.*" over one relation; rewrite.Instance nil: no declared data
)

// A ResultColumn is one output column, or a run of them (ColRun).
type ResultColumn struct {
	Kind     ColumnKind
	Instance *TableInstance
	Col      *schema.Column // ColEncrypted
	Context  string         // ColContext: the context column's name
	Name     string         // the output column's name; "" unknown
	Hidden   bool           // added by kmsenc
	End      string         // ColRun: the name of the column right after the run, if known
}

// An Item is what one item of a select (or RETURNING) list outputs.
type Item struct {
	Star bool        // "*" or "t.*"
	Rels []*Relation // the relations a star covers
	Cols []ResultColumn
}

// NewResult returns the result of a select list.
func NewResult(items []Item) *Result {
	res := &Result{}
	for _, it := range items {
		res.Cols = append(res.Cols, it.Cols...)
	}
	return res
}

// HasStar reports whether a select list has a "*" or "t.*".
func HasStar(items []Item) bool {
	for _, it := range items {
		if it.Star {
			return true
		}
	}
	return false
}

// Declared reports whether the result carries declared data.
func (r *Result) Declared() bool { return r.FirstDeclared() != nil }

// FirstDeclared returns the first output column with declared data, or nil.
func (r *Result) FirstDeclared() *ResultColumn {
	if r == nil {
		return nil
	}
	for i := range r.Cols {
		c := &r.Cols[i]
		if c.Kind != ColPlain && (c.Kind != ColRun || c.Instance != nil) {
			return c
		}
	}
	return nil
}

// Describe names an output column in messages.
func (c *ResultColumn) Describe() string {
	switch {
	case c.Kind == ColRun && c.Instance != nil:
		return "* over " + c.Instance.Table.Name
	case c.Col != nil:
		return c.Instance.Table.Name + "." + c.Col.Name
	case c.Kind == ColKey:
		return c.Instance.Table.Name + "." + c.Instance.Table.KeyColumn
	}
	return c.Name
}

// StarColumns describes what "*" yields for one relation, before the
// select list is expanded.
func StarColumns(r *Relation) []ResultColumn {
	switch {
	case r.Instance != nil:
		return []ResultColumn{{Kind: ColRun, Instance: r.Instance}}
	case r.Derived != nil && r.Derived.Declared():
		return r.DerivedColumns()
	}
	return []ResultColumn{{Kind: ColRun}}
}

// DerivedColumns returns the output columns of a derived table as the
// outer query sees them: its instances become instances read through r.
func (r *Relation) DerivedColumns() []ResultColumn {
	cols := make([]ResultColumn, len(r.Derived.Cols))
	for i, c := range r.Derived.Cols {
		if c.Instance != nil {
			c.Instance = r.Through(c.Instance)
		}
		cols[i] = c
	}
	return cols
}

// StarItem returns the item "*" over rels, the FROM items in order.
func StarItem(rels []*Relation) (Item, error) {
	it := Item{Star: true, Rels: rels}
	for _, r := range rels {
		if r.Merged {
			return Item{}, rewrite.Refuse("*", "* over a join with USING or NATURAL merges columns of a table with encrypted columns; list the columns or use t.*")
		}
		it.Cols = append(it.Cols, StarColumns(r)...)
	}
	return it, nil
}
