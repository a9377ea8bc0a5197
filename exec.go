package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// bound is a plan made concrete for one execution: the arguments to send,
// and the data keys it made, so a RETURNING list decrypts without a KMS call.
type bound struct {
	args      []driver.NamedValue
	localKeys map[string]*envelope.DataKey // wrapped key -> data key
	// rowFound is false when an Update's pinned row does not exist.
	rowFound bool
}

// execPlan runs a planned statement that returns no rows.
func (cn *conn) execPlan(ctx context.Context, p *rewrite.Plan, args []driver.NamedValue, t target) (driver.Result, error) {
	for attempt := 0; ; attempt++ {
		b, err := cn.bind(ctx, p, args)
		if err != nil {
			return nil, err
		}
		res, err := t.exec(ctx, b.args)
		if err != nil || p.Kind != rewrite.Update || !b.rowFound || attempt > 0 {
			return res, err
		}
		// The pinned row existed but its key changed between the lookup
		// and the UPDATE (a concurrent upsert or re-wrap): the key guard
		// kept the values from being written under the old key. Nothing
		// was written, so look the key up again once.
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return res, nil
		}
	}
}

// queryPlan runs a planned statement that returns rows.
func (cn *conn) queryPlan(ctx context.Context, p *rewrite.Plan, args []driver.NamedValue, t target) (driver.Rows, error) {
	if p.Output != nil {
		// Learn the tables before the query: the connection is busy while
		// its rows are open.
		for _, in := range p.Output.Instances {
			if _, err := cn.c.tableInfo(ctx, cn, in.Table); err != nil {
				return nil, err
			}
		}
	}
	b, err := cn.bind(ctx, p, args)
	if err != nil {
		return nil, err
	}
	base, err := t.query(ctx, b.args)
	if err != nil {
		return nil, err
	}
	if p.Output == nil {
		return base, nil
	}
	r, err := newRows(ctx, cn, p.Output, base, b.localKeys)
	if err != nil {
		base.Close()
		return nil, err
	}
	return r, nil
}

