package postgres

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
)

// This file holds the helpers that read the token stream: keywords,
// brackets, lists. The AST says what a statement means; these find where
// each part of it is in the text.

// kw reports whether token i is the unquoted word w (w in lower case).
func (s *stmt) kw(i int, w string) bool {
	if i < 0 || i >= len(s.toks) || s.toks[i].Kind != Ident {
		return false
	}
	t := s.toks[i]
	return t.End-t.Start == len(w) && strings.EqualFold(s.sql[t.Start:t.End], w)
}

// kwIn reports whether token i is one of the unquoted words ws.
func (s *stmt) kwIn(i int, ws ...string) bool {
	for _, w := range ws {
		if s.kw(i, w) {
			return true
		}
	}
	return false
}

// isOp reports whether token i is the operator or punctuation op.
func (s *stmt) isOp(i int, op string) bool {
	if i < 0 || i >= len(s.toks) || s.toks[i].Kind != Op {
		return false
	}
	t := s.toks[i]
	return s.sql[t.Start:t.End] == op
}

// isName reports whether token i is an identifier (quoted or not).
func (s *stmt) isName(i int) bool {
	return i >= 0 && i < len(s.toks) && (s.toks[i].Kind == Ident || s.toks[i].Kind == QuotedIdent)
}

// name returns the identifier value of token i.
func (s *stmt) name(i int) string { return identValue(s.sql, s.toks[i]) }

// text returns the original text of tokens [i, j).
func (s *stmt) text(i, j int) string {
	if i >= j || i >= len(s.toks) {
		return ""
	}
	return s.sql[s.toks[i].Start:s.toks[j-1].End]
}

// matchBrackets pairs ( with ) and [ with ].
func (s *stmt) matchBrackets() error {
	s.match = make([]int, len(s.toks))
	var stack []int
	for i := range s.toks {
		s.match[i] = -1
		switch {
		case s.isOp(i, "("), s.isOp(i, "["):
			stack = append(stack, i)
		case s.isOp(i, ")"), s.isOp(i, "]"):
			if len(stack) == 0 {
				return rewrite.Refuse(s.text(i, i+1), "unbalanced brackets")
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if (s.isOp(o, "(")) != (s.isOp(i, ")")) {
				return rewrite.Refuse(s.text(o, i+1), "unbalanced brackets")
			}
			s.match[o], s.match[i] = i, o
		}
	}
	if len(stack) > 0 {
		return rewrite.Refuse(s.text(stack[0], stack[0]+1), "unbalanced brackets")
	}
	return nil
}

// skip returns the index after the token at i, jumping over a bracketed
// group when i opens one.
func (s *stmt) skip(i int) int {
	if s.match[i] > i {
		return s.match[i] + 1
	}
	return i + 1
}

// span is a range of token indexes [from, to).
type span struct{ from, to int }

// split splits tokens [from, to) at the commas outside brackets, stopping
// at the first token for which stop is true (outside brackets). It returns
// the items and the index where it stopped.
func (s *stmt) split(from, to int, stop func(i int) bool) (items []span, end int) {
	start := from
	i := from
	for i < to {
		if stop != nil && stop(i) {
			break
		}
		if s.isOp(i, ",") {
			items = append(items, span{start, i})
			start = i + 1
			i++
			continue
		}
		i = s.skip(i)
	}
	if i > start || len(items) > 0 {
		items = append(items, span{start, i})
	}
	return items, i
}

// afterAS reports whether token i follows the keyword AS (it is then a
// column label, whatever word it is).
func (s *stmt) afterAS(i int) bool { return s.kw(i-1, "as") }

// endsSelectList reports whether token i ends a select list: a clause
// keyword that is not a column label.
func (s *stmt) endsSelectList(i int) bool {
	if s.isOp(i, ";") {
		return true
	}
	if s.toks[i].Kind != Ident || s.afterAS(i) {
		return false
	}
	switch {
	case s.kwIn(i, "into", "where", "having", "window", "union", "intersect", "except",
		"order", "limit", "offset", "fetch", "for", "returning", "on"):
		return true
	case s.kw(i, "from"):
		return !s.distinctFrom(i)
	case s.kw(i, "group"):
		// percentile_cont(0.5) WITHIN GROUP (ORDER BY x)
		return !s.kw(i-1, "within")
	}
	return false
}

// distinctFrom reports whether the FROM at i is part of a IS [NOT]
// DISTINCT FROM b.
func (s *stmt) distinctFrom(i int) bool {
	return s.kw(i-1, "distinct") && s.kwIn(i-2, "is", "not")
}

// endsSetList reports whether token i ends the SET list of an UPDATE.
func (s *stmt) endsSetList(i int) bool {
	if s.toks[i].Kind != Ident || s.afterAS(i) {
		return false
	}
	return s.kwIn(i, "where", "returning") || s.kw(i, "from") && !s.distinctFrom(i)
}

// endsExpr reports whether token i ends an expression of a FROM clause
// (a join condition): a comma, a join, or a clause keyword.
func (s *stmt) endsExpr(i int) bool {
	if s.isOp(i, ",") || s.isOp(i, ";") || s.isOp(i, ")") || s.isOp(i, "]") {
		return true
	}
	if s.toks[i].Kind != Ident || s.afterAS(i) {
		return false
	}
	switch {
	case s.kwIn(i, "join", "inner", "cross", "natural", "on", "where", "group", "having",
		"window", "union", "intersect", "except", "order", "limit", "offset", "fetch",
		"for", "returning", "using"):
		return true
	case s.kwIn(i, "left", "right", "full"):
		return s.kwIn(i+1, "join", "outer")
	}
	return false
}

// nameTokens reads a dotted name (a, a.b, a.b.c) at i and returns the index
// after it and its parts.
func (s *stmt) nameTokens(i, to int) (end int, parts []string) {
	for i < to && s.isName(i) {
		parts = append(parts, s.name(i))
		if i+2 < to && s.isOp(i+1, ".") && s.isName(i+2) {
			i += 2
			continue
		}
		return i + 1, parts
	}
	return i, parts
}
