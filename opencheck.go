package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/schema"
)

// mismatch is the ConfigError.What of a schema file that doesn't fit the
// database.
const mismatch = "the schema file doesn't fit the database"

// checkOpen checks the schema file against the database on the connector's
// first connection (ARCHITECTURE.md §4.2), so that db.Ping fails on a bad
// deploy before the first request does. Its verdict is kept for the
// connector's life: later connections get the same error without asking
// the catalog again. A failure to read the catalog is not kept; the next
// connection tries again.
func (c *Connector) checkOpen(ctx context.Context, cn *conn) error {
	if c.dialect.CatalogQuery == nil {
		return nil
	}
	c.openMu.Lock()
	defer c.openMu.Unlock()
	if c.openChecked {
		return c.openErr
	}
	cat, err := c.readCatalog(ctx, cn)
	if err != nil {
		return wrapErr(err, "reading the database's catalog to check the schema file against it")
	}
	c.openChecked, c.openErr = true, newConfigError(mismatch, c.catalogProblems(cat))
	return c.openErr
}

// catalog is what the database says of the declared tables and the names
// near them.
type catalog struct {
	names   []string                       // every table and view, as the database spells it
	columns map[string]map[string]dbColumn // by table as spelled, by lower-case column name
}

func (c *Connector) readCatalog(ctx context.Context, cn *conn) (*catalog, error) {
	args := make([]driver.NamedValue, 0, len(c.cfg.Tables))
	for _, name := range c.cfg.TableNames() {
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: strings.ToLower(name)})
	}
	rows, err := cn.baseQuery(ctx, c.dialect.CatalogQuery(len(args)), args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cat := &catalog{columns: make(map[string]map[string]dbColumn)}
	dest := make([]driver.Value, 5)
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return cat, nil
			}
			return nil, err
		}
		table := asString(dest[0])
		if dest[1] == nil {
			cat.names = append(cat.names, table)
			continue
		}
		if cat.columns[table] == nil {
			cat.columns[table] = make(map[string]dbColumn)
		}
		cat.columns[table][strings.ToLower(asString(dest[1]))] = newDBColumn(dest[2], dest[3], dest[4])
	}
}

// newDBColumn reads a column's data type, default and maximum length as a
// catalog query returns them.
func newDBColumn(dataType, def, maxLen driver.Value) dbColumn {
	col := dbColumn{dataType: strings.ToLower(asString(dataType)), hasDef: isDefault(def)}
	if n, ok := asInt(maxLen); ok {
		col.maxLen = n
	}
	return col
}

// catalogProblems checks every declared table against the catalog. A table
// that doesn't exist is fine (an ORM may be about to create it; it is then
// checked on first use), unless a name near it exists: that is a likely
// typo, and statements on the table that exists would store plaintext.
func (c *Connector) catalogProblems(cat *catalog) []*schema.FieldError {
	var problems []*schema.FieldError
	for _, t := range c.cfg.Tables {
		name, ok := cat.find(t.Name)
		if ok {
			problems = append(problems, c.tableProblems(t, cat.columns[name])...)
			continue
		}
		var others []string // names that exist and aren't another declared table
		for _, n := range cat.names {
			if d := c.cfg.Table(n); d == nil || d == t {
				others = append(others, n)
			}
		}
		near := nearMiss(t.Name, others)
		if near == "" {
			continue
		}
		field := "tables." + t.Name
		if strings.EqualFold(near, t.Name) {
			problems = append(problems, c.problem(field, "the database has no table %s, but has %s, which differs only in case: write the table's name in the schema file as the database spells it", t.Name, near))
		} else {
			problems = append(problems, c.problem(field, "the database has no table %s, but has %s, one letter away: if that is the table meant, correct the name in the schema file (statements on %s don't touch a declared table, so its columns would be stored in plaintext)", t.Name, near, near))
		}
	}
	return problems
}

// find returns the name of the table the declared name refers to: the one
// spelled the same, else the one spelled in lower case (PostgreSQL folds
// unquoted names to lower case).
func (cat *catalog) find(declared string) (string, bool) {
	for _, want := range []string{declared, strings.ToLower(declared)} {
		if slices.Contains(cat.names, want) {
			return want, true
		}
	}
	return "", false
}

