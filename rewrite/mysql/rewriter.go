package mysql

import (
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// Rewriter plans MySQL statements against one schema. It is safe for
// concurrent use and keeps no state between calls; wrap it in
// [rewrite.NewCache] to reuse plans.
type Rewriter struct {
	cfg *schema.Config
}

var _ rewrite.Rewriter = (*Rewriter)(nil)

// New returns a Rewriter for the tables cfg declares.
func New(cfg *schema.Config) *Rewriter { return &Rewriter{cfg: cfg} }

// Rewrite returns the plan for sql, or an error matching
// rewrite.ErrUnsupported.
func (r *Rewriter) Rewrite(sql string) (*rewrite.Plan, error) {
	if err := refuseNoBackslashEscapes(sql); err != nil {
		return nil, err
	}
	sc, err := r.scan(sql)
	if err != nil {
		return nil, err
	}
	if sc.ansiOnly {
		return nil, rewrite.Refuse("", "under ANSI_QUOTES this statement names encrypted tables or columns in double quotes; kmsenc reads \"...\" as a string, as MySQL does by default: quote names with backticks")
	}
	if !sc.touches && !sc.dynamic {
		return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: sc.params}, nil
	}
	s, err := newStmt(r, sql)
	if err != nil {
		return nil, err
	}
	s.numInput = sc.params
	if !sc.touches {
		return s.planDynamic()
	}
	return s.plan()
}

// scanned is what the fast path learns of a text.
type scanned struct {
	touches  bool // an identifier names a declared table or column
	ansiOnly bool // only when "..." is read as an identifier (ANSI_QUOTES)
	dynamic  bool // PREPARE or EXECUTE: the statement may run other SQL text
	params   int  // the number of '?'
}

// scan is the fast path: one pass of the lexer, without keeping tokens.
func (r *Rewriter) scan(sql string) (scanned, error) {
	var sc scanned
	var buf rewrite.NameBuf
	double := false
	first := true
	l := lexer{src: sql}
	for l.pos < len(sql) {
		t, err := l.next()
		if err != nil {
			return sc, refuseLex(err)
		}
		if !t.Significant() {
			continue
		}
		switch t.Kind {
		case Ident, QuotedIdent, String:
			if !sc.touches && touchesToken(r.cfg, sql, t, &buf) {
				sc.touches = true
			}
			if t.Kind == String && t.Flags&FlagDouble != 0 {
				double = true
			}
			if first && t.Kind == Ident {
				w := sql[t.Start:t.End]
				sc.dynamic = len(w) == 7 && (equalFold(w, "prepare") || equalFold(w, "execute"))
			}
		case Param:
			sc.params++
		}
		first = false
	}
	if !sc.touches && double {
		// Read as a server with ANSI_QUOTES would; an error means such a
		// server rejects the text.
		toks, _ := lexMode(sql, modeANSIQuotes)
		if Touches(r.cfg, sql, toks) {
			sc.touches, sc.ansiOnly = true, true
		}
	}
	return sc, nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}

// refuseLex refuses a text the lexer can't read. The message gives the
// offset, never the text (it may hold a value).
func refuseLex(err error) error {
	return rewrite.Refuse("", "kmsenc can't read this statement: %v", err)
}

// stmt is one statement being planned: its text, its tokens, and the edits
// and markers the analysis adds.
type stmt struct {
	r        *Rewriter
	cfg      *schema.Config
	sql      string
	numInput int

	toks  []Token // significant tokens only
	match []int   // for a bracket token, the index of its partner; else -1
	encl  []int   // the innermost '(' around each token; -1 at the top level
	end   int     // index after the last token of the statement (before a trailing ';')

	params []int        // token indexes of the caller's '?', in order
	taken  map[int]bool // '?' tokens an edit replaced

	// The text the parser reads: sql with a RETURNING clause and a row
	// alias blanked out, so that offsets are the same.
	masked  string
	ret     *returningClause
	alias   *rowAlias
	bodyEnd int // the RETURNING keyword's index, or end

	edits   rewrite.Edits
	markers rewrite.Markers

	// primaryKeyOnlyUnique: see rewrite.Plan.PrimaryKeyOnlyUnique.
	primaryKeyOnlyUnique bool
}

func newStmt(r *Rewriter, sql string) (*stmt, error) {
	all, err := Lex(sql)
	if err != nil {
		return nil, refuseLex(err)
	}
	s := &stmt{r: r, cfg: r.cfg, sql: sql, masked: sql, taken: map[int]bool{}}
	s.toks = make([]Token, 0, len(all))
	for _, t := range all {
		if t.Flags&(FlagExecutable|FlagTiDB) != 0 {
			return nil, rewrite.Refuse("", "executable comments (/*! ... */, /*M! ... */, /*T! ... */) are not supported in statements on encrypted tables: which of them run depends on the server and its version; remove them")
		}
		if t.Significant() {
			s.toks = append(s.toks, t)
		}
	}
	if severalStatements(s.toks, sql) {
		return nil, rewrite.RefuseSeveralStatements()
	}
	s.end = len(s.toks)
	for s.end > 0 && s.isOp(s.end-1, ";") {
		s.end--
	}
	s.bodyEnd = s.end
	var buf rewrite.NameBuf
	for i, t := range s.toks {
		switch {
		case t.Kind == Param:
			s.params = append(s.params, i)
		case t.Kind == String && t.Flags&FlagDouble != 0 && touchesToken(s.cfg, sql, t, &buf):
			return nil, rewrite.Refuse(s.near(i), "a double-quoted string that names an encrypted table or column is read as an identifier by servers running with ANSI_QUOTES; quote names with backticks and strings with single quotes")
		case t.Kind == Op && (sql[t.Start] == '{' || sql[t.Start] == '}'):
			return nil, rewrite.Refuse(s.near(i), "ODBC escapes ({d ...}, {oj ...}) are not supported in statements on encrypted tables")
		}
	}
	if err := s.matchBrackets(); err != nil {
		return nil, err
	}
	return s, nil
}

