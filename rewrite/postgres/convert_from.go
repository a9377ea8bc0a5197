package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
)

// fromItems converts the FROM items of one query level (also UPDATE ...
// FROM and DELETE ... USING). When lost is nil, rng starts at the first
// token after FROM and the walk follows the items in the token stream to
// learn how each is written and where its subqueries are. If the text
// can't be followed, the items are converted again, not located, each
// with the reason as its Lost.
func (s *stmt) fromItems(tables tree.TableExprs, rng span, lost error) ([]model.From, error) {
	if lost == nil {
		w := &fromWalk{s: s, p: rng.from, to: rng.to}
		items, err := w.all(tables)
		if err == nil || !isLost(err) {
			return items, err
		}
		lost = err
	}
	w := &fromWalk{s: s, lost: lost}
	return w.all(tables)
}

// isLost reports whether err is a refusal of text kmsenc could not follow
// (as opposed to a refusal of what the statement does).
func isLost(err error) bool {
	var r *rewrite.RefusalError
	return asRefusal(err, &r) && strings.HasPrefix(r.Reason, "kmsenc could not find")
}

// fromWalk converts the FROM items of one query level; when lost is nil it
// follows them in the token stream.
type fromWalk struct {
	s     *stmt
	lost  error
	p, to int // token cursor, when located
}

func (w *fromWalk) located() bool { return w.lost == nil }

func (w *fromWalk) all(tables tree.TableExprs) ([]model.From, error) {
	var items []model.From
	for i, te := range tables {
		if w.located() && i > 0 {
			if !w.s.isOp(w.p, ",") {
				return nil, w.s.lost(w.p, "the next FROM item")
			}
			w.p++
		}
		f, err := w.table(te)
		if err != nil {
			return nil, err
		}
		items = append(items, f)
	}
	return items, nil
}

func (w *fromWalk) table(te tree.TableExpr) (model.From, error) {
	s := w.s
	switch t := te.(type) {
	case *tree.AliasedTableExpr:
		return w.aliased(t)
	case *tree.ParenTableExpr:
		end := 0
		if w.located() {
			if !s.isOp(w.p, "(") {
				return nil, s.lost(w.p, "a parenthesized join")
			}
			end = s.match[w.p]
			w.p++
		}
		f, err := w.table(t.Expr)
		if err != nil {
			return nil, err
		}
		if w.located() {
			if w.p != end {
				return nil, s.lost(w.p, "the end of a parenthesized join")
			}
			w.p++
		}
		return f, nil
	case *tree.JoinTableExpr:
		return w.join(t)
	}
	return nil, planner.RefuseFromItem()
}