// tableProblems checks a table that exists, with its columns by lower-case
// name: the key column, each encrypted column and each context column
// must exist, the key column must be text, and each encrypted column must
// be able to hold its ciphertext and have no database default.
func (c *Connector) tableProblems(t *schema.Table, cols map[string]dbColumn) []*schema.FieldError {
	var problems []*schema.FieldError
	tpath := "tables." + t.Name
	kc := tpath + ".key_column"
	if c.cfg.Line(kc) == 0 {
		kc = tpath // the default name: point at the table
	}
	if key, ok := cols[strings.ToLower(t.KeyColumn)]; !ok {
		problems = append(problems, c.problem(kc, "table %s has no key column %s: add it as a text column (ALTER TABLE %s ADD COLUMN %s text)", t.Name, t.KeyColumn, t.Name, t.KeyColumn))
	} else if binary, ok := c.dialect.Storage(key.dataType); !ok || binary {
		problems = append(problems, c.problem(kc, "key column %s.%s is %s: it must be a text column (text, varchar)", t.Name, t.KeyColumn, key.dataType))
	}
	for _, name := range t.ColumnNames() {
		sc := t.Column(name)
		field := tpath + ".columns." + sc.Name
		dc, ok := cols[strings.ToLower(sc.Name)]
		if !ok {
			problems = append(problems, c.problem(field, "table %s has no column %s: add it (ALTER TABLE %s ADD COLUMN %s text), or remove it from the schema file", t.Name, sc.Name, t.Name, sc.Name))
			continue
		}
		binary, ok := c.dialect.Storage(dc.dataType)
		if !ok {
			problems = append(problems, c.problem(field, "encrypted column %s.%s is %s, which can't hold ciphertext: make it text (base64) or a binary type", t.Name, sc.Name, dc.dataType))
			continue
		}
		if dc.hasDef {
			problems = append(problems, c.problem(field, "encrypted column %s.%s has a database default, which would be stored as plaintext: drop the default", t.Name, sc.Name))
		}
		if msg := tooShort(sc, dc, binary); msg != "" {
			problems = append(problems, c.problem(field, "%s", msg))
		}
	}
	for _, e := range t.Context {
		if e.Column == "" {
			continue
		}
		if _, ok := cols[strings.ToLower(e.Column)]; ok {
			continue
		}
		msg := fmt.Sprintf("$%s names no column of table %s", e.Column, t.Name)
		if near := nearMiss(e.Column, slices.Sorted(maps.Keys(cols))); near != "" {
			msg += fmt.Sprintf("; did you mean $%s?", near)
		}
		problems = append(problems, c.problem(tpath+".context."+e.Name, "%s (a context column is a plain column of the table whose value goes into each row's encryption context)", msg))
	}
	return problems
}

// tooShort says why a column of a bounded length can't hold the ciphertext
// of its type's largest value, or "". For the unbounded types (text,
// bytes, json) it must hold at least an empty value's; longer values are
// refused when written (tableInfo.checkLength).
func tooShort(sc *schema.Column, dc dbColumn, binary bool) string {
	if dc.maxLen <= 0 {
		return ""
	}
	unit := "characters of base64"
	if binary {
		unit = "bytes"
	}
	if n, bounded := envelope.MaxEncodedSize(sc.Type); bounded {
		if need := int64(envelope.StoredSize(n, binary)); dc.maxLen < need {
			return fmt.Sprintf("encrypted column %s.%s is %s(%d), too short for the ciphertext of its largest %s value, which takes %d %s: widen it to at least %d", sc.Table, sc.Name, dc.dataType, dc.maxLen, sc.Type, need, unit, need)
		}
		return ""
	}
	if need := int64(envelope.StoredSize(0, binary)); dc.maxLen < need {
		return fmt.Sprintf("encrypted column %s.%s is %s(%d), too short for any ciphertext: even an empty %s value takes %d %s (encryption adds 28 bytes, base64 a third more): widen it, or make it text", sc.Table, sc.Name, dc.dataType, dc.maxLen, sc.Type, need, unit)
	}
	return ""
}

// problem returns a problem of the field at path, at its line in the file.
func (c *Connector) problem(path, format string, args ...any) *schema.FieldError {
	return &schema.FieldError{File: c.cfg.File, Line: c.cfg.Line(path), Field: path, Msg: fmt.Sprintf(format, args...)}
}

// nearMiss returns the first of names (sorted) that is a likely misspelling
// of name: the same but for case, else one letter inserted, removed or
// changed. A change of digits, or between names of two letters, doesn't
// count: t1 and t2, or events and events2, are different tables on purpose.
func nearMiss(name string, names []string) string {
	names = slices.Sorted(slices.Values(names))
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			return n
		}
	}
	for _, n := range names {
		if oneEdit(strings.ToLower(name), strings.ToLower(n)) {
			return n
		}
	}
	return ""
}

// oneEdit reports whether a and b differ by exactly one inserted, removed
// or changed byte that is not a digit, and the longer has three bytes or
// more.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b) < 3 || len(b)-len(a) > 1 || a == b {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) { // one change at i
		return a[i+1:] == b[i+1:] && !(isDigit(a[i]) && isDigit(b[i]))
	}
	return a[i:] == b[i+1:] && !isDigit(b[i]) // b has one more byte, at i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
