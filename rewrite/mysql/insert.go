package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// planInsert plans INSERT [INTO] t (cols) VALUES (...), ... and INSERT
// [INTO] t SET c = v, ..., with an optional row alias, ON DUPLICATE KEY
// UPDATE and MariaDB's RETURNING (DESIGN §5 rules 1 and 2).
func (s *stmt) planInsert(ins *ast.InsertStmt) (*rewrite.Plan, error) {
	if ins.IsReplace {
		return nil, rewrite.Refuse("REPLACE", "%s", classReplace.reason())
	}
	tn, err := insertTable(ins)
	if err != nil {
		return nil, err
	}
	target, from := s.targetRel(tn, "")
	if target.Table == nil {
		return s.insertPlain(ins, target, from)
	}
	t := target.Table
	if ins.Select != nil {
		return nil, rewrite.Refuse("SELECT", "INSERT ... SELECT (or TABLE) into %s would copy values the application never sees, so kmsenc can't encrypt them; read the rows and insert them with VALUES", t.Name)
	}
	if len(ins.Columns) == 0 {
		return nil, rewrite.RefuseUnnamedColumns(t.Name, t)
	}
	for _, c := range ins.Columns {
		if t.IsKeyColumn(c.Name.O) {
			return nil, rewrite.RefuseInsertKeyColumn(c.Name.O, t)
		}
		if c.Table.O != "" && !strings.EqualFold(c.Table.O, tn.Name.O) {
			return nil, rewrite.Refuse(columnText(c), "the column %s is not one of %s", columnText(c), t.Name)
		}
	}
	loc, err := s.locateInsert(ins, tn)
	if err != nil {
		return nil, err
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	rows := make([]rewrite.Row, len(ins.Lists))
	for r, row := range ins.Lists {
		if len(row) != len(ins.Columns) {
			return nil, rewrite.Refuse(t.Name, "a VALUES row of the INSERT into %s lists %d values for %d columns", t.Name, len(row), len(ins.Columns))
		}
		vals := loc.rows[r].values
		for j, e := range row {
			if col := t.Column(ins.Columns[j].Name.O); col != nil {
				if _, ok := e.(*ast.DefaultExpr); ok && vals[j].to == vals[j].from+1 && s.kw(vals[j].from, "default") {
					// The wrapper refuses a table whose encrypted columns have
					// a database default, so DEFAULT stores NULL (bun writes it
					// for nil pointers).
					continue
				}
				if err := s.encryptValue(e, vals[j], col, r); err != nil {
					return nil, err
				}
				continue
			}
			if err := s.checkExpr(sc, e, exprRules{what: "VALUES"}); err != nil {
				return nil, err
			}
		}
		ctx, err := s.rowContext(t, ins.Columns, row, vals)
		if err != nil {
			return nil, err
		}
		rows[r].Context = ctx
	}
	key := quoteIdent(t.KeyColumn)
	if ins.Setlist {
		at := s.toks[loc.setEnd-1].End
		s.edits.Insert(at, text(", "+key+" = "), param(rewrite.Param{Kind: rewrite.ParamWrappedKey, Row: 0}))
	} else {
		s.edits.Insert(s.toks[loc.colsClose-1].End, text(", "+key))
		for r, row := range loc.rows {
			s.edits.Insert(s.toks[row.close-1].End, text(", "), param(rewrite.Param{Kind: rewrite.ParamWrappedKey, Row: r}))
		}
	}
	if err := s.onDuplicate(ins, target, loc.after); err != nil {
		return nil, err
	}
	out, err := s.returning(target, from)
	if err != nil {
		return nil, err
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Insert, Table: t, Rows: rows, Output: out, PrimaryKeyOnlyUnique: s.primaryKeyOnlyUnique})
}

