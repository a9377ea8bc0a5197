package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// tableInfo is what kmsenc learns about a declared table from the database,
// once per connector: how each encrypted column stores ciphertext.
type tableInfo struct {
	binary map[string]bool  // lower-case column -> stored as raw bytes
	maxLen map[string]int64 // lower-case column -> maximum characters/bytes, 0 if unbounded
	// context: lower-case context column -> how its values become the
	// canonical text of the encryption context (ARCHITECTURE.md §4.4).
	context map[string]*canon.Rule

	uniqueOnce sync.Once
	unique     []string // unique keys besides the primary key
	uniqueErr  error
}

func (ti *tableInfo) isBinary(col *schema.Column) bool { return ti.binary[strings.ToLower(col.Name)] }

// tableInfo returns what is known of t, learning it through cn on first use.
// It checks the schema file against the table as the check at open does
// (tableProblems), for a table created after the connector's first
// connection.
func (c *Connector) tableInfo(ctx context.Context, cn *conn, t *schema.Table) (*tableInfo, error) {
	c.tablesMu.Lock()
	ti := c.tables[t]
	c.tablesMu.Unlock()
	if ti != nil {
		return ti, nil
	}
	ti, err := c.learnTable(ctx, cn, t)
	if err != nil {
		return nil, err
	}
	c.tablesMu.Lock()
	c.tables[t] = ti
	c.tablesMu.Unlock()
	return ti, nil
}

// checkOnlyPrimaryUnique refuses a plan that is exact only for a table
// whose one unique key is its primary key (rewrite.Plan.PrimaryKeyOnlyUnique)
// when t has another. The keys are learned once per connector.
func (c *Connector) checkOnlyPrimaryUnique(ctx context.Context, cn *conn, t *schema.Table) error {
	ti, err := c.tableInfo(ctx, cn, t)
	if err != nil {
		return err
	}
	// The existing row keeps its own primary key: the key made for the
	// inserted row's context fits it only if equal keys are the same text.
	for _, col := range t.ContextColumns() {
		if r := ti.context[strings.ToLower(col)]; t.IsPrimaryKey(col) && (r == nil || !r.Exact) {
			return &rewrite.RefusalError{
				Reason: fmt.Sprintf("ON DUPLICATE KEY UPDATE gives the row a new data key made for the inserted row's %s, but %s.%s's collation calls different texts equal ('ABC' and 'abc', or 'a' and 'a '): a duplicate would keep the existing row's %s under a key made for the inserted one, which could then not be read; also set %s = VALUES(%s), or use a binary or _nopad_bin collation",
					col, t.Name, col, col, col, col),
			}
		}
	}
	if c.dialect.UniqueKeysQuery == "" {
		return fmt.Errorf("%w: the %s dialect can't list unique keys", ErrUnsupportedStatement, c.dialect.Name)
	}
	ti.uniqueOnce.Do(func() {
		ti.unique, ti.uniqueErr = cn.queryStrings(ctx, c.dialect.UniqueKeysQuery, t.Name)
	})
	if ti.uniqueErr != nil {
		return wrapErr(ti.uniqueErr, "reading the unique keys of table %s", t.Name)
	}
	if len(ti.unique) > 0 {
		return &rewrite.RefusalError{
			Reason: fmt.Sprintf("ON DUPLICATE KEY UPDATE gives the row a new data key made for the inserted row's %s, but %s has another unique key (%s): a duplicate on it would update a row with another %s, which could then not be read; upsert on a table without other unique keys, set the context columns from the inserted row too, or update by primary key",
				strings.Join(t.ContextColumns(), ", "), t.Name, strings.Join(ti.unique, ", "), strings.Join(t.ContextColumns(), ", ")),
		}
	}
	return nil
}

// queryStrings runs a query with the given arguments and returns its first
// column.
func (cn *conn) queryStrings(ctx context.Context, sql string, args ...string) ([]string, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := cn.baseQuery(ctx, sql, named)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, asString(dest[0]))
	}
}

type dbColumn struct {
	dataType string
	hasDef   bool
	maxLen   int64
	typ      dialect.Column // for context columns
}

