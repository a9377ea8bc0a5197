package schema

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Validate checks the rules that span fields: a master key for every table,
// versions, cache limits, and that no column is both encrypted and part of
// the key column, the primary key or the encryption context. Parse runs it
// already; it is exported for a Config built in Go. Its errors match
// ErrConfig and carry no line numbers.
func (c *Config) Validate() error {
	if errs := c.validate(nil); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// validate returns every rule violation in c, in the order checked (Parse
// sorts them by line). pos gives the lines; nil for a Config built in Go.
func (c *Config) validate(pos positions) []*FieldError {
	var errs []*FieldError
	fail := func(line int, path, format string, args ...any) {
		errs = append(errs, &FieldError{File: c.File, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
	}
	c.validateKeys(pos, fail)
	if c.Cache.TTL < 0 {
		fail(pos.line("cache.ttl"), "cache.ttl", "%v is negative; want a duration >= 0, such as 60s, or 0 to turn the cache off", c.Cache.TTL)
	}
	if c.Cache.MaxKeys < 1 {
		fail(pos.line("cache.max_keys"), "cache.max_keys", "%d is too small; want a whole number >= 1 (default %d)", c.Cache.MaxKeys, DefaultMaxKeys)
	}
	if len(c.Tables) == 0 {
		fail(pos.lineOr("tables", ""), "tables", "no tables; list each table that has encrypted columns, e.g. tables: {users: {columns: {email: text}}}")
	}
	for _, lower := range slices.Sorted(maps.Keys(c.Tables)) {
		t := c.Tables[lower]
		if lower != strings.ToLower(t.Name) {
			fail(0, "tables."+t.Name, "Config.Tables holds it under %q; key each table by its name in lower case, or lookups miss it", lower)
		}
		t.validate("tables."+t.Name, pos, fail)
	}
	c.validateViews(pos, fail)
	c.validateReviewed(pos, fail)
	return errs
}

// validateKeys checks the top-level key, or that every table has its own.
func (c *Config) validateKeys(pos positions, fail failFunc) {
	if pos.has("key") || c.Key.URL != "" || len(c.Key.Previous) > 0 {
		validateKey(c.Key, "key", pos, fail)
		return
	}
	// No top-level key: fine only if every table has one. Name the first
	// table in the file that doesn't.
	var keyless *Table
	for _, t := range c.Tables {
		if t.Key != nil {
			continue
		}
		if keyless == nil || tableBefore(t, keyless, pos) {
			keyless = t
		}
	}
	if keyless != nil {
		fail(pos.line(""), "key.url", "missing; table %q (%s) has no key: of its own, so add a top-level key: with url: set to %s",
			keyless.Name, where(pos, "tables."+keyless.Name), wantURL)
	}
}

// tableBefore orders tables by line, then name, for a stable choice.
func tableBefore(a, b *Table, pos positions) bool {
	la, lb := pos.line("tables."+a.Name), pos.line("tables."+b.Name)
	if la != lb {
		return la < lb
	}
	return a.Name < b.Name
}

type failFunc = func(line int, path, format string, args ...any)

// validate checks one table; path is "tables.<name>".
func (t *Table) validate(path string, pos positions, fail failFunc) {
	if t.Key != nil {
		validateKey(*t.Key, path+".key", pos, fail)
	}
	kc := path + ".key_column"
	if strings.TrimSpace(t.KeyColumn) == "" {
		fail(pos.line(kc), kc, "empty; want the name of the column that holds each row's wrapped data key, or leave key_column out for the default %s", DefaultKeyColumn)
	}
	pk := path + ".primary_key"
	if len(t.PrimaryKey) == 0 {
		fail(pos.line(pk), pk, "empty; want the column(s) that identify a row, e.g. [id], or leave primary_key out for the default [id]")
	}
	cp := path + ".context"
	if len(t.Context) == 0 {
		fail(pos.line(cp), cp, "empty; leave context out for the default {table: %s}, or list at least one entry", t.Name)
	}
	for _, e := range t.Context {
		switch {
		case e.Name == "":
			fail(pos.line(cp), cp, "an entry has no name; give each entry a name")
		case e.Value != "" && e.Column != "":
			fail(pos.line(join(cp, e.Name)), join(cp, e.Name), "has both a Value and a Column; set one")
		}
	}
	t.validateColumns(path, pos, fail)
	t.validateRoles(path, pos, fail)
}

// validateColumns checks the encrypted columns of the table at path.
func (t *Table) validateColumns(path string, pos positions, fail failFunc) {
	cols := path + ".columns"
	if len(t.Columns) == 0 {
		fail(pos.lineOr(cols, path), cols, "no encrypted columns; list them, e.g. columns: {email: text}, or remove the table")
	}
	for _, lower := range slices.Sorted(maps.Keys(t.Columns)) {
		c := t.Columns[lower]
		p := join(cols, c.Name)
		switch {
		case strings.TrimSpace(c.Name) == "":
			fail(pos.line(cols), cols, "a column has no name; give each column its name")
		case lower != strings.ToLower(c.Name):
			fail(0, p, "Table.Columns holds it under %q; key each column by its name in lower case, or lookups miss it", lower)
		case c.Table != t.Name && t.ViewOf == "": // validateViews checks a view's
			fail(0, p, "Column.Table is %q; want the table's name %q, which the associated data of its values depends on", c.Table, t.Name)
		case !c.Type.Valid():
			fail(pos.line(p), p, "unknown type %q (want one of %s)", c.Type, typeList)
		}
	}
}

// A role is what a column name stands for in a table. Some roles exclude
// each other: see roleConflicts.
type role int

const (
	roleKeyColumn role = iota
	rolePrimaryKey
	roleContext
	roleEncrypted
)

var roleNames = [...]string{
	roleKeyColumn:  "the key column",
	rolePrimaryKey: "in primary_key",
	roleContext:    "a context column",
	roleEncrypted:  "an encrypted column",
}

// roleConflicts says why two roles can't share a column, by the pair in role
// order. A pair that is missing (primary key and context) is allowed.
var roleConflicts = map[[2]role]string{
	{roleKeyColumn, rolePrimaryKey}: "kmsenc writes the key column, so it can't identify a row: set key_column to another name, or leave it out of primary_key",
	{roleKeyColumn, roleContext}:    "the context is needed to unwrap the key that the key column holds, so it can't include that column: use another column in the context",
	{roleKeyColumn, roleEncrypted}:  "the key column holds the row's wrapped data key and can't itself be encrypted: rename the column, or set key_column to another name",
	{rolePrimaryKey, roleEncrypted}: "an encrypted value can't pin a row on UPDATE: remove the column from columns or from primary_key",
	{roleContext, roleEncrypted}:    "the context must be readable to unwrap the row's key, so it can't hold an encrypted value: remove the column from columns or from the context",
}

// site is one use of a column name in a table's definition.
type site struct {
	name string
	role role
	path string
	line int
}

// validateRoles reports every column name that has two roles that exclude
// each other. The error goes to the later of the two in the file (the one
// that "breaks" the earlier), and names the other.
func (t *Table) validateRoles(path string, pos positions, fail failFunc) {
	sites := []site{{t.KeyColumn, roleKeyColumn, path + ".key_column", pos.line(path + ".key_column")}}
	pk := path + ".primary_key"
	for i, name := range t.PrimaryKey {
		p := fmt.Sprintf("%s[%d]", pk, i)
		if pos != nil && !pos.has(p) {
			p = pk // written as one string, or the default
		}
		sites = append(sites, site{name, rolePrimaryKey, p, pos.line(p)})
	}
	for _, e := range t.Context {
		if e.Column != "" {
			p := join(path+".context", e.Name)
			sites = append(sites, site{e.Column, roleContext, p, pos.line(p)})
		}
	}
	for _, lower := range slices.Sorted(maps.Keys(t.Columns)) {
		p := join(path+".columns", t.Columns[lower].Name)
		sites = append(sites, site{t.Columns[lower].Name, roleEncrypted, p, pos.line(p)})
	}
	for i, a := range sites {
		for _, b := range sites[i+1:] {
			if !strings.EqualFold(a.name, b.name) {
				continue
			}
			if a.role == rolePrimaryKey && b.role == rolePrimaryKey {
				fail(b.line, b.path, "%q is listed twice in primary_key (names match without regard to case); keep one", b.name)
				continue
			}
			why, ok := roleConflicts[[2]role{a.role, b.role}]
			if !ok {
				continue
			}
			at, other := b, a
			if a.line > b.line {
				at, other = a, b
			}
			fail(at.line, at.path, "%q is also %s (%s); %s", at.name, roleNames[other.role], where(pos, other.path), why)
		}
	}
}

// where names a field and its line for a message: "tables.users.key_column,
// line 4", or "by default" for a field the file doesn't set.
func where(pos positions, path string) string {
	switch {
	case pos.line(path) > 0:
		return fmt.Sprintf("%s, line %d", path, pos.line(path))
	case pos != nil:
		return path + ", by default"
	}
	return path
}

// lineOr returns the line of path, or of the first fallback the file sets.
func (p positions) lineOr(path string, fallbacks ...string) int {
	for _, f := range append([]string{path}, fallbacks...) {
		if p.has(f) {
			return p[f]
		}
	}
	return 0
}
