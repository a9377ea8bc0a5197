package mysql

import (
	"errors"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// This file finds, in the token stream, the parts of a statement the tree
// describes. The TiDB parser gives the start offset of every expression and
// select-list item, but not where they end: the ends are found in the
// tokens, and every finding is checked against the tree (counts, names,
// offsets). When they disagree, the error is the Lost of the part in the
// model: the planner refuses the statement if it must edit that part. When
// they disagree on a name, or on how many columns a list writes (misread),
// the statement is refused: kmsenc can't tell whether the database reads
// the names as the parser or as the lexer does, and the planner's rules go
// by the names.

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

// selectModifiers may stand between SELECT and the first item.
var selectModifiers = []string{"all", "distinct", "distinctrow", "high_priority", "straight_join",
	"sql_small_result", "sql_big_result", "sql_buffer_result", "sql_no_cache", "sql_cache",
	"sql_calc_found_rows"}

// locateFields finds the items of a select list from the offset of its
// first item.
func (s *stmt) locateFields(fields []*ast.SelectField) (listLoc, error) {
	if len(fields) == 0 {
		return listLoc{}, s.lost(0, "the select list")
	}
	first := s.tokAt(fields[0].Offset)
	if first < 0 {
		return listLoc{}, s.lost(0, "the select list")
	}
	p := first - 1
	for s.kwIn(p, selectModifiers...) {
		p--
	}
	if !s.kwIn(p, "select", "returning") {
		return listLoc{}, s.lost(first, "the start of the select list")
	}
	to := s.groupEnd(first)
	if to > s.end {
		to = s.end
	}
	items, _ := s.split(first, to, s.endsSelectList)
	if len(items) != len(fields) {
		return listLoc{}, s.lost(first, "the select list")
	}
	for i, f := range fields {
		sp := items[i]
		if sp.from >= sp.to || s.toks[sp.from].Start != f.Offset {
			return listLoc{}, s.lost(sp.from, "an item of the select list")
		}
		if err := s.checkItem(f, sp); err != nil {
			return listLoc{}, err
		}
	}
	return s.newListLoc(items), nil
}

// checkItem checks that the tokens of sp are the star or the column
// reference the AST has there, with an optional alias: those are the items
// kmsenc replaces or reads the name of.
func (s *stmt) checkItem(f *ast.SelectField, sp span) error {
	var buf [3]string
	want := buf[:0]
	star := false
	switch {
	case f.WildCard != nil:
		star = true
		for _, p := range []string{f.WildCard.Schema.O, f.WildCard.Table.O} {
			if p != "" {
				want = append(want, p)
			}
		}
	default:
		e, ok := f.Expr.(*ast.ColumnNameExpr)
		if !ok {
			return nil
		}
		for _, p := range []string{e.Name.Schema.O, e.Name.Table.O, e.Name.Name.O} {
			if p != "" {
				want = append(want, p)
			}
		}
	}
	end, parts := s.nameTokens(sp.from, sp.to)
	if len(parts) == 0 && len(want) > 0 {
		return s.lost(sp.from, "an item of the select list")
	}
	if len(parts) != len(want) {
		return s.misread(sp.from)
	}
	for j := range parts {
		if !strings.EqualFold(parts[j], want[j]) {
			return s.misread(sp.from)
		}
	}
	if star {
		if len(want) > 0 {
			if !s.isOp(end, ".") {
				return s.lost(sp.from, "an item of the select list")
			}
			end++
		}
		if end+1 != sp.to || !s.isOp(end, "*") {
			return s.lost(sp.from, "an item of the select list")
		}
		return nil
	}
	// Then nothing, or [AS] label.
	switch {
	case end == sp.to:
	case end+1 == sp.to && (s.isName(end) || s.toks[end].Kind == String):
	case end+2 == sp.to && s.kw(end, "as") && (s.isName(end+1) || s.toks[end+1].Kind == String):
	default:
		return s.lost(sp.from, "an item of the select list")
	}
	return nil
}

// insertLoc is where the parts of an INSERT are.
type insertLoc struct {
	colsClose int      // the ')' of the column list (VALUES form)
	rows      []rowLoc // the VALUES rows; the SET form has one, of the assigned values
	setEnd    int      // SET form: the index after the last assignment
	after     int      // the index after the rows or assignments (and row alias)
}

type rowLoc struct {
	close  int // the ')' of a VALUES row
	values []span
}

// locateInsert finds the column list and the VALUES rows, or the SET list,
// of INSERT [modifiers] [INTO] t [PARTITION (...)].
func (s *stmt) locateInsert(ins *ast.InsertStmt, tn *ast.TableName) (insertLoc, error) {
	var loc insertLoc
	p := 0
	if !s.kw(p, "insert") {
		return loc, s.lost(p, "INSERT")
	}
	p++
	for s.kwIn(p, "low_priority", "delayed", "high_priority", "ignore") {
		p++
	}
	if s.kw(p, "into") {
		p++
	}
	end, parts := s.nameTokens(p, s.bodyEnd)
	if len(parts) == 0 {
		return loc, s.misread(p)
	}
	if !strings.EqualFold(parts[len(parts)-1], tn.Name.O) {
		return loc, s.misread(p)
	}
	p = end
	if s.kw(p, "partition") && s.isOp(p+1, "(") {
		p = s.match[p+1] + 1
	}
	if ins.Setlist {
		return s.locateSetList(ins, p)
	}
	if !s.isOp(p, "(") {
		if len(ins.Columns) > 0 {
			return loc, s.misread(p)
		}
		return loc, s.lost(p, "the column list")
	}
	loc.colsClose = s.match[p]
	cols, _ := s.split(p+1, loc.colsClose, nil)
	if len(cols) != len(ins.Columns) {
		return loc, s.misread(p)
	}
	for j, c := range cols {
		end, parts := s.nameTokens(c.from, c.to)
		if end != c.to || len(parts) == 0 {
			return loc, s.lost(c.from, "the column "+ins.Columns[j].Name.O)
		}
		if !strings.EqualFold(parts[len(parts)-1], ins.Columns[j].Name.O) {
			return loc, s.misread(c.from)
		}
	}
	p = loc.colsClose + 1
	if !s.kwIn(p, "values", "value") {
		return loc, s.lost(p, "VALUES")
	}
	p++
	for {
		if !s.isOp(p, "(") {
			return loc, s.lost(p, "a VALUES row")
		}
		row := rowLoc{close: s.match[p]}
		row.values, _ = s.split(p+1, row.close, nil)
		loc.rows = append(loc.rows, row)
		p = row.close + 1
		if !s.isOp(p, ",") {
			break
		}
		p++
	}
	if len(loc.rows) != len(ins.Lists) {
		return loc, s.lost(p, "the VALUES rows")
	}
	for r, row := range loc.rows {
		if len(row.values) != len(ins.Lists[r]) {
			return loc, s.lost(row.close, "the values of a VALUES row")
		}
	}
	loc.after = s.skipAlias(p)
	return loc, nil
}

// locateSetList finds the assignments of INSERT ... SET at p.
func (s *stmt) locateSetList(ins *ast.InsertStmt, p int) (insertLoc, error) {
	var loc insertLoc
	if !s.kw(p, "set") || len(ins.Lists) != 1 {
		return loc, s.misread(p)
	}
	stop := s.bodyEnd
	if s.alias != nil {
		stop = s.alias.from
	}
	items, end := s.split(p+1, stop, func(i int) bool { return s.kw(i, "on") && s.kw(i+1, "duplicate") })
	if len(items) != len(ins.Columns) {
		return loc, s.misread(p)
	}
	row := rowLoc{close: -1}
	for j, it := range items {
		e, parts := s.nameTokens(it.from, it.to)
		if len(parts) > 0 && !strings.EqualFold(parts[len(parts)-1], ins.Columns[j].Name.O) {
			return loc, s.misread(it.from)
		}
		if len(parts) == 0 || !(s.isOp(e, "=") || s.isOp(e, ":=")) || e+1 >= it.to {
			return loc, s.lost(it.from, "the assignment to "+ins.Columns[j].Name.O)
		}
		row.values = append(row.values, span{e + 1, it.to})
	}
	loc.rows = []rowLoc{row}
	loc.setEnd = end
	loc.after = s.skipAlias(end)
	return loc, nil
}

// skipAlias returns the index after the row alias if it starts at p, else p.
func (s *stmt) skipAlias(p int) int {
	if s.alias != nil && s.alias.from == p {
		return s.alias.to
	}
	return p
}

// locateOnDuplicate finds ON DUPLICATE KEY UPDATE at or after from and
// returns the byte offset after its last assignment.
func (s *stmt) locateOnDuplicate(ins *ast.InsertStmt, from int) (int, error) {
	i := from
	if !(s.kw(i, "on") && s.kw(i+1, "duplicate") && s.kw(i+2, "key") && s.kw(i+3, "update")) {
		return 0, s.misread(i)
	}
	items, _ := s.split(i+4, s.bodyEnd, nil)
	if len(items) != len(ins.OnDuplicate) {
		return 0, s.misread(i)
	}
	for j, it := range items {
		_, parts := s.nameTokens(it.from, it.to)
		if len(parts) == 0 {
			return 0, s.lost(it.from, "the assignment to "+ins.OnDuplicate[j].Column.Name.O)
		}
		if !strings.EqualFold(parts[len(parts)-1], ins.OnDuplicate[j].Column.Name.O) {
			return 0, s.misread(it.from)
		}
	}
	last := items[len(items)-1]
	if last.to <= last.from {
		return 0, s.lost(i, "the assignments of ON DUPLICATE KEY UPDATE")
	}
	return s.toks[last.to-1].End, nil
}

// literalSpan returns the tokens of the constant that starts at token i.
func (s *stmt) literalSpan(i int) (span, bool) {
	if i < 0 || i >= s.end {
		return span{}, false
	}
	t := s.toks[i]
	switch {
	case (s.isOp(i, "-") || s.isOp(i, "+")) && i+1 < s.end && s.toks[i+1].Kind == Number:
		return span{i, i + 2}, true
	case t.Kind == Number || t.Kind == HexString || t.Kind == BitString || s.kwIn(i, "true", "false"):
		return span{i, i + 1}, true
	case t.Kind == Ident && strings.HasPrefix(s.sql[t.Start:t.End], "_") && i+1 < s.end && s.toks[i+1].Kind == String,
		t.Kind == String:
		j := i + 1
		for j < s.end && s.toks[j].Kind == String {
			j++
		}
		return span{i, j}, true
	}
	return span{}, false
}

// updateLoc is where the parts of an UPDATE are.
type updateLoc struct {
	values   []span // the value of each assignment
	whereEnd int    // byte offset after the WHERE condition
}

// locateUpdate finds the assignments of UPDATE ... SET and the end of its
// WHERE condition.
func (s *stmt) locateUpdate(up *ast.UpdateStmt) (updateLoc, error) {
	var loc updateLoc
	set := s.findKeyword(1, s.end, "set")
	if set < 0 {
		return loc, s.misread(0)
	}
	clause := func(i int) bool { return s.kwIn(i, "where", "order", "limit") && !s.afterAS(i) }
	items, end := s.split(set+1, s.end, clause)
	if len(items) != len(up.List) {
		return loc, s.misread(set)
	}
	for j, it := range items {
		e, parts := s.nameTokens(it.from, it.to)
		if len(parts) > 0 && !strings.EqualFold(parts[len(parts)-1], up.List[j].Column.Name.O) {
			return loc, s.misread(it.from)
		}
		if len(parts) == 0 || !(s.isOp(e, "=") || s.isOp(e, ":=")) || e+1 >= it.to {
			return loc, s.lost(it.from, "the assignment to "+up.List[j].Column.Name.O)
		}
		loc.values = append(loc.values, span{e + 1, it.to})
	}
	if up.Where == nil {
		return loc, nil
	}
	if !s.kw(end, "where") || end+1 >= s.end || s.toks[end+1].Start != up.Where.OriginTextPosition() {
		return loc, s.lost(end, "WHERE")
	}
	stop := s.end
	for i := end + 1; i < s.end; i = s.skip(i) {
		if s.kw(i, "order") && s.kw(i+1, "by") || s.kw(i, "limit") {
			stop = i
			break
		}
	}
	if stop <= end+1 {
		return loc, s.lost(end, "the WHERE condition")
	}
	loc.whereEnd = s.toks[stop-1].End
	return loc, nil
}

// misreadError is a refusal of a statement whose tree names a table or
// column other than its text does there: the converter never turns it into
// a Lost.
type misreadError struct{ err error }

func (e *misreadError) Error() string { return e.err.Error() }
func (e *misreadError) Unwrap() error { return e.err }

// misread refuses a statement whose lexer and parser read the names at
// token i differently (the parser reads invalid UTF-8 in a name as '?',
// for one), or the columns of a list it writes.
func (s *stmt) misread(i int) error {
	return &misreadError{rewrite.Refuse(s.near(i), "kmsenc's MySQL lexer and the parser read a name of this statement differently, so kmsenc can't tell which table or column the database would read; write it plainly")}
}

// lostOrFail splits the error of a locate function: a Lost for the model,
// or, for a misread name, the refusal to return at once.
func lostOrFail(err error) (lost, fail error) {
	if err == nil {
		return nil, nil
	}
	var m *misreadError
	if errors.As(err, &m) {
		return nil, err
	}
	return err, nil
}
