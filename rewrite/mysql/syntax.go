package mysql

import (
	"sort"
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

// tokAt returns the index of the token that starts at byte offset off, or -1.
func (s *stmt) tokAt(off int) int {
	i := sort.Search(len(s.toks), func(i int) bool { return s.toks[i].Start >= off })
	if i < len(s.toks) && s.toks[i].Start == off {
		return i
	}
	return -1
}

// matchBrackets pairs ( with ), and records for each token the innermost
// '(' around it.
func (s *stmt) matchBrackets() error {
	s.match = make([]int, len(s.toks))
	s.encl = make([]int, len(s.toks))
	var stack []int
	for i := range s.toks {
		s.match[i] = -1
		s.encl[i] = -1
		if len(stack) > 0 {
			s.encl[i] = stack[len(stack)-1]
		}
		switch {
		case s.isOp(i, "("):
			stack = append(stack, i)
		case s.isOp(i, ")"):
			if len(stack) == 0 {
				return rewrite.Refuse(s.near(i), "unbalanced parentheses")
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			s.match[o], s.match[i] = i, o
			s.encl[i] = s.encl[o]
		}
	}
	if len(stack) > 0 {
		return rewrite.Refuse(s.near(stack[0]), "unbalanced parentheses")
	}
	return nil
}

// groupEnd returns the index of the ')' that closes the innermost '('
// around token i, or s.end at the top level.
func (s *stmt) groupEnd(i int) int {
	if o := s.encl[i]; o >= 0 {
		return s.match[o]
	}
	return s.end
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
// label, whatever word it is).
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
	return s.kwIn(i, "from", "into", "where", "group", "having", "window", "order", "limit",
		"for", "lock", "union", "except", "intersect", "procedure")
}

// nameTokens reads a dotted name (a, a.b, a.b.c) at i and returns the index
// after it and its parts, in text order.
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

// findKeyword returns the index of the first depth-0 keyword w in
// [from, to), or -1.
func (s *stmt) findKeyword(from, to int, w string) int {
	for i := from; i < to; i = s.skip(i) {
		if s.kw(i, w) && !s.afterAS(i) && !s.isOp(i-1, ".") {
			return i
		}
	}
	return -1
}

// near renders up to a few tokens from i for a refusal message, with every
// constant replaced by "…": a constant may be the plaintext of an encrypted
// column, and must not reach logs.
func (s *stmt) near(i int) string { return s.describe(i, i+6) }

// describe renders tokens [i, j) like near.
func (s *stmt) describe(i, j int) string {
	if i < 0 {
		return ""
	}
	if j > len(s.toks) {
		j = len(s.toks)
	}
	var b strings.Builder
	for k := i; k < j; k++ {
		t := s.toks[k]
		w := s.sql[t.Start:t.End]
		switch t.Kind {
		case String, HexString, BitString, Number:
			w = "…"
		case Ident:
			if strings.EqualFold(w, "true") || strings.EqualFold(w, "false") {
				w = "…"
			}
		}
		if k > i && !(s.isOp(k, ",") || s.isOp(k, ")") || s.isOp(k, ".") || s.isOp(k-1, "(") || s.isOp(k-1, ".") ||
			s.isOp(k, "(") && s.toks[k-1].Kind == Ident) {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}
