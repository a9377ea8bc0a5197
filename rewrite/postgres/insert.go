package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// planInsert plans INSERT INTO t (cols) VALUES (...), ... [ON CONFLICT ...]
// [RETURNING ...] (DESIGN §5 rules 1 and 2).
func (s *stmt) planInsert(ins *tree.Insert) (*rewrite.Plan, error) {
	if ins.With != nil {
		return nil, rewrite.RefuseWith("INSERT")
	}
	if ins.OnConflict.IsUpsertAlias() {
		return nil, rewrite.Refuse("UPSERT", "UPSERT is not PostgreSQL; use INSERT ... ON CONFLICT")
	}
	target, tn, err := s.targetRel(ins.Table)
	if err != nil {
		return nil, err
	}
	if target.Table == nil {
		return s.insertPlain(ins, target)
	}
	t := target.Table
	if ins.DefaultValues() {
		return nil, rewrite.Refuse("DEFAULT VALUES", "INSERT ... DEFAULT VALUES into %s would let the database fill encrypted columns; name the columns and values", t.Name)
	}
	vals, ok := ins.Rows.Select.(*tree.ValuesClause)
	if !ok || ins.Rows.With != nil || len(ins.Rows.OrderBy) > 0 || ins.Rows.Limit != nil {
		return nil, rewrite.Refuse("SELECT", "INSERT ... SELECT into %s would copy values the application never sees, so kmsenc can't encrypt them; read the rows and insert them with VALUES", t.Name)
	}
	if len(ins.Columns) == 0 {
		return nil, rewrite.RefuseUnnamedColumns(tn, t)
	}
	for _, c := range ins.Columns {
		if t.IsKeyColumn(string(c)) {
			return nil, rewrite.RefuseInsertKeyColumn(string(c), t)
		}
	}
	loc, err := s.locateInsert(ins, vals)
	if err != nil {
		return nil, err
	}
	target.Ref = loc.ref
	rows, err := s.insertRows(t, ins.Columns, vals, loc)
	if err != nil {
		return nil, err
	}
	s.edits.Insert(s.toks[loc.colsClose-1].End, text(", "+quoteIfNeeded(schemaName(t.KeyColumn))))

	if err := s.onConflict(ins, target, loc.after); err != nil {
		return nil, err
	}
	out, err := s.returning(ins.Returning, target, loc.after)
	if err != nil {
		return nil, err
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Insert, Table: t, Rows: rows, Output: out})
}

// insertRows turns the encrypted values of each VALUES row into
// parameters, adds the row's wrapped key, and returns each row's context.
func (s *stmt) insertRows(t *schema.Table, cols tree.NameList, vals *tree.ValuesClause, loc insertLoc) ([]rewrite.Row, error) {
	rows := make([]rewrite.Row, len(vals.Rows))
	for r, row := range vals.Rows {
		if len(row) != len(cols) {
			return nil, rewrite.Refuse(s.text(loc.rows[r].open, loc.rows[r].close+1), "VALUES lists %d values for %d columns", len(row), len(cols))
		}
		for j, e := range row {
			sp := loc.rows[r].values[j]
			if col := t.Column(string(cols[j])); col != nil {
				if _, ok := e.(tree.DefaultVal); ok && sp.to == sp.from+1 && s.kw(sp.from, "default") {
					// The wrapper refuses a table whose encrypted columns have
					// a database default, so DEFAULT stores NULL (bun writes it
					// for nil pointers).
					continue
				}
				if err := s.encryptValue(e, sp, col, r); err != nil {
					return nil, err
				}
				continue
			}
			if err := s.checkExpr(&rewrite.Scope{}, e, exprRules{what: "VALUES"}); err != nil {
				return nil, err
			}
		}
		ctx, err := s.rowContext(t, cols, row, loc.rows[r].values)
		if err != nil {
			return nil, err
		}
		rows[r].Context = ctx
		at := s.toks[loc.rows[r].close-1].End
		s.edits.Insert(at, text(", "), param(s.newSlot(rewrite.Param{Kind: rewrite.ParamWrappedKey, Row: r}, at)))
	}
	return rows, nil
}

