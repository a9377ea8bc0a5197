package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kmsenc/kmsenc/schema"
)

// rotateBatch is how many rows Rotate reads at a time.
const rotateBatch = 100

// Rotate re-wraps the data keys of a table's rows that are not under the
// current master key version: each key is unwrapped with its own version's
// master key and wrapped with the current one, and only the key column is
// updated. Values are untouched (the data key stays the same), so rotation
// needs Decrypt on the old key and Encrypt on the new one, and no more.
//
// It changes at most limit rows (0: all) and returns how many it changed.
// A row whose key changes while it is being re-wrapped is left as the other
// writer made it. Rotation is idempotent: run it again after an error.
func (c *Connector) Rotate(ctx context.Context, table string, limit int) (int, error) {
	t := c.cfg.Table(table)
	if t == nil {
		return 0, fmt.Errorf("%w: Rotate: table %s is not in the schema file", ErrConfig, table)
	}
	kr, err := c.keyring(t)
	if err != nil {
		return 0, err
	}
	bc, err := c.base.Connect(ctx)
	if err != nil {
		return 0, err
	}
	defer bc.Close()
	cn := &conn{c: c, base: bc}
	sel, upd := c.rotateSQL(t, kr.Version())
	done := 0
	for limit == 0 || done < limit {
		rows, err := c.rowsToRotate(ctx, cn, t, sel)
		if err != nil {
			return done, err
		}
		if len(rows) == 0 {
			return done, nil
		}
		for _, r := range rows {
			if limit > 0 && done >= limit {
				return done, nil
			}
			rewrapped, err := kr.Rewrap(ctx, r.wrapped, r.context)
			if err != nil {
				return done, wrapErr(err, "rotating the key of the %s row %s", t.Name, r.describe(t))
			}
			args := []driver.NamedValue{{Value: rewrapped}}
			for _, v := range r.pk {
				args = append(args, driver.NamedValue{Value: v})
			}
			args = append(args, driver.NamedValue{Value: r.wrapped})
			renumber(args)
			res, err := cn.baseExec(ctx, upd, args)
			if err != nil {
				return done, wrapErr(err, "rotating the key of the %s row %s", t.Name, r.describe(t))
			}
			if n, err := res.RowsAffected(); err == nil && n > 0 {
				done++
			}
		}
		if len(rows) < rotateBatch {
			return done, nil
		}
	}
	return done, nil
}

type rotateRow struct {
	pk      []driver.Value
	wrapped string
	context map[string]string
}

func (r rotateRow) describe(t *schema.Table) string {
	parts := make([]string, len(t.PrimaryKey))
	for i, c := range t.PrimaryKey {
		parts[i] = c + "=" + asString(r.pk[i])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// rotateSQL builds the statements of Rotate: the rows whose key column is
// not of the current version, and the guarded update of one row's key.
func (c *Connector) rotateSQL(t *schema.Table, version int) (sel, upd string) {
	q, ph := c.dialect.QuoteIdent, c.dialect.Placeholder
	cols := make([]string, 0, len(t.PrimaryKey)+1+len(t.ContextColumns()))
	for _, pk := range t.PrimaryKey {
		cols = append(cols, q(pk))
	}
	cols = append(cols, q(t.KeyColumn))
	for _, cc := range t.ContextColumns() {
		cols = append(cols, q(cc))
	}
	key := q(t.KeyColumn)
	sel = fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL AND %s NOT LIKE '%s' ORDER BY %s LIMIT %d",
		strings.Join(cols, ", "), q(t.Name), key, key, "v"+strconv.Itoa(version)+":%", strings.Join(cols[:len(t.PrimaryKey)], ", "), rotateBatch)
	where := make([]string, len(t.PrimaryKey))
	for i, pk := range t.PrimaryKey {
		where[i] = fmt.Sprintf("%s = %s", q(pk), ph(i+2))
	}
	upd = fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s AND %s = %s",
		q(t.Name), key, ph(1), strings.Join(where, " AND "), key, ph(len(t.PrimaryKey)+2))
	return sel, upd
}

func (c *Connector) rowsToRotate(ctx context.Context, cn *conn, t *schema.Table, sel string) ([]rotateRow, error) {
	ti, err := c.tableInfo(ctx, cn, t)
	if err != nil {
		return nil, err
	}
	rows, err := cn.baseQuery(ctx, sel, nil)
	if err != nil {
		return nil, wrapErr(err, "finding %s rows to rotate", t.Name)
	}
	defer rows.Close()
	npk := len(t.PrimaryKey)
	var out []rotateRow
	for {
		dest := make([]driver.Value, len(rows.Columns()))
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, wrapErr(err, "finding %s rows to rotate", t.Name)
		}
		for i, v := range dest {
			if b, ok := v.([]byte); ok {
				dest[i] = append([]byte(nil), b...)
			}
		}
		ec, err := tableContext(t, ti, dest[npk+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, rotateRow{pk: dest[:npk], wrapped: asString(dest[npk]), context: ec})
	}
}
