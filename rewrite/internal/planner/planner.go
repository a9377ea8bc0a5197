// Package planner turns a statement of the dialect-neutral model
// (rewrite/internal/model) into a rewrite.Plan: it resolves names through
// scopes, applies every rule of ARCHITECTURE.md §5 — what is rewritten,
// what is refused — and edits the original text at the model's spans. It
// is written once for every dialect; what differs between dialects is the
// Dialect interface: how names and placeholders are written, and how the
// database reads a literal.
package planner

import (
	"sort"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/schema"
)

// Dialect is what the planner needs to know of a dialect's SQL.
type Dialect interface {
	// WriteName writes a name so that the database reads it back as it
	// is: the names kmsenc adds to a select list (markers, output names,
	// the schema file's names through Schema).
	WriteName(b *strings.Builder, name string)
	// Schema returns a table's or column's name of the schema file as the
	// database knows it.
	Schema(name string) string
	// QuoteIdent always quotes name (the statements kmsenc makes itself).
	QuoteIdent(name string) string
	// Placeholder writes the n-th (1-based) placeholder of a statement
	// kmsenc makes itself.
	Placeholder(n int) string
	// Numbered: placeholders carry numbers ($n) that a text may repeat, so
	// the caller's plain arguments keep one placeholder each; otherwise
	// placeholders are positional ('?').
	Numbered() bool
	// Proposed writes the value an upsert proposed for column: EXCLUDED.c,
	// VALUES(c), or rowAlias.c.
	Proposed(column, rowAlias string) string
	// EncryptLiteral returns the value the database would store for lit in
	// column col, which kmsenc encrypts instead; an error says why it
	// can't be exact.
	EncryptLiteral(lit *model.Literal, col *schema.Column) (rewrite.Literal, error)
	// KeyLiteral returns lit as the database reads back a context or
	// primary key column given it; ok is false where that isn't exact.
	KeyLiteral(lit *model.Literal) (rewrite.Literal, bool)
	// Near renders a part of the text for refusals (a dialect may hide
	// the values it holds).
	Near(sp model.Span) string
	// CastHint names, for refusals, the casts a value of schema type typ
	// may carry into an encrypted column ("::text, ::varchar"), or says
	// there are none.
	CastHint(typ schema.Type) string
	// WholeRowRefs: a bare name that is no column may name a FROM item's
	// whole row (PostgreSQL's "SELECT u FROM users u").
	WholeRowRefs() bool
}

// Plan plans st against cfg. The caller has decided that st touches
// declared names.
func Plan(cfg *schema.Config, d Dialect, st *model.Statement, numInput int) (*rewrite.Plan, error) {
	p := &planner{cfg: cfg, d: d, st: st, numInput: numInput, taken: map[int]bool{}}
	switch n := st.Body.(type) {
	case *model.Query:
		return p.planSelect(n)
	case *model.Insert:
		return p.planInsert(n)
	case *model.Update:
		return p.planUpdate(n)
	case *model.Delete:
		return p.planDelete(n)
	}
	return nil, rewrite.Refuse("", "this kind of statement is not supported on tables with encrypted columns")
}

// planner is one statement being planned: the edits, slots and markers
// the analysis adds.
type planner struct {
	cfg      *schema.Config
	d        Dialect
	st       *model.Statement
	numInput int

	edits   Edits
	markers Markers
	slots   []*slot
	plain   map[int]*slot // Numbered: caller argument -> its shared slot
	taken   map[int]bool  // byte offsets of caller placeholders an edit replaced
	seq     int

	primaryKeyOnlyUnique bool
}

// A slot is one placeholder of the rewritten text. With numbered
// placeholders, plain uses of a caller argument share one slot; every other
// slot (an encrypted value, a wrapped key, a guard) is used once.
type slot struct {
	Slot
	callerArg int // >= 0: a plain use of caller argument callerArg
	pos       int // byte offset of its first use
	seq       int
}

