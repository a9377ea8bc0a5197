package mysql

import (
	"sort"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
)

// A piece of an edit's text: literal text, or a placeholder '?' and the
// Param that feeds it.
type piece struct {
	text  string
	param *rewrite.Param
}

// An edit replaces sql[start:end] (start == end: inserts at start).
// Insertions at the same offset keep the order they were made in.
type edit struct {
	start, end int
	seq        int
	pieces     []piece
}

// replace records that sql[start:end] becomes pieces.
func (s *stmt) replace(start, end int, pieces ...piece) {
	s.seq++
	s.edits = append(s.edits, edit{start: start, end: end, seq: s.seq, pieces: pieces})
}

// insert records pieces to insert at byte offset at.
func (s *stmt) insert(at int, pieces ...piece) { s.replace(at, at, pieces...) }

func text(t string) piece { return piece{text: t} }

func param(p rewrite.Param) piece { return piece{param: &p} }

// replaceParam replaces the caller's placeholder at token i with a
// placeholder fed by p (an encrypted value).
func (s *stmt) replaceParam(i int, p rewrite.Param) {
	s.taken[i] = true
	s.replace(s.toks[i].Start, s.toks[i].End, param(p))
}

// bindCallerParams gives every '?' of the text that no edit took its own
// Param: the caller's argument, sent as it is.
func (s *stmt) bindCallerParams() {
	for n, i := range s.params {
		if !s.taken[i] {
			s.replace(s.toks[i].Start, s.toks[i].End, param(rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(n)}))
		}
	}
}

// applyEdits returns the text with every edit made, and the Params of its
// placeholders in text order. Every '?' of the result is a placeholder
// piece: the caller's are all replaced by one, and no inserted text holds
// a '?'. The analysis replaces whole tokens and inserts between them, so
// edits never overlap; if they did, the plan would be wrong, and it is
// refused.
func (s *stmt) applyEdits() (string, []rewrite.Param, error) {
	edits := s.edits
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		// An insertion at an offset goes before a replacement starting there.
		if (edits[i].start == edits[i].end) != (edits[j].start == edits[j].end) {
			return edits[i].start == edits[i].end
		}
		return edits[i].seq < edits[j].seq
	})
	var b strings.Builder
	b.Grow(len(s.sql) + 32*len(edits))
	params := make([]rewrite.Param, 0, len(s.params)+4)
	at := 0
	for _, e := range edits {
		if e.start < at {
			return "", nil, rewrite.Refuse("", "kmsenc could not rewrite this statement (overlapping edits); please report it")
		}
		b.WriteString(s.sql[at:e.start])
		for _, p := range e.pieces {
			if p.param != nil {
				b.WriteByte('?')
				params = append(params, *p.param)
			} else {
				b.WriteString(p.text)
			}
		}
		at = e.end
	}
	b.WriteString(s.sql[at:])
	return b.String(), params, nil
}