func (w *fromWalk) aliased(t *tree.AliasedTableExpr) (model.From, error) {
	s := w.s
	if t.IndexFlags != nil {
		return nil, rewrite.Refuse("@", "index hints are not PostgreSQL")
	}
	if w.located() && t.Lateral {
		if !s.kw(w.p, "lateral") {
			return nil, s.lost(w.p, "LATERAL")
		}
		w.p++
	}
	var f model.From
	var ref *string // where the text's name of the item goes
	switch e := t.Expr.(type) {
	case *tree.TableName:
		tr := tableRef(e)
		tr.Lost = w.lost
		if w.located() {
			if s.kw(w.p, "only") {
				w.p++
			}
			end, parts := s.nameTokens(w.p, w.to)
			if len(parts) == 0 || !strings.EqualFold(parts[len(parts)-1], string(e.ObjectName)) {
				return nil, s.lost(w.p, "the table "+string(e.ObjectName))
			}
			tr.Ref, tr.NameText = s.text(w.p, end), s.text(w.p, end)
			w.p = end
			if s.isOp(w.p, "*") {
				w.p++
			}
		}
		f, ref = tr, &tr.Ref
	case *tree.Subquery:
		inner, lost := span{}, w.lost
		if w.located() {
			if !s.isOp(w.p, "(") {
				return nil, s.lost(w.p, "a subquery in FROM")
			}
			inner = span{w.p + 1, s.match[w.p]}
			w.p = s.match[w.p] + 1
		}
		var q *model.Query
		var err error
		if p, ok := e.Select.(*tree.ParenSelect); ok {
			q, err = s.query(p.Select, inner, lost)
		} else {
			q, err = s.query(&tree.Select{Select: e.Select}, inner, lost)
		}
		if err != nil {
			return nil, err
		}
		d := &model.Derived{Query: q, Lateral: t.Lateral, Lost: w.lost}
		f, ref = d, &d.Ref
	case *tree.RowsFromExpr:
		args, err := s.exprs(e.Items)
		if err != nil {
			return nil, err
		}
		ft := &model.FuncTable{Args: args}
		if len(e.Items) == 1 {
			if fe, ok := e.Items[0].(*tree.FuncExpr); ok {
				if n, ok := fe.Func.FunctionReference.(*tree.UnresolvedName); ok {
					ft.Name = n.Parts[0]
				}
			}
		}
		if w.located() {
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
		f = ft
	case *tree.ParenTableExpr, *tree.JoinTableExpr:
		inner, err := w.table(e)
		if err != nil {
			return nil, err
		}
		if t.As.Alias == "" {
			return inner, nil
		}
		j, ok := inner.(*model.Join)
		if !ok {
			return nil, planner.RefuseFromItem()
		}
		f = j
	default:
		return nil, planner.RefuseFromItem()
	}
	if t.Ordinality && w.located() {
		if !s.kw(w.p, "with") || !s.kw(w.p+1, "ordinality") {
			return nil, s.lost(w.p, "WITH ORDINALITY")
		}
		w.p += 2
	}
	if t.As.Alias != "" {
		alias := string(t.As.Alias)
		if w.located() {
			if s.kw(w.p, "as") {
				w.p++
			}
			if !s.isName(w.p) || !strings.EqualFold(s.name(w.p), alias) {
				return nil, s.lost(w.p, "the alias "+alias)
			}
			if ref != nil {
				*ref = s.text(w.p, w.p+1)
			}
			w.p++
			if len(t.As.Cols) > 0 {
				if !s.isOp(w.p, "(") {
					return nil, s.lost(w.p, "the column aliases of "+alias)
				}
				w.p = s.match[w.p] + 1
			}
		}
		var cols []string
		for _, c := range t.As.Cols {
			cols = append(cols, string(c.Name))
		}
		switch x := f.(type) {
		case *model.TableRef:
			x.Alias, x.ColAliases = alias, cols
		case *model.Derived:
			x.Alias, x.ColAliases = alias, cols
		case *model.FuncTable:
			x.Alias = alias
		case *model.Join:
			x.Alias = alias
		}
	}
	return f, nil
}

func (w *fromWalk) join(t *tree.JoinTableExpr) (model.From, error) {
	s := w.s
	left, err := w.table(t.Left)
	if err != nil {
		return nil, err
	}
	if t.Hint != "" {
		return nil, rewrite.Refuse(t.Hint, "join hints are not PostgreSQL")
	}
	if w.located() {
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
	j := &model.Join{Left: left, Right: right}
	switch c := t.Cond.(type) {
	case *tree.OnJoinCond:
		if w.located() {
			if !s.kw(w.p, "on") {
				return nil, s.lost(w.p, "ON")
			}
			w.p++
			for w.p < w.to && !s.endsExpr(w.p) {
				w.p = s.skip(w.p)
			}
		}
		if j.On, err = s.expr(c.Expr); err != nil {
			return nil, err
		}
	case *tree.UsingJoinCond:
		if w.located() {
			if !s.kw(w.p, "using") || !s.isOp(w.p+1, "(") {
				return nil, s.lost(w.p, "USING")
			}
			w.p = s.match[w.p+1] + 1
		}
		for _, col := range c.Cols {
			j.Using = append(j.Using, string(col))
		}
	case tree.NaturalJoinCond, *tree.NaturalJoinCond:
		j.Natural = true
	}
	return j, nil
}
