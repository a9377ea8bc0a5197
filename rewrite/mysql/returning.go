package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// The TiDB parser knows neither MariaDB's RETURNING clause (INSERT ...
// RETURNING, DELETE ... RETURNING, MariaDB 10.5+) nor MySQL's row alias
// (INSERT ... VALUES (...) AS new ON DUPLICATE KEY UPDATE c = new.c, MySQL
// 8.0.19+). kmsenc finds them with its lexer, blanks them out of the text
// the parser reads (spaces keep every offset the same), and analyses them
// itself.

// returningClause is where a RETURNING clause is.
type returningClause struct {
	kw   int  // the RETURNING keyword
	list span // its items
}

// rowAlias is where a row alias is: "AS name [(cols)]".
type rowAlias struct {
	from, to int
	name     string
	cols     bool     // it names the row's columns: AS new(a, b)
	colNames []string // those names
}

// maskClauses finds a RETURNING clause (INSERT, DELETE) and a row alias
// (INSERT), and blanks them out of s.masked.
func (s *stmt) maskClauses() error {
	if !s.kwIn(0, "insert", "delete") {
		return nil
	}
	for i := 1; i < s.end; i = s.skip(i) {
		if s.isReturning(i) {
			if i+1 >= s.end {
				return s.lost(i, "the RETURNING list")
			}
			s.ret = &returningClause{kw: i, list: span{i + 1, s.end}}
			s.bodyEnd = i
			s.blank(i, s.end)
			break
		}
	}
	if s.kw(0, "insert") {
		s.findRowAlias()
	}
	return nil
}

// isReturning reports whether token i is the RETURNING keyword of the
// statement: a depth-0 word RETURNING that is not a column being named
// (after AS, '.', ',', SET or an operator, or before '=', ':=' or '.').
func (s *stmt) isReturning(i int) bool {
	if !s.kw(i, "returning") || s.afterAS(i) || s.kwIn(i-1, "set", "update") {
		return false
	}
	if s.toks[i-1].Kind == Op && !s.isOp(i-1, ")") {
		return false
	}
	return !s.isOp(i+1, "=") && !s.isOp(i+1, ":=") && !s.isOp(i+1, ".")
}

// findRowAlias finds "AS name [(cols)]" right after the VALUES rows or the
// SET list of an INSERT.
func (s *stmt) findRowAlias() {
	p := -1
	for i := 1; i < s.bodyEnd; i = s.skip(i) {
		if s.kwIn(i, "values", "value", "set") && !s.isOp(i-1, ".") {
			p = i
			break
		}
		if s.kwIn(i, "select", "table", "with") {
			return
		}
	}
	if p < 0 {
		return
	}
	if s.kw(p, "set") {
		for p++; p < s.bodyEnd && !s.kw(p, "as") && !(s.kw(p, "on") && s.kw(p+1, "duplicate")); p = s.skip(p) {
		}
	} else {
		for p++; s.isOp(p, "("); {
			p = s.match[p] + 1
			if !s.isOp(p, ",") {
				break
			}
			p++
		}
	}
	if !s.kw(p, "as") || !s.isName(p+1) {
		return
	}
	a := &rowAlias{from: p, to: p + 2, name: s.name(p + 1)}
	if s.isOp(a.to, "(") {
		a.cols = true
		close := s.match[a.to]
		items, _ := s.split(a.to+1, close, nil)
		for _, it := range items {
			name := ""
			if it.to == it.from+1 && s.isName(it.from) {
				name = s.name(it.from)
			}
			a.colNames = append(a.colNames, name)
		}
		a.to = close + 1
	}
	s.alias = a
	s.blank(a.from, a.to)
}

// blank replaces the text of tokens [i, j) in s.masked with spaces.
func (s *stmt) blank(i, j int) {
	b := []byte(s.masked)
	for k := s.toks[i].Start; k < s.toks[j-1].End; k++ {
		if b[k] != '\n' {
			b[k] = ' '
		}
	}
	s.masked = string(b)
}

