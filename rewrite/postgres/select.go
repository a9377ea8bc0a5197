package postgres

import (
	"maps"
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
)

// selectMode says what becomes of a query's output, which decides how it
// is analysed.
type selectMode int

const (
	// modeEdit: the output reaches the caller, or an outer query that does;
	// the query is located in the text and rewritten to return the key and
	// context columns its encrypted columns need.
	modeEdit selectMode = iota
	// modeDescribe: the output is only described (a derived table inside a
	// subquery whose own output must be plain).
	modeDescribe
	// modeCheck: the output is used by an expression (IN, a scalar subquery)
	// or a set operation, so it may not carry declared data.
	modeCheck
	// modeExists: the output is ignored (EXISTS).
	modeExists
)

// planSelect plans a SELECT statement.
func (s *stmt) planSelect(sel *tree.Select) (*rewrite.Plan, error) {
	res, err := s.analyzeSelect(sel, nil, modeEdit, span{0, s.end}, true)
	if err != nil {
		return nil, err
	}
	out, err := rewrite.NewOutput(res)
	if err != nil || out == nil {
		// Nothing to decrypt: the edits made for derived tables serve no
		// one, and the statement goes out as written.
		if err != nil {
			return nil, err
		}
		return s.passThrough(), nil
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Select, Output: out})
}

// analyzeStatement analyses the query of a subquery expression.
func (s *stmt) analyzeStatement(ss tree.SelectStatement, parent *rewrite.Scope, mode selectMode) (*rewrite.Result, error) {
	switch n := ss.(type) {
	case *tree.ParenSelect:
		return s.analyzeSelect(n.Select, parent, mode, span{}, false)
	case *tree.SelectClause, *tree.UnionClause, *tree.ValuesClause:
		return s.analyzeSelect(&tree.Select{Select: ss}, parent, mode, span{}, false)
	}
	return nil, rewrite.Refuse("", "this kind of subquery is not supported in statements on encrypted tables")
}

// analyzeSelect analyses a query. In modeEdit, rng is its extent in the
// token stream; top says the output goes to the caller (not to an outer
// query).
func (s *stmt) analyzeSelect(sel *tree.Select, parent *rewrite.Scope, mode selectMode, rng span, top bool) (*rewrite.Result, error) {
	sc := &rewrite.Scope{Parent: parent}
	p := rng.from
	if sel.With != nil {
		var err error
		if p, err = s.withClause(sel.With, sc, mode, rng); err != nil {
			return nil, err
		}
	}
	var res *rewrite.Result
	var items []rewrite.Item
	var body *rewrite.Scope // the FROM scope ORDER BY may use, for SELECT ... FROM
	switch n := sel.Select.(type) {
	case *tree.SelectClause:
		var err error
		if res, items, body, err = s.selectClause(n, sc, mode, span{p, rng.to}, top); err != nil {
			return nil, err
		}
	case *tree.ParenSelect:
		inner := span{}
		if mode == modeEdit {
			if !s.isOp(p, "(") {
				return nil, s.lost(p, "a parenthesized query")
			}
			inner = span{p + 1, s.match[p]}
		}
		var err error
		if res, err = s.analyzeSelect(n.Select, sc, mode, inner, top); err != nil {
			return nil, err
		}
	case *tree.UnionClause:
		for _, side := range []*tree.Select{n.Left, n.Right} {
			if _, err := s.analyzeSelect(side, sc, modeCheck, span{}, false); err != nil {
				return nil, err
			}
		}
		res = &rewrite.Result{Opaque: true}
	case *tree.ValuesClause:
		for _, row := range n.Rows {
			if err := s.checkExprs(sc, row, exprRules{what: "a VALUES list"}); err != nil {
				return nil, err
			}
		}
		res = &rewrite.Result{Opaque: true}
	default:
		return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
	}
	if body == nil {
		body = &rewrite.Scope{Parent: sc}
	}
	if err := s.sortKeys(sel.OrderBy, items, res, body, "ORDER BY"); err != nil {
		return nil, err
	}
	if sel.Limit != nil {
		if err := s.checkExprs(sc, []tree.Expr{sel.Limit.Count, sel.Limit.Offset}, exprRules{what: "LIMIT"}); err != nil {
			return nil, err
		}
	}
	if mode == modeCheck {
		if c := res.FirstDeclared(); c != nil {
			return nil, rewrite.Refuse(c.Describe(), "a query used in an expression, a set operation (UNION, INTERSECT, EXCEPT) or INSERT ... SELECT can't return encrypted data (%s): the database would compare, merge or copy ciphertext; select it in the outer query", c.Describe())
		}
	}
	return res, nil
}

