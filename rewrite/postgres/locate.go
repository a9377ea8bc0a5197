package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
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
	return planner.RefuseLost(near, what)
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
	if w.Recursive {
		if !s.kw(p, "recursive") {
			return nil, 0, s.lost(p, "RECURSIVE")
		}
		p++
	}
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

// insertLoc is where the parts of an INSERT are.
type insertLoc struct {
	ref       string // the target as written: its alias, or its name
	name      string // its name as written
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
	loc.name = loc.ref
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
	if s.overriding != "" && s.kw(p, "overriding") {
		p += 3 // OVERRIDING {SYSTEM | USER} VALUE (parseText)
	}
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

// locateTarget learns how the target table of an UPDATE or DELETE is
// written ("[ONLY] name [*] [[AS] alias]" at token p), for the columns a
// RETURNING list adds.
func (s *stmt) locateTarget(target *model.TableRef, p int) error {
	if s.kw(p, "only") {
		p++
	}
	end, parts := s.nameTokens(p, s.end)
	if len(parts) == 0 {
		return s.lost(p, "the table name")
	}
	target.Ref, target.NameText = s.text(p, end), s.text(p, end)
	p = end
	if s.isOp(p, "*") {
		p++
	}
	if target.Alias != "" {
		if s.kw(p, "as") {
			p++
		}
		if !s.isName(p) {
			return s.lost(p, "the alias "+target.Alias)
		}
		target.Ref = s.text(p, p+1)
	}
	return nil
}
