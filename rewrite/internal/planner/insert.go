package planner

import (
	"errors"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/schema"
)

// planInsert plans INSERT INTO t (cols) VALUES (...), ... (or the SET
// form) with an optional upsert and RETURNING (ARCHITECTURE.md §5 rules 1
// and 2).
func (p *planner) planInsert(ins *model.Insert) (*rewrite.Plan, error) {
	if ins.With {
		return nil, RefuseWith("INSERT")
	}
	target := p.targetRel(ins.Target)
	if target.Table == nil {
		return p.insertPlain(ins, target)
	}
	t := target.Table
	switch {
	case ins.DefaultValues:
		return nil, rewrite.Refuse("DEFAULT VALUES", "INSERT ... DEFAULT VALUES into %s would let the database fill encrypted columns; name the columns and values", t.Name)
	case ins.Query != nil:
		return nil, rewrite.Refuse("SELECT", "INSERT ... SELECT into %s would copy values the application never sees, so kmsenc can't encrypt them; read the rows and insert them with VALUES", t.Name)
	case len(ins.Columns) == 0:
		return nil, RefuseUnnamedColumns(ins.Target.Name, t)
	case ins.Overriding == "user" && len(t.ContextColumns()) > 0:
		return nil, RefuseOverridingUser(t.Name)
	}
	for _, c := range ins.Columns {
		if t.IsKeyColumn(c) {
			return nil, RefuseInsertKeyColumn(c, t)
		}
	}
	if ins.Lost != nil {
		return nil, ins.Lost
	}
	sc := &Scope{Rels: []*Relation{target}}
	rows := make([]rewrite.Row, len(ins.Rows))
	for r, row := range ins.Rows {
		if len(row.Values) != len(ins.Columns) {
			return nil, rewrite.Refuse(row.Text, "a VALUES row of the INSERT into %s lists %d values for %d columns", t.Name, len(row.Values), len(ins.Columns))
		}
		for j, e := range row.Values {
			col := t.Column(ins.Columns[j])
			if col == nil {
				if err := p.check(sc, e, rules{what: "VALUES"}); err != nil {
					return nil, err
				}
				continue
			}
			if _, ok := e.(*model.Default); ok {
				// The wrapper refuses a table whose encrypted columns have
				// a database default, so DEFAULT stores NULL (bun writes it
				// for nil pointers). It stays in the text only where the
				// text is known to hold it.
				if !row.Spans[j].Located() {
					return nil, lost(nil, "the value for "+col.AssociatedData())
				}
				continue
			}
			if err := p.encryptValue(e, row.Spans[j], col, r); err != nil {
				return nil, err
			}
		}
		ctx, err := p.rowContext(t, ins.Columns, row)
		if err != nil {
			return nil, err
		}
		rows[r].Context = ctx
		if !ins.SetForm {
			p.insert(row.End, text(", "), param(p.newSlot(rewrite.Param{Kind: rewrite.ParamWrappedKey, Row: r}, row.End)))
		}
	}
	key := p.column(t.KeyColumn)
	if ins.SetForm {
		p.insert(ins.SetEnd, text(", "+key+" = "), param(p.newSlot(rewrite.Param{Kind: rewrite.ParamWrappedKey, Row: 0}, ins.SetEnd)))
	} else {
		p.insert(ins.ColumnsEnd, text(", "+key))
	}
	if err := p.upsert(ins, target); err != nil {
		return nil, err
	}
	out, err := p.returning(ins.Returning, target)
	if err != nil {
		return nil, err
	}
	return p.finish(&rewrite.Plan{Kind: rewrite.Insert, Table: t, Rows: rows, Output: out, PrimaryKeyOnlyUnique: p.primaryKeyOnlyUnique})
}

// column writes a column name of the schema file in SQL kmsenc adds.
func (p *planner) column(name string) string {
	var b strings.Builder
	p.d.WriteName(&b, p.d.Schema(name))
	return b.String()
}

