package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
)

// fromWalk walks the FROM items of one query level: it builds their
// relations into the scope and, in modeEdit, follows them in the token
// stream to learn how each is written and where its subqueries are.
type fromWalk struct {
	s      *stmt
	sc     *rewrite.Scope
	mode   selectMode
	edit   bool
	p, to  int // token cursor, when edit
	leaves []*rewrite.Relation
}

// fromClause analyses FROM items (also UPDATE ... FROM and DELETE ...
// USING). In modeEdit, rng starts at the first token after FROM.
func (s *stmt) fromClause(tables tree.TableExprs, sc *rewrite.Scope, mode selectMode, rng span) ([]*rewrite.Relation, error) {
	w := &fromWalk{s: s, sc: sc, mode: mode, edit: mode == modeEdit, p: rng.from, to: rng.to}
	for i, te := range tables {
		if w.edit && i > 0 {
			if !s.isOp(w.p, ",") {
				return nil, s.lost(w.p, "the next FROM item")
			}
			w.p++
		}
		if _, err := w.table(te); err != nil {
			return nil, err
		}
	}
	return w.leaves, nil
}

func (w *fromWalk) table(te tree.TableExpr) ([]*rewrite.Relation, error) {
	switch t := te.(type) {
	case *tree.AliasedTableExpr:
		return w.aliased(t)
	case *tree.ParenTableExpr:
		end := 0
		if w.edit {
			if !w.s.isOp(w.p, "(") {
				return nil, w.s.lost(w.p, "a parenthesized join")
			}
			end = w.s.match[w.p]
			w.p++
		}
		rels, err := w.table(t.Expr)
		if err != nil {
			return nil, err
		}
		if w.edit {
			if w.p != end {
				return nil, w.s.lost(w.p, "the end of a parenthesized join")
			}
			w.p++
		}
		return rels, nil
	case *tree.JoinTableExpr:
		return w.join(t)
	}
	return nil, rewrite.RefuseFromItem()
}

func (w *fromWalk) aliased(t *tree.AliasedTableExpr) ([]*rewrite.Relation, error) {
	s := w.s
	if t.IndexFlags != nil {
		return nil, rewrite.Refuse("@", "index hints are not PostgreSQL")
	}
	if w.edit && t.Lateral {
		if !s.kw(w.p, "lateral") {
			return nil, s.lost(w.p, "LATERAL")
		}
		w.p++
	}
	var r *rewrite.Relation
	switch e := t.Expr.(type) {
	case *tree.TableName:
		r = w.tableRel(e)
		if w.edit {
			if s.kw(w.p, "only") {
				w.p++
			}
			end, parts := s.nameTokens(w.p, w.to)
			if len(parts) == 0 || !strings.EqualFold(parts[len(parts)-1], string(e.ObjectName)) {
				return nil, s.lost(w.p, "the table "+string(e.ObjectName))
			}
			r.Ref = s.text(w.p, end)
			w.p = end
			if s.isOp(w.p, "*") {
				w.p++
			}
		}
	case *tree.Subquery:
		inner := span{}
		if w.edit {
			if !s.isOp(w.p, "(") {
				return nil, s.lost(w.p, "a subquery in FROM")
			}
			inner = span{w.p + 1, s.match[w.p]}
			w.p = s.match[w.p] + 1
		}
		// Only a LATERAL subquery sees the FROM items before it.
		parent := &rewrite.Scope{Parent: w.sc.Parent, CTEs: w.sc.CTEs}
		if t.Lateral {
			parent = w.sc
		}
		mode := modeDescribe
		if w.mode == modeEdit {
			mode = modeEdit
		}
		res, err := w.subquery(e.Select, parent, mode, inner)
		if err != nil {
			return nil, err
		}
		r = &rewrite.Relation{Derived: res}
	case *tree.RowsFromExpr:
		if err := s.checkExprs(w.sc, e.Items, exprRules{what: "a function in FROM"}); err != nil {
			return nil, err
		}
		r = &rewrite.Relation{Opaque: true}
		if len(e.Items) == 1 {
			if f, ok := e.Items[0].(*tree.FuncExpr); ok {
				if n, ok := f.Func.FunctionReference.(*tree.UnresolvedName); ok {
					r.Alias = n.Parts[0]
				}
			}
		}
		if w.edit {
			if s.kw(w.p, "rows") && s.kw(w.p+1, "from") && s.isOp(w.p+2, "(") {
				w.p = s.match[w.p+2] + 1
			} else {
				end, parts := s.nameTokens(w.p, w.to)
				if len(parts) == 0 || !s.isOp(end, "(") {
					return nil, s.lost(w.p, "a function in FROM")
				}
				w.p = s.match[end] + 1
			}
		}
	case *tree.ParenTableExpr, *tree.JoinTableExpr:
		before := len(w.sc.Rels)
		rels, err := w.table(e)
		if err != nil {
			return nil, err
		}
		if t.As.Alias == "" {
			return rels, nil
		}
		// "(a JOIN b) AS j": the alias hides a and b behind j's merged columns.
		for _, in := range rels {
			if in.HasDeclared() {
				return nil, rewrite.Refuse(string(t.As.Alias), "an alias on a parenthesized join over tables with encrypted columns is not supported; alias the tables instead")
			}
		}
		w.sc.Rels = w.sc.Rels[:before]
		w.leaves = w.leaves[:len(w.leaves)-len(rels)]
		r = &rewrite.Relation{Opaque: true}
	default:
		return nil, rewrite.RefuseFromItem()
	}
	if t.Ordinality && w.edit {
		if !s.kw(w.p, "with") || !s.kw(w.p+1, "ordinality") {
			return nil, s.lost(w.p, "WITH ORDINALITY")
		}
		w.p += 2
	}
	if t.As.Alias != "" {
		r.Alias, r.Aliased = string(t.As.Alias), true
		if w.edit {
			if s.kw(w.p, "as") {
				w.p++
			}
			if !s.isName(w.p) || !strings.EqualFold(s.name(w.p), string(t.As.Alias)) {
				return nil, s.lost(w.p, "the alias "+string(t.As.Alias))
			}
			r.Ref = s.text(w.p, w.p+1)
			w.p++
			if len(t.As.Cols) > 0 {
				if !s.isOp(w.p, "(") {
					return nil, s.lost(w.p, "the column aliases of "+string(t.As.Alias))
				}
				w.p = s.match[w.p] + 1
			}
		}
	}
	if len(t.As.Cols) > 0 {
		cols := make([]string, len(t.As.Cols))
		for i, c := range t.As.Cols {
			cols[i] = string(c.Name)
		}
		if err := renameColumns(r, cols); err != nil {
			return nil, err
		}
	}
	w.sc.Rels = append(w.sc.Rels, r)
	w.leaves = append(w.leaves, r)
	return []*rewrite.Relation{r}, nil
}