// plan classifies the statement and plans it.
func (s *stmt) plan() (*rewrite.Plan, error) {
	if s.end == 0 {
		return s.passThrough(), nil
	}
	switch c := s.classify(); c {
	case classPass:
		return s.passThrough(), nil
	case classParse:
	case classPrepare:
		return s.planDynamic()
	default:
		return nil, rewrite.Refuse(s.describe(0, min(s.end, 3)), "%s", c.reason())
	}
	if err := s.maskClauses(); err != nil {
		return nil, err
	}
	node, err := s.parse(s.masked)
	if err != nil {
		return nil, err
	}
	if err := s.checkParams(node, s.masked); err != nil {
		return nil, err
	}
	switch n := node.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		if s.ret != nil || s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		return s.planSelect(n.(ast.ResultSetNode))
	case *ast.InsertStmt:
		return s.planInsert(n)
	case *ast.UpdateStmt:
		if s.ret != nil || s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		return s.planUpdate(n)
	case *ast.DeleteStmt:
		if s.alias != nil {
			return nil, s.lost(0, "the statement")
		}
		return s.planDelete(n)
	}
	return nil, rewrite.Refuse(s.describe(0, min(s.end, 3)), "this kind of statement is not supported on tables with encrypted columns")
}

func (s *stmt) passThrough() *rewrite.Plan {
	return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: s.sql, NumInput: s.numInput}
}

// parsers holds TiDB parsers for reuse; a parser is not safe for concurrent
// use, and making one costs more than a parse.
var parsers = sync.Pool{New: func() any { return parser.New() }}

// parse parses one statement with the TiDB parser. Its error messages are
// not passed on: they quote the text, which may hold a value.
func (s *stmt) parse(text string) (node ast.StmtNode, err error) {
	p := parsers.Get().(*parser.Parser)
	ok := false
	defer func() {
		if v := recover(); v != nil {
			node, err = nil, rewrite.Refuse("", "kmsenc can't parse this statement (parser panic), so it can't tell what it does with encrypted columns")
		}
		if ok {
			parsers.Put(p)
		}
	}()
	stmts, _, perr := p.ParseSQL(text)
	ok = true
	if perr != nil {
		return nil, rewrite.Refuse("", "kmsenc can't parse this statement (a syntax error, or syntax the TiDB parser doesn't know), so it can't tell what it does with encrypted columns")
	}
	if len(stmts) != 1 {
		return nil, rewrite.RefuseSeveralStatements()
	}
	return stmts[0], nil
}

// checkParams checks that the parser found a placeholder exactly where the
// lexer found each '?' of text (those not blanked out), so that the
// caller's argument numbers are the same for both.
func (s *stmt) checkParams(n ast.Node, text string) error {
	var pc paramCollector
	n.Accept(&pc)
	want := 0
	for _, i := range s.params {
		if text[s.toks[i].Start] == '?' {
			want++
		}
	}
	if len(pc.offsets) != want {
		return rewrite.Refuse("", "kmsenc's MySQL lexer and the parser found different placeholders in this statement; write it more plainly")
	}
	for _, off := range pc.offsets {
		if i := s.tokAt(off); i < 0 || s.toks[i].Kind != Param {
			return rewrite.Refuse("", "kmsenc's MySQL lexer and the parser found different placeholders in this statement; write it more plainly")
		}
	}
	return nil
}

// paramCollector is an ast.Visitor that collects the offsets of the
// placeholders of a tree.
type paramCollector struct{ offsets []int }

func (c *paramCollector) Enter(n ast.Node) (ast.Node, bool) {
	if p, ok := n.(*driver.ParamMarkerExpr); ok {
		c.offsets = append(c.offsets, p.Offset)
	}
	return n, false
}

func (c *paramCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// argOf returns the caller's argument number of the '?' token at byte
// offset off, or -1.
func (s *stmt) argOf(off int) int {
	i := s.tokAt(off)
	if i < 0 || s.toks[i].Kind != Param {
		return -1
	}
	for n, j := range s.params {
		if j == i {
			return n
		}
	}
	return -1
}

// finish builds the plan of a rewritten statement.
func (s *stmt) finish(p *rewrite.Plan) (*rewrite.Plan, error) {
	s.bindCallerParams()
	sql, params, err := s.applyEdits()
	if err != nil {
		return nil, err
	}
	p.SQL, p.Params, p.NumInput = sql, params, s.numInput
	return p, nil
}

// lost refuses a statement whose text kmsenc could not match to its AST.
func (s *stmt) lost(i int, what string) error {
	return rewrite.RefuseLost(s.near(i), what)
}

// refuseNoBackslashEscapes refuses a statement that names the SQL mode
// NO_BACKSLASH_ESCAPES (SET sql_mode = ..., SET SESSION sql_mode = CONCAT(...)):
// kmsenc reads strings with backslash escapes, and the driver checks every
// new connection's mode, so a statement must not switch it.
func refuseNoBackslashEscapes(sql string) error {
	const mode = "no_backslash_escapes"
	for i := 0; i+len(mode) <= len(sql); i++ {
		if (sql[i] == 'n' || sql[i] == 'N') && strings.EqualFold(sql[i:i+len(mode)], mode) {
			return rewrite.Refuse("NO_BACKSLASH_ESCAPES", "kmsenc reads strings with backslash escapes (MySQL's default) and can't let a statement switch on NO_BACKSLASH_ESCAPES")
		}
	}
	return nil
}
