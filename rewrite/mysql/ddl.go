package mysql

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/ddl"
)

// words returns the statement's tokens as the shared DDL checks read them.
func (s *stmt) words() []ddl.Word {
	ws := make([]ddl.Word, s.end)
	for i, t := range s.toks[:s.end] {
		switch t.Kind {
		case Ident:
			ws[i] = ddl.NewWord(s.cfg, ddl.Keyword, s.sql[t.Start:t.End])
		case QuotedIdent:
			ws[i] = ddl.NewWord(s.cfg, ddl.Quoted, identValue(s.sql, t))
		case Op:
			ws[i] = ddl.Word{Kind: ddl.Op, Text: s.sql[t.Start:t.End]}
		default:
			ws[i] = ddl.Word{Kind: ddl.Other, Text: strings.Trim(s.sql[t.Start:t.End], "'\"")}
		}
	}
	return ws
}

// checkDDL refuses the statements of ARCHITECTURE.md §5 that hide SQL from
// kmsenc or change an encrypted table behind the connector's back. It runs
// on every statement whose leading keyword is CALL, CREATE, ALTER or
// RENAME; touching says whether the text names a declared table, encrypted
// column or key column outside strings and comments. CALL and stored
// programs are checked even when it doesn't: a procedure can't be seen
// into, and a body can name a table in a string it prepares.
func (s *stmt) checkDDL(touching bool) error {
	switch {
	case s.kw(0, "call") && !touching:
		// A CALL that names declared things is refused as before, by its class.
		return ddl.RefuseCall(s.describe(0, min(s.end, 2)))
	case s.kw(0, "rename") && touching:
		return rewrite.Refuse(s.describe(0, min(s.end, 4)), "RENAME TABLE naming a table with encrypted columns is refused: kmsenc knows encrypted tables by name; %s", ddl.Reopen)
	case s.kwIn(0, "create", "alter"):
		i := s.objectKeyword()
		switch {
		case i < 0:
		case s.kwIn(i, "procedure", "function", "trigger", "event"):
			what := strings.ToUpper(s.sql[s.toks[0].Start:s.toks[0].End]) + " " + strings.ToUpper(s.sql[s.toks[i].Start:s.toks[i].End])
			if at := ddl.Language(s.words()); at >= 0 {
				return rewrite.Refuse(s.describe(at-1, at+1), "%s", ddl.LanguageReason(what))
			}
			if w := ddl.Body(s.cfg, s.sql); w != "" {
				return rewrite.Refuse(s.describe(0, min(s.end, i+2)), "%s", ddl.BodyReason(what, w))
			}
		case !touching:
		case s.kw(i, "table") && s.kw(0, "alter"):
			if at, reason := ddl.AlterTable(s.words(), i+1); at >= 0 {
				return rewrite.Refuse(s.describe(at, min(at+3, s.end)), "%s", reason)
			}
		case s.kw(i, "table"):
			if at, reason := ddl.CreateTableLink(s.words(), i+1); at >= 0 {
				return rewrite.Refuse(s.describe(at, at+1), "%s", reason)
			}
		}
	}
	return nil
}

// objectKeyword returns the index of the word that says what a CREATE or
// ALTER makes (TABLE, VIEW, PROCEDURE, ...), after OR REPLACE, DEFINER =
// user, ALGORITHM = ..., SQL SECURITY ..., IF NOT EXISTS and the like; or -1.
func (s *stmt) objectKeyword() int {
	for i := 1; i < s.end && i < 16; i++ {
		if s.kwIn(i, "table", "view", "trigger", "event", "procedure", "function", "index", "database",
			"schema", "user", "role", "tablespace", "server", "sequence", "logfile", "resource", "instance") {
			return i
		}
	}
	return -1
}

// newCodeStmt returns the statement for checkDDL alone, on a text the fast
// path read without error and that touches nothing: its tokens, without the
// checks newStmt makes for planning (a stored program's body holds several
// statements).
func newCodeStmt(r *Rewriter, sql string) *stmt {
	all, _ := Lex(sql)
	s := &stmt{r: r, cfg: r.cfg, sql: sql, masked: sql}
	for _, t := range all {
		if t.Significant() {
			s.toks = append(s.toks, t)
		}
	}
	s.end = len(s.toks)
	for s.end > 0 && s.isOp(s.end-1, ";") {
		s.end--
	}
	return s
}
