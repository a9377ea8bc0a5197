package mysql

import (
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
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
	if sc.refused != nil {
		return nil, sc.refused
	}
	if sc.ansiOnly {
		return nil, rewrite.Refuse("", "under ANSI_QUOTES this statement names encrypted tables or columns in double quotes; kmsenc reads \"...\" as a string, as MySQL does by default: quote names with backticks")
	}
	if sc.setStatement != "" {
		return nil, rewrite.Refuse("SET STATEMENT", "SET STATEMENT %s ... FOR changes how the server reads the statement it runs, which kmsenc lexes under the connection's settings; run the statement without it", sc.setStatement)
	}
	p, err := r.plan(sql, sc)
	if err == nil && sc.session && sc.statements > 1 {
		return nil, rewrite.Refuse("", "several statements in one string, one of which can change how the server reads the next (SET, EXECUTE, a compound statement or a stored program's body); kmsenc lexes the string at once and can't follow: send them one at a time, and create stored programs with the plain driver")
	}
	return p, err
}

// plan plans a scanned text.
func (r *Rewriter) plan(sql string, sc scanned) (*rewrite.Plan, error) {
	if !sc.touches && !sc.dynamic && !sc.code {
		return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: sc.params, SessionChange: sc.session}, nil
	}
	if !sc.touches && !sc.dynamic {
		// CALL and stored programs may name tables in strings the fast
		// path doesn't read.
		if err := newCodeStmt(r, sql).checkDDL(false); err != nil {
			return nil, err
		}
		return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: sc.params, SessionChange: sc.session}, nil
	}
	s, err := newStmt(r, sql)
	if err != nil {
		return nil, err
	}
	s.numInput = sc.params
	var p *rewrite.Plan
	if !sc.touches {
		p, err = s.planDynamic()
	} else {
		p, err = s.plan()
	}
	if err == nil && sc.session {
		c := *p
		c.SessionChange = true
		p = &c
	}
	return p, err
}

// scanned is what the fast path learns of a text.
type scanned struct {
	touches  bool // an identifier names a declared table or column
	ansiOnly bool // only when "..." is read as an identifier (ANSI_QUOTES)
	dynamic  bool // PREPARE or EXECUTE: the statement may run other SQL text
	code     bool // CALL, CREATE or ALTER: it may run or install code kmsenc can't see
	params   int  // the number of '?'

	refused error // a token names an object found at open (refused.go)
	// statements counts the statements of the text (split at ';'), and
	// session says that one of them may change how the server reads text
	// (sessionKeeping).
	statements int
	session    bool
	// setStatement: a SET STATEMENT that names this setting of how text is
	// read.
	setStatement string
}

// sessionKeeping lists the first words of statements that can't change the
// session's sql_mode or character set (a stored function or trigger that
// sets them gets them restored when it returns). Any other statement, SET
// first among them, may, and the wrapper reads the settings again after it
// (ARCHITECTURE.md §5, "Settings that change how text reads").
var sessionKeeping = map[string]bool{
	"select": true, "insert": true, "update": true, "delete": true, "replace": true, "with": true,
	"values": true, "table": true, "show": true, "describe": true, "desc": true, "explain": true,
	"start": true, "commit": true, "rollback": true, "savepoint": true, "release": true,
	"create": true, "alter": true, "drop": true, "truncate": true, "rename": true,
	"lock": true, "unlock": true, "use": true, "analyze": true, "optimize": true, "check": true,
	"checksum": true, "repair": true, "grant": true, "revoke": true, "prepare": true,
	"deallocate": true, "handler": true, "load": true, "kill": true, "flush": true, "do": true,
	"call": true, // refused
	"(":    true,
}

// textSettings are the names in a SET STATEMENT that change how the
// statement's text is read.
var textSettings = []string{"sql_mode", "character_set", "collation", "names", "charset"}