// returning analyses the RETURNING list over target, and returns the Output
// that decrypts it, or nil when it returns no declared data. The list is
// parsed as "SELECT <list> FROM <from>" (from writes target), laid out so
// that its offsets are those of the original text.
func (s *stmt) returning(target *rewrite.Relation, from string) (*rewrite.Output, error) {
	if s.ret == nil {
		return nil, nil
	}
	list := s.ret.list
	if !s.mayReturnDeclared(list) {
		return nil, nil
	}
	start, end := s.toks[list.from].Start, s.toks[list.to-1].End
	if start < len("SELECT ") {
		return nil, s.lost(list.from, "the RETURNING list")
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", start-len("SELECT ")))
	b.WriteString("SELECT ")
	b.WriteString(s.sql[start:end])
	b.WriteString(" FROM ")
	b.WriteString(from)
	node, err := s.parse(b.String())
	if err != nil {
		return nil, rewrite.Refuse("RETURNING", "kmsenc can't parse the RETURNING list, so it can't tell what it returns of encrypted columns")
	}
	sel, ok := node.(*ast.SelectStmt)
	if !ok || sel.Kind != ast.SelectStmtKindSelect || sel.Fields == nil || sel.Where != nil ||
		sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil || sel.With != nil {
		return nil, s.lost(list.from, "the RETURNING list")
	}
	if err := s.checkParams(node, s.retText()); err != nil {
		return nil, err
	}
	rel := *target
	rel.Bare = true
	if rel.Table != nil {
		rel.Instance = &rewrite.TableInstance{Table: rel.Table, Relation: &rel}
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{&rel}}
	items, err := s.outputs(sel.Fields.Fields, sc, []*rewrite.Relation{&rel})
	if err != nil {
		return nil, err
	}
	res := rewrite.NewResult(items)
	if !res.Declared() {
		return nil, nil
	}
	loc, err := s.locateFields(sel.Fields.Fields)
	if err != nil {
		return nil, err
	}
	if res.Cols, err = s.expand(items, loc, true); err != nil {
		return nil, err
	}
	return rewrite.NewOutput(res)
}

// retText returns the original text with everything but the RETURNING
// list blanked: the placeholders the list's parse must find.
func (s *stmt) retText() string {
	b := []byte(strings.Repeat(" ", len(s.sql)))
	from, to := s.toks[s.ret.list.from].Start, s.toks[s.ret.list.to-1].End
	copy(b[from:to], s.sql[from:to])
	return string(b)
}

// planDynamic checks PREPARE name FROM '...' and EXECUTE IMMEDIATE '...':
// the statement in the string is checked as if sent itself, and passes
// only when it touches nothing. A statement held by a variable can't be
// seen, so it is refused.
func (s *stmt) planDynamic() (*rewrite.Plan, error) {
	i := -1
	switch {
	case s.kw(0, "execute") && !s.kw(1, "immediate"):
		// EXECUTE runs what a PREPARE that kmsenc checked prepared.
		return s.passThrough(), nil
	case s.kw(0, "prepare"):
		i = s.findKeyword(1, s.end, "from")
	case s.kw(0, "execute"):
		i = 1
	}
	if i < 0 {
		return nil, s.lost(0, "the statement being prepared")
	}
	j := i + 1
	var b strings.Builder
	for ; j < s.end && s.toks[j].Kind == String; j++ {
		decodeString(s.sql[s.toks[j].Start:s.toks[j].End], &b)
	}
	if j == i+1 || j < s.end && !s.kw(j, "using") {
		return nil, rewrite.Refuse(s.describe(0, 2), "kmsenc can't see the statement a variable or an expression holds, so it can't tell whether it reads encrypted columns; prepare a string constant, or use the driver's prepared statements")
	}
	inner, err := s.r.scan(b.String())
	if err != nil || inner.touches || inner.dynamic {
		return nil, rewrite.Refuse(s.describe(0, 2), "%s", classPrepare.reason())
	}
	return s.passThrough(), nil
}

// mayReturnDeclared reports whether a RETURNING list could return declared
// data: it names a declared table or column, or has a star. GORM's
// "RETURNING `id`" needs no parse.
func (s *stmt) mayReturnDeclared(list span) bool {
	var buf rewrite.NameBuf
	for i := list.from; i < list.to; i++ {
		if s.isOp(i, "*") || touchesToken(s.cfg, s.sql, s.toks[i], &buf) {
			return true
		}
	}
	return false
}