// subquery analyses the query of a derived table.
func (w *fromWalk) subquery(ss tree.SelectStatement, parent *rewrite.Scope, mode selectMode, inner span) (*rewrite.Result, error) {
	if p, ok := ss.(*tree.ParenSelect); ok {
		return w.s.analyzeSelect(p.Select, parent, mode, inner, false)
	}
	return w.s.analyzeSelect(&tree.Select{Select: ss}, parent, mode, inner, false)
}

// tableRel makes the relation of a table name: a CTE in scope, or a table.
func (w *fromWalk) tableRel(e *tree.TableName) *rewrite.Relation {
	name := string(e.ObjectName)
	if !e.ExplicitSchema {
		if c := w.sc.FindCTE(name); c != nil {
			return &rewrite.Relation{Alias: name, Derived: c.Result}
		}
	}
	r := rewrite.TableRelation(w.s.cfg, name)
	if e.ExplicitSchema {
		r.Schema = string(e.SchemaName)
	}
	return r
}

// renameColumns applies a column alias list, "AS s(a, b)", which renames
// the first output columns.
func renameColumns(r *rewrite.Relation, names []string) error {
	if r.Table != nil {
		return rewrite.Refuse(r.Alias, "column aliases on a table with encrypted columns (%s) are not supported: kmsenc can't tell which column each renames; use a subquery or name the columns", r.Alias)
	}
	return r.RenameColumns(names)
}

func (w *fromWalk) join(t *tree.JoinTableExpr) ([]*rewrite.Relation, error) {
	s := w.s
	left, err := w.table(t.Left)
	if err != nil {
		return nil, err
	}
	if w.edit {
		if t.Hint != "" {
			return nil, rewrite.Refuse(t.Hint, "join hints are not PostgreSQL")
		}
		for s.kwIn(w.p, "natural", "inner", "left", "right", "full", "outer", "cross") {
			w.p++
		}
		if !s.kw(w.p, "join") {
			return nil, s.lost(w.p, "JOIN")
		}
		w.p++
	}
	right, err := w.table(t.Right)
	if err != nil {
		return nil, err
	}
	both := append(append([]*rewrite.Relation{}, left...), right...)
	switch c := t.Cond.(type) {
	case *tree.OnJoinCond:
		if w.edit {
			if !s.kw(w.p, "on") {
				return nil, s.lost(w.p, "ON")
			}
			w.p++
			for w.p < w.to && !s.endsExpr(w.p) {
				w.p = s.skip(w.p)
			}
		}
		if err := s.checkExpr(w.sc, c.Expr, exprRules{what: "a join condition"}); err != nil {
			return nil, err
		}
	case *tree.UsingJoinCond:
		if w.edit {
			if !s.kw(w.p, "using") || !s.isOp(w.p+1, "(") {
				return nil, s.lost(w.p, "USING")
			}
			w.p = s.match[w.p+1] + 1
		}
		cols := make([]string, len(c.Cols))
		for i, col := range c.Cols {
			cols[i] = string(col)
		}
		if err := rewrite.UsingJoin(both, cols, (&checker{rules: exprRules{what: "a join condition (USING)"}}).refuseRef); err != nil {
			return nil, err
		}
	case tree.NaturalJoinCond, *tree.NaturalJoinCond:
		if err := rewrite.NaturalJoin(both); err != nil {
			return nil, err
		}
	}
	return both, nil
}