// bind computes the arguments of a plan's SQL: the caller's values, the
// encrypted values and the wrapped keys.
func (cn *conn) bind(ctx context.Context, p *rewrite.Plan, args []driver.NamedValue) (*bound, error) {
	lead := 0
	if cn.c.dialect.LeadingOptions != nil {
		lead = cn.c.dialect.LeadingOptions(args)
	}
	opts, vals := args[:lead], args[lead:]
	want := p.NumInput
	if want < 0 {
		want = argsUsed(p)
		if len(vals) < want {
			return nil, fmt.Errorf("kmsenc: the statement needs at least %d arguments, got %d", want, len(vals))
		}
	} else if len(vals) != want {
		return nil, fmt.Errorf("kmsenc: expected %d arguments, got %d", want, len(vals))
	}
	b := &bound{rowFound: true}
	var keys []*envelope.DataKey
	var wrapped []string
	var ti *tableInfo
	if p.Table != nil && (p.Kind == rewrite.Insert || p.Kind == rewrite.Update) {
		var err error
		if ti, err = cn.c.tableInfo(ctx, cn, p.Table); err != nil {
			return nil, err
		}
	}
	if p.PrimaryKeyOnlyUnique {
		if err := cn.c.checkOnlyPrimaryUnique(ctx, cn, p.Table); err != nil {
			return nil, err
		}
	}
	switch p.Kind {
	case rewrite.Insert:
		var err error
		if keys, wrapped, err = cn.insertKeys(ctx, p, ti, vals); err != nil {
			return nil, err
		}
		if p.Output != nil { // a RETURNING list decrypts with the keys just made
			b.localKeys = make(map[string]*envelope.DataKey, len(keys))
			for i, w := range wrapped {
				b.localKeys[w] = keys[i]
			}
		}
	case rewrite.Update:
		key, w, found, err := cn.rowKey(ctx, p, ti, opts, vals)
		if err != nil {
			return nil, err
		}
		keys, wrapped, b.rowFound = []*envelope.DataKey{key}, []string{w}, found
		if found && p.Output != nil {
			b.localKeys = map[string]*envelope.DataKey{w: key}
		}
	}

	out := make([]driver.NamedValue, 0, lead+len(p.Params))
	out = append(out, opts...)
	for i, prm := range p.Params {
		var v driver.Value
		switch prm.Kind {
		case rewrite.ParamWrappedKey:
			v = wrapped[prm.Row]
		case rewrite.ParamRowKeyGuard:
			if b.rowFound {
				v = wrapped[0]
			} // else NULL: "key_column = NULL" matches no row
		case rewrite.ParamValue:
			v = value(prm.Value, vals)
			if prm.Encrypt != nil && v != nil {
				if ti == nil || prm.Row >= len(keys) {
					return nil, fmt.Errorf("kmsenc: internal error: no data key for %s", prm.Encrypt.AssociatedData())
				}
				var err error
				if v, err = encryptValue(keys[prm.Row], prm.Encrypt, v, ti); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, driver.NamedValue{Ordinal: lead + i + 1, Value: v})
	}
	b.args = out
	return b, nil
}

// argsUsed returns how many caller arguments a plan reads: one more than the
// highest argument index it uses.
func argsUsed(p *rewrite.Plan) int {
	n := 0
	use := func(v rewrite.Value) {
		if v.IsArg() && v.Arg+1 > n {
			n = v.Arg + 1
		}
	}
	for _, prm := range p.Params {
		if prm.Kind == rewrite.ParamValue {
			use(prm.Value)
		}
	}
	for _, r := range p.Rows {
		for _, cv := range r.Context {
			use(cv.Value)
		}
	}
	if p.Update != nil {
		for _, v := range p.Update.LookupParams {
			use(v)
		}
		for _, v := range p.Update.SetKeyParams {
			use(v)
		}
	}
	return n
}

// value returns the statement's value for v: the caller's argument or the
// literal of the SQL text.
func value(v rewrite.Value, args []driver.NamedValue) driver.Value {
	if v.IsArg() {
		return args[v.Arg].Value
	}
	return v.Literal.Go
}

// encryptValue encodes v as the column's plaintext type, seals it under the
// row's data key and returns it in the column's storage form.
func encryptValue(k *envelope.DataKey, col *schema.Column, v driver.Value, ti *tableInfo) (driver.Value, error) {
	v, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return nil, wrapErr(err, "value for %s", col.AssociatedData())
	}
	if v == nil { // a Valuer or nil pointer that means NULL
		return nil, nil
	}
	pt, err := envelope.Encode(col.Type, v)
	if err != nil {
		return nil, wrapErr(err, "value for %s", col.AssociatedData())
	}
	stored := envelope.StoreValue(k.Seal(col.AssociatedData(), pt), ti.isBinary(col))
	if err := ti.checkLength(col, stored); err != nil {
		return nil, err
	}
	return stored, nil
}

// insertKeys makes one data key per inserted row, wrapped under the row's
// encryption context, all rows concurrently.
func (cn *conn) insertKeys(ctx context.Context, p *rewrite.Plan, ti *tableInfo, vals []driver.NamedValue) ([]*envelope.DataKey, []string, error) {
	kr, err := cn.c.keyring(p.Table)
	if err != nil {
		return nil, nil, err
	}
	ecs := make([]envelope.Context, len(p.Rows))
	for i, row := range p.Rows {
		ec := make(envelope.Context, len(row.Context))
		for _, cv := range row.Context {
			if cv.Column == "" {
				ec[cv.Name] = cv.Fixed
				continue
			}
			s, err := ti.contextText(p.Table, cv.Column, value(cv.Value, vals), true)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: row %d of the INSERT into %s: %w; nothing was written", ErrUnsupportedStatement, i+1, p.Table.Name, err)
			}
			ec[cv.Name] = s
		}
		ecs[i] = ec
	}
	return kr.WrapMany(ctx, ecs)
}

