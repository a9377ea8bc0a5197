package mysql

import (
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
	out, err := s.output(res)
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
func (s *stmt) analyzeQuery(n ast.ResultSetNode, parent *scope, mode selectMode, top bool) (*result, error) {
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
func (s *stmt) analyzeSetOpr(n *ast.SetOprStmt, parent *scope) (*result, error) {
	sc := &scope{parent: parent}
	if err := s.withClause(n.With, sc, modeDescribe); err != nil {
		return nil, err
	}
	if err := s.setOprList(n.SelectList, sc); err != nil {
		return nil, err
	}
	if err := s.orderLimit(n.OrderBy, n.Limit, nil, nil, &scope{parent: sc}); err != nil {
		return nil, err
	}
	return &result{opaque: true}, nil
}

func (s *stmt) setOprList(l *ast.SetOprSelectList, sc *scope) error {
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
	return s.orderLimit(l.OrderBy, l.Limit, nil, nil, &scope{parent: sc})
}

// analyzeSelect analyses one SELECT (or TABLE, or VALUES) statement.
func (s *stmt) analyzeSelect(sel *ast.SelectStmt, parent *scope, mode selectMode, top bool) (*result, error) {
	sc := &scope{parent: parent}
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
			if r.hasDeclared() && mode != modeExists {
				return nil, rewrite.Refuse("TABLE "+r.alias, "TABLE %s reads encrypted columns; write SELECT * FROM %s", r.alias, r.alias)
			}
		}
		return &result{opaque: true}, s.orderLimit(sel.OrderBy, sel.Limit, nil, nil, sc)
	case ast.SelectStmtKindValues:
		for _, row := range sel.Lists {
			if err := s.checkExprs(sc, row.Values, exprRules{what: "a VALUES list"}); err != nil {
				return nil, err
			}
		}
		return &result{opaque: true}, s.orderLimit(sel.OrderBy, sel.Limit, nil, nil, sc)
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
	res := &result{}
	for _, it := range items {
		res.cols = append(res.cols, it.cols...)
	}
	sc.outputs = res
	if c := firstDeclared(res); c != nil {
		switch {
		case sel.Distinct:
			return nil, rewrite.Refuse(c.describe(), "DISTINCT over encrypted columns (%s) compares ciphertext, which differs for equal values; deduplicate in the application", c.describe())
		case sel.SelectIntoOpt != nil:
			return nil, rewrite.Refuse("INTO", "SELECT ... INTO would store the ciphertext of %s where kmsenc can't decrypt it; select the rows instead", c.describe())
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
	case mode == modeEdit && res.declared():
		list, err := s.locateFields(fields)
		if err != nil {
			return nil, err
		}
		if res.cols, err = s.expand(items, list, top); err != nil {
			return nil, err
		}
	case mode == modeCopy:
		if c := firstDeclared(res); c != nil {
			return nil, rewrite.Refuse(c.describe(), "INSERT ... SELECT would copy the ciphertext of %s into a table where kmsenc can't decrypt it; read the rows and insert them with VALUES", c.describe())
		}
	case mode == modeCheck:
		if c := firstDeclared(res); c != nil {
			return nil, rewrite.Refuse(c.describe(), "a subquery used in an expression or a set operation (UNION, INTERSECT, EXCEPT) can't return encrypted data (%s): the database would compare or merge ciphertext; select it in the outer query", c.describe())
		}
	}
	if !res.declared() && hasStar(items) {
		// Plain output with runs of unknown columns: to an outer query, a
		// relation with unknown plain columns.
		res = &result{opaque: true}
	}
	return res, nil
}

// orderLimit checks ORDER BY and LIMIT.
func (s *stmt) orderLimit(order *ast.OrderByClause, limit *ast.Limit, items []itemOut, res *result, sc *scope) error {
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
func (s *stmt) withClause(w *ast.WithClause, sc *scope, mode selectMode) error {
	if w == nil {
		return nil
	}
	if w.IsRecursive {
		return rewrite.Refuse("WITH RECURSIVE", "recursive queries are not supported in statements on encrypted tables")
	}
	if sc.ctes == nil {
		sc.ctes = map[string]*cte{}
	}
	for _, c := range w.CTEs {
		if c.IsRecursive || c.Query == nil {
			return rewrite.Refuse(c.Name.O, "recursive queries are not supported in statements on encrypted tables")
		}
		m := modeDescribe
		if mode == modeEdit {
			m = modeEdit
		}
		// A CTE sees the CTEs before it, and not itself.
		res, err := s.analyzeQuery(c.Query.Query, &scope{parent: sc.parent, ctes: copyCTEs(sc.ctes)}, m, false)
		if err != nil {
			return err
		}
		ct := &cte{res: res}
		for _, col := range c.ColNameList {
			ct.cols = append(ct.cols, col.O)
		}
		sc.ctes[strings.ToLower(c.Name.O)] = ct
	}
	return nil
}

func copyCTEs(m map[string]*cte) map[string]*cte {
	c := make(map[string]*cte, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// itemOut is what one item of a select list outputs.
type itemOut struct {
	star bool        // "*" or "t.*"
	rels []*relation // the relations a star covers
	cols []outCol
}

func hasStar(items []itemOut) bool {
	for _, it := range items {
		if it.star {
			return true
		}
	}
	return false
}

// firstDeclared returns the first output column with declared data.
func firstDeclared(r *result) *outCol {
	if r == nil {
		return nil
	}
	for i := range r.cols {
		c := &r.cols[i]
		if c.kind != outPlain && (c.kind != outRun || c.inst != nil) {
			return c
		}
	}
	return nil
}

// describe names an output column in messages.
func (c *outCol) describe() string {
	switch {
	case c.kind == outRun && c.inst != nil:
		return "* over " + c.inst.table.Name
	case c.col != nil:
		return c.inst.table.Name + "." + c.col.Name
	case c.kind == outKey:
		return c.inst.table.Name + "." + c.inst.table.KeyColumn
	}
	return c.name
}

// outputs analyses the items of a select (or RETURNING) list. rels are the
// relations "*" covers, in FROM order.
func (s *stmt) outputs(fields []*ast.SelectField, sc *scope, rels []*relation) ([]itemOut, error) {
	items := make([]itemOut, 0, len(fields))
	for _, f := range fields {
		it, err := s.outputItem(f, sc, rels)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *stmt) outputItem(f *ast.SelectField, sc *scope, rels []*relation) (itemOut, error) {
	if w := f.WildCard; w != nil {
		if w.Table.O == "" {
			it := itemOut{star: true, rels: rels}
			for _, r := range rels {
				if r.merged {
					return itemOut{}, rewrite.Refuse("*", "* over a join with USING or NATURAL merges columns of a table with encrypted columns; list the columns or use t.*")
				}
				it.cols = append(it.cols, s.starCols(r)...)
			}
			return it, nil
		}
		qual := []string{w.Table.O}
		if w.Schema.O != "" {
			qual = []string{w.Schema.O, w.Table.O}
		}
		return s.qualifiedStar(qual, sc, rels)
	}
	name := f.AsName.O
	if e, ok := f.Expr.(*ast.ColumnNameExpr); ok {
		rf, err := s.resolve(sc, e.Name)
		if err != nil {
			return itemOut{}, err
		}
		if name == "" {
			name = e.Name.Name.O
		}
		col := outCol{kind: outPlain, name: name}
		switch rf.kind {
		case refEnc:
			col = outCol{kind: outEnc, inst: rf.inst, col: rf.col, name: name}
		case refKey:
			col = outCol{kind: outKey, inst: rf.inst, name: name}
		}
		if rf.outer && col.kind != outPlain {
			text := columnText(e.Name)
			return itemOut{}, rewrite.Refuse(text, "a subquery can't return %s of an enclosing query; select it in the outer query", text)
		}
		return itemOut{cols: []outCol{col}}, nil
	}
	if err := s.checkExpr(sc, f.Expr, exprRules{what: "the select list"}); err != nil {
		return itemOut{}, err
	}
	return itemOut{cols: []outCol{{kind: outPlain, name: name}}}, nil
}

// qualifiedStar analyses "t.*".
func (s *stmt) qualifiedStar(qual []string, sc *scope, rels []*relation) (itemOut, error) {
	text := strings.Join(qual, ".") + ".*"
	for _, r := range rels {
		if r.named(qual) {
			return itemOut{star: true, rels: []*relation{r}, cols: s.starCols(r)}, nil
		}
	}
	r, _, err := findRel(sc, qual)
	if err != nil {
		return itemOut{}, err
	}
	if r != nil && r.hasDeclared() {
		return itemOut{}, rewrite.Refuse(text, "a subquery can't return %s of an enclosing query; select it in the outer query", text)
	}
	return itemOut{star: true, cols: []outCol{{kind: outRun}}}, nil
}

// starCols describes what "*" yields for one relation, before expansion.
func (s *stmt) starCols(r *relation) []outCol {
	switch {
	case r.inst != nil:
		return []outCol{{kind: outRun, inst: r.inst}}
	case r.derived != nil && r.derived.declared():
		return s.derivedCols(r)
	}
	return []outCol{{kind: outRun}}
}

// derivedCols returns the output columns of a derived table as the outer
// query sees them: its instances become instances read through r.
func (s *stmt) derivedCols(r *relation) []outCol {
	cols := make([]outCol, len(r.derived.cols))
	for i, c := range r.derived.cols {
		if c.inst != nil {
			c.inst = s.through(r, c.inst)
		}
		cols[i] = c
	}
	return cols
}

// sortItems checks ORDER BY and GROUP BY items.
func (s *stmt) sortItems(by []*ast.ByItem, items []itemOut, res *result, sc *scope, what string) error {
	for _, b := range by {
		if err := s.sortKey(b.Expr, items, res, sc, what); err != nil {
			return err
		}
	}
	return nil
}

// sortKey checks one ORDER BY or GROUP BY key: it may name an output
// column, by name or by position, or be an expression over the FROM items.
func (s *stmt) sortKey(k ast.ExprNode, items []itemOut, res *result, sc *scope, what string) error {
	sortErr := func(text string, c *outCol) error {
		return rewrite.Refuse(text, "%s on an encrypted column (%s) would sort or group ciphertext; do it in the application", what, c.describe())
	}
	if p, ok := k.(*ast.PositionExpr); ok {
		if p.P != nil || p.N < 1 {
			if res.declared() {
				return rewrite.Refuse(what, "%s by a parameter position can't be checked against encrypted columns; name the column", what)
			}
			return nil
		}
		for _, it := range items[:min(p.N, len(items))] {
			if it.star && res.declared() {
				return rewrite.Refuse(what, "%s by position over * can't tell whether it is an encrypted column; name the column", what)
			}
		}
		if p.N > len(items) {
			return nil
		}
		for i := range items[p.N-1].cols {
			if c := &items[p.N-1].cols[i]; c.kind == outEnc {
				return sortErr(what, c)
			}
		}
		return nil
	}
	return s.checkExpr(sc, k, exprRules{what: what, aliases: true})
}

// expand rewrites a select list whose output carries declared data: each
// "*" becomes one "rel.*" per relation, each followed by a marker column
// that ends its run, and the key and context columns of every instance
// whose encrypted columns are output are added as hidden columns.
func (s *stmt) expand(items []itemOut, list listLoc, top bool) ([]outCol, error) {
	var cols []outCol
	for i, it := range items {
		if !it.star {
			cols = append(cols, it.cols...)
			continue
		}
		sp := list.items[i]
		if len(it.rels) == 0 {
			return nil, rewrite.Refuse(s.describe(sp.from, sp.to), "kmsenc can't find the relation of this * among the FROM items")
		}
		var parts []string
		for _, r := range it.rels {
			if r.ref == "" && !r.bare {
				return nil, rewrite.Refuse(s.describe(sp.from, sp.to), "* over a subquery without an alias; give it one (AS s)")
			}
			switch {
			case r.inst != nil:
				m := s.marker()
				parts = append(parts, r.starRef(), r.colRef(r.table.KeyColumn)+" AS "+quoteIdent(m))
				cols = append(cols, outCol{kind: outRun, inst: r.inst, end: m}, outCol{kind: outKey, inst: r.inst, name: m, hidden: true})
			case r.derived != nil && r.derived.declared():
				parts = append(parts, r.starRef())
				cols = append(cols, s.derivedCols(r)...)
			default:
				m := s.marker()
				parts = append(parts, r.starRef(), "NULL AS "+quoteIdent(m))
				cols = append(cols, outCol{kind: outRun, end: m}, outCol{kind: outPlain, name: m, hidden: true})
			}
		}
		s.replace(s.toks[sp.from].Start, s.toks[sp.to-1].End, text(strings.Join(parts, ", ")))
	}
	var adds []string
	for _, in := range encryptedInstances(cols) {
		if findCol(cols, outKey, in, "", top) < 0 {
			r, err := s.keyRef(in)
			if err != nil {
				return nil, err
			}
			m := s.marker()
			adds = append(adds, r+" AS "+quoteIdent(m))
			cols = append(cols, outCol{kind: outKey, inst: in, name: m, hidden: true})
		}
		for _, c := range in.table.ContextColumns() {
			if findCol(cols, outCtx, in, c, top) < 0 {
				r, err := s.ctxRef(in, c)
				if err != nil {
					return nil, err
				}
				m := s.marker()
				adds = append(adds, r+" AS "+quoteIdent(m))
				cols = append(cols, outCol{kind: outCtx, inst: in, ctxName: c, name: m, hidden: true})
			}
		}
	}
	if len(adds) > 0 {
		s.insert(list.end, text(", "+strings.Join(adds, ", ")))
	}
	return cols, nil
}

// encryptedInstances returns the instances whose encrypted columns are in
// cols, in order of first appearance.
func encryptedInstances(cols []outCol) []*instance {
	var out []*instance
	seen := map[*instance]bool{}
	for _, c := range cols {
		if c.inst != nil && (c.kind == outEnc || c.kind == outRun) && !seen[c.inst] {
			seen[c.inst] = true
			out = append(out, c.inst)
		}
	}
	return out
}

// findCol returns the index of the key (ctx == "") or context column of in,
// or -1. Below the top level, only columns kmsenc added count: a column the
// query names itself might clash with another of the same name outside.
func findCol(cols []outCol, kind outKind, in *instance, ctx string, top bool) int {
	for i, c := range cols {
		if c.kind == kind && c.inst == in && strings.EqualFold(c.ctxName, ctx) && (top || c.hidden) {
			return i
		}
	}
	return -1
}

// keyRef returns the SQL that reads the key column of in.
func (s *stmt) keyRef(in *instance) (string, error) {
	if in.inner == nil {
		if in.rel.ref == "" && !in.rel.bare {
			return "", rewrite.Refuse(in.table.Name, "kmsenc can't name the table %s here; give it an alias", in.table.Name)
		}
		return in.rel.colRef(in.table.KeyColumn), nil
	}
	i := findCol(in.rel.derived.cols, outKey, in.inner, "", false)
	if i < 0 || in.rel.ref == "" {
		return "", rewrite.Refuse(in.rel.alias, "kmsenc can't find the key column of %s through this subquery; select from the table directly", in.table.Name)
	}
	return in.rel.colRef(in.rel.derived.cols[i].name), nil
}

// ctxRef returns the SQL that reads context column c of in.
func (s *stmt) ctxRef(in *instance, c string) (string, error) {
	if in.inner == nil {
		if in.rel.ref == "" && !in.rel.bare {
			return "", rewrite.Refuse(in.table.Name, "kmsenc can't name the table %s here; give it an alias", in.table.Name)
		}
		return in.rel.colRef(c), nil
	}
	i := findCol(in.rel.derived.cols, outCtx, in.inner, c, false)
	if i < 0 || in.rel.ref == "" {
		return "", rewrite.Refuse(in.rel.alias, "kmsenc can't find the context column %s of %s through this subquery; select from the table directly", c, in.table.Name)
	}
	return in.rel.colRef(in.rel.derived.cols[i].name), nil
}

// output turns the top-level result into the plan's Output, or nil when it
// carries no declared data.
func (s *stmt) output(res *result) (*rewrite.Output, error) {
	if !res.declared() {
		return nil, nil
	}
	out := &rewrite.Output{}
	index := map[*instance]int{}
	var order []*instance
	inst := func(in *instance) int {
		if in == nil {
			return -1
		}
		if i, ok := index[in]; ok {
			return i
		}
		index[in] = len(out.Instances)
		order = append(order, in)
		out.Instances = append(out.Instances, rewrite.Instance{Table: in.table, Key: -1})
		return index[in]
	}
	for _, c := range res.cols {
		oc := rewrite.OutputColumn{Instance: inst(c.inst), Hidden: c.hidden}
		switch c.kind {
		case outPlain:
			oc.Kind = rewrite.OutPlain
		case outEnc:
			oc.Kind, oc.Column = rewrite.OutEncrypted, c.col
		case outKey:
			oc.Kind = rewrite.OutKey
		case outCtx:
			oc.Kind, oc.Name = rewrite.OutContext, c.ctxName
		case outRun:
			oc.Star, oc.End = true, c.end
			oc.Kind = rewrite.OutPlain
			if c.inst != nil {
				oc.Kind = rewrite.OutEncrypted
			}
		}
		out.Columns = append(out.Columns, oc)
	}
	encrypted := map[*instance]bool{}
	for _, in := range encryptedInstances(res.cols) {
		encrypted[in] = true
	}
	for i, in := range order {
		k := findCol(res.cols, outKey, in, "", true)
		if k < 0 {
			return nil, rewrite.Refuse("", "kmsenc lost the key column of %s; please report this statement", in.table.Name)
		}
		out.Instances[i].Key = k
		if !encrypted[in] {
			continue
		}
		for _, c := range in.table.ContextColumns() {
			j := findCol(res.cols, outCtx, in, c, true)
			if j < 0 {
				return nil, rewrite.Refuse("", "kmsenc lost the context column %s of %s; please report this statement", c, in.table.Name)
			}
			out.Instances[i].Context = append(out.Instances[i].Context, j)
		}
	}
	return out, nil
}
