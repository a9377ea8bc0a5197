package planner

import (
	"errors"
	"strconv"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestEditsApply: edits at byte offsets, in the order the rules of Apply
// give, with tokens kept apart where an edit meets a word.
func TestEditsApply(t *testing.T) {
	dollar := func(sl *Slot) string { return "$" + strconv.Itoa(sl.Number) }
	slot := func(n int) Piece { return Piece{Slot: &Slot{Number: n}} }
	text := func(s string) Piece { return Piece{Text: s} }
	cases := []struct {
		name  string
		sql   string
		edits func(es *Edits)
		want  string
	}{
		{"no edits", "SELECT 1", func(es *Edits) {}, "SELECT 1"},
		{"replace", "SELECT a FROM t WHERE x = 'v'", func(es *Edits) { es.Replace(26, 29, slot(1)) }, "SELECT a FROM t WHERE x = $1"},
		{"insertions keep their order", "SELECT a FROM t", func(es *Edits) {
			es.Insert(8, text(", b"))
			es.Insert(8, text(", c"))
		}, "SELECT a, b, c FROM t"},
		{"an insertion goes before a replacement at its offset", "VALUES (1)", func(es *Edits) {
			es.Replace(8, 9, slot(2))
			es.Insert(8, text("0, "))
		}, "VALUES (0, $2)"},
		{"edits in text order, whatever the order made", "a b c", func(es *Edits) {
			es.Replace(4, 5, text("z"))
			es.Replace(0, 1, text("x"))
		}, "x b z"},
		{"a word before an edit", "SELECT*FROM t", func(es *Edits) { es.Replace(6, 7, text("t.*, t.k AS m")) }, "SELECT t.*, t.k AS m FROM t"},
		{"text and placeholders", "UPDATE t SET a = 1 WHERE id = 2", func(es *Edits) { es.Insert(31, text(" AND k = "), slot(3)) }, "UPDATE t SET a = 1 WHERE id = 2 AND k = $3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var es Edits
			c.edits(&es)
			got, err := es.Apply(c.sql, dollar, func(start, end int) string { return c.sql[start:end] })
			if err != nil || got != c.want {
				t.Errorf("Apply = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestEditsApplyRefusesOverlaps(t *testing.T) {
	var es Edits
	es.Replace(0, 5, Piece{Text: "x"})
	es.Replace(3, 7, Piece{Text: "y"})
	_, err := es.Apply("abcdefgh", func(*Slot) string { return "?" }, func(start, end int) string { return "near" })
	var re *rewrite.RefusalError
	if !errors.As(err, &re) || re.Near != "near" {
		t.Fatalf("Apply of overlapping edits = %v; want a refusal near what near returns", err)
	}
}

func TestMarkers(t *testing.T) {
	var m Markers
	if a, b := m.Next(), m.Next(); a != "__kmsenc_1" || b != "__kmsenc_2" {
		t.Fatalf("markers %q, %q", a, b)
	}
}