// insertPlain checks an INSERT into a table without encrypted columns: it
// passes through unless it copies or returns declared data.
func (p *planner) insertPlain(ins *model.Insert, target *Relation) (*rewrite.Plan, error) {
	if ins.Query != nil {
		// The rows come from a query: it may read declared tables, but
		// not copy their encrypted columns.
		if _, err := p.query(ins.Query, nil, modeCopy, false); err != nil {
			return nil, err
		}
	}
	sc := &Scope{Rels: []*Relation{target}}
	for _, row := range ins.Rows {
		if err := p.checkAll(sc, row.Values, rules{what: "VALUES"}); err != nil {
			return nil, err
		}
	}
	if err := p.upsert(ins, target); err != nil {
		return nil, err
	}
	if _, err := p.returning(ins.Returning, target); err != nil {
		return nil, err
	}
	return p.passThrough(), nil
}

// encryptValue turns the value of encrypted column col in row r into a
// placeholder of its own: the caller's placeholder is fed the encrypted
// argument, a constant becomes a placeholder fed its encrypted value (it
// must not reach the database), NULL stays NULL.
func (p *planner) encryptValue(e model.Expr, sp model.Span, col *schema.Column, r int) error {
	what := "the value for " + col.AssociatedData()
	if x := unwrapValue(e, col); x != e {
		// Parentheses and casts that leave the value as it is (§5,
		// "Casts"): the whole text becomes the encrypted value's
		// placeholder, so no cast applies to the ciphertext.
		return p.encryptWrapped(x, sp, col, r)
	}
	switch v := e.(type) {
	case *model.Null:
		// NULL stays in the text only where the text is known to hold it.
		if !sp.Located() {
			return lost(nil, what)
		}
		return nil
	case *model.Default:
		return RefuseDefault(p.near(sp), col.Name)
	case *model.Param:
		if !sp.Located() || sp != v.Span {
			return lost(nil, what)
		}
		p.taken[v.Span.Start] = true
		p.replace(sp, rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(v.Arg), Encrypt: col, Row: r})
		return nil
	case *model.Literal:
		if !sp.Located() {
			return lost(nil, what)
		}
		return p.encryptLiteral(v, sp, col, r)
	}
	if _, ok := e.(*model.Cast); ok {
		return rewrite.Refuse(p.near(sp), "kmsenc can't encrypt %s for column %s: the cast is not one that leaves a %s value as it is (%s), so it could change the value, and kmsenc would have to apply it to ciphertext; drop the cast or convert the value in the application", p.near(sp), col.AssociatedData(), col.Type, p.d.CastHint(col.Type))
	}
	return rewrite.Refuse(p.near(sp), "kmsenc can't encrypt an expression (%s) for column %s; compute the value in the application and pass it as a parameter", p.near(sp), col.AssociatedData())
}

// encryptLiteral replaces sp, the text of the constant v, with a
// placeholder fed its encrypted value: it must not reach the database.
func (p *planner) encryptLiteral(v *model.Literal, sp model.Span, col *schema.Column, r int) error {
	lit, err := p.d.EncryptLiteral(v, col)
	if err != nil {
		var refusal *rewrite.RefusalError
		if errors.As(err, &refusal) {
			return err
		}
		return rewrite.Refuse("", "kmsenc can't encrypt the constant given for column %s: %v; pass it as a parameter", col.AssociatedData(), err)
	}
	p.replace(sp, rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Lit(lit), Encrypt: col, Row: r})
	return nil
}

// unwrapValue returns e without the parentheses around it and the casts
// that leave a value of col's type as it is; e itself when it has none.
func unwrapValue(e model.Expr, col *schema.Column) model.Expr {
	for {
		switch w := e.(type) {
		case *model.Paren:
			e = w.X
			continue
		case *model.Cast:
			if w.Type != "" && w.Type == string(col.Type) {
				e = w.X
				continue
			}
		}
		return e
	}
}

// encryptWrapped encrypts the value x found inside the parentheses and
// casts of the value text sp: a placeholder or a constant, located inside
// sp, and the whole of sp is replaced; NULL keeps its text.
func (p *planner) encryptWrapped(x model.Expr, sp model.Span, col *schema.Column, r int) error {
	what := "the value for " + col.AssociatedData()
	inside := func(in model.Span) bool {
		return sp.Located() && in.Located() && in.Start >= sp.Start && in.End <= sp.End
	}
	switch v := x.(type) {
	case *model.Null:
		if !inside(v.Span) {
			return lost(nil, what)
		}
		// NULL stays NULL, without a cast that could disagree with how
		// the column stores ciphertext (text or bytes).
		p.edits.Replace(sp.Start, sp.End, text("NULL"))
		return nil
	case *model.Param:
		if !inside(v.Span) {
			return lost(nil, what)
		}
		p.taken[v.Span.Start] = true
		p.replace(sp, rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(v.Arg), Encrypt: col, Row: r})
		return nil
	case *model.Literal:
		if !inside(v.Span) {
			return lost(nil, what)
		}
		return p.encryptLiteral(v, sp, col, r)
	}
	return rewrite.Refuse(p.near(sp), "kmsenc can't encrypt an expression (%s) for column %s; compute the value in the application and pass it as a parameter", p.near(sp), col.AssociatedData())
}