// withClause analyses the CTEs of a WITH and returns the index of the
// token after it.
func (s *stmt) withClause(w *tree.With, sc *rewrite.Scope, mode selectMode, rng span) (int, error) {
	if w.Recursive {
		return 0, rewrite.RefuseRecursive("WITH RECURSIVE")
	}
	var bodies []span
	p := rng.from
	if mode == modeEdit {
		var err error
		if bodies, p, err = s.locateWith(w, rng); err != nil {
			return 0, err
		}
	}
	sc.CTEs = map[string]*rewrite.CTE{}
	for i, c := range w.CTEList {
		body, ok := c.Stmt.(*tree.Select)
		if !ok {
			return 0, rewrite.Refuse(string(c.Name.Alias), "a WITH query that writes (INSERT/UPDATE/DELETE in WITH) is not supported in statements on encrypted tables")
		}
		cm, b := modeDescribe, span{}
		if mode == modeEdit {
			cm, b = modeEdit, bodies[i]
		}
		// A CTE sees the CTEs before it, and not itself.
		res, err := s.analyzeSelect(body, &rewrite.Scope{Parent: sc.Parent, CTEs: maps.Clone(sc.CTEs)}, cm, b, false)
		if err != nil {
			return 0, err
		}
		if len(c.Name.Cols) > 0 {
			// WITH s(a, b) AS (...) renames the first columns.
			names := make([]string, len(c.Name.Cols))
			for i, col := range c.Name.Cols {
				names[i] = string(col.Name)
			}
			r := &rewrite.Relation{Alias: string(c.Name.Alias), Derived: res}
			if err := r.RenameColumns(names); err != nil {
				return 0, err
			}
			res = r.Derived
		}
		sc.CTEs[strings.ToLower(string(c.Name.Alias))] = &rewrite.CTE{Result: res}
	}
	return p, nil
}