// targetRel makes the relation of the table an INSERT, UPDATE or DELETE
// writes, and returns its name for messages.
func (s *stmt) targetRel(te tree.TableExpr) (*rewrite.Relation, string, error) {
	ate, ok := te.(*tree.AliasedTableExpr)
	if !ok {
		return nil, "", rewrite.Refuse("", "this kind of target table is not supported")
	}
	tn, ok := ate.Expr.(*tree.TableName)
	if !ok || ate.IndexFlags != nil {
		return nil, "", rewrite.Refuse("", "this kind of target table is not supported")
	}
	name := string(tn.ObjectName)
	r := rewrite.TableRelation(s.cfg, name)
	if ate.As.Alias != "" {
		r.Alias, r.Aliased = string(ate.As.Alias), true
	} else if tn.ExplicitSchema {
		r.Schema = string(tn.SchemaName)
	}
	return r, name, nil
}

// insertPlain checks an INSERT into a table without encrypted columns: it
// passes through unless it reads declared data.
func (s *stmt) insertPlain(ins *tree.Insert, target *rewrite.Relation) (*rewrite.Plan, error) {
	if !ins.DefaultValues() {
		// VALUES, or a query whose output must be plain: a plain table
		// must not receive ciphertext it would hand out as plaintext.
		if _, err := s.analyzeSelect(ins.Rows, &rewrite.Scope{}, modeCheck, span{}, false); err != nil {
			return nil, err
		}
	}
	if err := s.onConflict(ins, target, 0); err != nil {
		return nil, err
	}
	if _, err := s.returning(ins.Returning, target, 0); err != nil {
		return nil, err
	}
	return s.passThrough(), nil
}

// encryptValue turns the value of encrypted column col in row r into a
// parameter of its own: a placeholder gets a new number, a literal becomes
// a parameter (it must not reach the database), NULL stays NULL.
func (s *stmt) encryptValue(e tree.Expr, sp span, col *schema.Column, r int) error {
	text := s.text(sp.from, sp.to)
	switch v := e.(type) {
	case tree.DefaultVal:
		return rewrite.RefuseDefault(text, col.Name)
	case *tree.Placeholder:
		if sp.to != sp.from+1 || s.toks[sp.from].Kind != Param || paramNumber(s.sql, s.toks[sp.from]) != int(v.Idx)+1 {
			return s.lost(sp.from, "the parameter "+text)
		}
		s.encryptedSlot(rewrite.Arg(int(v.Idx)), col, r, sp)
		s.encrypted[sp.from] = true
		return nil
	case *tree.DBitArray:
		return rewrite.Refuse(text, "kmsenc can't encrypt the bit string constant %s for column %s; pass the value as a parameter", text, col.Name)
	case *tree.StrVal, *tree.NumVal, *tree.DBool:
		if !s.literalTokens(e, sp) {
			return s.lost(sp.from, "the constant "+text)
		}
		lit, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
		if err == nil && col.Type == schema.Bytes {
			lit, err = byteaLiteral(lit)
		}
		if err != nil {
			return rewrite.Refuse("", "kmsenc can't encrypt the constant given for column %s: %v; pass it as a parameter", col.Name, err)
		}
		s.encryptedSlot(rewrite.Lit(lit), col, r, sp)
		return nil
	}
	if e == tree.DNull {
		if sp.to != sp.from+1 || !s.kw(sp.from, "null") {
			return s.lost(sp.from, "NULL")
		}
		return nil
	}
	return rewrite.Refuse(text, "kmsenc can't encrypt an expression (%s) for column %s; compute the value in the application and pass it as a parameter", text, col.Name)
}

// encryptedSlot replaces the value at sp with a new parameter holding v,
// encrypted for col under row r's key.
func (s *stmt) encryptedSlot(v rewrite.Value, col *schema.Column, r int, sp span) {
	start, end := s.toks[sp.from].Start, s.toks[sp.to-1].End
	sl := s.newSlot(rewrite.Param{Kind: rewrite.ParamValue, Value: v, Encrypt: col, Row: r}, start)
	s.edits.Replace(start, end, param(sl))
}