// near renders sp for messages, "" when not located.
func (p *planner) near(sp model.Span) string {
	if !sp.Located() {
		return ""
	}
	return p.d.Near(sp)
}

// valueOf returns the statement's value of e: a caller argument or a
// constant as the database reads it back; ok is false for anything else
// (NULL, DEFAULT, an expression).
func (p *planner) valueOf(e model.Expr) (rewrite.Value, bool) {
	switch v := e.(type) {
	case *model.Paren:
		return p.valueOf(v.X)
	case *model.Cast:
		// A cast to an integer type or unbounded text stores the value
		// the application passes (§5, "Casts"); the cast stays in the text.
		// A fractional constant would be rounded by an integer cast.
		if lit, ok := bareLiteral(v.X); v.Keeps && !(ok && lit.Kind == model.LitNumber && isFloat(lit.Value)) {
			return p.valueOf(v.X)
		}
	case *model.Param:
		return rewrite.Arg(v.Arg), true
	case *model.Literal:
		if v.Err != nil {
			return rewrite.Value{}, false
		}
		lit, ok := p.d.KeyLiteral(v)
		return rewrite.Lit(lit), ok
	}
	return rewrite.Value{}, false
}

// bareLiteral returns e as a constant, looking through parentheses.
func bareLiteral(e model.Expr) (*model.Literal, bool) {
	for {
		switch n := e.(type) {
		case *model.Paren:
			e = n.X
		case *model.Literal:
			return n, true
		default:
			return nil, false
		}
	}
}

func isFloat(v any) bool { _, ok := v.(float64); return ok }

// rowContext builds the encryption context of one inserted row.
func (p *planner) rowContext(t *schema.Table, cols []string, row *model.Row) ([]rewrite.ContextValue, error) {
	return RowContext(t, func(column string) (rewrite.Value, error) {
		j := -1
		for k, c := range cols {
			if strings.EqualFold(c, column) {
				j = k
			}
		}
		if j < 0 {
			return rewrite.Value{}, rewrite.Refuse(column, "context column %s must be given in the INSERT: it is part of the encryption context of %s, and server-generated values (sequences, AUTO_INCREMENT, defaults) can't be in the encryption context", column, t.Name)
		}
		if v, ok := p.valueOf(row.Values[j]); ok {
			return v, nil
		}
		return rewrite.Value{}, RefuseContextValue(p.near(row.Spans[j]), column)
	})
}

// returning analyses a RETURNING list over target and returns the Output
// that decrypts it, or nil when it returns no declared data. extra are the
// statement's other tables (UPDATE ... FROM, DELETE ... USING).
func (p *planner) returning(ret *model.Returning, target *Relation, extra ...*Relation) (*rewrite.Output, error) {
	if ret == nil {
		return nil, nil
	}
	sc := &Scope{Rels: append([]*Relation{target}, extra...)}
	items, err := p.outputs(ret.Items, sc, []*Relation{target})
	if err != nil {
		return nil, err
	}
	res := NewResult(items)
	if !res.Declared() {
		return nil, nil
	}
	if len(extra) > 0 {
		return nil, rewrite.Refuse("RETURNING", "RETURNING encrypted columns is only supported when the target table is the only table of the statement")
	}
	if ret.Lost != nil || ret.ListEnd < 0 {
		return nil, lost(ret.Lost, "the RETURNING list")
	}
	if target.Ref == "" && !target.Bare {
		return nil, lost(nil, "the table name")
	}
	if res.Cols, err = p.expand(items, ret.Items, ret.ListEnd, true); err != nil {
		return nil, err
	}
	return NewOutput(res)
}
