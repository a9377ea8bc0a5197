package postgres

import (
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/parser"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/ddl"
	"github.com/kmsenc/kmsenc/rewrite/internal/lexical"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
	"github.com/kmsenc/kmsenc/schema"
)

// Rewriter plans PostgreSQL statements against one schema. It is safe for
// concurrent use and keeps no state between calls; wrap it in
// [rewrite.NewCache] to reuse plans.
type Rewriter struct {
	cfg *schema.Config
	// scsOn: the connections are known to run with
	// standard_conforming_strings on, and statements that would change it
	// are refused, so strings are read one way only.
	scsOn bool
}

var _ rewrite.Rewriter = (*Rewriter)(nil)

// Option configures a Rewriter.
type Option func(*Rewriter)

// StandardConformingStrings tells the rewriter that every connection runs
// with standard_conforming_strings on (the driver checks it when it
// connects). Strings are then read that way only, so a statement with
// 'it\'s' in a plain column is planned instead of refused, and any statement
// that names standard_conforming_strings, other than SHOW, is refused.
func StandardConformingStrings() Option { return func(r *Rewriter) { r.scsOn = true } }

// New returns a Rewriter for the tables cfg declares.
func New(cfg *schema.Config, opts ...Option) *Rewriter {
	r := &Rewriter{cfg: cfg}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Rewrite returns the plan for sql, or an error matching
// rewrite.ErrUnsupported.
func (r *Rewriter) Rewrite(sql string) (plan *rewrite.Plan, err error) {
	defer func() {
		// A bug of the analysis must not take the application down: the
		// statement is refused instead, and nothing is sent.
		if p := recover(); p != nil {
			plan, err = nil, rewrite.Refuse(excerpt(sql, 0), "kmsenc failed to plan this statement (internal error: %v); please report it", p)
		}
	}()
	sc, err := r.scan(sql)
	if err != nil {
		return nil, err
	}
	if sc.refused != nil {
		return nil, sc.refused
	}
	touches, maxParam := sc.touches, sc.maxParam
	if sc.textFunc != "" {
		return nil, rewrite.Refuse(sc.textFunc, "%s", ddl.SQLTextFunctionReason(sc.textFunc))
	}
	if !touches {
		if sc.code {
			// DO, CALL and CREATE FUNCTION/PROCEDURE may name tables in
			// strings the fast path doesn't read.
			s, err := newCodeStmt(r.cfg, sql)
			if err != nil {
				return nil, err
			}
			if err := s.checkDDL(false); err != nil {
				return nil, err
			}
		}
		return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: maxParam}, nil
	}
	s, err := newStmt(r.cfg, sql)
	if err != nil {
		return nil, err
	}
	s.numInput = maxParam
	return s.plan()
}

// scanned is what the fast path learns of a text.
type scanned struct {
	touches  bool   // an identifier names a declared table or column
	maxParam int    // the highest $n
	textFunc string // the name of a function that runs SQL text (ddl.SQLTextFunction)
	code     bool   // it starts with DO, CALL or CREATE: it may hold code in strings
	refused  error  // an identifier names an object found at open (refused.go)
}

// scan is the fast path: one pass of the lexer, without keeping tokens,
// that says whether sql touches a declared name and what its highest $n is.
func (r *Rewriter) scan(sql string) (scanned, error) {
	var buf lexical.NameBuf
	var sc scanned
	backslash := false
	first := true
	l := lexer{src: sql}
	for l.pos < len(sql) {
		t, err := l.next()
		if err != nil {
			return scanned{}, refuseLex(sql, err)
		}
		if first && t.Significant() {
			first = false
			if t.Kind == Ident {
				w := sql[t.Start:t.End]
				sc.code = strings.EqualFold(w, "do") || strings.EqualFold(w, "call") || strings.EqualFold(w, "create")
			}
		}
		switch t.Kind {
		case Ident, QuotedIdent:
			if !sc.touches && touchesIdent(r.cfg, sql, t, &buf) {
				sc.touches = true
			}
			if sc.refused == nil {
				sc.refused = refusedIdent(r.cfg, sql, t)
			}
			// SQLTextFunction compares without case: an unquoted word
			// needs no folding, which would allocate on this fast path.
			name := sql[t.Start:t.End]
			if t.Kind == QuotedIdent {
				name = lexical.Unquote(name)
			}
			if sc.textFunc == "" && ddl.SQLTextFunction(name) {
				sc.textFunc = identValue(sql, t)
			}
		case Param:
			if n := paramNumber(sql, t); n > sc.maxParam {
				sc.maxParam = n
			}
		case String:
			if t.Flags&(FlagEscape|FlagDollar) == 0 && strings.IndexByte(sql[t.Start:t.End], '\\') >= 0 {
				backslash = true
			}
		}
	}
	if r.scsOn {
		if err := refuseSCSChange(sql); err != nil {
			return scanned{}, err
		}
	} else if backslash {
		if err := r.checkBackslashes(sql, sc.touches); err != nil {
			return scanned{}, err
		}
	}
	return sc, nil
}

