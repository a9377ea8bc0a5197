package mysql

import (
	"maps"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// selectMode says what becomes of a query's output, which decides how it
// is analysed.
type selectMode int

const (
	// modeEdit: the output reaches the caller, or an outer query that does;
	// the query is rewritten to return the key and context columns its
	// encrypted columns need.
	modeEdit selectMode = iota
	// modeDescribe: the output is only described (a derived table inside a
	// subquery whose own output must be plain).
	modeDescribe
	// modeCheck: the output is used by an expression (IN, a scalar subquery)
	// or a set operation, so it may not carry declared data.
	modeCheck
	// modeExists: the output is ignored (EXISTS).
	modeExists
	// modeCopy: the output is written to a table (INSERT ... SELECT), so
	// it may not carry declared data.
	modeCopy
)

// planSelect plans a SELECT statement.
func (s *stmt) planSelect(n ast.ResultSetNode) (*rewrite.Plan, error) {
	res, err := s.analyzeQuery(n, nil, modeEdit, true)
	if err != nil {
		return nil, err
	}
	out, err := rewrite.NewOutput(res)
	if err != nil {
		return nil, err
	}
	if out == nil {
		// Nothing to decrypt: the edits made for derived tables serve no
		// one, and the statement goes out as written.
		return s.passThrough(), nil
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Select, Output: out})
}

// analyzeQuery analyses a query: a SELECT, TABLE or VALUES statement, or a
// set operation. top says the output goes to the caller.
func (s *stmt) analyzeQuery(n ast.ResultSetNode, parent *rewrite.Scope, mode selectMode, top bool) (*rewrite.Result, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return s.analyzeSelect(n, parent, mode, top)
	case *ast.SetOprStmt:
		return s.analyzeSetOpr(n, parent)
	}
	return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
}

// analyzeSetOpr analyses UNION, EXCEPT and INTERSECT: the database compares
// or merges the rows of its sides, so they may not carry declared data.
func (s *stmt) analyzeSetOpr(n *ast.SetOprStmt, parent *rewrite.Scope) (*rewrite.Result, error) {
	sc := &rewrite.Scope{Parent: parent}
	if err := s.withClause(n.With, sc, modeDescribe); err != nil {
		return nil, err
	}
	if err := s.setOprList(n.SelectList, sc); err != nil {
		return nil, err
	}
	if err := s.orderLimit(n.OrderBy, n.Limit, nil, nil, &rewrite.Scope{Parent: sc}); err != nil {
		return nil, err
	}
	return &rewrite.Result{Opaque: true}, nil
}

func (s *stmt) setOprList(l *ast.SetOprSelectList, sc *rewrite.Scope) error {
	if l == nil {
		return nil
	}
	if err := s.withClause(l.With, sc, modeDescribe); err != nil {
		return err
	}
	for _, side := range l.Selects {
		switch side := side.(type) {
		case *ast.SelectStmt:
			if _, err := s.analyzeSelect(side, sc, modeCheck, false); err != nil {
				return err
			}
		case *ast.SetOprSelectList:
			if err := s.setOprList(side, sc); err != nil {
				return err
			}
		default:
			return rewrite.Refuse("", "this kind of set operation is not supported in statements on encrypted tables")
		}
	}
	return s.orderLimit(l.OrderBy, l.Limit, nil, nil, &rewrite.Scope{Parent: sc})
}

