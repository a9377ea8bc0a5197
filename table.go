package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// tableInfo is what kmsenc learns about a declared table from the database,
// once per connector: how each encrypted column stores ciphertext.
type tableInfo struct {
	binary map[string]bool  // lower-case column -> stored as raw bytes
	maxLen map[string]int64 // lower-case column -> maximum characters/bytes, 0 if unbounded

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
}

func (c *Connector) learnTable(ctx context.Context, cn *conn, t *schema.Table) (*tableInfo, error) {
	rows, err := cn.baseQuery(ctx, c.dialect.ColumnsQuery, []driver.NamedValue{{Ordinal: 1, Value: t.Name}})
	if err != nil {
		return nil, wrapErr(err, "reading the columns of table %s", t.Name)
	}
	cols := make(map[string]dbColumn)
	dest := make([]driver.Value, 4)
	for {
		if err := rows.Next(dest); err != nil {
			rows.Close()
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, wrapErr(err, "reading the columns of table %s", t.Name)
		}
		cols[strings.ToLower(asString(dest[0]))] = newDBColumn(dest[1], dest[2], dest[3])
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
	return ti, nil
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
