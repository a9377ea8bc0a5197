package postgres

import (
	"strconv"
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree/treecmp"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// planUpdate plans UPDATE t SET ... WHERE ... [RETURNING ...] (DESIGN §5
// rule 4).
func (s *stmt) planUpdate(u *tree.Update) (*rewrite.Plan, error) {
	if u.With != nil {
		return nil, rewrite.RefuseWith("UPDATE")
	}
	target, _, err := s.targetRel(u.Table)
	if err != nil {
		return nil, err
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	extra, err := s.fromClause(u.From, sc, modeDescribe, span{})
	if err != nil {
		return nil, err
	}
	enc, err := s.updateSets(u, sc, target.Table)
	if err != nil {
		return nil, err
	}
	if u.Where != nil {
		if err := s.checkExpr(sc, u.Where.Expr, exprRules{what: "WHERE", where: true}); err != nil {
			return nil, err
		}
	}
	if err := s.checkExprs(sc, orderExprs(u.OrderBy), exprRules{what: "ORDER BY"}); err != nil {
		return nil, err
	}
	if len(enc) > 0 {
		return s.pinnedUpdate(u, target, enc)
	}
	// Sets no encrypted column: plain execution, decrypting RETURNING.
	if _, ok := u.Returning.(*tree.ReturningExprs); ok && target.Table != nil {
		if err := s.locateTarget(target, 1); err != nil {
			return nil, err
		}
	}
	out, err := s.returning(u.Returning, target, 0, extra...)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return s.passThrough(), nil
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Select, Output: out})
}

// updateSets checks the SET list and returns the encrypted columns it sets.
func (s *stmt) updateSets(u *tree.Update, sc *rewrite.Scope, t *schema.Table) ([]setValue, error) {
	var enc []setValue
	for i, ue := range u.Exprs {
		if ue.Tuple {
			for _, n := range ue.Names {
				if t != nil && (t.Column(string(n)) != nil || t.IsKeyColumn(string(n)) || t.IsContextColumn(string(n))) {
					return nil, rewrite.Refuse(string(n), "set %s on its own (%s = value), not in a (...) = (...) list", n, n)
				}
			}
			if err := s.checkExpr(sc, ue.Expr, exprRules{what: "SET"}); err != nil {
				return nil, err
			}
			continue
		}
		n := string(ue.Names[0])
		switch {
		case t != nil && t.IsKeyColumn(n):
			return nil, rewrite.RefuseSetKeyColumn(n, "the UPDATE", t)
		case t != nil && t.IsContextColumn(n):
			return nil, rewrite.Refuse(n, "the UPDATE changes context column %s, part of %s's encryption context: the row's data key would no longer unwrap; context columns can't change", n, t.Name)
		case t != nil && t.Column(n) != nil:
			enc = append(enc, setValue{index: i, col: t.Column(n), expr: ue.Expr})
		default:
			if err := s.checkExpr(sc, ue.Expr, exprRules{what: "SET"}); err != nil {
				return nil, err
			}
		}
	}
	return enc, nil
}

// pinnedUpdate plans an UPDATE that sets encrypted columns: of one row,
// pinned by its primary key, whose key the wrapper looks up first; the
// values are encrypted under that key, and the UPDATE only applies while
// the row still holds it (the guard).
func (s *stmt) pinnedUpdate(u *tree.Update, target *rewrite.Relation, enc []setValue) (*rewrite.Plan, error) {
	t := target.Table
	for _, ue := range u.Exprs {
		for _, n := range ue.Names {
			if t.IsPrimaryKey(string(n)) {
				return nil, rewrite.RefusePrimaryKeyChange(string(n))
			}
		}
	}
	if len(u.From) > 0 {
		return nil, rewrite.Refuse("FROM", "an UPDATE of encrypted columns can't have FROM; pin one row by its primary key")
	}
	if len(u.OrderBy) > 0 || u.Limit != nil {
		return nil, rewrite.Refuse("LIMIT", "UPDATE ... ORDER BY / LIMIT is not PostgreSQL")
	}
	var where tree.Expr
	if u.Where != nil {
		where = u.Where.Expr
	}
	pk, err := pinnedRow(where, target)
	if err != nil {
		return nil, err
	}
	loc, err := s.locateUpdate(u)
	if err != nil {
		return nil, err
	}
	target.Ref = loc.ref
	for _, v := range enc {
		if err := s.encryptValue(v.expr, loc.sets[v.index], v.col, 0); err != nil {
			return nil, err
		}
	}
	key := quoteIfNeeded(schemaName(t.KeyColumn))
	s.edits.Insert(loc.whereEnd, text(" AND "+key+" = "), param(s.newSlot(rewrite.Param{Kind: rewrite.ParamRowKeyGuard}, loc.whereEnd)))
	out, err := s.returning(u.Returning, target, loc.afterWhere)
	if err != nil {
		return nil, err
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Update, Table: t, Update: lookup(t, loc.table, pk), Output: out})
}

// setValue is an encrypted column an UPDATE sets.
type setValue struct {
	index int // in Update.Exprs
	col   *schema.Column
	expr  tree.Expr
}

func orderExprs(o tree.OrderBy) []tree.Expr {
	exprs := make([]tree.Expr, 0, len(o))
	for _, x := range o {
		exprs = append(exprs, x.Expr)
	}
	return exprs
}