// literalTokens checks that the tokens of sp are the constant e.
func (s *stmt) literalTokens(e tree.Expr, sp span) bool {
	toks := s.toks[sp.from:sp.to]
	switch e.(type) {
	case *tree.StrVal:
		return len(toks) == 1 && (toks[0].Kind == String || toks[0].Kind == BitString)
	case *tree.NumVal:
		return len(toks) == 1 && toks[0].Kind == Number ||
			len(toks) == 2 && toks[1].Kind == Number && (s.isOp(sp.from, "-") || s.isOp(sp.from, "+"))
	case *tree.DBool:
		return len(toks) == 1 && s.kwIn(sp.from, "true", "false")
	}
	return false
}

// valueOf returns the statement's value at sp: a caller argument or a
// literal; ok is false for anything else (NULL, DEFAULT, an expression).
func (s *stmt) valueOf(e tree.Expr, sp span) (rewrite.Value, bool) {
	switch v := e.(type) {
	case *tree.Placeholder:
		return rewrite.Arg(int(v.Idx)), true
	case *tree.StrVal, *tree.NumVal, *tree.DBool:
		if !s.literalTokens(e, sp) {
			return rewrite.Value{}, false
		}
		lit, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
		if err != nil {
			return rewrite.Value{}, false
		}
		return rewrite.Lit(lit), true
	}
	return rewrite.Value{}, false
}

// rowContext builds the encryption context of one inserted row.
func (s *stmt) rowContext(t *schema.Table, cols tree.NameList, row tree.Exprs, vals []span) ([]rewrite.ContextValue, error) {
	return rewrite.RowContext(t, func(column string) (rewrite.Value, error) {
		j := -1
		for k, c := range cols {
			if strings.EqualFold(string(c), column) {
				j = k
			}
		}
		if j < 0 {
			return rewrite.Value{}, rewrite.Refuse(column, "context column %s must be given in the INSERT: it is part of %s's encryption context, and server-generated values can't be in the encryption context", column, t.Name)
		}
		v, ok := s.valueOf(row[j], vals[j])
		if !ok {
			return rewrite.Value{}, rewrite.RefuseContextValue(s.text(vals[j].from, vals[j].to), column)
		}
		return v, nil
	})
}

// onConflict checks ON CONFLICT. DO UPDATE that sets an encrypted column
// must set all of them from the proposed row (EXCLUDED), and kmsenc then
// sets the key column from it too: a row never holds values under two keys.
func (s *stmt) onConflict(ins *tree.Insert, target *rewrite.Relation, after int) error {
	oc := ins.OnConflict
	if oc == nil {
		return nil
	}
	excluded := &rewrite.Relation{Base: true, Alias: "excluded", Aliased: true, Table: target.Table, Opaque: target.Table == nil}
	if target.Table != nil {
		excluded.Instance = &rewrite.TableInstance{Table: target.Table, Relation: excluded}
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target, excluded}}
	if err := s.checkExpr(sc, oc.ArbiterPredicate, exprRules{what: "ON CONFLICT ... WHERE"}); err != nil {
		return err
	}
	if oc.DoNothing {
		return nil
	}
	set, err := s.conflictSets(oc, target.Table, sc)
	if err != nil {
		return err
	}
	if oc.Where != nil {
		if err := s.checkExpr(sc, oc.Where.Expr, exprRules{what: "ON CONFLICT DO UPDATE ... WHERE", strict: true}); err != nil {
			return err
		}
	}
	if len(set) == 0 {
		return nil
	}
	if err := conflictCoversRow(oc, target.Table, set); err != nil {
		return err
	}
	list, err := s.locateConflictSet(oc, after)
	if err != nil {
		return err
	}
	key := quoteIfNeeded(schemaName(target.Table.KeyColumn))
	s.edits.Insert(list.end, text(", "+key+" = EXCLUDED."+key))
	return nil
}