// rowKey finds the data key of the row an UPDATE pins, reading its key
// column on this connection (so inside the caller's transaction). A row
// without a key gets one that no concurrent writer can overwrite: the key is
// set only while the column is NULL, then read back. found is false when no
// such row exists; the UPDATE then matches nothing, and its values are
// sealed under a throwaway key that no KMS ever saw.
func (cn *conn) rowKey(ctx context.Context, p *rewrite.Plan, ti *tableInfo, opts, vals []driver.NamedValue) (*envelope.DataKey, string, bool, error) {
	kr, err := cn.c.keyring(p.Table)
	if err != nil {
		return nil, "", false, err
	}
	up := p.Update
	lookupArgs := withValues(opts, up.LookupParams, vals)
	wrapped, ec, found, err := cn.lookupKey(ctx, p.Table, ti, up.Lookup, lookupArgs)
	if err != nil || !found {
		if err != nil {
			return nil, "", false, err
		}
		k, err := envelope.NewDataKey()
		return k, "", false, err
	}
	if wrapped != nil {
		k, err := kr.Unwrap(ctx, *wrapped, ec)
		return k, *wrapped, true, err
	}
	k, w, err := kr.Wrap(ctx, ec)
	if err != nil {
		return nil, "", false, err
	}
	setArgs := append(append([]driver.NamedValue{}, opts...), driver.NamedValue{Value: w})
	setArgs = append(setArgs, withValues(nil, up.SetKeyParams, vals)...)
	renumber(setArgs)
	if _, err := cn.baseExec(ctx, up.SetKey, setArgs); err != nil {
		return nil, "", false, wrapErr(err, "giving the %s row its first key", p.Table.Name)
	}
	again, ec, found, err := cn.lookupKey(ctx, p.Table, ti, up.Lookup, lookupArgs)
	if err != nil {
		return nil, "", false, err
	}
	if !found || again == nil {
		return nil, "", false, fmt.Errorf("kmsenc: the %s row disappeared or lost its key while being given one; retry the statement", p.Table.Name)
	}
	if *again == w {
		return k, w, true, nil
	}
	// Another writer gave the row its key first: use that one.
	k, err = kr.Unwrap(ctx, *again, ec)
	return k, *again, true, err
}

// lookupKey runs an UpdatePlan's Lookup and returns the key column (nil if
// NULL) and the row's encryption context.
func (cn *conn) lookupKey(ctx context.Context, t *schema.Table, ti *tableInfo, sql string, args []driver.NamedValue) (*string, envelope.Context, bool, error) {
	rows, err := cn.baseQuery(ctx, sql, args)
	if err != nil {
		return nil, nil, false, wrapErr(err, "reading the key of the %s row", t.Name)
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, false, nil
		}
		return nil, nil, false, wrapErr(err, "reading the key of the %s row", t.Name)
	}
	ec, err := tableContext(t, ti, dest[1:])
	if err != nil {
		return nil, nil, false, err
	}
	if dest[0] == nil {
		return nil, ec, true, nil
	}
	w := asString(dest[0])
	return &w, ec, true, nil
}

// tableContext builds a row's encryption context from the values the
// database returned for the table's context columns, in
// Table.ContextColumns() order.
func tableContext(t *schema.Table, ti *tableInfo, colVals []driver.Value) (envelope.Context, error) {
	ec := make(envelope.Context, len(t.Context))
	i := 0
	for _, e := range t.Context {
		if e.Column == "" {
			ec[e.Name] = e.Value
			continue
		}
		if i >= len(colVals) {
			return nil, fmt.Errorf("kmsenc: internal error: context column %s of %s not read", e.Column, t.Name)
		}
		s, err := ti.contextText(t, e.Column, colVals[i], false)
		if err != nil {
			return nil, wrapErr(err, "%s row: context column %s", t.Name, e.Column)
		}
		ec[e.Name] = s
		i++
	}
	return ec, nil
}

// withValues appends the statement values vs to prefix, numbered in order.
func withValues(prefix []driver.NamedValue, vs []rewrite.Value, args []driver.NamedValue) []driver.NamedValue {
	out := append([]driver.NamedValue{}, prefix...)
	for _, v := range vs {
		out = append(out, driver.NamedValue{Value: value(v, args)})
	}
	renumber(out)
	return out
}

func renumber(args []driver.NamedValue) {
	for i := range args {
		args[i].Ordinal = i + 1
	}
}
