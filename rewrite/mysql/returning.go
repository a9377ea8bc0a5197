package mysql

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
)

// The TiDB parser knows neither MariaDB's RETURNING clause (INSERT ...
// RETURNING, DELETE ... RETURNING, MariaDB 10.5+) nor MySQL's row alias
// (INSERT ... VALUES (...) AS new ON DUPLICATE KEY UPDATE c = new.c, MySQL
// 8.0.19+). kmsenc finds them with its lexer, blanks them out of the text
// the parser reads (spaces keep every offset the same), and analyses them
// apart (convert_write.go).

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
	if s.kwIn(0, "select", "with") || s.isOp(0, "(") {
		s.maskInto()
		return nil
	}
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

// maskInto finds the "INTO @a [, @b ...]" of a query, which the TiDB
// parser doesn't know, blanks it out of s.masked and records it in
// s.intoVars: the output goes to user variables (the planner refuses
// declared data there, ARCHITECTURE.md §5 rule 3). Only the top level can
// hold it.
func (s *stmt) maskInto() {
	for i := 1; i < s.end; i = s.skip(i) {
		if !s.kw(i, "into") || s.afterAS(i) || i+1 >= s.end || s.toks[i+1].Kind != Variable {
			continue
		}
		j := i + 2
		for s.isOp(j, ",") && j+1 < s.end && s.toks[j+1].Kind == Variable {
			j += 2
		}
		s.intoVars = true
		s.blank(i, j)
		return
	}
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

// retText returns the original text with everything but the RETURNING
// list blanked: the placeholders the list's parse must find.
func (s *stmt) retText() string {
	b := []byte(strings.Repeat(" ", len(s.sql)))
	from, to := s.toks[s.ret.list.from].Start, s.toks[s.ret.list.to-1].End
	copy(b[from:to], s.sql[from:to])
	return string(b)
}

// mayReturnDeclared reports whether a RETURNING list could return declared
// data: it names a declared table or column, or has a star. GORM's
// "RETURNING `id`" needs no parse.
func (s *stmt) mayReturnDeclared(list span) bool {
	var buf lexical.NameBuf
	for i := list.from; i < list.to; i++ {
		if s.isOp(i, "*") || touchesToken(s.cfg, s.sql, s.toks[i], &buf) {
			return true
		}
	}
	return false
}
