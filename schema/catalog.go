package schema

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// reviewed decodes the reviewed: list, the names of server-side objects
// over encrypted tables that the file's author has checked (ARCHITECTURE.md
// §5, "Found at open").
func (d *decoder) reviewed(n *yaml.Node, path string) []string {
	const want = "a list of names of views, rules, triggers, functions or procedures, e.g. [audit_copy]"
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.failf(n.Line, path, "want %s, got %s", want, describe(n))
		return nil
	}
	names := []string{}
	for i, e := range n.Content {
		epath := fmt.Sprintf("%s[%d]", path, i)
		d.pos[epath] = resolve(e).Line
		if s, ok := d.str(e, epath, "a name"); ok {
			names = append(names, s)
		}
	}
	return names
}

// validateReviewed checks the reviewed: names: not empty, not twice, and
// not a declared table (a declared view or table is read through kmsenc and
// needs no review).
func (c *Config) validateReviewed(pos positions, fail failFunc) {
	seen := make(map[string]int, len(c.Reviewed))
	for i, name := range c.Reviewed {
		path := fmt.Sprintf("reviewed[%d]", i)
		lower := strings.ToLower(strings.TrimSpace(name))
		switch first, dup := seen[lower]; {
		case lower == "":
			fail(pos.line(path), path, "empty name; write the name of a view, rule, trigger, function or procedure")
		case dup:
			fail(pos.line(path), path, "%q is listed twice (first as reviewed[%d]); names match without regard to case, so keep one", name, first)
		case c.Table(lower) != nil:
			fail(pos.line(path), path, "%q is a table in tables:; kmsenc reads and writes a declared table (or view) itself, so it needs no review: remove it here", name)
		default:
			seen[lower] = i
		}
	}
}

// IsReviewed reports whether name (any case) is listed under reviewed:.
func (c *Config) IsReviewed(name string) bool {
	if c == nil {
		return false
	}
	for _, r := range c.Reviewed {
		if strings.EqualFold(strings.TrimSpace(r), name) {
			return true
		}
	}
	return false
}

// WithRefused returns a copy of c that refuses statements naming any of
// refused's keys (names in lower case) with the reason each maps to: the
// objects found in the database at open through which an encrypted table
// can be read or written without kmsenc. The copy shares c's tables, so a
// plan made with either names the same *Table. c itself is not changed: a
// Config may serve several connectors, each over its own database.
func (c *Config) WithRefused(refused map[string]string) *Config {
	m := make(map[string]string, len(refused))
	for name, why := range refused {
		m[strings.ToLower(name)] = why
	}
	return &Config{File: c.File, Key: c.Key, Cache: c.Cache, Tables: c.Tables, Reviewed: c.Reviewed, refused: m}
}

// HasRefused reports whether any name is refused, so that the fast paths
// can skip the lookup of every word when none is.
func (c *Config) HasRefused() bool { return c != nil && len(c.refused) > 0 }

// Refused returns why statements naming name (an identifier, any case) are
// refused, or "" when they are not (WithRefused).
func (c *Config) Refused(name string) string {
	if c == nil || len(c.refused) == 0 {
		return ""
	}
	if why, ok := c.refused[name]; ok {
		return why
	}
	return c.refused[strings.ToLower(name)]
}

// views makes each view_of table seal and open its values as the table it
// shows: its columns' associated data and, unless the file sets one, its
// context name that table, spelt as the file declares it.
func (d *decoder) views(c *Config) {
	for _, t := range c.Tables {
		base := c.Table(t.ViewOf)
		if t.ViewOf == "" || base == nil || base == t {
			continue // validateViews reports it
		}
		for _, col := range t.Columns {
			col.Table = base.Name
		}
		if !d.pos.has("tables." + t.Name + ".context") {
			t.Context = []ContextEntry{{Name: "table", Value: base.Name}}
		}
	}
}

// validateViews checks view_of: it names another declared table that is
// no view itself, and each encrypted column of the view is one of that
// table's, with the same type.
func (c *Config) validateViews(pos positions, fail failFunc) {
	for _, t := range c.Tables {
		if t.ViewOf == "" {
			continue
		}
		path := "tables." + t.Name + ".view_of"
		base := c.Table(t.ViewOf)
		switch {
		case base == nil:
			fail(pos.line(path), path, "%q is not in tables:; a view's values are sealed as its table's, so declare that table too", t.ViewOf)
			continue
		case base == t:
			fail(pos.line(path), path, "names the table itself; leave view_of out")
			continue
		case base.ViewOf != "":
			fail(pos.line(path), path, "%q is itself a view (of %q); name the table, %q", t.ViewOf, base.ViewOf, base.ViewOf)
			continue
		}
		for _, col := range t.Columns {
			bc := base.Column(col.Name)
			cpath := "tables." + t.Name + ".columns." + col.Name
			switch {
			case bc == nil:
				fail(pos.line(cpath), cpath, "is not an encrypted column of %s (view_of); a view can only show the table's encrypted columns under their own names", base.Name)
			case bc.Type != col.Type:
				fail(pos.line(cpath), cpath, "is %s here but %s in %s (view_of); give it the table's type", col.Type, bc.Type, base.Name)
			case col.Table != base.Name:
				fail(0, cpath, "Column.Table is %q; want %q, the table view_of names, which the associated data of its values depends on", col.Table, base.Name)
			}
		}
	}
}
