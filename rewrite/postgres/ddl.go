package postgres

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/ddl"
	"github.com/kmsenc/kmsenc/schema"
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
			ws[i] = ddl.Word{Kind: ddl.Other, Text: strings.Trim(s.sql[t.Start:t.End], "'")}
		}
	}
	return ws
}

// checkDDL refuses the statements of ARCHITECTURE.md §5 that hide SQL from
// kmsenc or change an encrypted table behind the connector's back. It runs
// on every statement whose leading keyword is DO, CALL, CREATE or ALTER;
// touching says whether the text names a declared table, encrypted column
// or key column outside strings and comments. A DO block, a CALL and a
// function or procedure body are checked even when it doesn't: their code
// can name a table in a string.
func (s *stmt) checkDDL(touching bool) error {
	switch {
	case s.kw(0, "call") && !touching:
		// A CALL that names declared things is refused as before, by its class.
		return ddl.RefuseCall(s.text(0, min(s.end, 2)))
	case s.kw(0, "do"):
		return s.checkBody("a DO block")
	case s.kw(0, "create"):
		i := 1
		for s.kwIn(i, "or", "replace", "temp", "temporary", "global", "local", "unlogged", "constraint") {
			i++
		}
		switch {
		case s.kwIn(i, "function", "procedure"):
			return s.checkBody("CREATE " + strings.ToUpper(s.sql[s.toks[i].Start:s.toks[i].End]))
		case !touching:
		case s.kw(i, "trigger"):
			return rewrite.Refuse(s.text(0, min(s.end, i+2)), "a trigger on or over a table with encrypted columns runs without kmsenc: it would store plaintext or copy ciphertext where it is read as plaintext; create triggers only on tables without encrypted columns")
		case s.kw(i, "table"):
			if at, reason := ddl.CreateTableLink(s.words(), i+1); at >= 0 {
				return rewrite.Refuse(s.text(at, at+1), "%s", reason)
			}
		}
	case s.kw(0, "alter") && touching:
		i := 1
		if s.kw(i, "materialized") {
			i++
		}
		switch {
		case s.kw(i, "table"):
			if at, reason := ddl.AlterTable(s.words(), i+1); at >= 0 {
				return rewrite.Refuse(s.text(at, min(at+3, s.end)), "%s", reason)
			}
		case s.kwIn(i, "view", "function", "procedure", "routine", "trigger", "rule", "aggregate"):
			return rewrite.Refuse(s.text(0, min(s.end, i+2)), "ALTER %s naming a table with encrypted columns or one of its encrypted or key columns is refused: server-side code over encrypted tables runs without kmsenc; %s", strings.ToUpper(s.sql[s.toks[i].Start:s.toks[i].End]), ddl.Reopen)
		}
	}
	return nil
}

// checkBody refuses a DO block or a function or procedure whose code, with
// its strings, names a declared table or column or runs SQL text, or is
// written in a language other than SQL and PL/pgSQL.
func (s *stmt) checkBody(what string) error {
	if at := ddl.Language(s.words()); at >= 0 {
		return rewrite.Refuse(s.text(at-1, at+1), "%s", ddl.LanguageReason(what))
	}
	if w := ddl.Body(s.cfg, s.sql); w != "" {
		return rewrite.Refuse(s.text(0, min(s.end, 3)), "%s", ddl.BodyReason(what, w))
	}
	return nil
}

// newCodeStmt returns the statement for checkDDL alone, on a text that
// touches nothing: its tokens, without the checks newStmt makes for
// planning (a BEGIN ATOMIC body may hold several statements).
func newCodeStmt(cfg *schema.Config, sql string) (*stmt, error) {
	all, err := Lex(sql)
	if err != nil {
		return nil, refuseLex(sql, err)
	}
	s := &stmt{cfg: cfg, sql: sql}
	for _, t := range all {
		if t.Significant() {
			s.toks = append(s.toks, t)
		}
	}
	s.end = len(s.toks)
	for s.end > 0 && s.isOp(s.end-1, ";") {
		s.end--
	}
	return s, nil
}
