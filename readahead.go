package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// rows decrypts a result as it is read. It reads ahead a bounded window of
// rows, unwraps the window's distinct keys together (cache first, then
// concurrent or batched KMS calls), and hands the rows out in order, with the
// columns kmsenc added removed.
type rows struct {
	ctx       context.Context
	cn        *conn
	base      driver.Rows
	window    int
	localKeys map[string]*envelope.DataKey

	cols      []column // per base result column
	visible   []int    // base indexes of the columns the caller sees
	names     []string // their names
	instances []instance

	buf  [][]driver.Value // the window's rows, base layout
	keys [][]rowKey       // per buffered row, per instance
	pos  int
	eof  bool
	err  error
}

// column is what to do with one base result column.
type column struct {
	kind     rewrite.OutputKind
	instance int
	col      *schema.Column // OutEncrypted
	binary   bool
	hidden   bool
}

// instance is one table instance of the result, located in the base row.
type instance struct {
	table   *schema.Table
	info    *tableInfo
	keyring *envelope.Keyring
	key     int   // base index of its key column
	context []int // base indexes of its context columns
	cols    []int // base indexes of its encrypted columns the caller sees
}

type rowKey struct {
	key *envelope.DataKey
	err error
}

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)

func newRows(ctx context.Context, cn *conn, out *rewrite.Output, base driver.Rows, localKeys map[string]*envelope.DataKey) (*rows, error) {
	r := &rows{ctx: ctx, cn: cn, base: base, window: cn.c.opts.window, localKeys: localKeys}
	if err := r.resolve(out); err != nil {
		return nil, err
	}
	return r, nil
}

// resolve matches the plan's output description to the base result's
// columns. A mismatch means the database returned something the plan did not
// foresee, so kmsenc refuses rather than guess which columns are ciphertext.
func (r *rows) resolve(out *rewrite.Output) error {
	names := r.base.Columns()
	r.cols = make([]column, len(names))
	at := make([]int, len(out.Columns)) // output entry -> base index
	i := 0
	mismatch := func(why string) error {
		return fmt.Errorf("%w: the result's columns (%s) don't match the statement's plan: %s", ErrUnsupportedStatement, strings.Join(names, ", "), why)
	}
	for e, oc := range out.Columns {
		if !oc.Star {
			if i >= len(names) {
				return mismatch("too few columns")
			}
			at[e] = i
			r.cols[i] = column{kind: oc.Kind, instance: oc.Instance, col: oc.Column, hidden: oc.Hidden}
			i++
			continue
		}
		at[e] = -1
		// The run ends at the marker column the plan put after it; a plan
		// without one (or with another star next) could let columns of
		// one relation pass for those of another.
		if e+1 >= len(out.Columns) || out.Columns[e+1].Star || oc.End == "" {
			return mismatch("a star without its end marker")
		}
		// go-sql-driver's columnsWithAlias=true names columns "table.column":
		// the marker, a column of the run's relation, then says what each
		// of the run's names starts with.
		end := i
		for end < len(names) && names[end] != oc.End && !strings.HasSuffix(names[end], "."+oc.End) {
			end++
		}
		if end == len(names) {
			return mismatch("no column " + oc.End)
		}
		prefix := strings.TrimSuffix(names[end], oc.End)
		for ; i < end; i++ {
			c := column{kind: rewrite.OutPlain, instance: -1}
			if oc.Instance >= 0 {
				name, ok := strings.CutPrefix(names[i], prefix)
				if !ok {
					return mismatch(names[i] + " in the columns of " + strings.TrimSuffix(prefix, "."))
				}
				t := out.Instances[oc.Instance].Table
				if col := t.Column(name); col != nil {
					c = column{kind: rewrite.OutEncrypted, instance: oc.Instance, col: col}
				} else if t.IsKeyColumn(name) {
					c = column{kind: rewrite.OutKey, instance: oc.Instance, hidden: true}
				}
			}
			r.cols[i] = c
		}
	}
	if i != len(names) {
		return mismatch("too many columns")
	}

	r.instances = make([]instance, len(out.Instances))
	for n, in := range out.Instances {
		kr, err := r.cn.c.keyring(in.Table)
		if err != nil {
			return err
		}
		ti, err := r.cn.c.tableInfo(r.ctx, r.cn, in.Table)
		if err != nil {
			return err
		}
		inst := instance{table: in.Table, info: ti, keyring: kr, key: at[in.Key]}
		if inst.key < 0 {
			return mismatch("no key column for " + in.Table.Name)
		}
		for _, e := range in.Context {
			if at[e] < 0 {
				return mismatch("no context column for " + in.Table.Name)
			}
			inst.context = append(inst.context, at[e])
		}
		r.instances[n] = inst
		for b := range r.cols {
			if r.cols[b].kind == rewrite.OutEncrypted && r.cols[b].instance == n {
				r.cols[b].binary = ti.isBinary(r.cols[b].col)
			}
		}
	}
	for b, c := range r.cols {
		if c.hidden {
			continue
		}
		r.visible = append(r.visible, b)
		r.names = append(r.names, names[b])
		if c.kind == rewrite.OutEncrypted {
			r.instances[c.instance].cols = append(r.instances[c.instance].cols, b)
		}
	}
	return nil
}

