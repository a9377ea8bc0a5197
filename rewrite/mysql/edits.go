package mysql

import "github.com/kmsenc/kmsenc/rewrite"

// The text is edited with rewrite.Edits. What is MySQL's own is that
// placeholders have no numbers: every '?' of the result is a slot, and the
// Params are the slots' in text order.

func text(t string) rewrite.Piece { return rewrite.Piece{Text: t} }

func param(p rewrite.Param) rewrite.Piece { return rewrite.Piece{Slot: &rewrite.Slot{Param: p}} }

// replaceParam replaces the caller's placeholder at token i with a
// placeholder fed by p (an encrypted value).
func (s *stmt) replaceParam(i int, p rewrite.Param) {
	s.taken[i] = true
	s.edits.Replace(s.toks[i].Start, s.toks[i].End, param(p))
}

// bindCallerParams gives every '?' of the text that no edit took its own
// Param: the caller's argument, sent as it is.
func (s *stmt) bindCallerParams() {
	for n, i := range s.params {
		if !s.taken[i] {
			s.edits.Replace(s.toks[i].Start, s.toks[i].End, param(rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(n)}))
		}
	}
}

// applyEdits returns the text with every edit made, and the Params of its
// placeholders in text order. Every '?' of the result is a placeholder
// piece: the caller's are all replaced by one, and no inserted text holds
// a '?'. A refusal quotes no text: it may hold a value.
func (s *stmt) applyEdits() (string, []rewrite.Param, error) {
	params := make([]rewrite.Param, 0, len(s.params)+4)
	sql, err := s.edits.Apply(s.sql,
		func(sl *rewrite.Slot) string {
			params = append(params, sl.Param)
			return "?"
		},
		func(start, end int) string { return "" })
	if err != nil {
		return "", nil, err
	}
	return sql, params, nil
}
