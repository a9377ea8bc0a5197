package postgres

import (
	"sort"
	"strconv"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
)

// A slot is one placeholder of the rewritten text. Plain uses of a caller
// argument share one slot per argument; every other slot (an encrypted
// value, a wrapped key, a guard) is used exactly once.
type slot struct {
	param     rewrite.Param
	callerArg int // >= 0: a plain use of caller argument callerArg (0-based)
	pos       int // byte offset of its first use, to number the other slots in text order
	seq       int
	number    int // $number in the rewritten text, set by numberSlots
}

// A piece of an edit's text: literal text, or a slot's placeholder.
type piece struct {
	text string
	slot *slot
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

func text(t string) piece  { return piece{text: t} }
func param(sl *slot) piece { return piece{slot: sl} }

// newSlot makes a slot used once, at byte offset pos.
func (s *stmt) newSlot(p rewrite.Param, pos int) *slot {
	s.seq++
	sl := &slot{param: p, callerArg: -1, pos: pos, seq: s.seq}
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
	sl := &slot{param: rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(arg)}, callerArg: arg}
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
		s.replace(t.Start, t.End, param(s.plainSlot(paramNumber(s.sql, t)-1)))
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
		params = append(params, sl.param)
		sl.number = len(params)
	}
	return params
}

// applyEdits returns the text with every edit made. The analysis replaces
// whole tokens and inserts between them, so edits never overlap; if they
// did, the plan would be wrong, and it is refused.
func (s *stmt) applyEdits() (string, error) {
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
	// write adds a chunk of text. Where an edit meets other text, it keeps
	// tokens apart: "SELECT*FROM t" must not become "SELECTt.*, ...FROM t".
	lastEdit := false
	write := func(chunk string, edit bool) {
		if chunk == "" {
			return
		}
		if (edit || lastEdit) && b.Len() > 0 && isIdentCont(lastByte(&b)) && isIdentCont(chunk[0]) {
			b.WriteByte(' ')
		}
		b.WriteString(chunk)
		lastEdit = edit
	}
	at := 0
	for _, e := range edits {
		if e.start < at {
			return "", rewrite.Refuse(s.sql[e.start:e.end], "kmsenc could not rewrite this statement (overlapping edits); please report it")
		}
		write(s.sql[at:e.start], false)
		var t strings.Builder
		for _, p := range e.pieces {
			if p.slot != nil {
				t.WriteByte('$')
				t.WriteString(strconv.Itoa(p.slot.number))
			} else {
				t.WriteString(p.text)
			}
		}
		write(t.String(), true)
		at = e.end
	}
	write(s.sql[at:], false)
	return b.String(), nil
}

func lastByte(b *strings.Builder) byte {
	s := b.String()
	return s[len(s)-1]
}