// scan is the fast path: one pass of the lexer, without keeping tokens.
func (r *Rewriter) scan(sql string) (scanned, error) {
	var sc scanned
	var buf lexical.NameBuf
	double := false
	first := true
	start := true // the next significant token starts a statement
	setStmt := 0  // 1: after a SET that starts a statement; 2: after SET STATEMENT
	l := lexer{src: sql}
	for l.pos < len(sql) {
		t, err := l.next()
		if err != nil {
			return sc, refuseLex(err)
		}
		if !t.Significant() {
			continue
		}
		w := sql[t.Start:t.End]
		switch {
		case start:
			start = false
			sc.statements++
			lw := strings.ToLower(w)
			if t.Kind != Ident && t.Kind != Op || !sessionKeeping[lw] {
				sc.session = true
			}
			setStmt = 0
			if lw == "set" {
				setStmt = 1
			}
		case setStmt == 1:
			setStmt = 0
			if t.Kind == Ident && equalFold(w, "statement") {
				setStmt = 2
			}
		case setStmt == 2 && t.Kind == Ident:
			if equalFold(w, "for") {
				setStmt = 0
				break
			}
			lw := strings.ToLower(w)
			for _, name := range textSettings {
				if strings.Contains(lw, name) && sc.setStatement == "" {
					sc.setStatement = w
				}
			}
		}
		if t.Kind == Op && w == ";" {
			start = true
		}
		switch t.Kind {
		case Ident, QuotedIdent, String:
			if !sc.touches && touchesToken(r.cfg, sql, t, &buf) {
				sc.touches = true
			}
			if sc.refused == nil {
				sc.refused = refusedToken(r.cfg, sql, t)
			}
			if t.Kind == String && t.Flags&FlagDouble != 0 {
				double = true
			}
			if first && t.Kind == Ident {
				w := sql[t.Start:t.End]
				sc.dynamic = len(w) == 7 && (equalFold(w, "prepare") || equalFold(w, "execute"))
				sc.code = equalFold(w, "call") || equalFold(w, "create") || equalFold(w, "alter")
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

// stmt is one statement being planned: its text and its tokens, which the
// converter follows to locate the parts of the parser's tree.
type stmt struct {
	r        *Rewriter
	cfg      *schema.Config
	sql      string
	numInput int

	toks  []Token // significant tokens only
	match []int   // for a bracket token, the index of its partner; else -1
	encl  []int   // the innermost '(' around each token; -1 at the top level
	end   int     // index after the last token of the statement (before a trailing ';')

	params []int // token indexes of the caller's '?', in order

	// The text the parser reads: sql with a RETURNING clause and a row
	// alias blanked out, so that offsets are the same.
	masked  string
	ret     *returningClause
	alias   *rowAlias
	bodyEnd int // the RETURNING keyword's index, or end
	// intoVars: a query's "INTO @a, ..." was blanked out (maskInto).
	intoVars bool

	// upsert: the expressions being converted are ON DUPLICATE KEY
	// UPDATE's, where VALUES(c) is the proposed value.
	upsert bool
}

func newStmt(r *Rewriter, sql string) (*stmt, error) {
	all, err := Lex(sql)
	if err != nil {
		return nil, refuseLex(err)
	}
	s := &stmt{r: r, cfg: r.cfg, sql: sql, masked: sql}
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
		return nil, planner.RefuseSeveralStatements()
	}
	s.end = len(s.toks)
	for s.end > 0 && s.isOp(s.end-1, ";") {
		s.end--
	}
	s.bodyEnd = s.end
	var buf lexical.NameBuf
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
	if s.kwIn(0, "call", "create", "alter", "rename") {
		if err := s.checkDDL(true); err != nil {
			return nil, err
		}
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
	st, err := s.statement(node)
	if err != nil {
		return nil, err
	}
	return planner.Plan(s.cfg, dialect{s}, st, s.numInput)
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
		return nil, planner.RefuseSeveralStatements()
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
		return errParams
	}
	for _, off := range pc.offsets {
		if i := s.tokAt(off); i < 0 || s.toks[i].Kind != Param {
			return errParams
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

// lost returns the refusal of a part of the statement kmsenc could not find
// in its text (a Lost of the model, or a refusal where the converter can't
// go on).
func (s *stmt) lost(i int, what string) error {
	return planner.RefuseLost(s.near(i), what)
}

// planDynamic checks PREPARE name FROM '...' and EXECUTE IMMEDIATE '...':
// the statement in the string is checked as if sent itself, and passes
// only when it touches nothing. A statement held by a variable can't be
// seen, so it is refused.
func (s *stmt) planDynamic() (*rewrite.Plan, error) {
	i := -1
	switch {
	case s.kw(0, "execute") && !s.kw(1, "immediate"):
		// EXECUTE runs what a PREPARE that kmsenc checked prepared.
		return s.passThrough(), nil
	case s.kw(0, "prepare"):
		i = s.findKeyword(1, s.end, "from")
	case s.kw(0, "execute"):
		i = 1
	}
	if i < 0 {
		return nil, s.lost(0, "the statement being prepared")
	}
	j := i + 1
	var b strings.Builder
	for ; j < s.end && s.toks[j].Kind == String; j++ {
		decodeString(s.sql[s.toks[j].Start:s.toks[j].End], &b)
	}
	if j == i+1 || j < s.end && !s.kw(j, "using") {
		return nil, rewrite.Refuse(s.describe(0, 2), "kmsenc can't see the statement a variable or an expression holds, so it can't tell whether it reads encrypted columns; prepare a string constant, or use the driver's prepared statements")
	}
	inner, err := s.r.scan(b.String())
	if err != nil || inner.touches || inner.dynamic {
		return nil, rewrite.Refuse(s.describe(0, 2), "%s", classPrepare.reason())
	}
	return s.passThrough(), nil
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