// conflictSets checks the SET list of ON CONFLICT DO UPDATE and returns the
// encrypted columns it sets (lower case).
func (s *stmt) conflictSets(oc *tree.OnConflict, t *schema.Table, sc *rewrite.Scope) (map[string]bool, error) {
	set := map[string]bool{}
	for _, ue := range oc.Exprs {
		if ue.Tuple {
			for _, n := range ue.Names {
				if t != nil && (t.Column(string(n)) != nil || t.IsKeyColumn(string(n)) || t.IsContextColumn(string(n))) {
					return nil, rewrite.Refuse(string(n), "set %s on its own (%s = EXCLUDED.%s), not in a (...) = (...) list", n, n, n)
				}
			}
			if err := s.checkExpr(sc, ue.Expr, exprRules{what: "ON CONFLICT DO UPDATE SET"}); err != nil {
				return nil, err
			}
			continue
		}
		n := string(ue.Names[0])
		switch {
		case t != nil && t.IsKeyColumn(n):
			return nil, rewrite.RefuseSetKeyColumn(n, "ON CONFLICT DO UPDATE", t)
		case t != nil && t.Column(n) != nil:
			if !isExcluded(ue.Expr, n) {
				return nil, rewrite.Refuse(n, "ON CONFLICT DO UPDATE may only set encrypted column %s from the proposed row: %s = EXCLUDED.%s", n, n, n)
			}
			set[strings.ToLower(n)] = true
		case t != nil && t.IsContextColumn(n) && !inConflictTarget(oc, n):
			return nil, rewrite.Refuse(n, "ON CONFLICT DO UPDATE changes context column %s, which would leave the row's data key unusable; add %s to the conflict target or don't set it", n, n)
		default:
			if err := s.checkExpr(sc, ue.Expr, exprRules{what: "ON CONFLICT DO UPDATE SET"}); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// conflictCoversRow checks an upsert that sets encrypted columns: it must
// set all of them, and keep the row's context (its context columns are in
// the conflict target, so the existing row has the proposed row's values).
func conflictCoversRow(oc *tree.OnConflict, t *schema.Table, set map[string]bool) error {
	for _, c := range t.ColumnNames() {
		if !set[strings.ToLower(c)] {
			return rewrite.Refuse(c, "ON CONFLICT DO UPDATE sets some encrypted columns of %s but not %s: the row would hold values under two data keys; also set %s = EXCLUDED.%s", t.Name, c, c, c)
		}
	}
	for _, c := range t.ContextColumns() {
		if oc.Constraint != "" {
			return rewrite.Refuse("ON CONSTRAINT", "ON CONFLICT ON CONSTRAINT can't show that context column %s stays the same; name the conflict columns: ON CONFLICT (%s)", c, c)
		}
		if !inConflictTarget(oc, c) {
			return rewrite.Refuse(c, "context column %s must be in the ON CONFLICT target, or the updated row's context would not match its new key: ON CONFLICT (%s, ...)", c, c)
		}
	}
	return nil
}

func inConflictTarget(oc *tree.OnConflict, c string) bool {
	for _, n := range oc.Columns {
		if strings.EqualFold(string(n), c) {
			return true
		}
	}
	return false
}

// isExcluded reports whether e is EXCLUDED.col.
func isExcluded(e tree.Expr, col string) bool {
	n, ok := e.(*tree.UnresolvedName)
	return ok && !n.Star && n.NumParts == 2 && strings.EqualFold(n.Parts[1], "excluded") && strings.EqualFold(n.Parts[0], col)
}

// returning analyses a RETURNING list over target and returns the Output
// that decrypts it, or nil when it returns no declared data.
func (s *stmt) returning(rc tree.ReturningClause, target *rewrite.Relation, after int, extra ...*rewrite.Relation) (*rewrite.Output, error) {
	exprs, ok := rc.(*tree.ReturningExprs)
	if !ok {
		return nil, nil
	}
	rels := append([]*rewrite.Relation{target}, extra...)
	sc := &rewrite.Scope{Rels: rels}
	items, err := s.outputs(tree.SelectExprs(*exprs), sc, []*rewrite.Relation{target})
	if err != nil {
		return nil, err
	}
	res := rewrite.NewResult(items)
	if !res.Declared() {
		return nil, nil
	}
	if len(extra) > 0 {
		return nil, rewrite.Refuse("RETURNING", "RETURNING encrypted columns is only supported when the target table is the only table of the statement")
	}
	list, _, err := s.locateReturning(tree.SelectExprs(*exprs), after)
	if err != nil {
		return nil, err
	}
	if res.Cols, err = s.expand(items, list, true); err != nil {
		return nil, err
	}
	return rewrite.NewOutput(res)
}

// insertLoc is where the parts of an INSERT are.
type insertLoc struct {
	ref       string // the target as written: its alias, or its name
	colsClose int    // the ')' of the column list
	rows      []rowLoc
	after     int // the token after the last VALUES tuple
}

type rowLoc struct {
	open, close int
	values      []span
}

func (s *stmt) locateInsert(ins *tree.Insert, vals *tree.ValuesClause) (insertLoc, error) {
	var loc insertLoc
	p := 0
	if !s.kw(p, "insert") || !s.kw(p+1, "into") {
		return loc, s.lost(p, "INSERT INTO")
	}
	p += 2
	end, parts := s.nameTokens(p, s.end)
	tn := ins.Table.(*tree.AliasedTableExpr)
	if len(parts) == 0 || !strings.EqualFold(parts[len(parts)-1], string(tn.Expr.(*tree.TableName).ObjectName)) {
		return loc, s.lost(p, "the table name")
	}
	loc.ref = s.text(p, end)
	p = end
	if tn.As.Alias != "" {
		if s.kw(p, "as") {
			p++
		}
		if !s.isName(p) || !strings.EqualFold(s.name(p), string(tn.As.Alias)) {
			return loc, s.lost(p, "the alias "+string(tn.As.Alias))
		}
		loc.ref = s.text(p, p+1)
		p++
	}
	if !s.isOp(p, "(") {
		return loc, s.lost(p, "the column list")
	}
	loc.colsClose = s.match[p]
	cols, _ := s.split(p+1, loc.colsClose, nil)
	if len(cols) != len(ins.Columns) {
		return loc, s.lost(p, "the column list")
	}
	for j, c := range cols {
		if c.to != c.from+1 || !s.isName(c.from) || !strings.EqualFold(s.name(c.from), string(ins.Columns[j])) {
			return loc, s.lost(c.from, "the column "+string(ins.Columns[j]))
		}
	}
	p = loc.colsClose + 1
	if !s.kw(p, "values") {
		return loc, s.lost(p, "VALUES")
	}
	p++
	for {
		if !s.isOp(p, "(") {
			return loc, s.lost(p, "a VALUES row")
		}
		row := rowLoc{open: p, close: s.match[p]}
		row.values, _ = s.split(p+1, row.close, nil)
		loc.rows = append(loc.rows, row)
		p = row.close + 1
		if !s.isOp(p, ",") {
			break
		}
		p++
	}
	if len(loc.rows) != len(vals.Rows) {
		return loc, s.lost(p, "the VALUES rows")
	}
	for r, row := range loc.rows {
		if len(row.values) != len(vals.Rows[r]) {
			return loc, s.lost(row.open, "the values of a VALUES row")
		}
	}
	loc.after = p
	return loc, nil
}

// locateConflictSet finds the SET list of ON CONFLICT ... DO UPDATE.
func (s *stmt) locateConflictSet(oc *tree.OnConflict, after int) (listLoc, error) {
	for i := after; i < s.end; i = s.skip(i) {
		if s.kw(i, "do") && s.kw(i+1, "update") && s.kw(i+2, "set") {
			items, _ := s.split(i+3, s.end, func(j int) bool {
				return s.kwIn(j, "where", "returning") && !s.afterAS(j)
			})
			if len(items) != len(oc.Exprs) {
				return listLoc{}, s.lost(i, "the SET list of ON CONFLICT DO UPDATE")
			}
			return s.newListLoc(items), nil
		}
	}
	return listLoc{}, s.lost(after, "ON CONFLICT DO UPDATE SET")
}