// analyzeSelect analyses one SELECT (or TABLE, or VALUES) statement.
func (s *stmt) analyzeSelect(sel *ast.SelectStmt, parent *rewrite.Scope, mode selectMode, top bool) (*rewrite.Result, error) {
	sc := &rewrite.Scope{Parent: parent}
	if err := s.withClause(sel.With, sc, mode); err != nil {
		return nil, err
	}
	switch sel.Kind {
	case ast.SelectStmtKindTable:
		// "TABLE t": nothing to add the key column to.
		rels, err := s.fromClause(sel.From, sc, modeDescribe)
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			if r.HasDeclared() && mode != modeExists {
				return nil, rewrite.RefuseTableStatement(r.Alias)
			}
		}
		return &rewrite.Result{Opaque: true}, s.orderLimit(sel.OrderBy, sel.Limit, nil, nil, sc)
	case ast.SelectStmtKindValues:
		for _, row := range sel.Lists {
			if err := s.checkExprs(sc, row.Values, exprRules{what: "a VALUES list"}); err != nil {
				return nil, err
			}
		}
		return &rewrite.Result{Opaque: true}, s.orderLimit(sel.OrderBy, sel.Limit, nil, nil, sc)
	}
	rels, err := s.fromClause(sel.From, sc, mode)
	if err != nil {
		return nil, err
	}
	if err := s.checkExpr(sc, sel.Where, exprRules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	var fields []*ast.SelectField
	if sel.Fields != nil {
		fields = sel.Fields.Fields
	}
	items, err := s.outputs(fields, sc, rels)
	if err != nil {
		return nil, err
	}
	res := rewrite.NewResult(items)
	sc.Outputs = res
	if c := res.FirstDeclared(); c != nil {
		switch {
		case sel.Distinct:
			return nil, rewrite.RefuseDistinct(c)
		case sel.SelectIntoOpt != nil:
			return nil, rewrite.Refuse("INTO", "SELECT ... INTO would store the ciphertext of %s where kmsenc can't decrypt it; select the rows instead", c.Describe())
		}
	}
	if sel.GroupBy != nil {
		if err := s.sortItems(sel.GroupBy.Items, items, res, sc, "GROUP BY"); err != nil {
			return nil, err
		}
	}
	if sel.Having != nil {
		if err := s.checkExpr(sc, sel.Having.Expr, exprRules{what: "HAVING", aliases: true}); err != nil {
			return nil, err
		}
	}
	for i := range sel.WindowSpecs {
		if err := s.checkExpr(sc, &sel.WindowSpecs[i], exprRules{what: "a window definition"}); err != nil {
			return nil, err
		}
	}
	if err := s.orderLimit(sel.OrderBy, sel.Limit, items, res, sc); err != nil {
		return nil, err
	}
	switch {
	case mode == modeEdit && res.Declared():
		list, err := s.locateFields(fields)
		if err != nil {
			return nil, err
		}
		if res.Cols, err = s.expand(items, list, top); err != nil {
			return nil, err
		}
	case mode == modeCopy:
		if c := res.FirstDeclared(); c != nil {
			return nil, rewrite.Refuse(c.Describe(), "INSERT ... SELECT would copy the ciphertext of %s into a table where kmsenc can't decrypt it; read the rows and insert them with VALUES", c.Describe())
		}
	case mode == modeCheck:
		if c := res.FirstDeclared(); c != nil {
			return nil, rewrite.Refuse(c.Describe(), "a subquery used in an expression or a set operation (UNION, INTERSECT, EXCEPT) can't return encrypted data (%s): the database would compare or merge ciphertext; select it in the outer query", c.Describe())
		}
	}
	if !res.Declared() && rewrite.HasStar(items) {
		// Plain output with runs of unknown columns: to an outer query, a
		// relation with unknown plain columns.
		res = &rewrite.Result{Opaque: true}
	}
	return res, nil
}

// orderLimit checks ORDER BY and LIMIT.
func (s *stmt) orderLimit(order *ast.OrderByClause, limit *ast.Limit, items []rewrite.Item, res *rewrite.Result, sc *rewrite.Scope) error {
	if order != nil {
		if err := s.sortItems(order.Items, items, res, sc, "ORDER BY"); err != nil {
			return err
		}
	}
	if limit != nil {
		return s.checkExprs(sc, []ast.ExprNode{limit.Count, limit.Offset}, exprRules{what: "LIMIT"})
	}
	return nil
}

// withClause analyses the CTEs of a WITH into sc.
func (s *stmt) withClause(w *ast.WithClause, sc *rewrite.Scope, mode selectMode) error {
	if w == nil {
		return nil
	}
	if w.IsRecursive {
		return rewrite.RefuseRecursive("WITH RECURSIVE")
	}
	if sc.CTEs == nil {
		sc.CTEs = map[string]*rewrite.CTE{}
	}
	for _, c := range w.CTEs {
		if c.IsRecursive || c.Query == nil {
			return rewrite.RefuseRecursive(c.Name.O)
		}
		m := modeDescribe
		if mode == modeEdit {
			m = modeEdit
		}
		// A CTE sees the CTEs before it, and not itself.
		res, err := s.analyzeQuery(c.Query.Query, &rewrite.Scope{Parent: sc.Parent, CTEs: maps.Clone(sc.CTEs)}, m, false)
		if err != nil {
			return err
		}
		ct := &rewrite.CTE{Result: res}
		for _, col := range c.ColNameList {
			ct.Cols = append(ct.Cols, col.O)
		}
		sc.CTEs[strings.ToLower(c.Name.O)] = ct
	}
	return nil
}