func text(t string) Piece  { return Piece{Text: t} }
func param(sl *slot) Piece { return Piece{Slot: &sl.Slot} }
func (p *planner) passThrough() *rewrite.Plan {
	return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: p.st.SQL, NumInput: p.numInput}
}

// newSlot makes a slot used once, at byte offset pos.
func (p *planner) newSlot(prm rewrite.Param, pos int) *slot {
	p.seq++
	sl := &slot{Slot: Slot{Param: prm}, callerArg: -1, pos: pos, seq: p.seq}
	p.slots = append(p.slots, sl)
	return sl
}

// plainSlot returns the slot of a plain use of caller argument arg at
// byte offset pos: shared by every use when placeholders are numbered.
func (p *planner) plainSlot(arg, pos int) *slot {
	if !p.d.Numbered() {
		return p.newSlot(rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(arg)}, pos)
	}
	if sl, ok := p.plain[arg]; ok {
		return sl
	}
	if p.plain == nil {
		p.plain = make(map[int]*slot)
	}
	sl := &slot{Slot: Slot{Param: rewrite.Param{Kind: rewrite.ParamValue, Value: rewrite.Arg(arg)}}, callerArg: arg, pos: pos}
	p.plain[arg] = sl
	p.slots = append(p.slots, sl)
	return sl
}

// replace replaces the text of sp with a new slot fed prm.
func (p *planner) replace(sp model.Span, prm rewrite.Param) {
	p.edits.Replace(sp.Start, sp.End, param(p.newSlot(prm, sp.Start)))
}

// insert inserts pieces at byte offset at.
func (p *planner) insert(at int, pieces ...Piece) { p.edits.Insert(at, pieces...) }

// finish builds the plan of a rewritten statement: the caller's remaining
// placeholders bound, slots numbered, edits applied.
func (p *planner) finish(plan *rewrite.Plan) (*rewrite.Plan, error) {
	for _, prm := range p.st.Params {
		if !p.taken[prm.Span.Start] {
			p.edits.Replace(prm.Span.Start, prm.Span.End, param(p.plainSlot(prm.Arg, prm.Span.Start)))
		}
	}
	var params []rewrite.Param
	if p.d.Numbered() {
		params = p.numberSlots()
	}
	sql, err := p.edits.Apply(p.st.SQL,
		func(sl *Slot) string {
			if !p.d.Numbered() {
				// Positional placeholders: the Params are the slots in
				// the order the text holds them.
				params = append(params, sl.Param)
				sl.Number = len(params)
			}
			return p.d.Placeholder(sl.Number)
		},
		func(start, end int) string { return p.d.Near(model.Span{Start: start, End: end}) })
	if err != nil {
		return nil, err
	}
	plan.Params = params
	plan.SQL, plan.NumInput = sql, p.numInput
	return plan, nil
}

// numberSlots numbers the slots of numbered placeholders and returns their
// Params: plain caller arguments first, in their order, then the others in
// text order.
func (p *planner) numberSlots() []rewrite.Param {
	var plain, other []*slot
	for _, sl := range p.slots {
		if sl.callerArg >= 0 {
			plain = append(plain, sl)
		} else {
			other = append(other, sl)
		}
	}
	sort.Slice(plain, func(i, j int) bool { return plain[i].callerArg < plain[j].callerArg })
	sort.SliceStable(other, func(i, j int) bool {
		if other[i].pos != other[j].pos {
			return other[i].pos < other[j].pos
		}
		return other[i].seq < other[j].seq
	})
	params := make([]rewrite.Param, 0, len(p.slots))
	for _, sl := range append(plain, other...) {
		params = append(params, sl.Param)
		sl.Number = len(params)
	}
	return params
}

// lost returns the refusal of a part the converter could not locate.
func lost(err error, what string) error {
	if err != nil {
		return err
	}
	return RefuseLost("", what)
}
