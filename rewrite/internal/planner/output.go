package planner

import (
	"strconv"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
)

// This file turns what a query outputs into what the wrapper needs to
// decrypt it: the columns kmsenc adds to a select list (key and context
// columns, markers that end the runs of "*"), and the plan's Output.

// Markers names the columns kmsenc adds to one statement: __kmsenc_1,
// __kmsenc_2, ... (MarkerPrefix and a number).
type Markers struct{ n int }

// Next returns a fresh marker.
func (m *Markers) Next() string {
	m.n++
	return rewrite.MarkerPrefix + strconv.Itoa(m.n)
}

// Names writes names into the SQL kmsenc adds to a select list, the way
// one dialect reads them back.
type Names interface {
	// WriteName writes a name so that the database reads it back as it is:
	// an output column's name, a marker, or what Schema returns.
	WriteName(b *strings.Builder, name string)
	// Schema returns a table's or column's name from the schema file as the
	// database knows it.
	Schema(name string) string
}

// An Expansion is how a select list is rewritten so that its output
// carries what decryption needs.
type Expansion struct {
	// Cols is the list's output once rewritten.
	Cols []ResultColumn
	// Stars holds, for each star item, the SQL that replaces it ("" for the
	// other items); nil when the list has no star.
	Stars []string
	// Added is the SQL to add after the last item (", k AS __kmsenc_2, ..."),
	// or "".
	Added string
}

// Expand rewrites a select list whose output carries declared data: each
// "*" becomes one "rel.*" per relation, each followed by a marker column
// that ends its run, and the key and context columns of every instance
// whose encrypted columns are output are added as hidden columns. top says
// the output goes to the caller, not to an outer query; near renders item i
// for refusals.
func Expand(items []Item, top bool, n Names, m *Markers, near func(i int) string) (Expansion, error) {
	var x Expansion
	var b strings.Builder
	for i, it := range items {
		if !it.Star {
			x.Cols = append(x.Cols, it.Cols...)
			continue
		}
		b.Reset()
		cols, err := expandStar(&b, it, n, m, func() string { return near(i) })
		if err != nil {
			return Expansion{}, err
		}
		x.Cols = append(x.Cols, cols...)
		if x.Stars == nil {
			x.Stars = make([]string, len(items))
		}
		x.Stars[i] = b.String()
	}
	b.Reset()
	var err error
	if x.Cols, err = addHidden(&b, x.Cols, top, n, m); err != nil {
		return Expansion{}, err
	}
	x.Added = b.String()
	return x, nil
}

// expandStar writes the SQL that replaces a star item, and returns the
// columns it outputs.
func expandStar(b *strings.Builder, it Item, n Names, m *Markers, near func() string) ([]ResultColumn, error) {
	if len(it.Rels) == 0 {
		return nil, rewrite.Refuse(near(), "kmsenc can't find the relation of this * among the FROM items")
	}
	var cols []ResultColumn
	for j, r := range it.Rels {
		if r.Ref == "" && !r.Bare {
			return nil, rewrite.Refuse(near(), "* over a subquery without an alias; give it one (AS s)")
		}
		if j > 0 {
			b.WriteString(", ")
		}
		if !r.Bare {
			b.WriteString(r.Ref)
			b.WriteByte('.')
		}
		b.WriteByte('*')
		switch {
		case r.Instance != nil:
			mk := m.Next()
			b.WriteString(", ")
			writeColumn(b, n, r, n.Schema(r.Table.KeyColumn))
			writeAlias(b, n, mk)
			cols = append(cols, ResultColumn{Kind: ColRun, Instance: r.Instance, End: mk}, ResultColumn{Kind: ColKey, Instance: r.Instance, Name: mk, Hidden: true})
		case r.Derived != nil && r.Derived.Declared():
			cols = append(cols, r.DerivedColumns()...)
		default:
			mk := m.Next()
			b.WriteString(", NULL")
			writeAlias(b, n, mk)
			cols = append(cols, ResultColumn{Kind: ColRun, End: mk}, ResultColumn{Kind: ColPlain, Name: mk, Hidden: true})
		}
	}
	return cols, nil
}

// addHidden adds to cols the key and context columns that the instances
// whose encrypted columns cols holds need and lack, writing ", ref AS
// marker" for each.
func addHidden(b *strings.Builder, cols []ResultColumn, top bool, n Names, m *Markers) ([]ResultColumn, error) {
	for _, in := range encryptedInstances(cols) {
		if findColumn(cols, ColKey, in, "", top) < 0 {
			b.WriteString(", ")
			if err := writeKeyRef(b, n, in); err != nil {
				return nil, err
			}
			mk := m.Next()
			writeAlias(b, n, mk)
			cols = append(cols, ResultColumn{Kind: ColKey, Instance: in, Name: mk, Hidden: true})
		}
		for _, c := range in.Table.ContextColumns() {
			if findColumn(cols, ColContext, in, c, top) < 0 {
				b.WriteString(", ")
				if err := writeContextRef(b, n, in, c); err != nil {
					return nil, err
				}
				mk := m.Next()
				writeAlias(b, n, mk)
				cols = append(cols, ResultColumn{Kind: ColContext, Instance: in, Context: c, Name: mk, Hidden: true})
			}
		}
	}
	return cols, nil
}