// outputs analyses the items of a select (or RETURNING) list. rels are the
// relations "*" covers, in FROM order.
func (s *stmt) outputs(fields []*ast.SelectField, sc *rewrite.Scope, rels []*rewrite.Relation) ([]rewrite.Item, error) {
	items := make([]rewrite.Item, 0, len(fields))
	for _, f := range fields {
		it, err := s.outputItem(f, sc, rels)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *stmt) outputItem(f *ast.SelectField, sc *rewrite.Scope, rels []*rewrite.Relation) (rewrite.Item, error) {
	if w := f.WildCard; w != nil {
		if w.Table.O == "" {
			return rewrite.StarItem(rels)
		}
		qual := []string{w.Table.O}
		if w.Schema.O != "" {
			qual = []string{w.Schema.O, w.Table.O}
		}
		return qualifiedStar(qual, sc, rels)
	}
	name := f.AsName.O
	if e, ok := f.Expr.(*ast.ColumnNameExpr); ok {
		rf, err := resolve(sc, e.Name)
		if err != nil {
			return rewrite.Item{}, err
		}
		if name == "" {
			name = e.Name.Name.O
		}
		col := rf.Output(name)
		if rf.Outer && col.Kind != rewrite.ColPlain {
			return rewrite.Item{}, rewrite.RefuseOuter(columnText(e.Name))
		}
		return rewrite.Item{Cols: []rewrite.ResultColumn{col}}, nil
	}
	if err := s.checkExpr(sc, f.Expr, exprRules{what: "the select list"}); err != nil {
		return rewrite.Item{}, err
	}
	return rewrite.Item{Cols: []rewrite.ResultColumn{{Kind: rewrite.ColPlain, Name: name}}}, nil
}

// qualifiedStar analyses "t.*".
func qualifiedStar(qual []string, sc *rewrite.Scope, rels []*rewrite.Relation) (rewrite.Item, error) {
	text := strings.Join(qual, ".") + ".*"
	for _, r := range rels {
		if named(r, qual) {
			return rewrite.Item{Star: true, Rels: []*rewrite.Relation{r}, Cols: rewrite.StarColumns(r)}, nil
		}
	}
	r, _, err := findRel(sc, qual)
	if err != nil {
		return rewrite.Item{}, err
	}
	if r != nil && r.HasDeclared() {
		return rewrite.Item{}, rewrite.RefuseOuter(text)
	}
	return rewrite.Item{Star: true, Cols: []rewrite.ResultColumn{{Kind: rewrite.ColRun}}}, nil
}

// sortItems checks ORDER BY and GROUP BY items.
func (s *stmt) sortItems(by []*ast.ByItem, items []rewrite.Item, res *rewrite.Result, sc *rewrite.Scope, what string) error {
	for _, b := range by {
		if err := s.sortKey(b.Expr, items, res, sc, what); err != nil {
			return err
		}
	}
	return nil
}

// sortKey checks one ORDER BY or GROUP BY key: it may name an output
// column, by name or by position, or be an expression over the FROM items.
func (s *stmt) sortKey(k ast.ExprNode, items []rewrite.Item, res *rewrite.Result, sc *rewrite.Scope, what string) error {
	if p, ok := k.(*ast.PositionExpr); ok {
		if p.P != nil || p.N < 1 {
			if res.Declared() {
				return rewrite.Refuse(what, "%s by a parameter position can't be checked against encrypted columns; name the column", what)
			}
			return nil
		}
		for _, it := range items[:min(p.N, len(items))] {
			if it.Star && res.Declared() {
				return rewrite.Refuse(what, "%s by position over * can't tell whether it is an encrypted column; name the column", what)
			}
		}
		if p.N > len(items) {
			return nil
		}
		for i := range items[p.N-1].Cols {
			if c := &items[p.N-1].Cols[i]; c.Kind == rewrite.ColEncrypted {
				return rewrite.RefuseSort(what, what, c)
			}
		}
		return nil
	}
	return s.checkExpr(sc, k, exprRules{what: what, aliases: true})
}

// expand rewrites a select list whose output carries declared data
// (rewrite.Expand) and returns its output columns.
func (s *stmt) expand(items []rewrite.Item, list listLoc, top bool) ([]rewrite.ResultColumn, error) {
	x, err := rewrite.Expand(items, top, names{}, &s.markers, func(i int) string { return s.describe(list.items[i].from, list.items[i].to) })
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
