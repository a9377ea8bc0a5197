package postgres

import (
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/lexbase"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/scanner"

	"github.com/kmsenc/kmsenc/rewrite"
)

// class is what Rewrite does with a statement that touches declared names,
// decided from its leading keywords before any parsing.
type class int

const (
	classParse      class = iota // SELECT, INSERT, UPDATE, DELETE, WITH, VALUES, TABLE: parse and analyse
	classPass                    // DDL, transaction control, settings: send as is
	classCopy                    // COPY
	classMerge                   // MERGE
	classExplain                 // EXPLAIN
	classCopyData                // CREATE VIEW / TABLE AS / RULE / FUNCTION: copies or exposes data
	classCursor                  // DECLARE ... CURSOR
	classPrepare                 // PREPARE, EXECUTE
	classProcedural              // DO, CALL
	classOther
)

func (c class) reason() string {
	switch c {
	case classCopy:
		return "COPY can't be encrypted by kmsenc; use INSERT ... VALUES (one or many rows) for encrypted tables"
	case classMerge:
		return "MERGE is not supported on tables with encrypted columns; use INSERT ... ON CONFLICT or UPDATE"
	case classExplain:
		return "EXPLAIN of a statement on encrypted tables is not supported (EXPLAIN ANALYZE would run it unencrypted); run it on the plain driver"
	case classCopyData:
		return "views, CREATE TABLE AS, rules and SQL functions over encrypted tables would expose or copy ciphertext outside kmsenc's plans; create them with the plain driver if you must"
	case classCursor:
		return "cursors over encrypted tables are not supported; use a plain SELECT (kmsenc reads results in bounded windows)"
	case classPrepare:
		return "SQL-level PREPARE/EXECUTE is not supported on encrypted tables; use the driver's prepared statements"
	case classProcedural:
		return "DO blocks and procedure calls that name encrypted tables or columns are not supported"
	}
	return "this kind of statement is not supported on tables with encrypted columns"
}

// classify looks at the leading keywords.
func (s *stmt) classify() class {
	if s.isOp(0, "(") {
		return classParse
	}
	switch {
	case s.kwIn(0, "select", "insert", "update", "delete", "with", "values", "table"):
		return classParse
	case s.kw(0, "create"):
		return s.classifyCreate()
	case s.kwIn(0, "alter", "drop", "truncate", "comment", "grant", "revoke", "reindex",
		"cluster", "vacuum", "analyze", "analyse", "lock", "security", "refresh",
		"begin", "commit", "rollback", "savepoint", "release", "start", "end", "abort",
		"set", "reset", "show", "listen", "notify", "unlisten", "discard", "deallocate",
		"checkpoint", "load", "close", "fetch", "move"):
		return classPass
	case s.kw(0, "copy"):
		return classCopy
	case s.kw(0, "merge"):
		return classMerge
	case s.kw(0, "explain"):
		return classExplain
	case s.kw(0, "declare"):
		return classCursor
	case s.kwIn(0, "prepare", "execute"):
		if s.kw(0, "prepare") && s.kw(1, "transaction") {
			return classPass
		}
		return classPrepare
	case s.kwIn(0, "do", "call"):
		return classProcedural
	}
	return classOther
}

// classifyCreate passes DDL through, except the statements that copy or
// expose a table's data: CREATE VIEW, CREATE TABLE ... AS, SELECT-bodied
// rules and SQL-bodied functions.
func (s *stmt) classifyCreate() class {
	i := 1
	for s.kwIn(i, "or", "replace", "temp", "temporary", "global", "local", "unlogged",
		"recursive", "materialized", "trusted", "procedural") {
		i++
	}
	switch {
	case s.kwIn(i, "view", "rule", "function", "procedure"):
		return classCopyData
	case s.kw(i, "table"):
		// CREATE TABLE t AS SELECT ... / AS (SELECT ...) / AS EXECUTE ...
		for j := i + 1; j < s.end; j = s.skip(j) {
			if s.kw(j, "as") && (s.kwIn(j+1, "select", "with", "values", "table", "execute") || s.isOp(j+1, "(")) {
				return classCopyData
			}
		}
	}
	return classPass
}

// crossCheck runs cockroachdb-parser's scanner over the text and checks
// that it found the identifiers, constants and parameters where our lexer
// did, and nothing of its own inside what ours reads as one token. The two
// differ on rare syntax (U&'...', some operators); then
// the AST might not describe what PostgreSQL will run, and we refuse. text
// is the text the parser read (parseText), blanked the tokens it blanked.
func (s *stmt) crossCheck(text string, blanked []int) error {
	var sc scanner.SQLScanner
	sc.Init(text)
	var sym scanSym
	mine := 0
	matched := make([]bool, len(s.toks))
	for _, i := range blanked {
		matched[i] = true
	}
	for {
		sc.Scan(&sym)
		id := sym.ID()
		if id == 0 {
			break
		}
		if id == lexbase.ERROR {
			return rewrite.Refuse(excerpt(s.sql, int(sym.Pos())), "kmsenc can't parse this statement: %s", sym.Str())
		}
		pos := int(sym.Pos())
		for mine < len(s.toks) && s.toks[mine].End <= pos {
			mine++
		}
		if mine == len(s.toks) || s.toks[mine].Start > pos {
			return s.disagree(pos)
		}
		t := s.toks[mine]
		want := t.Kind
		switch id {
		case lexbase.IDENT:
			if want != Ident && want != QuotedIdent {
				return s.disagree(pos)
			}
		case lexbase.SCONST, lexbase.BCONST, lexbase.BITCONST:
			if want != String && want != BitString {
				return s.disagree(pos)
			}
		case lexbase.ICONST, lexbase.FCONST:
			if want != Number {
				return s.disagree(pos)
			}
		case lexbase.PLACEHOLDER:
			if want != Param {
				return s.disagree(pos)
			}
		default:
			// A keyword is a word; anything else an operator or punctuation.
			if c := s.sql[pos]; isIdentStart(c) {
				if want != Ident {
					return s.disagree(pos)
				}
			} else if want != Op {
				return s.disagree(pos)
			}
		}
		if t.Start == pos {
			matched[mine] = true
		} else if want != Op {
			return s.disagree(pos)
		}
	}
	for i, ok := range matched {
		if !ok {
			return s.disagree(s.toks[i].Start)
		}
	}
	return nil
}

func (s *stmt) disagree(pos int) error {
	return rewrite.Refuse(excerpt(s.sql, pos), "kmsenc's PostgreSQL lexer and its parser read this statement differently; rewrite the part near here more plainly")
}

// scanSym receives one token of cockroachdb-parser's scanner.
type scanSym struct {
	id  int32
	pos int32
	str string
	val any
}

func (s *scanSym) ID() int32                 { return s.id }
func (s *scanSym) SetID(id int32)            { s.id = id }
func (s *scanSym) Pos() int32                { return s.pos }
func (s *scanSym) SetPos(p int32)            { s.pos = p }
func (s *scanSym) Str() string               { return s.str }
func (s *scanSym) SetStr(v string)           { s.str = v }
func (s *scanSym) UnionVal() interface{}     { return s.val }
func (s *scanSym) SetUnionVal(v interface{}) { s.val = v }