// insertTable returns the table an INSERT writes.
func insertTable(ins *ast.InsertStmt) (*ast.TableName, error) {
	if ins.Table != nil && ins.Table.TableRefs != nil && ins.Table.TableRefs.Right == nil {
		if ts, ok := ins.Table.TableRefs.Left.(*ast.TableSource); ok {
			if tn, ok := ts.Source.(*ast.TableName); ok {
				return tn, nil
			}
		}
	}
	return nil, rewrite.Refuse("", "this kind of INSERT target is not supported")
}

// targetRel makes the relation of the table an INSERT, UPDATE or DELETE
// writes, and returns how kmsenc writes it after FROM (name [AS alias]).
func (s *stmt) targetRel(tn *ast.TableName, alias string) (r *rewrite.Relation, from string) {
	r = rewrite.TableRelation(s.cfg, tn.Name.O)
	r.Schema, r.Ref = tn.Schema.O, tableText(tn)
	from = r.Ref
	if alias != "" {
		r.Alias, r.Aliased, r.Ref = alias, true, quoteIdent(alias)
		from += " AS " + r.Ref
	}
	return r, from
}

// tableText writes a table name for the SQL kmsenc generates.
func tableText(tn *ast.TableName) string {
	if tn.Schema.O != "" {
		return quoteIdent(tn.Schema.O) + "." + quoteIdent(tn.Name.O)
	}
	return quoteIdent(tn.Name.O)
}

// insertPlain checks an INSERT into a table without encrypted columns: it
// passes through unless it reads declared data.
func (s *stmt) insertPlain(ins *ast.InsertStmt, target *rewrite.Relation, from string) (*rewrite.Plan, error) {
	if ins.Select != nil {
		// The rows come from a query: it may read declared tables, but
		// not copy their encrypted columns.
		if _, err := s.analyzeQuery(ins.Select, nil, modeCopy, false); err != nil {
			return nil, err
		}
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	for _, row := range ins.Lists {
		if err := s.checkExprs(sc, row, exprRules{what: "VALUES"}); err != nil {
			return nil, err
		}
	}
	if err := s.onDuplicate(ins, target, 0); err != nil {
		return nil, err
	}
	if _, err := s.returning(target, from); err != nil {
		return nil, err
	}
	return s.passThrough(), nil
}

// encryptValue turns the value of encrypted column col in row r into a
// placeholder of its own: the caller's placeholder is fed the encrypted
// argument, a constant becomes a placeholder fed its encrypted value (it
// must not reach the database), NULL stays NULL.
func (s *stmt) encryptValue(e ast.ExprNode, sp span, col *schema.Column, r int) error {
	place := "the value for " + col.AssociatedData()
	if sp.from >= sp.to || s.toks[sp.from].Start != e.OriginTextPosition() {
		if _, ok := e.(*driver.ParamMarkerExpr); !ok {
			return s.lost(sp.from, place)
		}
	}
	switch v := e.(type) {
	case *ast.DefaultExpr:
		return rewrite.RefuseDefault(place, col.AssociatedData())
	case *driver.ParamMarkerExpr:
		arg := s.argOf(v.Offset)
		if arg < 0 || sp.to != sp.from+1 || s.toks[sp.from].Start != v.Offset {
			return s.lost(sp.from, place)
		}
		s.replaceParam(sp.from, rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(arg), Encrypt: col, Row: r})
		return nil
	}
	if isNull(e) {
		if sp.to != sp.from+1 || !s.kw(sp.from, "null") {
			return s.lost(sp.from, place)
		}
		return nil
	}
	if !isConstant(e) {
		return rewrite.Refuse(place, "kmsenc can't encrypt an expression for column %s; compute the value in the application and pass it as a parameter", col.AssociatedData())
	}
	lit, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
	if err == nil {
		lit, err = literalFor(lit, s.toks[sp.from].Kind, col.Type)
	}
	if err != nil {
		return rewrite.Refuse(place, "kmsenc can't encrypt the constant for column %s: %v; pass it as a parameter", col.AssociatedData(), err)
	}
	s.edits.Replace(s.toks[sp.from].Start, s.toks[sp.to-1].End, param(rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Lit(lit), Encrypt: col, Row: r}))
	return nil
}

