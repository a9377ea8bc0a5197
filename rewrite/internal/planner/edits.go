package planner

import (
	"sort"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
)

// Edits are the changes kmsenc makes to the text of one statement, at byte
// offsets of the original: kmsenc never prints an AST, so the database
// receives its own dialect with only kmsenc's insertions (ARCHITECTURE.md §5).
type Edits struct {
	list []edit
	seq  int
}

// An edit replaces sql[start:end] (start == end: inserts at start).
type edit struct {
	start, end int
	seq        int
	pieces     []Piece
}

// A Piece is part of the text of an edit: Text, or, when Slot is set, a
// placeholder.
type Piece struct {
	Text string
	Slot *Slot
}

// A Slot is one placeholder of the rewritten text and the Param that feeds
// it. Number is the dialect's to set (PostgreSQL's $n), before Apply.
type Slot struct {
	Param  rewrite.Param
	Number int
}

// Replace records that sql[start:end] becomes pieces.
func (es *Edits) Replace(start, end int, pieces ...Piece) {
	es.seq++
	es.list = append(es.list, edit{start: start, end: end, seq: es.seq, pieces: pieces})
}

// Insert records pieces to insert at byte offset at. Insertions at the same
// offset keep the order they were made in, and go before a replacement
// that starts there.
func (es *Edits) Insert(at int, pieces ...Piece) { es.Replace(at, at, pieces...) }

// Apply returns sql with every edit made; placeholder writes a slot's
// placeholder. Where an edit meets other text, Apply keeps tokens apart:
// "SELECT*FROM t" must not become "SELECTt.*, ...FROM t".
//
// The analysis replaces whole tokens and inserts between them, so edits
// never overlap; if two did, the plan would be wrong, and Apply refuses the
// statement near what near returns for the later edit's range.
func (es *Edits) Apply(sql string, placeholder func(sl *Slot) string, near func(start, end int) string) (string, error) {
	edits := es.list
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
	b.Grow(len(sql) + 32*len(edits))
	// apart writes a space between the word that b ends with and one that
	// starts with next.
	apart := func(next byte) {
		if b.Len() > 0 && isWordByte(lastByte(&b)) && isWordByte(next) {
			b.WriteByte(' ')
		}
	}
	lastEdit := false // b ends with an edit
	original := func(chunk string) {
		if chunk == "" {
			return
		}
		if lastEdit {
			apart(chunk[0])
		}
		b.WriteString(chunk)
		lastEdit = false
	}
	at := 0
	for _, e := range edits {
		if e.start < at {
			return "", rewrite.Refuse(near(e.start, e.end), "kmsenc could not rewrite this statement (overlapping edits); please report it")
		}
		original(sql[at:e.start])
		first := true
		for _, p := range e.pieces {
			text := p.Text
			if p.Slot != nil {
				text = placeholder(p.Slot)
			}
			if text == "" {
				continue
			}
			if first {
				apart(text[0])
				first = false
			}
			b.WriteString(text)
		}
		if !first {
			lastEdit = true
		}
		at = e.end
	}
	original(sql[at:])
	return b.String(), nil
}

// isWordByte reports whether c may be part of an unquoted word, in both
// dialects: a letter, a digit, '_', '$', or a byte of a multi-byte
// character.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

func lastByte(b *strings.Builder) byte {
	s := b.String()
	return s[len(s)-1]
}