// refuseSCSChange refuses a statement that could turn
// standard_conforming_strings off for the session (SET, RESET, set_config
// and the like name it, as an identifier or in a string): kmsenc reads every
// string as the setting's "on" says.
func refuseSCSChange(sql string) error {
	const name = "standard_conforming_strings"
	found := false
	for i := 0; i+len(name) <= len(sql) && !found; i++ {
		found = (sql[i] == 's' || sql[i] == 'S') && strings.EqualFold(sql[i:i+len(name)], name)
	}
	if !found {
		return nil
	}
	if head := strings.TrimSpace(sql); len(head) > 5 && strings.EqualFold(head[:5], "show ") {
		return nil
	}
	return rewrite.Refuse("standard_conforming_strings", "kmsenc reads strings with standard_conforming_strings on and can't let a statement change it; leave it on (the default)")
}

// checkBackslashes refuses a statement that touches declared names under
// one reading of its backslashes and reads differently under the other: a
// server with standard_conforming_strings off ends 'a\” where kmsenc's
// lexer does not, and would run what kmsenc took for a string.
func (r *Rewriter) checkBackslashes(sql string, touches bool) error {
	on, errOn := Lex(sql)
	off := lexer{src: sql, backslashQuotes: true}
	var buf lexical.NameBuf
	same := errOn == nil
	i := 0
	for off.pos < len(sql) {
		t, err := off.next()
		if err != nil {
			same = false
			break
		}
		touches = touches || touchesIdent(r.cfg, sql, t, &buf)
		if i >= len(on) || on[i] != t {
			same = false
		}
		i++
	}
	if same && i == len(on) || !touches {
		return nil
	}
	return rewrite.Refuse("\\", "this statement names encrypted tables or columns and reads differently with standard_conforming_strings off; write the strings with E'...' or pass them as parameters")
}

func refuseLex(sql string, err error) error {
	near := ""
	if le, ok := err.(*LexError); ok {
		near = excerpt(sql, le.Offset)
	}
	return rewrite.Refuse(near, "kmsenc can't read this statement: %v", err)
}

// excerpt returns up to 40 bytes of sql from offset at, for error messages.
func excerpt(sql string, at int) string {
	if at >= len(sql) {
		return ""
	}
	end := at + 40
	if end > len(sql) {
		end = len(sql)
	}
	return sql[at:end]
}

// stmt is one statement being planned: its text, its tokens, and the edits,
// slots and markers the analysis adds.
type stmt struct {
	cfg      *schema.Config
	sql      string
	numInput int

	toks  []Token // significant tokens only
	match []int   // for a bracket token, the index of its partner; else -1
	end   int     // index after the last token of the statement (before a trailing ';')

	// upsert: the expressions being converted are an ON CONFLICT's, where
	// EXCLUDED names the proposed row.
	upsert bool
	// overriding: the INSERT's OVERRIDING {SYSTEM | USER} VALUE, "system"
	// or "user" (parseText).
	overriding string
	// all: every token, comments and spaces too.
	all []Token
}

func newStmt(cfg *schema.Config, sql string) (*stmt, error) {
	all, err := Lex(sql)
	if err != nil {
		return nil, refuseLex(sql, err)
	}
	s := &stmt{cfg: cfg, sql: sql, all: all}
	s.toks = make([]Token, 0, len(all))
	for _, t := range all {
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
	for i, t := range s.toks {
		if t.Flags&FlagUnicode != 0 {
			return nil, rewrite.Refuse(s.text(i, i+1), "U&'...' and U&\"...\" are not supported in statements on encrypted tables; write the text plainly or pass it as a parameter")
		}
		if (t.Kind == Ident || t.Kind == QuotedIdent) && strings.HasPrefix(strings.ToLower(identValue(sql, t)), rewrite.MarkerPrefix) {
			return nil, rewrite.Refuse(s.text(i, i+1), "names starting with %s are kmsenc's own; rename %s", rewrite.MarkerPrefix, s.text(i, i+1))
		}
		if (t.Kind == Ident || t.Kind == QuotedIdent) && len(identValue(sql, t)) > maxIdentLen {
			return nil, rewrite.Refuse(s.text(i, i+1), "identifiers longer than %d bytes are not supported in statements on encrypted tables", maxIdentLen)
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
	if s.kwIn(0, "do", "call", "create", "alter") {
		if err := s.checkDDL(true); err != nil {
			return nil, err
		}
	}
	switch c := s.classify(); c {
	case classPass:
		return s.passThrough(), nil
	case classParse:
	default:
		return nil, rewrite.Refuse(s.text(0, min(s.end, 3)), "%s", c.reason())
	}
	ast, err := s.parse()
	if err != nil {
		return nil, err
	}
	st, err := s.statement(ast)
	if err != nil {
		return nil, err
	}
	return planner.Plan(s.cfg, dialect{sql: s.sql}, st, s.numInput)
}

func (s *stmt) passThrough() *rewrite.Plan {
	return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: s.sql, NumInput: s.numInput}
}

// parse parses the text with cockroachdb-parser and checks that its scanner
// saw the same tokens as ours, so that the AST and the offsets describe the
// same statement.
func (s *stmt) parse() (tree.Statement, error) {
	text, blanked := s.parseText(s.all)
	stmts, err := parser.Parse(text)
	if err != nil {
		return nil, rewrite.Refuse("", "kmsenc can't parse this statement, so it can't tell what it does with encrypted columns: %v", err)
	}
	if len(stmts) != 1 {
		return nil, planner.RefuseSeveralStatements()
	}
	if err := s.crossCheck(text, blanked); err != nil {
		return nil, err
	}
	return stmts[0].AST, nil
}