// Columns returns the names of the columns the caller sees.
func (r *rows) Columns() []string { return r.names }

// Close closes the base rows and drops the window.
func (r *rows) Close() error {
	r.buf, r.keys = nil, nil
	return r.base.Close()
}

// Next hands out the next row, decrypted.
func (r *rows) Next(dest []driver.Value) error {
	if r.pos >= len(r.buf) {
		if err := r.fill(); err != nil {
			return err
		}
	}
	row, keys := r.buf[r.pos], r.keys[r.pos]
	r.buf[r.pos] = nil
	r.pos++
	for i, b := range r.visible {
		c := r.cols[b]
		if c.kind != rewrite.OutEncrypted || row[b] == nil {
			dest[i] = row[b]
			continue
		}
		k := keys[c.instance]
		if k.err != nil {
			return r.rowError(row, c.instance, k.err)
		}
		if k.key == nil {
			return r.keylessError(row, c, row[b])
		}
		sealed, err := envelope.LoadValue(row[b], c.binary)
		if err != nil {
			return r.rowError(row, c.instance, wrapErr(err, "%s", c.col.Name))
		}
		pt, err := k.key.Open(c.col.AssociatedData(), sealed)
		if err != nil {
			return r.rowError(row, c.instance, err)
		}
		if dest[i], err = envelope.Decode(c.col.Type, pt); err != nil {
			return r.rowError(row, c.instance, wrapErr(err, "%s", c.col.Name))
		}
	}
	return nil
}

// rowError is err of a row of an instance, naming the table, the row's
// context column values (ids, never an encrypted value) and the master key
// version of its key column, so that the row can be found and its key
// checked.
func (r *rows) rowError(row []driver.Value, inst int, err error) error {
	return wrapErr(err, "%s", r.describeRow(row, inst))
}

// describeRow names a row by its table, context column values and key
// version: "row of users (id=42, key v2)".
func (r *rows) describeRow(row []driver.Value, inst int) string {
	in := r.instances[inst]
	cols := in.table.ContextColumns()
	var parts []string
	for j, b := range in.context {
		v := "NULL"
		if row[b] != nil {
			v = asString(row[b])
		}
		parts = append(parts, cols[j]+"="+v)
	}
	if v := keyVersion(row[in.key]); v != "" {
		parts = append(parts, "key "+v)
	}
	if len(parts) == 0 {
		return "row of " + in.table.Name
	}
	return "row of " + in.table.Name + " (" + strings.Join(parts, ", ") + ")"
}

// keyVersion returns the "v<N>" prefix of a key column value, or "".
func keyVersion(v driver.Value) string {
	s := asString(v)
	i := 1
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if len(s) == 0 || s[0] != 'v' || i == 1 || i > 11 || i >= len(s) || s[i] != ':' {
		return ""
	}
	return s[:i]
}

// keylessError is the error of a row whose key column is NULL but whose
// column c holds value. Most often the table had rows before kmsenc was put
// in front of it, and the value is plaintext; the message never includes
// it.
func (r *rows) keylessError(row []driver.Value, c column, value driver.Value) error {
	desc := r.describeRow(row, c.instance)
	if _, err := envelope.LoadValue(value, c.binary); err != nil {
		return fmt.Errorf("%w: %s has no data key but %s holds a value that is not ciphertext: it was written without kmsenc; encrypt existing rows first (see README: Adopting kmsenc on a table with rows)",
			ErrDecrypt, desc, c.col.Name)
	}
	// It has the shape of a ciphertext, but kmsenc can't tell a long raw
	// value of a binary column from one.
	return fmt.Errorf("%w: %s has no data key in %s but %s holds a value: the key column was cleared, the value was copied from another row, or it was written without kmsenc (see README: Adopting kmsenc on a table with rows); restore the row's key or write the value again through kmsenc",
		ErrDecrypt, desc, r.instances[c.instance].table.KeyColumn, c.col.Name)
}

// fill reads the next window of rows and unwraps the keys they need.
func (r *rows) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.eof {
		return io.EOF
	}
	r.buf, r.keys, r.pos = r.buf[:0], r.keys[:0], 0
	n := len(r.cols)
	for len(r.buf) < r.window {
		vals := make([]driver.Value, n)
		if err := r.base.Next(vals); err != nil {
			if errors.Is(err, io.EOF) {
				r.eof = true
				break
			}
			r.err = err
			break
		}
		// Drivers may reuse their buffers on the next call to Next.
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = append([]byte(nil), b...)
			}
		}
		r.buf = append(r.buf, vals)
	}
	if len(r.buf) == 0 {
		if r.err != nil {
			return r.err
		}
		return io.EOF
	}
	return r.unwrapWindow()
}