// isNull reports whether e is the constant NULL.
func isNull(e ast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	return ok && v.Kind() == driver.KindNull
}

// isConstant reports whether e is a constant other than NULL: a value, or a
// signed number.
func isConstant(e ast.ExprNode) bool {
	switch v := e.(type) {
	case *driver.ValueExpr:
		return v.Kind() != driver.KindNull
	case *ast.UnaryOperationExpr:
		if v.Op == opcode.Minus || v.Op == opcode.Plus {
			n, ok := v.V.(*driver.ValueExpr)
			return ok && n.Kind() != driver.KindNull
		}
	}
	return false
}

// valueOf returns the statement's value at sp: a caller argument or a
// constant; ok is false for anything else (NULL, DEFAULT, an expression).
func (s *stmt) valueOf(e ast.ExprNode, sp span) (rewrite.Value, bool) {
	if p, ok := e.(*driver.ParamMarkerExpr); ok {
		if arg := s.argOf(p.Offset); arg >= 0 && sp.to == sp.from+1 && s.toks[sp.from].Start == p.Offset {
			return rewrite.Arg(arg), true
		}
		return rewrite.Value{}, false
	}
	if !isConstant(e) || sp.from >= sp.to || s.toks[sp.from].Start != e.OriginTextPosition() {
		return rewrite.Value{}, false
	}
	lit, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
	if err != nil {
		return rewrite.Value{}, false
	}
	switch v := lit.Go.(type) {
	case bool:
		// MySQL's TRUE is 1, and a context column reads back as 1.
		lit.Go = boolInt(v)
	case float64:
		// A DECIMAL or DOUBLE column reads back in its own spelling.
		return rewrite.Value{}, false
	case string:
		if k := s.toks[sp.from].Kind; k == HexString || k == BitString {
			return rewrite.Value{}, false
		}
	}
	return rewrite.Lit(lit), true
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// literalFor converts a constant to the value MySQL would store for it in a
// column whose plaintext type is t, or refuses where MySQL's conversion is
// not the codec's: TRUE is the number 1; a hex or bit literal is a number
// in a numeric column and bytes elsewhere; a number with a fraction or an
// exponent keeps MySQL's own spelling in a text column, so it is only
// taken for a float column.
func literalFor(lit rewrite.Literal, kind TokenKind, t schema.Type) (rewrite.Literal, error) {
	switch v := lit.Go.(type) {
	case bool:
		if t != schema.Bool {
			lit.Go = boolInt(v)
		}
	case float64:
		if t != schema.Float {
			return lit, &errLiteral{"a number with a fraction or an exponent is only taken for a float column; write it as a quoted string"}
		}
	case string:
		if kind != HexString && kind != BitString {
			break
		}
		switch t {
		case schema.Text, schema.Bytes, schema.JSON:
		case schema.Int, schema.Float:
			if len(v) > 8 {
				return lit, &errLiteral{"a hex or bit literal longer than 8 bytes is not a number"}
			}
			var n uint64
			for i := 0; i < len(v); i++ {
				n = n<<8 | uint64(v[i])
			}
			if n > 1<<63-1 {
				return lit, &errLiteral{"a hex or bit literal out of int64 range"}
			}
			lit.Go = int64(n)
			if t == schema.Float {
				lit.Go = float64(n)
			}
		default:
			return lit, &errLiteral{"a hex or bit literal can't be a " + string(t) + " value"}
		}
	}
	return lit, nil
}

// rowContext builds the encryption context of one inserted row.
func (s *stmt) rowContext(t *schema.Table, cols []*ast.ColumnName, row []ast.ExprNode, vals []span) ([]rewrite.ContextValue, error) {
	return rewrite.RowContext(t, func(column string) (rewrite.Value, error) {
		j := -1
		for k, c := range cols {
			if strings.EqualFold(c.Name.O, column) {
				j = k
			}
		}
		if j < 0 {
			return rewrite.Value{}, rewrite.Refuse(column, "context column %s must be given in the INSERT: it is part of the encryption context of %s, and server-generated values (AUTO_INCREMENT, defaults) can't be in the encryption context", column, t.Name)
		}
		v, ok := s.valueOf(row[j], vals[j])
		if !ok {
			return rewrite.Value{}, rewrite.RefuseContextValue("the value for "+t.Name+"."+column, column)
		}
		return v, nil
	})
}

// onDuplicate checks ON DUPLICATE KEY UPDATE. An update that sets an
// encrypted column must set all of them from the inserted row (VALUES(c),
// or new.c with a row alias), and kmsenc then sets the key column from it
// too: a row never holds values under two keys.
//
// MySQL names no conflict target: the duplicate may be on the primary key
// or on any unique key. A context column ($col) must then either be part of
// the primary key (the duplicate is taken to be on it) or be set from the
// inserted row as well, or the updated row's context would not match its
// new key. after is the token after the inserted rows.
func (s *stmt) onDuplicate(ins *ast.InsertStmt, target *rewrite.Relation, after int) error {
	if len(ins.OnDuplicate) == 0 {
		return nil
	}
	t := target.Table
	// The inserted row, as VALUES(c) and the row alias name it.
	row := &rewrite.Relation{Base: true, Table: t, Opaque: t == nil}
	if t != nil {
		row.Instance = &rewrite.TableInstance{Table: t, Relation: row}
	}
	rels := []*rewrite.Relation{target}
	if s.alias != nil {
		rels = append(rels, s.aliasRel(ins, row))
	}
	sc := &rewrite.Scope{Rels: rels}
	rules := exprRules{what: "ON DUPLICATE KEY UPDATE", row: row}
	set := map[string]bool{}
	ctxSet := map[string]bool{}
	for _, a := range ins.OnDuplicate {
		n := a.Column.Name.O
		if a.Column.Table.O != "" && !named(target, qualifier(a.Column)) {
			return rewrite.Refuse(columnText(a.Column), "ON DUPLICATE KEY UPDATE may only set columns of %s", target.Alias)
		}
		switch {
		case noop(a, target):
			// c = c, or ent's c = LAST_INSERT_ID(t.c): the row keeps its value.
		case t != nil && t.IsKeyColumn(n):
			return rewrite.RefuseSetKeyColumn(n, "ON DUPLICATE KEY UPDATE", t)
		case t != nil && t.Column(n) != nil:
			if !s.fromInsertedRow(a.Expr, n) {
				return rewrite.Refuse(n, "ON DUPLICATE KEY UPDATE may only set encrypted column %s from the inserted row: %s = VALUES(%s)", n, n, n)
			}
			set[strings.ToLower(n)] = true
		case t != nil && t.IsContextColumn(n):
			if !s.fromInsertedRow(a.Expr, n) {
				return rewrite.Refuse(n, "ON DUPLICATE KEY UPDATE changes context column %s, which would leave the row's data key unusable; don't set it, or set it and every encrypted column from the inserted row", n)
			}
			ctxSet[strings.ToLower(n)] = true
		default:
			if err := s.checkExpr(sc, a.Expr, rules); err != nil {
				return err
			}
		}
	}
	if len(set) == 0 {
		for c := range ctxSet {
			return rewrite.Refuse(c, "ON DUPLICATE KEY UPDATE changes context column %s but no encrypted column, which would leave the row's data key unusable; don't set it", c)
		}
		return nil
	}
	for _, c := range t.ColumnNames() {
		if !set[strings.ToLower(c)] {
			return rewrite.Refuse(c, "ON DUPLICATE KEY UPDATE sets some encrypted columns of %s but not %s: the row would hold values under two data keys; also set %s = VALUES(%s)", t.Name, c, c, c)
		}
	}
	// MySQL doesn't say which unique key a duplicate is on: a duplicate on
	// another unique key than the primary key updates a row whose context
	// columns differ from the inserted row's, under which the new data key
	// was wrapped. A context column set from the inserted row is safe; one
	// of the primary key is safe when the table has no other unique key,
	// which the wrapper checks; any other is refused.
	for _, c := range t.ContextColumns() {
		switch {
		case ctxSet[strings.ToLower(c)]:
		case t.IsPrimaryKey(c):
			s.primaryKeyOnlyUnique = true
		default:
			return rewrite.Refuse(c, "context column %s of %s is not part of the primary key, and MySQL doesn't say which unique key a duplicate is on: the updated row's context could differ from its new key's; also set %s = VALUES(%s)", c, t.Name, c, c)
		}
	}
	if s.alias != nil && s.alias.cols {
		return rewrite.Refuse(s.alias.name, "a row alias with column names (AS %s(...)) is not supported when ON DUPLICATE KEY UPDATE sets encrypted columns; use AS %s without them, or VALUES(col)", s.alias.name, s.alias.name)
	}
	at, err := s.locateOnDuplicate(ins, after)
	if err != nil {
		return err
	}
	key := quoteIdent(t.KeyColumn)
	if s.alias != nil {
		s.edits.Insert(at, text(", "+key+" = "+quoteIdent(s.alias.name)+"."+key))
	} else {
		s.edits.Insert(at, text(", "+key+" = VALUES("+key+")"))
	}
	return nil
}

// fromInsertedRow reports whether e is VALUES(col), or alias.col with the
// statement's row alias.
func (s *stmt) fromInsertedRow(e ast.ExprNode, col string) bool {
	switch v := e.(type) {
	case *ast.ValuesExpr:
		return v.Column != nil && v.Column.Name.Table.O == "" && strings.EqualFold(v.Column.Name.Name.O, col)
	case *ast.ColumnNameExpr:
		return s.alias != nil && !s.alias.cols && v.Name.Schema.O == "" &&
			strings.EqualFold(v.Name.Table.O, s.alias.name) && strings.EqualFold(v.Name.Name.O, col)
	}
	return false
}

// aliasRel makes the relation of the row alias: the inserted row under
// another name, its columns renamed when the alias names them (AS new(a, b)
// renames the INSERT's columns in order).
func (s *stmt) aliasRel(ins *ast.InsertStmt, row *rewrite.Relation) *rewrite.Relation {
	t := row.Table
	if !s.alias.cols {
		return &rewrite.Relation{Base: true, Alias: s.alias.name, Aliased: true, Table: t, Instance: row.Instance, Opaque: t == nil}
	}
	res := &rewrite.Result{}
	for j, name := range s.alias.colNames {
		var rf rewrite.Ref
		if j < len(ins.Columns) {
			rf, _ = row.Column(ins.Columns[j].Name.O) // a table's column: no error
		}
		res.Cols = append(res.Cols, rf.Output(name))
	}
	if len(ins.Columns) == 0 && t != nil {
		// INSERT INTO t VALUES (...) AS new(a, b): which column each names
		// is unknown.
		res = &rewrite.Result{Opaque: true, Cols: []rewrite.ResultColumn{{Kind: rewrite.ColRun, Instance: row.Instance}}}
	}
	return &rewrite.Relation{Alias: s.alias.name, Aliased: true, Derived: res}
}

// noop reports whether an assignment gives a column its own value: c = c,
// c = t.c, or c = LAST_INSERT_ID(c) (which ORMs use to learn the id of the
// row an upsert found).
func noop(a *ast.Assignment, target *rewrite.Relation) bool {
	e := a.Expr
	if f, ok := e.(*ast.FuncCallExpr); ok && f.FnName.L == "last_insert_id" && len(f.Args) == 1 {
		e = f.Args[0]
	}
	cn := bareName(e)
	return cn != nil && strings.EqualFold(cn.Name.O, a.Column.Name.O) && (cn.Table.O == "" || named(target, qualifier(cn)))
}