// pinnedRow finds, in a WHERE that is a conjunction, "pk = value" for each
// primary key column of the target, value a parameter or a constant.
func pinnedRow(where tree.Expr, target *rewrite.Relation) ([]rewrite.Value, error) {
	t := target.Table
	found := make([]*rewrite.Value, len(t.PrimaryKey))
	var visit func(e tree.Expr)
	visit = func(e tree.Expr) {
		switch n := e.(type) {
		case *tree.ParenExpr:
			visit(n.Expr)
		case *tree.AndExpr:
			visit(n.Left)
			visit(n.Right)
		case *tree.ComparisonExpr:
			if n.Operator.Symbol != treecmp.EQ {
				return
			}
			for _, pair := range [][2]tree.Expr{{n.Left, n.Right}, {n.Right, n.Left}} {
				name := bareName(pair[0])
				if name == nil || name.NumParts > 2 || name.NumParts == 2 && !target.Named(name.Parts[1], "") {
					continue
				}
				for i, pk := range t.PrimaryKey {
					if strings.EqualFold(name.Parts[0], pk) && found[i] == nil {
						if v, ok := constValue(pair[1]); ok {
							found[i] = &v
						}
					}
				}
			}
		}
	}
	if where != nil {
		visit(where)
	}
	vals := make([]rewrite.Value, len(found))
	for i, v := range found {
		if v == nil {
			return nil, rewrite.Refuse("WHERE", "an UPDATE of encrypted columns must pin one row by its primary key (%s = ...): kmsenc encrypts under that row's data key; add %s = $n to a WHERE of ANDed conditions", t.PrimaryKey[i], t.PrimaryKey[i])
		}
		vals[i] = *v
	}
	return vals, nil
}

// constValue reads a parameter or a constant from the AST (the primary key
// values of a pinned UPDATE are not encrypted: the AST's decoding will do).
func constValue(e tree.Expr) (rewrite.Value, bool) {
	switch v := e.(type) {
	case *tree.ParenExpr:
		return constValue(v.Expr)
	case *tree.Placeholder:
		return rewrite.Arg(int(v.Idx)), true
	case *tree.StrVal:
		return rewrite.Lit(rewrite.Literal{Go: v.RawString(), Text: v.String()}), true
	case *tree.DBool:
		return rewrite.Lit(rewrite.Literal{Go: bool(*v), Text: v.String()}), true
	case *tree.NumVal:
		text := v.String()
		if n, err := v.AsInt64(); err == nil && v.ShouldBeInt64() {
			return rewrite.Lit(rewrite.Literal{Go: n, Text: text}), true
		}
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return rewrite.Lit(rewrite.Literal{Go: f, Text: text}), true
		}
	}
	return rewrite.Value{}, false
}

// lookup builds the statements that find (or give) the pinned row's key.
func lookup(t *schema.Table, table string, pk []rewrite.Value) *rewrite.UpdatePlan {
	return rewrite.RowKeyLookup(t, table, pk,
		func(c string) string { return quoteIdent(schemaName(c)) },
		func(n int) string { return "$" + strconv.Itoa(n) })
}

// updateLoc is where the parts of an UPDATE are.
type updateLoc struct {
	table      string // the table name as written
	ref        string // its alias, or its name
	sets       []span // the value of each SET item
	whereEnd   int    // byte offset after the WHERE condition
	afterWhere int    // the token after it
}

func (s *stmt) locateUpdate(u *tree.Update) (updateLoc, error) {
	var loc updateLoc
	p := 0
	if !s.kw(p, "update") {
		return loc, s.lost(p, "UPDATE")
	}
	p++
	if s.kw(p, "only") {
		p++
	}
	ate := u.Table.(*tree.AliasedTableExpr)
	end, parts := s.nameTokens(p, s.end)
	if len(parts) == 0 || !strings.EqualFold(parts[len(parts)-1], string(ate.Expr.(*tree.TableName).ObjectName)) {
		return loc, s.lost(p, "the table name")
	}
	loc.table = s.text(p, end)
	loc.ref = loc.table
	p = end
	if s.isOp(p, "*") {
		p++
	}
	if ate.As.Alias != "" {
		if s.kw(p, "as") {
			p++
		}
		if !s.isName(p) || !strings.EqualFold(s.name(p), string(ate.As.Alias)) {
			return loc, s.lost(p, "the alias "+string(ate.As.Alias))
		}
		loc.ref = s.text(p, p+1)
		p++
	}
	if !s.kw(p, "set") {
		return loc, s.lost(p, "SET")
	}
	items, end := s.split(p+1, s.end, s.endsSetList)
	if len(items) != len(u.Exprs) {
		return loc, s.lost(p, "the SET list")
	}
	// loc.sets is indexed like u.Exprs; a (...) = (...) item gets no span.
	loc.sets = make([]span, len(u.Exprs))
	for i, ue := range u.Exprs {
		it := items[i]
		if ue.Tuple {
			continue
		}
		if !s.isName(it.from) || !strings.EqualFold(s.name(it.from), string(ue.Names[0])) || !s.isOp(it.from+1, "=") || it.to <= it.from+2 {
			return loc, s.lost(it.from, "SET "+string(ue.Names[0]))
		}
		loc.sets[i] = span{it.from + 2, it.to}
	}
	if !s.kw(end, "where") {
		return loc, s.lost(end, "WHERE")
	}
	w := end + 1
	stop := w
	for stop < s.end && !(s.kw(stop, "returning") && !s.afterAS(stop)) {
		stop = s.skip(stop)
	}
	if stop == w {
		return loc, s.lost(w, "the WHERE condition")
	}
	loc.whereEnd = s.toks[stop-1].End
	loc.afterWhere = stop
	return loc, nil
}