// unwrapWindow finds the data key of every instance of every buffered row
// that holds an encrypted value the caller sees: from the keys this
// statement made, else through the keyring (cache, then one concurrent or
// batched round of KMS calls for the window).
func (r *rows) unwrapWindow() error {
	type need struct{ row, inst int }
	reqs := make(map[*envelope.Keyring][]envelope.UnwrapRequest)
	at := make(map[*envelope.Keyring][]need)
	for ri, row := range r.buf {
		rk := make([]rowKey, len(r.instances))
		r.keys = append(r.keys, rk)
		for ii, in := range r.instances {
			if !anyNonNull(row, in.cols) || row[in.key] == nil {
				continue
			}
			w := asString(row[in.key])
			if k, ok := r.localKeys[w]; ok {
				rk[ii].key = k
				continue
			}
			ctxVals := make([]driver.Value, len(in.context))
			for j, b := range in.context {
				ctxVals[j] = row[b]
			}
			ec, err := tableContext(in.table, in.info, ctxVals)
			if err != nil {
				rk[ii].err = err
				continue
			}
			reqs[in.keyring] = append(reqs[in.keyring], envelope.UnwrapRequest{Wrapped: w, Context: ec})
			at[in.keyring] = append(at[in.keyring], need{ri, ii})
		}
	}
	for kr, rs := range reqs {
		keys, errs := kr.UnwrapMany(r.ctx, rs)
		for j, nd := range at[kr] {
			r.keys[nd.row][nd.inst] = rowKey{key: keys[j], err: errs[j]}
		}
	}
	return nil
}

func anyNonNull(row []driver.Value, idx []int) bool {
	for _, b := range idx {
		if row[b] != nil {
			return true
		}
	}
	return false
}

// baseColumnTypes gives access to the base rows' optional interfaces,
// through a statement-closing wrapper if there is one.
func (r *rows) baseRows() driver.Rows {
	if c, ok := r.base.(*closingRows); ok {
		return c.Rows
	}
	return r.base
}

func (r *rows) encrypted(index int) *schema.Column {
	c := r.cols[r.visible[index]]
	if c.kind == rewrite.OutEncrypted {
		return c.col
	}
	return nil
}

var scanTypes = map[schema.Type]reflect.Type{
	schema.Text:      reflect.TypeFor[string](),
	schema.Bytes:     reflect.TypeFor[[]byte](),
	schema.Int:       reflect.TypeFor[int64](),
	schema.Float:     reflect.TypeFor[float64](),
	schema.Bool:      reflect.TypeFor[bool](),
	schema.Date:      reflect.TypeFor[time.Time](),
	schema.Timestamp: reflect.TypeFor[time.Time](),
	schema.JSON:      reflect.TypeFor[[]byte](),
}

// ColumnTypeScanType reports the plaintext's Go type for an encrypted column.
func (r *rows) ColumnTypeScanType(index int) reflect.Type {
	if col := r.encrypted(index); col != nil {
		return scanTypes[col.Type]
	}
	if s, ok := r.baseRows().(driver.RowsColumnTypeScanType); ok {
		return s.ColumnTypeScanType(r.visible[index])
	}
	return reflect.TypeFor[any]()
}

// ColumnTypeDatabaseTypeName reports the plaintext's SQL type for an
// encrypted column.
func (r *rows) ColumnTypeDatabaseTypeName(index int) string {
	if col := r.encrypted(index); col != nil {
		return r.cn.c.dialect.TypeName(col.Type)
	}
	if s, ok := r.baseRows().(driver.RowsColumnTypeDatabaseTypeName); ok {
		return s.ColumnTypeDatabaseTypeName(r.visible[index])
	}
	return ""
}

// ColumnTypeLength reports no length for an encrypted column: the stored
// ciphertext's length says nothing about the plaintext's.
func (r *rows) ColumnTypeLength(index int) (int64, bool) {
	if r.encrypted(index) != nil {
		return 0, false
	}
	if s, ok := r.baseRows().(driver.RowsColumnTypeLength); ok {
		return s.ColumnTypeLength(r.visible[index])
	}
	return 0, false
}

// ColumnTypeNullable forwards to the base rows.
func (r *rows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if s, ok := r.baseRows().(driver.RowsColumnTypeNullable); ok {
		return s.ColumnTypeNullable(r.visible[index])
	}
	return false, false
}

// ColumnTypePrecisionScale forwards to the base rows, except for encrypted
// columns, which have none.
func (r *rows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if r.encrypted(index) != nil {
		return 0, 0, false
	}
	if s, ok := r.baseRows().(driver.RowsColumnTypePrecisionScale); ok {
		return s.ColumnTypePrecisionScale(r.visible[index])
	}
	return 0, 0, false
}
