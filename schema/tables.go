package schema

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

var typeList = func() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}()

// tables decodes the tables: mapping, keyed by lower-case table name.
func (d *decoder) tables(n *yaml.Node, path string) map[string]*Table {
	tables := map[string]*Table{}
	if isNull(resolve(n)) {
		return tables // reported by validate as "no tables"
	}
	d.entries(n, path, "a mapping from table name to table, e.g. users: {columns: {email: text}}", func(k, v *yaml.Node) {
		name, ok := d.name(k, join(path, k.Value), "table")
		if !ok {
			return
		}
		tpath := join(path, name)
		lower := strings.ToLower(name)
		if t, dup := tables[lower]; dup {
			d.failf(k.Line, tpath, "names the same table as %q (line %d): table names match without regard to case, so keep one", t.Name, d.pos.line(join(path, t.Name)))
			return
		}
		d.pos[tpath] = k.Line
		tables[lower] = d.table(v, tpath, name)
	})
	return tables
}

// table decodes one table with the defaults filled in.
func (d *decoder) table(n *yaml.Node, path, name string) *Table {
	t := &Table{
		Name:       name,
		KeyColumn:  DefaultKeyColumn,
		PrimaryKey: []string{"id"},
		Context:    []ContextEntry{{Name: "table", Value: name}},
		Columns:    map[string]*Column{},
	}
	if isNull(resolve(n)) {
		return t // reported by validate as "no encrypted columns"
	}
	d.object(n, path, "a mapping with columns: (and optionally key_column:, primary_key:, context:, key:, view_of:)", []field{
		{"key_column", func(_, v *yaml.Node) {
			t.KeyColumn, _ = d.str(v, join(path, "key_column"), "the name of the column that holds each row's wrapped data key")
		}},
		{"primary_key", func(_, v *yaml.Node) { t.PrimaryKey = d.primaryKey(v, join(path, "primary_key")) }},
		{"context", func(_, v *yaml.Node) { t.Context = d.context(v, join(path, "context")) }},
		{"key", func(_, v *yaml.Node) {
			t.Key = &Key{}
			d.key(v, join(path, "key"), t.Key)
		}},
		{"columns", func(_, v *yaml.Node) { t.Columns = d.columns(v, join(path, "columns"), name) }},
		{"view_of", func(_, v *yaml.Node) {
			t.ViewOf, _ = d.str(v, join(path, "view_of"), "the name of the declared table whose rows this view shows")
		}},
	})
	return t
}

// primaryKey decodes primary_key: a list of column names, or one name.
func (d *decoder) primaryKey(n *yaml.Node, path string) []string {
	const want = "a column name or a list of them, e.g. [id] or [tenant_id, id]"
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		if s, ok := d.str(n, path, want); ok {
			return []string{s}
		}
		return nil
	}
	pk := []string{} // not nil: an empty list is an error, not the default
	for i, e := range n.Content {
		epath := fmt.Sprintf("%s[%d]", path, i)
		d.pos[epath] = resolve(e).Line
		if s, ok := d.str(e, epath, "a column name"); ok {
			pk = append(pk, s)
		}
	}
	return pk
}

// context decodes a table's encryption context, sorted by entry name (the
// order of its canonical JSON). A value "$col" names a column of the row; it
// is checked before ${VAR} expansion, so a variable can't turn a fixed value
// into a column reference. A fixed value can't start with "$", quoted or not.
func (d *decoder) context(n *yaml.Node, path string) []ContextEntry {
	ctx := []ContextEntry{} // not nil: an empty context is an error, not the default
	d.entries(n, path, "a mapping from context name to a fixed value or $column, e.g. {table: users, id: $id}", func(k, v *yaml.Node) {
		name, ok := d.name(k, join(path, k.Value), "context entry")
		if !ok {
			return
		}
		epath := join(path, name)
		d.pos[epath] = k.Line
		v = resolve(v)
		if v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, "$") && !strings.HasPrefix(v.Value, "${") {
			col := v.Value[1:]
			if strings.TrimSpace(col) == "" {
				d.failf(v.Line, epath, `"$" without a column name; write $column to use a column's value (a fixed value can't start with "$")`)
				return
			}
			ctx = append(ctx, ContextEntry{Name: name, Column: col})
			return
		}
		if s, ok := d.str(v, epath, "a fixed value or $column"); ok {
			ctx = append(ctx, ContextEntry{Name: name, Value: s})
		}
	})
	slices.SortFunc(ctx, func(a, b ContextEntry) int { return strings.Compare(a.Name, b.Name) })
	return ctx
}

// columns decodes a table's encrypted columns, keyed by lower-case name.
func (d *decoder) columns(n *yaml.Node, path, table string) map[string]*Column {
	cols := map[string]*Column{}
	if isNull(resolve(n)) {
		return cols // reported by validate as "no encrypted columns"
	}
	d.entries(n, path, "a mapping from column name to type, e.g. {email: text, settings: {type: json}}", func(k, v *yaml.Node) {
		name, ok := d.name(k, join(path, k.Value), "column")
		if !ok {
			return
		}
		cpath := join(path, name)
		lower := strings.ToLower(name)
		if c, dup := cols[lower]; dup {
			d.failf(k.Line, cpath, "names the same column as %q (line %d): column names match without regard to case, so keep one", c.Name, d.pos.line(join(path, c.Name)))
			return
		}
		d.pos[cpath] = k.Line
		if typ, ok := d.columnType(v, cpath); ok {
			cols[lower] = &Column{Table: table, Name: name, Type: typ}
		}
	})
	return cols
}

// columnType decodes a column's short form ("email: text") or long form
// ("settings: {type: json}").
func (d *decoder) columnType(n *yaml.Node, path string) (Type, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return d.typeName(n, path)
	}
	var typ Type
	found, ok := false, true
	d.object(n, path, "a mapping with type:", []field{
		{"type", func(_, v *yaml.Node) {
			found = true
			typ, ok = d.typeName(v, join(path, "type"))
		}},
	})
	if !found {
		d.failf(n.Line, join(path, "type"), "missing; want one of %s", typeList)
		return "", false
	}
	return typ, ok
}

// typeName decodes a plaintext type name.
func (d *decoder) typeName(n *yaml.Node, path string) (Type, bool) {
	s, ok := d.str(n, path, "a type ("+typeList+")")
	if !ok {
		return "", false
	}
	if t := Type(s); t.Valid() {
		return t, true
	}
	d.failf(resolve(n).Line, path, "unknown type %q (want one of %s)", s, typeList)
	return "", false
}
