package postgres

import (
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
	out, err := s.output(res)
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
func (s *stmt) analyzeStatement(ss tree.SelectStatement, parent *scope, mode selectMode) (*result, error) {
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
func (s *stmt) analyzeSelect(sel *tree.Select, parent *scope, mode selectMode, rng span, top bool) (*result, error) {
	sc := &scope{parent: parent}
	p := rng.from
	if sel.With != nil {
		var err error
		if p, err = s.withClause(sel.With, sc, mode, rng); err != nil {
			return nil, err
		}
	}
	var res *result
	var items []itemOut
	var body *scope // the FROM scope ORDER BY may use, for SELECT ... FROM
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
		res = &result{opaque: true}
	case *tree.ValuesClause:
		for _, row := range n.Rows {
			if err := s.checkExprs(sc, row, exprRules{what: "a VALUES list"}); err != nil {
				return nil, err
			}
		}
		res = &result{opaque: true}
	default:
		return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
	}
	if body == nil {
		body = &scope{parent: sc}
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
		if c := firstDeclared(res); c != nil {
			return nil, rewrite.Refuse(c.describe(), "a query used in an expression, a set operation (UNION, INTERSECT, EXCEPT) or INSERT ... SELECT can't return encrypted data (%s): the database would compare, merge or copy ciphertext; select it in the outer query", c.describe())
		}
	}
	return res, nil
}

// withClause analyses the CTEs of a WITH and returns the index of the
// token after it.
func (s *stmt) withClause(w *tree.With, sc *scope, mode selectMode, rng span) (int, error) {
	if w.Recursive {
		return 0, rewrite.Refuse("WITH RECURSIVE", "recursive queries are not supported in statements on encrypted tables")
	}
	var bodies []span
	p := rng.from
	if mode == modeEdit {
		var err error
		if bodies, p, err = s.locateWith(w, rng); err != nil {
			return 0, err
		}
	}
	sc.ctes = map[string]*cte{}
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
		res, err := s.analyzeSelect(body, &scope{parent: sc.parent, ctes: copyCTEs(sc.ctes)}, cm, b, false)
		if err != nil {
			return 0, err
		}
		if len(c.Name.Cols) > 0 {
			// WITH s(a, b) AS (...) renames the first columns.
			names := make([]string, len(c.Name.Cols))
			for i, col := range c.Name.Cols {
				names[i] = string(col.Name)
			}
			r := &relation{alias: string(c.Name.Alias), derived: res}
			if err := r.renameColumns(names); err != nil {
				return 0, err
			}
			res = r.derived
		}
		sc.ctes[strings.ToLower(string(c.Name.Alias))] = &cte{res: res}
	}
	return p, nil
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

// selectClause analyses SELECT ... FROM ... WHERE ...; it returns the
// scope of its FROM items, for ORDER BY.
func (s *stmt) selectClause(n *tree.SelectClause, sc *scope, mode selectMode, rng span, top bool) (*result, []itemOut, *scope, error) {
	if n.TableSelect && mode == modeEdit {
		// "TABLE t": nothing to insert the key column into.
		if tn := tableSelectName(n); tn != "" && s.cfg.Table(tn) != nil {
			return nil, nil, nil, rewrite.Refuse("TABLE "+tn, "TABLE %s reads encrypted columns; write SELECT * FROM %s", tn, tn)
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
	res := &result{}
	for _, it := range items {
		res.cols = append(res.cols, it.cols...)
	}
	if n.Distinct && res.declared() {
		c := firstDeclared(res)
		return nil, nil, nil, rewrite.Refuse(c.describe(), "DISTINCT over encrypted columns (%s) compares ciphertext, which differs for equal values; deduplicate in the application", c.describe())
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
	if mode == modeEdit && res.declared() {
		if res.cols, err = s.expand(items, list, top); err != nil {
			return nil, nil, nil, err
		}
	}
	if !res.declared() && hasStar(items) {
		// Plain output with runs of unknown columns: to an outer query, a
		// relation with unknown plain columns.
		res = &result{opaque: true}
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
func (s *stmt) outputs(exprs tree.SelectExprs, sc *scope, rels []*relation) ([]itemOut, error) {
	items := make([]itemOut, 0, len(exprs))
	for _, se := range exprs {
		it, err := s.outputItem(se, sc, rels)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *stmt) outputItem(se tree.SelectExpr, sc *scope, rels []*relation) (itemOut, error) {
	name := string(se.As)
	switch e := se.Expr.(type) {
	case tree.UnqualifiedStar:
		it := itemOut{star: true, rels: rels}
		for _, r := range rels {
			if r.merged {
				return itemOut{}, rewrite.Refuse("*", "* over a join with USING or NATURAL merges columns of a table with encrypted columns; list the columns or use t.*")
			}
			it.cols = append(it.cols, s.starCols(r)...)
		}
		return it, nil
	case *tree.AllColumnsSelector:
		return s.qualifiedStar(e.TableName.Parts[:e.TableName.NumParts], sc, rels, e.String())
	case *tree.UnresolvedName:
		if e.Star {
			parts := make([]string, 0, e.NumParts-1)
			for i := 1; i < e.NumParts; i++ {
				parts = append(parts, e.Parts[i])
			}
			return s.qualifiedStar(parts, sc, rels, e.String())
		}
		rf, err := s.resolve(sc, e)
		if err != nil {
			return itemOut{}, err
		}
		if name == "" {
			name = e.Parts[0]
		}
		col := outCol{kind: outPlain, name: name}
		switch rf.kind {
		case refEnc:
			col = outCol{kind: outEnc, inst: rf.inst, col: rf.col, name: name}
		case refKey:
			col = outCol{kind: outKey, inst: rf.inst, name: name}
		case refWholeRow:
			return itemOut{}, rewrite.Refuse(e.String(), "a whole-row reference to a table with encrypted columns (%s) would return ciphertext; select its columns or %s.*", e.String(), e.String())
		}
		if rf.outer && col.kind != outPlain {
			return itemOut{}, rewrite.Refuse(e.String(), "a subquery can't return %s of an enclosing query; select it in the outer query", e.String())
		}
		return itemOut{cols: []outCol{col}}, nil
	}
	if err := s.checkExpr(sc, se.Expr, exprRules{what: "the select list"}); err != nil {
		return itemOut{}, err
	}
	if name == "" {
		if f, ok := se.Expr.(*tree.FuncExpr); ok {
			if n, ok := f.Func.FunctionReference.(*tree.UnresolvedName); ok {
				name = n.Parts[0]
			}
		}
	}
	return itemOut{cols: []outCol{{kind: outPlain, name: name}}}, nil
}

// qualifiedStar analyses "t.*".
func (s *stmt) qualifiedStar(qual []string, sc *scope, rels []*relation, text string) (itemOut, error) {
	for _, r := range rels {
		if r.named(qual) {
			return itemOut{star: true, rels: []*relation{r}, cols: s.starCols(r)}, nil
		}
	}
	if r, _ := findRel(sc, qual); r != nil && r.hasDeclared() {
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

// sortKeys checks ORDER BY items.
func (s *stmt) sortKeys(order tree.OrderBy, items []itemOut, res *result, sc *scope, what string) error {
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
func (s *stmt) sortExprs(keys []tree.Expr, items []itemOut, res *result, sc *scope, what string) error {
	sortErr := func(text string, c *outCol) error {
		return rewrite.Refuse(text, "%s on an encrypted column (%s) would sort or group ciphertext; do it in the application", what, c.describe())
	}
	for _, k := range keys {
		if n, ok := k.(*tree.NumVal); ok {
			pos, err := n.AsInt64()
			if err != nil || pos < 1 {
				continue
			}
			if items == nil {
				items = resultItems(res)
			}
			if hasStar(items) && res.declared() {
				return rewrite.Refuse(what+" "+n.OrigString(), "%s by position over * can't tell whether it is an encrypted column; name the column", what)
			}
			if int(pos) > len(items) {
				continue
			}
			for i := range items[pos-1].cols {
				if c := &items[pos-1].cols[i]; c.kind == outEnc {
					return sortErr(what+" "+n.OrigString(), c)
				}
			}
			continue
		}
		if n := bareName(k); n != nil && n.NumParts == 1 && res != nil {
			for i := range res.cols {
				if c := &res.cols[i]; c.kind == outEnc && !c.hidden && strings.EqualFold(c.name, n.Parts[0]) {
					return sortErr(what+" "+n.String(), c)
				}
			}
		}
		inner := sc
		if inner == nil {
			inner = &scope{}
		}
		if err := s.checkExpr(inner, k, exprRules{what: what}); err != nil {
			return err
		}
	}
	return nil
}

// resultItems splits a result into items for positions: a run is a star.
func resultItems(res *result) []itemOut {
	if res == nil {
		return nil
	}
	items := make([]itemOut, 0, len(res.cols))
	for _, c := range res.cols {
		if c.hidden {
			continue
		}
		items = append(items, itemOut{star: c.kind == outRun, cols: []outCol{c}})
	}
	return items
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
		if len(it.rels) == 0 {
			return nil, rewrite.Refuse(s.text(list.items[i].from, list.items[i].to), "kmsenc can't find the relation of this * among the FROM items")
		}
		var parts []string
		for _, r := range it.rels {
			if r.ref == "" {
				return nil, rewrite.Refuse(s.text(list.items[i].from, list.items[i].to), "* over a subquery without an alias; give it one (AS s)")
			}
			switch {
			case r.inst != nil:
				m := s.marker()
				parts = append(parts, r.ref+".*", r.ref+"."+quoteIfNeeded(schemaName(r.table.KeyColumn))+" AS "+m)
				cols = append(cols, outCol{kind: outRun, inst: r.inst, end: m}, outCol{kind: outKey, inst: r.inst, name: m, hidden: true})
			case r.derived != nil && r.derived.declared():
				parts = append(parts, r.ref+".*")
				cols = append(cols, s.derivedCols(r)...)
			default:
				m := s.marker()
				parts = append(parts, r.ref+".*", "NULL AS "+m)
				cols = append(cols, outCol{kind: outRun, end: m}, outCol{kind: outPlain, name: m, hidden: true})
			}
		}
		sp := list.items[i]
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
			adds = append(adds, r+" AS "+m)
			cols = append(cols, outCol{kind: outKey, inst: in, name: m, hidden: true})
		}
		for _, c := range in.table.ContextColumns() {
			if findCol(cols, outCtx, in, c, top) < 0 {
				r, err := s.ctxRef(in, c)
				if err != nil {
					return nil, err
				}
				m := s.marker()
				adds = append(adds, r+" AS "+m)
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
		return in.rel.ref + "." + quoteIfNeeded(schemaName(in.table.KeyColumn)), nil
	}
	i := findCol(in.rel.derived.cols, outKey, in.inner, "", false)
	if i < 0 || in.rel.ref == "" {
		return "", rewrite.Refuse(in.rel.alias, "kmsenc can't find the key column of %s through this subquery; select from the table directly", in.table.Name)
	}
	return in.rel.ref + "." + quoteIfNeeded(in.rel.derived.cols[i].name), nil
}

// ctxRef returns the SQL that reads context column c of in.
func (s *stmt) ctxRef(in *instance, c string) (string, error) {
	if in.inner == nil {
		return in.rel.ref + "." + quoteIfNeeded(schemaName(c)), nil
	}
	i := findCol(in.rel.derived.cols, outCtx, in.inner, c, false)
	if i < 0 || in.rel.ref == "" {
		return "", rewrite.Refuse(in.rel.alias, "kmsenc can't find the context column %s of %s through this subquery; select from the table directly", c, in.table.Name)
	}
	return in.rel.ref + "." + quoteIfNeeded(in.rel.derived.cols[i].name), nil
}

// output turns the top-level result into the plan's Output, or nil when it
// carries no declared data.
func (s *stmt) output(res *result) (*rewrite.Output, error) {
	if !res.declared() {
		return nil, nil
	}
	out := &rewrite.Output{}
	index := map[*instance]int{}
	inst := func(in *instance) int {
		if in == nil {
			return -1
		}
		if i, ok := index[in]; ok {
			return i
		}
		index[in] = len(out.Instances)
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
	for in, i := range index {
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
