package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
)

// convert runs the rewriter's steps up to the model for sql.
func convert(t *testing.T, r *Rewriter, sql string) (*stmt, *model.Statement) {
	t.Helper()
	s, err := newStmt(r, sql)
	if err != nil {
		t.Fatal(err)
	}
	s.numInput = len(s.params)
	if err := s.maskClauses(); err != nil {
		t.Fatal(err)
	}
	node, err := s.parse(s.masked)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.checkParams(node, s.masked); err != nil {
		t.Fatal(err)
	}
	st, err := s.statement(node)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// TestUnlocatedValuesRefused: a value of an encrypted column whose text
// kmsenc could not match to the tree is never left in the text or sent as
// read from the tree: NULL and DEFAULT included, which stay in the text.
func TestUnlocatedValuesRefused(t *testing.T) {
	r := New(testConfig(t))
	for _, sql := range []string{
		"INSERT INTO users (id, email) VALUES (?, NULL)",
		"INSERT INTO users (id, email) VALUES (?, DEFAULT)",
		"INSERT INTO users (id, email) VALUES (?, ?)",
		"INSERT INTO users (id, email) VALUES (?, 'x')",
		"INSERT INTO users SET id = ?, email = NULL",
		"UPDATE users SET email = NULL WHERE id = ?",
		"UPDATE users SET email = 'x' WHERE id = ?",
		"UPDATE users SET email = ? WHERE id = ?",
	} {
		s, st := convert(t, r, sql)
		if p, err := planner.Plan(r.cfg, dialect{s}, st, s.numInput); err != nil || p.Kind == rewrite.PassThrough {
			t.Fatalf("%s: %v, %v; want a plan", sql, p, err)
		}
		switch b := st.Body.(type) {
		case *model.Insert:
			b.Rows[0].Spans[1] = model.NoSpan
		case *model.Update:
			b.Sets[0].Span = model.NoSpan
		}
		_, err := planner.Plan(r.cfg, dialect{s}, st, s.numInput)
		if !errors.Is(err, rewrite.ErrUnsupported) || !strings.Contains(err.Error(), "could not find the value for users.email") {
			t.Errorf("%s with the value not located: %v, want a refusal", sql, err)
		}
	}
}

// TestMisreadNamesRefused: where the parser reads a written table or column
// other than the text names (it reads invalid UTF-8 in a name as '?'), the
// statement is refused, even when the parser's reading names nothing
// declared: the rules go by the names.
func TestMisreadNamesRefused(t *testing.T) {
	r := New(testConfig(t))
	for _, sql := range []string{
		"UPDATE notes SET a = 0, \x8bbody = ? WHERE id = 1",
		"INSERT INTO notes (user_id, \x8bbody) VALUES (?, ?)",
		"INSERT INTO notes SET user_id = ?, \x8bbody = ?",
		"INSERT INTO notes (id) VALUES (?) ON DUPLICATE KEY UPDATE \x8bbody = 'x'",
		"SELECT \x8bbody FROM notes",
	} {
		_, err := r.Rewrite(sql)
		if !errors.Is(err, rewrite.ErrUnsupported) || !strings.Contains(err.Error(), "read a name of this statement differently") {
			t.Errorf("%q: %v, want a refusal", sql, err)
		}
	}
}
