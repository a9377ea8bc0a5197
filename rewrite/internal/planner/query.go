package planner

import (
	"maps"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// mode says what becomes of a query's output, which decides how it is
// analysed.
type mode int

const (
	// modeEdit: the output reaches the caller, or an outer query that does;
	// the query is rewritten to return the key and context columns its
	// encrypted columns need.
	modeEdit mode = iota
	// modeDescribe: the output is only described (a derived table inside a
	// subquery whose own output must be plain).
	modeDescribe
	// modeCheck: the output is used by an expression (IN, a scalar
	// subquery) or a set operation, so it may not carry declared data.
	modeCheck
	// modeExists: the output is ignored (EXISTS).
	modeExists
	// modeCopy: the output is written to a table (INSERT ... SELECT), so
	// it may not carry declared data.
	modeCopy
)

// planSelect plans a query statement.
func (p *planner) planSelect(q *model.Query) (*rewrite.Plan, error) {
	res, err := p.query(q, nil, modeEdit, true)
	if err != nil {
		return nil, err
	}
	out, err := NewOutput(res)
	if err != nil {
		return nil, err
	}
	if out == nil {
		// Nothing to decrypt: the edits made for derived tables serve no
		// one, and the statement goes out as written.
		return p.passThrough(), nil
	}
	return p.finish(&rewrite.Plan{Kind: rewrite.Select, Output: out})
}

// query analyses a query. top says its output goes to the caller.
func (p *planner) query(q *model.Query, parent *Scope, m mode, top bool) (*Result, error) {
	sc := &Scope{Parent: parent}
	if err := p.with(q.With, sc, m); err != nil {
		return nil, err
	}
	var res *Result
	var items []Item
	body := &Scope{Parent: sc} // the scope ORDER BY sees
	switch b := q.Body.(type) {
	case *model.Select:
		var err error
		if res, items, err = p.selectClause(b, sc, m, top); err != nil {
			return nil, err
		}
		body = sc
	case *model.Query:
		var err error
		if res, err = p.query(b, sc, m, top); err != nil {
			return nil, err
		}
	case *model.SetOp:
		for _, side := range b.Sides {
			if _, err := p.query(side, sc, modeCheck, false); err != nil {
				return nil, err
			}
		}
		res = &Result{Opaque: true}
	case *model.Values:
		for _, row := range b.Rows {
			if err := p.checkAll(sc, row, rules{what: "a VALUES list"}); err != nil {
				return nil, err
			}
		}
		res = &Result{Opaque: true}
	case *model.TableQuery:
		r, err := p.tableRel(b.Table, sc)
		if err != nil {
			return nil, err
		}
		if r.HasDeclared() && m != modeExists {
			return nil, RefuseTableStatement(b.Table.Name)
		}
		res = &Result{Opaque: true}
	default:
		return nil, rewrite.Refuse("", "this kind of query is not supported in statements on encrypted tables")
	}
	if err := p.sortKeys(q.OrderBy, items, res, body, "ORDER BY"); err != nil {
		return nil, err
	}
	if err := p.checkAll(sc, q.Limit, rules{what: "LIMIT"}); err != nil {
		return nil, err
	}
	switch c := res.FirstDeclared(); {
	case c == nil:
	case m == modeCheck:
		return nil, rewrite.Refuse(c.Describe(), "a query used in an expression or a set operation (UNION, INTERSECT, EXCEPT) can't return encrypted data (%s): the database would compare or merge ciphertext; select it in the outer query", c.Describe())
	case m == modeCopy:
		return nil, rewrite.Refuse(c.Describe(), "INSERT ... SELECT can't return encrypted data (%s): it would copy ciphertext into a table where kmsenc can't decrypt it; read the rows and insert them with VALUES", c.Describe())
	}
	return res, nil
}

// with analyses the CTEs of a WITH into sc.
func (p *planner) with(w *model.With, sc *Scope, m mode) error {
	if w == nil {
		return nil
	}
	if w.Recursive {
		return p.withRecursive(w, sc)
	}
	sc.CTEs = map[string]*CTE{}
	for _, c := range w.CTEs {
		switch {
		case c.Writes || c.Query == nil:
			return rewrite.Refuse(c.Name, "a WITH query that writes (INSERT/UPDATE/DELETE in WITH) is not supported in statements on encrypted tables")
		}
		cm := modeDescribe
		if m == modeEdit {
			cm = modeEdit
		}
		// A CTE sees the CTEs before it, and not itself.
		res, err := p.query(c.Query, &Scope{Parent: sc.Parent, CTEs: maps.Clone(sc.CTEs)}, cm, false)
		if err != nil {
			return err
		}
		if len(c.Cols) > 0 {
			// WITH s(a, b) AS (...) renames the first columns.
			r := &Relation{Alias: c.Name, Derived: res}
			if err := r.RenameColumns(c.Cols); err != nil {
				return err
			}
			res = r.Derived
		}
		sc.CTEs[strings.ToLower(c.Name)] = &CTE{Result: res}
	}
	return nil
}

// withRecursive analyses the CTEs of a WITH RECURSIVE into sc. Each may
// read itself and, in PostgreSQL, the CTEs after it, so every name is known
// from the start as a relation of plain columns; that holds because no CTE
// may output declared data (a recursive CTE is a UNION, whose sides are
// checked so anyway), which is then refused.
func (p *planner) withRecursive(w *model.With, sc *Scope) error {
	sc.CTEs = map[string]*CTE{}
	for _, c := range w.CTEs {
		if c.Writes || c.Query == nil {
			return rewrite.Refuse(c.Name, "a WITH query that writes (INSERT/UPDATE/DELETE in WITH) is not supported in statements on encrypted tables")
		}
		sc.CTEs[strings.ToLower(c.Name)] = &CTE{Result: &Result{Opaque: true}}
	}
	for _, c := range w.CTEs {
		res, err := p.query(c.Query, &Scope{Parent: sc.Parent, CTEs: sc.CTEs}, modeDescribe, false)
		if err != nil {
			return err
		}
		if d := res.FirstDeclared(); d != nil {
			return RefuseRecursive(c.Name, d.Describe())
		}
	}
	return nil
}

// selectClause analyses one SELECT ... FROM ... level into sc.
func (p *planner) selectClause(s *model.Select, sc *Scope, m mode, top bool) (*Result, []Item, error) {
	rels, err := p.from(s.From, sc, m)
	if err != nil {
		return nil, nil, err
	}
	if err := p.check(sc, s.Where, rules{what: "WHERE", where: true}); err != nil {
		return nil, nil, err
	}
	items, err := p.outputs(s.Items, sc, rels)
	if err != nil {
		return nil, nil, err
	}
	res := NewResult(items)
	sc.Outputs = res
	if c := res.FirstDeclared(); c != nil {
		switch {
		case s.Distinct:
			return nil, nil, RefuseDistinct(c)
		case s.Into:
			return nil, nil, rewrite.Refuse("INTO", "SELECT ... INTO would store the ciphertext of %s where kmsenc can't decrypt it; select the rows instead", c.Describe())
		}
	}
	if err := p.sortExprs(s.DistinctOn, items, res, sc, "DISTINCT ON"); err != nil {
		return nil, nil, err
	}
	if err := p.sortKeys(s.GroupBy, items, res, sc, "GROUP BY"); err != nil {
		return nil, nil, err
	}
	if err := p.check(sc, s.Having, rules{what: "HAVING", aliases: true}); err != nil {
		return nil, nil, err
	}
	for _, w := range s.Windows {
		if err := p.window(sc, w, rules{what: "a window definition"}); err != nil {
			return nil, nil, err
		}
	}
	if m == modeEdit && res.Declared() {
		if s.Lost != nil || s.ListEnd < 0 {
			return nil, nil, lost(s.Lost, "the select list")
		}
		if res.Cols, err = p.expand(items, s.Items, s.ListEnd, top); err != nil {
			return nil, nil, err
		}
	}
	if !res.Declared() && HasStar(items) {
		// Plain output with runs of unknown columns: to an outer query, a
		// relation with unknown plain columns.
		res = &Result{Opaque: true}
	}
	return res, items, nil
}

// outputs analyses the items of a select (or RETURNING) list. rels are the
// relations "*" covers, in FROM order.
func (p *planner) outputs(list []*model.SelectItem, sc *Scope, rels []*Relation) ([]Item, error) {
	items := make([]Item, 0, len(list))
	for _, it := range list {
		item, err := p.outputItem(it, sc, rels)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

func (p *planner) outputItem(it *model.SelectItem, sc *Scope, rels []*Relation) (Item, error) {
	if it.Star {
		if len(it.Qualifier) == 0 {
			return StarItem(rels)
		}
		return p.qualifiedStar(it.Qualifier, sc, rels, it.Text)
	}
	// A column reference, bare or in parentheses ("(email)"), is the
	// column itself.
	if cr := bareName(it.Expr); cr != nil {
		rf, err := p.resolve(sc, cr)
		if err != nil {
			return Item{}, err
		}
		if rf.Kind == RefWholeRow {
			return Item{}, rewrite.Refuse(cr.Text, "a whole-row reference to a table with encrypted columns (%s) would return ciphertext; select its columns or %s.*", cr.Text, cr.Text)
		}
		name := it.Name
		if name == "" {
			name = cr.Name
		}
		col := rf.Output(name)
		if rf.Outer && col.Kind != ColPlain {
			return Item{}, RefuseOuter(cr.Text)
		}
		return Item{Cols: []ResultColumn{col}}, nil
	}
	if err := p.check(sc, it.Expr, rules{what: "the select list"}); err != nil {
		return Item{}, err
	}
	return Item{Cols: []ResultColumn{{Kind: ColPlain, Name: it.Name}}}, nil
}

// qualifiedStar analyses "t.*".
func (p *planner) qualifiedStar(qual []string, sc *Scope, rels []*Relation, text string) (Item, error) {
	for _, r := range rels {
		if named(r, qual) {
			return Item{Star: true, Rels: []*Relation{r}, Cols: StarColumns(r)}, nil
		}
	}
	r, _, err := findRel(sc, qual)
	if err != nil {
		return Item{}, err
	}
	if r != nil && r.HasDeclared() {
		return Item{}, RefuseOuter(text)
	}
	return Item{Star: true, Cols: []ResultColumn{{Kind: ColRun}}}, nil
}

// sortKeys checks ORDER BY and GROUP BY keys: a key may name an output
// column, by name or by position, or be an expression over the FROM items
// (sc).
func (p *planner) sortKeys(keys []*model.SortKey, items []Item, res *Result, sc *Scope, what string) error {
	for _, k := range keys {
		if err := p.sortKey(k, items, res, sc, what); err != nil {
			return err
		}
	}
	return nil
}

// sortExprs checks keys given as expressions (DISTINCT ON).
func (p *planner) sortExprs(keys []model.Expr, items []Item, res *Result, sc *Scope, what string) error {
	for _, e := range keys {
		if err := p.sortKey(&model.SortKey{Expr: e}, items, res, sc, what); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) sortKey(k *model.SortKey, items []Item, res *Result, sc *Scope, what string) error {
	if k.Position != 0 {
		if k.Position < 0 {
			if res.Declared() {
				return rewrite.Refuse(what, "%s by a parameter position can't be checked against encrypted columns; name the column", what)
			}
			return nil
		}
		if items == nil {
			items = resultItems(res)
		}
		for _, it := range items[:min(k.Position, len(items))] {
			if it.Star && res.Declared() {
				return rewrite.Refuse(what+" "+k.Text, "%s by position over * can't tell whether it is an encrypted column; name the column", what)
			}
		}
		if k.Position > len(items) {
			return nil
		}
		for i := range items[k.Position-1].Cols {
			if c := &items[k.Position-1].Cols[i]; c.Kind == ColEncrypted {
				return RefuseSort(what+" "+k.Text, what, c)
			}
		}
		return nil
	}
	if cr := bareName(k.Expr); cr != nil && len(cr.Qualifier) == 0 && res != nil {
		for i := range res.Cols {
			if c := &res.Cols[i]; c.Kind == ColEncrypted && !c.Hidden && strings.EqualFold(c.Name, cr.Name) {
				return RefuseSort(what+" "+cr.Text, what, c)
			}
		}
	}
	if sc == nil {
		sc = &Scope{}
	}
	return p.check(sc, k.Expr, rules{what: what, aliases: true})
}

// resultItems splits a result into items for positions: a run is a star.
func resultItems(res *Result) []Item {
	if res == nil {
		return nil
	}
	items := make([]Item, 0, len(res.Cols))
	for _, c := range res.Cols {
		if c.Hidden {
			continue
		}
		items = append(items, Item{Star: c.Kind == ColRun, Cols: []ResultColumn{c}})
	}
	return items
}

// expand rewrites a select (or RETURNING) list whose output carries
// declared data (Expand) and returns its output columns. listEnd
// is the byte offset after its last item.
func (p *planner) expand(items []Item, list []*model.SelectItem, listEnd int, top bool) ([]ResultColumn, error) {
	x, err := Expand(items, top, p.d, &p.markers, func(i int) string { return p.d.Near(list[i].Span) })
	if err != nil {
		return nil, err
	}
	for i, sql := range x.Stars {
		if sql == "" {
			continue
		}
		if !list[i].Span.Located() {
			return nil, lost(nil, "* in the select list")
		}
		p.edits.Replace(list[i].Span.Start, list[i].Span.End, text(sql))
	}
	if x.Added != "" {
		p.insert(listEnd, text(x.Added))
	}
	return x.Cols, nil
}