// writeColumn writes column name of r: "ref.name", or just the name for a
// bare relation.
func writeColumn(b *strings.Builder, n Names, r *Relation, name string) {
	if !r.Bare {
		b.WriteString(r.Ref)
		b.WriteByte('.')
	}
	n.WriteName(b, name)
}

// writeAlias writes " AS marker".
func writeAlias(b *strings.Builder, n Names, marker string) {
	b.WriteString(" AS ")
	n.WriteName(b, marker)
}

// writeKeyRef writes the SQL that reads the key column of in.
func writeKeyRef(b *strings.Builder, n Names, in *TableInstance) error {
	rel := in.Relation
	if in.Inner == nil {
		if rel.Ref == "" && !rel.Bare {
			return rewrite.Refuse(in.Table.Name, "kmsenc can't name the table %s here; give it an alias", in.Table.Name)
		}
		writeColumn(b, n, rel, n.Schema(in.Table.KeyColumn))
		return nil
	}
	i := findColumn(rel.Derived.Cols, ColKey, in.Inner, "", false)
	if i < 0 || rel.Ref == "" {
		return rewrite.Refuse(rel.Alias, "kmsenc can't find the key column of %s through this subquery; select from the table directly", in.Table.Name)
	}
	writeColumn(b, n, rel, rel.Derived.Cols[i].Name)
	return nil
}

// writeContextRef writes the SQL that reads context column c of in.
func writeContextRef(b *strings.Builder, n Names, in *TableInstance, c string) error {
	rel := in.Relation
	if in.Inner == nil {
		if rel.Ref == "" && !rel.Bare {
			return rewrite.Refuse(in.Table.Name, "kmsenc can't name the table %s here; give it an alias", in.Table.Name)
		}
		writeColumn(b, n, rel, n.Schema(c))
		return nil
	}
	i := findColumn(rel.Derived.Cols, ColContext, in.Inner, c, false)
	if i < 0 || rel.Ref == "" {
		return rewrite.Refuse(rel.Alias, "kmsenc can't find the context column %s of %s through this subquery; select from the table directly", c, in.Table.Name)
	}
	writeColumn(b, n, rel, rel.Derived.Cols[i].Name)
	return nil
}

// encryptedInstances returns the instances whose encrypted columns are in
// cols, in order of first appearance.
func encryptedInstances(cols []ResultColumn) []*TableInstance {
	var out []*TableInstance
	seen := map[*TableInstance]bool{}
	for _, c := range cols {
		if c.Instance != nil && (c.Kind == ColEncrypted || c.Kind == ColRun) && !seen[c.Instance] {
			seen[c.Instance] = true
			out = append(out, c.Instance)
		}
	}
	return out
}

// findColumn returns the index of the key (ctx == "") or context column of
// in, or -1. Below the top level, only columns kmsenc added count: a column
// the query names itself might clash with another of the same name outside.
func findColumn(cols []ResultColumn, kind ColumnKind, in *TableInstance, ctx string, top bool) int {
	for i, c := range cols {
		if c.Kind == kind && c.Instance == in && strings.EqualFold(c.Context, ctx) && (top || c.Hidden) {
			return i
		}
	}
	return -1
}

// NewOutput turns the result of a top-level select or RETURNING list into
// the plan's Output, or nil when it carries no declared data.
func NewOutput(res *Result) (*rewrite.Output, error) {
	if !res.Declared() {
		return nil, nil
	}
	out := &rewrite.Output{}
	index := map[*TableInstance]int{}
	var order []*TableInstance
	inst := func(in *TableInstance) int {
		if in == nil {
			return -1
		}
		if i, ok := index[in]; ok {
			return i
		}
		index[in] = len(out.Instances)
		order = append(order, in)
		out.Instances = append(out.Instances, rewrite.Instance{Table: in.Table, Key: -1})
		return index[in]
	}
	for _, c := range res.Cols {
		oc := rewrite.OutputColumn{Instance: inst(c.Instance), Hidden: c.Hidden}
		switch c.Kind {
		case ColPlain:
			oc.Kind = rewrite.OutPlain
		case ColEncrypted:
			oc.Kind, oc.Column = rewrite.OutEncrypted, c.Col
		case ColKey:
			oc.Kind = rewrite.OutKey
		case ColContext:
			oc.Kind, oc.Name = rewrite.OutContext, c.Context
		case ColRun:
			oc.Star, oc.End = true, c.End
			oc.Kind = rewrite.OutPlain
			if c.Instance != nil {
				oc.Kind = rewrite.OutEncrypted
			}
		}
		out.Columns = append(out.Columns, oc)
	}
	encrypted := map[*TableInstance]bool{}
	for _, in := range encryptedInstances(res.Cols) {
		encrypted[in] = true
	}
	for i, in := range order {
		k := findColumn(res.Cols, ColKey, in, "", true)
		if k < 0 {
			return nil, rewrite.Refuse("", "kmsenc lost the key column of %s; please report this statement", in.Table.Name)
		}
		out.Instances[i].Key = k
		if !encrypted[in] {
			continue
		}
		for _, c := range in.Table.ContextColumns() {
			j := findColumn(res.Cols, ColContext, in, c, true)
			if j < 0 {
				return nil, rewrite.Refuse("", "kmsenc lost the context column %s of %s; please report this statement", c, in.Table.Name)
			}
			out.Instances[i].Context = append(out.Instances[i].Context, j)
		}
	}
	return out, nil
}