// selectClause analyses SELECT ... FROM ... WHERE ...; it returns the
// scope of its FROM items, for ORDER BY.
func (s *stmt) selectClause(n *tree.SelectClause, sc *rewrite.Scope, mode selectMode, rng span, top bool) (*rewrite.Result, []rewrite.Item, *rewrite.Scope, error) {
	if n.TableSelect && mode == modeEdit {
		// "TABLE t": nothing to insert the key column into.
		if tn := tableSelectName(n); tn != "" && s.cfg.Table(tn) != nil {
			return nil, nil, nil, rewrite.RefuseTableStatement(tn)
		}
		mode = modeDescribe
	}
	var list listLoc
	var from span
	if mode == modeEdit {
		var err error
		if list, from, err = s.locateSelectClause(n, rng); err != nil {
			return nil, nil, nil, err
		}
	}
	rels, err := s.fromClause(n.From.Tables, sc, mode, from)
	if err != nil {
		return nil, nil, nil, err
	}
	if n.Where != nil {
		if err := s.checkExpr(sc, n.Where.Expr, exprRules{what: "WHERE", where: true}); err != nil {
			return nil, nil, nil, err
		}
	}
	items, err := s.outputs(n.Exprs, sc, rels)
	if err != nil {
		return nil, nil, nil, err
	}
	res := rewrite.NewResult(items)
	if c := res.FirstDeclared(); n.Distinct && c != nil {
		return nil, nil, nil, rewrite.RefuseDistinct(c)
	}
	for _, keys := range []struct {
		exprs []tree.Expr
		what  string
	}{{n.DistinctOn, "DISTINCT ON"}, {n.GroupBy, "GROUP BY"}} {
		if err := s.sortExprs(keys.exprs, items, res, sc, keys.what); err != nil {
			return nil, nil, nil, err
		}
	}
	if n.Having != nil {
		if err := s.checkExpr(sc, n.Having.Expr, exprRules{what: "HAVING"}); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, w := range n.Window {
		c := &checker{s: s, sc: sc, rules: exprRules{what: "a window definition"}}
		if err := c.window(w); err != nil {
			return nil, nil, nil, err
		}
	}
	if mode == modeEdit && res.Declared() {
		if res.Cols, err = s.expand(items, list, top); err != nil {
			return nil, nil, nil, err
		}
	}
	if !res.Declared() && rewrite.HasStar(items) {
		// Plain output with runs of unknown columns: to an outer query, a
		// relation with unknown plain columns.
		res = &rewrite.Result{Opaque: true}
	}
	return res, items, sc, nil
}

func tableSelectName(n *tree.SelectClause) string {
	if len(n.From.Tables) == 1 {
		if a, ok := n.From.Tables[0].(*tree.AliasedTableExpr); ok {
			if tn, ok := a.Expr.(*tree.TableName); ok {
				return string(tn.ObjectName)
			}
		}
	}
	return ""
}

// outputs analyses the items of a select (or RETURNING) list. rels are the
// relations "*" covers, in FROM order.
func (s *stmt) outputs(exprs tree.SelectExprs, sc *rewrite.Scope, rels []*rewrite.Relation) ([]rewrite.Item, error) {
	items := make([]rewrite.Item, 0, len(exprs))
	for _, se := range exprs {
		it, err := s.outputItem(se, sc, rels)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *stmt) outputItem(se tree.SelectExpr, sc *rewrite.Scope, rels []*rewrite.Relation) (rewrite.Item, error) {
	name := string(se.As)
	switch e := se.Expr.(type) {
	case tree.UnqualifiedStar:
		return rewrite.StarItem(rels)
	case *tree.AllColumnsSelector:
		return qualifiedStar(e.TableName.Parts[:e.TableName.NumParts], sc, rels, e.String())
	case *tree.UnresolvedName:
		if e.Star {
			parts := make([]string, 0, e.NumParts-1)
			for i := 1; i < e.NumParts; i++ {
				parts = append(parts, e.Parts[i])
			}
			return qualifiedStar(parts, sc, rels, e.String())
		}
		rf, err := resolve(sc, e)
		if err != nil {
			return rewrite.Item{}, err
		}
		if rf.Kind == rewrite.RefWholeRow {
			return rewrite.Item{}, rewrite.Refuse(e.String(), "a whole-row reference to a table with encrypted columns (%s) would return ciphertext; select its columns or %s.*", e.String(), e.String())
		}
		if name == "" {
			name = e.Parts[0]
		}
		col := rf.Output(name)
		if rf.Outer && col.Kind != rewrite.ColPlain {
			return rewrite.Item{}, rewrite.RefuseOuter(e.String())
		}
		return rewrite.Item{Cols: []rewrite.ResultColumn{col}}, nil
	}
	if err := s.checkExpr(sc, se.Expr, exprRules{what: "the select list"}); err != nil {
		return rewrite.Item{}, err
	}
	if name == "" {
		if f, ok := se.Expr.(*tree.FuncExpr); ok {
			if n, ok := f.Func.FunctionReference.(*tree.UnresolvedName); ok {
				name = n.Parts[0]
			}
		}
	}
	return rewrite.Item{Cols: []rewrite.ResultColumn{{Kind: rewrite.ColPlain, Name: name}}}, nil
}

// qualifiedStar analyses "t.*".
func qualifiedStar(qual []string, sc *rewrite.Scope, rels []*rewrite.Relation, text string) (rewrite.Item, error) {
	for _, r := range rels {
		if named(r, qual) {
			return rewrite.Item{Star: true, Rels: []*rewrite.Relation{r}, Cols: rewrite.StarColumns(r)}, nil
		}
	}
	if r, _ := findRel(sc, qual); r != nil && r.HasDeclared() {
		return rewrite.Item{}, rewrite.RefuseOuter(text)
	}
	return rewrite.Item{Star: true, Cols: []rewrite.ResultColumn{{Kind: rewrite.ColRun}}}, nil
}

// sortKeys checks ORDER BY items.
func (s *stmt) sortKeys(order tree.OrderBy, items []rewrite.Item, res *rewrite.Result, sc *rewrite.Scope, what string) error {
	exprs := make([]tree.Expr, 0, len(order))
	for _, o := range order {
		if o.OrderType != tree.OrderByColumn {
			return rewrite.Refuse("ORDER BY", "ORDER BY INDEX / PRIMARY KEY is not PostgreSQL")
		}
		exprs = append(exprs, o.Expr)
	}
	return s.sortExprs(exprs, items, res, sc, what)
}

// sortExprs checks ORDER BY, GROUP BY and DISTINCT ON keys: a key may name
// an output column, by name or by position, or be an expression over the
// FROM items (sc; nil when the query is not a plain SELECT ... FROM, whose
// keys can only name output columns).
func (s *stmt) sortExprs(keys []tree.Expr, items []rewrite.Item, res *rewrite.Result, sc *rewrite.Scope, what string) error {
	for _, k := range keys {
		if n, ok := k.(*tree.NumVal); ok {
			pos, err := n.AsInt64()
			if err != nil || pos < 1 {
				continue
			}
			if items == nil {
				items = resultItems(res)
			}
			if rewrite.HasStar(items) && res.Declared() {
				return rewrite.Refuse(what+" "+n.OrigString(), "%s by position over * can't tell whether it is an encrypted column; name the column", what)
			}
			if int(pos) > len(items) {
				continue
			}
			for i := range items[pos-1].Cols {
				if c := &items[pos-1].Cols[i]; c.Kind == rewrite.ColEncrypted {
					return rewrite.RefuseSort(what+" "+n.OrigString(), what, c)
				}
			}
			continue
		}
		if n := bareName(k); n != nil && n.NumParts == 1 && res != nil {
			for i := range res.Cols {
				if c := &res.Cols[i]; c.Kind == rewrite.ColEncrypted && !c.Hidden && strings.EqualFold(c.Name, n.Parts[0]) {
					return rewrite.RefuseSort(what+" "+n.String(), what, c)
				}
			}
		}
		inner := sc
		if inner == nil {
			inner = &rewrite.Scope{}
		}
		if err := s.checkExpr(inner, k, exprRules{what: what}); err != nil {
			return err
		}
	}
	return nil
}

// resultItems splits a result into items for positions: a run is a star.
func resultItems(res *rewrite.Result) []rewrite.Item {
	if res == nil {
		return nil
	}
	items := make([]rewrite.Item, 0, len(res.Cols))
	for _, c := range res.Cols {
		if c.Hidden {
			continue
		}
		items = append(items, rewrite.Item{Star: c.Kind == rewrite.ColRun, Cols: []rewrite.ResultColumn{c}})
	}
	return items
}

// expand rewrites a select list whose output carries declared data
// (rewrite.Expand) and returns its output columns.
func (s *stmt) expand(items []rewrite.Item, list listLoc, top bool) ([]rewrite.ResultColumn, error) {
	x, err := rewrite.Expand(items, top, names{}, &s.markers, func(i int) string { return s.text(list.items[i].from, list.items[i].to) })
	if err != nil {
		return nil, err
	}
	for i, sql := range x.Stars {
		if sql != "" {
			sp := list.items[i]
			s.edits.Replace(s.toks[sp.from].Start, s.toks[sp.to-1].End, text(sql))
		}
	}
	if x.Added != "" {
		s.edits.Insert(list.end, text(x.Added))
	}
	return x.Cols, nil
}
