package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
)

// This file finds, in the token stream, the parts of a statement the AST
// describes: the parser gives no offsets. Every finding is checked against
// the AST (counts, names); when they disagree the statement is refused.

// lost refuses a statement whose text kmsenc could not match to its AST.
func (s *stmt) lost(i int, what string) error {
	near := ""
	if i >= 0 && i < len(s.toks) {
		near = excerpt(s.sql, s.toks[i].Start)
	}
	return rewrite.RefuseLost(near, what)
}

// listLoc is where the items of a select or RETURNING list are.
type listLoc struct {
	items []span
	end   int // byte offset right after the last item, where columns are added
}

func (s *stmt) newListLoc(items []span) listLoc {
	l := listLoc{items: items}
	if n := len(items); n > 0 && items[n-1].to > items[n-1].from {
		l.end = s.toks[items[n-1].to-1].End
	}
	return l
}

// locateWith finds the bodies of the CTEs of a WITH that starts at
// rng.from, and returns the index after the WITH clause.
func (s *stmt) locateWith(w *tree.With, rng span) ([]span, int, error) {
	p := rng.from
	if !s.kw(p, "with") {
		return nil, 0, s.lost(p, "WITH")
	}
	p++
	bodies := make([]span, 0, len(w.CTEList))
	for i, c := range w.CTEList {
		if i > 0 {
			if !s.isOp(p, ",") {
				return nil, 0, s.lost(p, "the next WITH query")
			}
			p++
		}
		if !s.isName(p) || !strings.EqualFold(s.name(p), string(c.Name.Alias)) {
			return nil, 0, s.lost(p, "the WITH query "+string(c.Name.Alias))
		}
		p++
		if s.isOp(p, "(") {
			p = s.match[p] + 1
		}
		if !s.kw(p, "as") {
			return nil, 0, s.lost(p, "AS")
		}
		p++
		if s.kw(p, "not") {
			p++
		}
		if s.kw(p, "materialized") {
			p++
		}
		if !s.isOp(p, "(") {
			return nil, 0, s.lost(p, "the query of "+string(c.Name.Alias))
		}
		bodies = append(bodies, span{p + 1, s.match[p]})
		p = s.match[p] + 1
	}
	return bodies, p, nil
}

// locateSelectClause finds the items of "SELECT [ALL | DISTINCT [ON (...)]]
// items [FROM ...]" starting at rng.from, and the first token after FROM.
func (s *stmt) locateSelectClause(n *tree.SelectClause, rng span) (listLoc, span, error) {
	p := rng.from
	if !s.kw(p, "select") {
		return listLoc{}, span{}, s.lost(p, "SELECT")
	}
	p++
	switch {
	case s.kw(p, "all"):
		p++
	case s.kw(p, "distinct"):
		p++
		if s.kw(p, "on") && s.isOp(p+1, "(") {
			p = s.match[p+1] + 1
		}
	}
	items, end := s.split(p, rng.to, s.endsSelectList)
	if err := s.checkItems(n.Exprs, items, "the select list"); err != nil {
		return listLoc{}, span{}, err
	}
	from := span{-1, rng.to}
	if len(n.From.Tables) > 0 {
		if !s.kw(end, "from") {
			return listLoc{}, span{}, s.lost(end, "FROM")
		}
		from.from = end + 1
	}
	return s.newListLoc(items), from, nil
}

// checkItems checks that the items found in the text are the AST's: as
// many, and the stars and column references where the AST has them.
func (s *stmt) checkItems(exprs tree.SelectExprs, items []span, what string) error {
	if len(items) != len(exprs) {
		return s.lost(-1, what)
	}
	for i, se := range exprs {
		sp := items[i]
		if sp.from >= sp.to {
			return s.lost(sp.from, what)
		}
		switch e := se.Expr.(type) {
		case tree.UnqualifiedStar:
			if sp.to != sp.from+1 || !s.isOp(sp.from, "*") {
				return s.lost(sp.from, "* in "+what)
			}
		case *tree.UnresolvedName:
			end, parts := s.nameTokens(sp.from, sp.to)
			want := e.NumParts
			if e.Star {
				want--
				if len(parts) != want || end+2 != sp.to || !s.isOp(end, ".") || !s.isOp(end+1, "*") {
					return s.lost(sp.from, e.String()+" in "+what)
				}
				for j := range parts {
					if !strings.EqualFold(parts[j], e.Parts[want-j]) {
						return s.lost(sp.from, e.String()+" in "+what)
					}
				}
				continue
			}
			if len(parts) != want {
				return s.lost(sp.from, e.String()+" in "+what)
			}
			for j := range parts {
				if !strings.EqualFold(parts[j], e.Parts[want-1-j]) {
					return s.lost(sp.from, e.String()+" in "+what)
				}
			}
			// Then nothing, or [AS] label.
			switch {
			case end == sp.to:
			case end+1 == sp.to && s.isName(end):
			case end+2 == sp.to && s.kw(end, "as"):
			default:
				return s.lost(sp.from, e.String()+" in "+what)
			}
		}
	}
	return nil
}

// locateReturning finds the items of the RETURNING clause (a depth-0
// RETURNING keyword at or after from), or reports there is none.
func (s *stmt) locateReturning(exprs tree.SelectExprs, from int) (listLoc, int, error) {
	for i := from; i < s.end; i = s.skip(i) {
		if s.kw(i, "returning") && !s.afterAS(i) {
			items, _ := s.split(i+1, s.end, nil)
			if err := s.checkItems(exprs, items, "the RETURNING list"); err != nil {
				return listLoc{}, 0, err
			}
			return s.newListLoc(items), i, nil
		}
	}
	return listLoc{}, 0, s.lost(from, "RETURNING")
}