func (c *Connector) learnTable(ctx context.Context, cn *conn, t *schema.Table) (*tableInfo, error) {
	rows, err := cn.baseQuery(ctx, c.dialect.ColumnsQuery, []driver.NamedValue{{Ordinal: 1, Value: t.Name}})
	if err != nil {
		return nil, wrapErr(err, "reading the columns of table %s", t.Name)
	}
	cols := make(map[string]dbColumn)
	dest := make([]driver.Value, max(len(rows.Columns()), 4))
	for {
		if err := rows.Next(dest); err != nil {
			rows.Close()
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, wrapErr(err, "reading the columns of table %s", t.Name)
		}
		col := newDBColumn(dest[1], dest[2], dest[3])
		col.typ = columnType(t, dest, col)
		cols[strings.ToLower(asString(dest[0]))] = col
	}
	if len(cols) == 0 {
		return nil, newConfigError(mismatch, []*schema.FieldError{c.problem("tables."+t.Name, "the database has no table %s: create it before using it through kmsenc", t.Name)})
	}
	if err := newConfigError(mismatch, c.tableProblems(t, cols)); err != nil {
		return nil, err
	}
	ti := &tableInfo{binary: make(map[string]bool), maxLen: make(map[string]int64)}
	for lower := range t.Columns {
		dc := cols[lower]
		ti.binary[lower], _ = c.dialect.Storage(dc.dataType)
		ti.maxLen[lower] = dc.maxLen
	}
	if ti.context, err = c.contextRules(t, cols); err != nil {
		return nil, err
	}
	return ti, nil
}

// columnType is the type of a column as a ColumnsQuery row reports it
// (dest), for ContextRule.
func columnType(t *schema.Table, dest []driver.Value, col dbColumn) dialect.Column {
	ct := dialect.Column{Table: t.Name, Name: asString(dest[0]), DataType: col.dataType, MaxLen: col.maxLen, Precision: -1, Scale: -1}
	at := func(i int) driver.Value {
		if i < len(dest) {
			return dest[i]
		}
		return nil
	}
	if n, ok := asInt(at(4)); ok {
		ct.Precision = n
	}
	if n, ok := asInt(at(5)); ok {
		ct.Scale = n
	}
	ct.ColumnType = strings.ToLower(asString(at(6)))
	ct.Collation = strings.ToLower(asString(at(7)))
	return ct
}

// contextRules checks that t's context columns exist and are of types whose
// values kmsenc can render exactly as the database returns them, and
// returns how to render each.
func (c *Connector) contextRules(t *schema.Table, cols map[string]dbColumn) (map[string]*canon.Rule, error) {
	rules := make(map[string]*canon.Rule)
	for _, name := range t.ContextColumns() {
		dc, ok := cols[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("%w: the schema file puts column %s of table %s in its encryption context ($%s), but the table has no such column", ErrConfig, name, t.Name, name)
		}
		if c.dialect.ContextRule == nil {
			return nil, fmt.Errorf("%w: the %s dialect supports no context columns ($%s of table %s)", ErrConfig, c.dialect.Name, name, t.Name)
		}
		dc.typ.Name = name
		r, err := c.dialect.ContextRule(dc.typ)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		rules[strings.ToLower(name)] = r
	}
	return rules, nil
}

// contextText renders the value of context column col as the row's
// encryption context holds it: write is true for a value the application
// gives, false for one the database returned.
func (ti *tableInfo) contextText(t *schema.Table, col string, v any, write bool) (string, error) {
	r := ti.context[strings.ToLower(col)]
	if r == nil {
		return "", fmt.Errorf("kmsenc: internal error: context column %s of %s was not learned", col, t.Name)
	}
	if write {
		return r.Write(v)
	}
	return r.Read(v)
}

// isDefault reports whether a column_default value is a real default:
// MariaDB reports a nullable column without one as the text NULL, and
// PostgreSQL an explicit DEFAULT NULL as NULL::type.
func isDefault(v driver.Value) bool {
	if v == nil {
		return false
	}
	d := strings.ToUpper(strings.TrimSpace(asString(v)))
	return d != "NULL" && !strings.HasPrefix(d, "NULL::")
}

// checkLength refuses a stored ciphertext longer than its column: MySQL with
// a non-strict sql_mode would truncate it with only a warning, and the value
// would be lost.
func (ti *tableInfo) checkLength(col *schema.Column, stored driver.Value) error {
	max := ti.maxLen[strings.ToLower(col.Name)]
	if max <= 0 {
		return nil
	}
	var n int
	switch v := stored.(type) {
	case string:
		n = len(v) // base64: one byte per character
	case []byte:
		n = len(v)
	}
	if int64(n) > max {
		return fmt.Errorf("%w: the encrypted value for %s needs %d characters but the column holds at most %d: widen the column (encryption adds 28 bytes, and base64 a third more)", ErrUnsupportedStatement, col.AssociatedData(), n, max)
	}
	return nil
}

func asString(v driver.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func asInt(v driver.Value) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case uint64: // go-sql-driver/mysql for unsigned columns
		return int64(min(v, 1<<62)), true
	case []byte, string:
		var n int64
		_, err := fmt.Sscan(asString(v), &n)
		return n, err == nil
	}
	return 0, false
}
