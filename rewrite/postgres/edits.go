package postgres

import (
	"sort"
	"strconv"

	"github.com/kmsenc/kmsenc/rewrite"
)

// The text is edited with rewrite.Edits. What is PostgreSQL's own is how
// placeholders are numbered: every placeholder of the rewritten text is a
// slot, numbered $1, $2, ... once the analysis is done.

// A slot is one placeholder of the rewritten text. Plain uses of a caller
// argument share one slot per argument; every other slot (an encrypted
// value, a wrapped key, a guard) is used exactly once.
type slot struct {
	rewrite.Slot
	callerArg int // >= 0: a plain use of caller argument callerArg (0-based)
	pos       int // byte offset of its first use, to number the other slots in text order
	seq       int
}

func text(t string) rewrite.Piece  { return rewrite.Piece{Text: t} }
func param(sl *slot) rewrite.Piece { return rewrite.Piece{Slot: &sl.Slot} }

// newSlot makes a slot used once, at byte offset pos.
func (s *stmt) newSlot(p rewrite.Param, pos int) *slot {
	s.seq++
	sl := &slot{Slot: rewrite.Slot{Param: p}, callerArg: -1, pos: pos, seq: s.seq}
	s.slots = append(s.slots, sl)
	return sl
}

// plainSlot returns the shared slot of caller argument arg (0-based).
func (s *stmt) plainSlot(arg int) *slot {
	if sl, ok := s.plain[arg]; ok {
		return sl
	}
	if s.plain == nil {
		s.plain = make(map[int]*slot)
	}
	sl := &slot{Slot: rewrite.Slot{Param: rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(arg)}}, callerArg: arg}
	s.plain[arg] = sl
	s.slots = append(s.slots, sl)
	return sl
}

// renumberParams gives every $n token of the text that is not already
// taken by an encrypted value its plain slot.
func (s *stmt) renumberParams() {
	for i, t := range s.toks {
		if t.Kind != Param || s.encrypted[i] {
			continue
		}
		s.edits.Replace(t.Start, t.End, param(s.plainSlot(paramNumber(s.sql, t)-1)))
	}
}

// numberSlots numbers the slots: plain caller arguments first, in their
// original order, then the others in text order. It returns the Params.
func (s *stmt) numberSlots() []rewrite.Param {
	var plain, other []*slot
	for _, sl := range s.slots {
		if sl.callerArg >= 0 {
			plain = append(plain, sl)
		} else {
			other = append(other, sl)
		}
	}
	sort.Slice(plain, func(i, j int) bool { return plain[i].callerArg < plain[j].callerArg })
	sort.Slice(other, func(i, j int) bool {
		if other[i].pos != other[j].pos {
			return other[i].pos < other[j].pos
		}
		return other[i].seq < other[j].seq
	})
	params := make([]rewrite.Param, 0, len(s.slots))
	for _, sl := range append(plain, other...) {
		params = append(params, sl.Param)
		sl.Number = len(params)
	}
	return params
}

// applyEdits returns the text with every edit made and every slot written
// as its $n.
func (s *stmt) applyEdits() (string, error) {
	return s.edits.Apply(s.sql,
		func(sl *rewrite.Slot) string { return "$" + strconv.Itoa(sl.Number) },
		func(start, end int) string { return s.sql[start:end] })
}
