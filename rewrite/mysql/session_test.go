package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestSessionChange: a statement that may change how the server reads text
// (sql_mode, the character set) is marked, so that the wrapper reads the
// settings again before the next one; statements that can't are not.
func TestSessionChange(t *testing.T) {
	r := New(testConfig(t))
	for q, want := range map[string]bool{
		"SET NAMES gbk":                               true,
		"set character set big5":                      true,
		"SET sql_mode = CONCAT(@@sql_mode, ?)":        true,
		"SET @@session.character_set_client = 28":     true,
		"/* c */ SET @x = 1":                          true,
		"EXECUTE s":                                   true,
		"EXECUTE IMMEDIATE 'SET NAMES gbk'":           true,
		"BEGIN NOT ATOMIC SELECT 1 END":               true,
		"BEGIN":                                       true,
		"SELECT 1;":                                   false,
		"(SELECT name FROM t) UNION (SELECT 1)":       false,
		"SELECT id, email FROM users WHERE id = ?":    false,
		"INSERT INTO users (id, email) VALUES (?, ?)": false,
		"UPDATE t SET a = 1":                          false,
		"PREPARE s FROM 'SELECT 1'":                   false,
		"START TRANSACTION":                           false,
		"CREATE TABLE t (a int)":                      false,
	} {
		p, err := r.Rewrite(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if p.SessionChange != want {
			t.Errorf("%s: SessionChange = %v, want %v", q, p.SessionChange, want)
		}
	}
}

// TestSessionRefusals: SET STATEMENT that changes how its statement is read,
// and several statements in one string of which one may change how the
// server reads the next, are refused.
func TestSessionRefusals(t *testing.T) {
	r := New(testConfig(t))
	for q, why := range map[string]string{
		"SET STATEMENT sql_mode='ANSI_QUOTES' FOR SELECT 1":            "SET STATEMENT sql_mode",
		"set statement max_statement_time=1, SQL_MODE=@m for select 1": "SET STATEMENT SQL_MODE",
		"SET STATEMENT character_set_client=gbk FOR SELECT 1":          "character_set_client",
		"SET STATEMENT collation_connection=gbk_bin FOR SELECT 1":      "collation_connection",
		"SELECT 1; SET sql_mode = 'ANSI_QUOTES'":                       "several statements",
		"SET NAMES gbk; SELECT 1":                                      "several statements",
		"SELECT 1; EXECUTE s":                                          "several statements",
		"BEGIN NOT ATOMIC SET NAMES gbk; SELECT 1; END":                "several statements",
	} {
		_, err := r.Rewrite(q)
		if !errors.Is(err, rewrite.ErrUnsupported) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: err = %v, want a refusal saying %q", q, err, why)
		}
	}
	// A SET STATEMENT of other variables, and several statements none of
	// which changes the session, pass.
	for _, q := range []string{
		"SET STATEMENT max_statement_time=1 FOR SELECT 1",
		"SELECT 1; SELECT 2",
	} {
		if _, err := r.Rewrite(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// TestLiteralCharsets: a string literal written to an encrypted column is
// encrypted as its UTF-8 text, so a literal the server would read in
// another character set is refused, and so is a utf8mb3 one (N'...',
// _utf8'...') holding characters utf8mb3 can't.
func TestLiteralCharsets(t *testing.T) {
	r := New(testConfig(t))
	for _, c := range []struct {
		lit, want string // want "" means refused
	}{
		{`_utf8mb4'x😀'`, "x😀"},
		{`_BINARY'ab'`, "ab"},
		{`_binary'x'`, "x"},
		{`N'é'`, "é"},
		{`_utf8'é'`, "é"},
		{`_utf8mb3'é'`, "é"},
		{`'a\%\_\n'`, "a\\%\\_\n"},
		{`_latin1'x'`, ""},
		{`_ascii'x'`, ""},
		{`_gbk'x'`, ""},
		{`_utf16'ab'`, ""},
		{`N'x😀'`, ""},
		{`_utf8'x😀'`, ""},
	} {
		for _, q := range []string{
			"INSERT INTO users (id, email) VALUES (1, " + c.lit + ")",
			"UPDATE users SET email = " + c.lit + " WHERE id = 1",
		} {
			p, err := r.Rewrite(q)
			if c.want == "" {
				if !errors.Is(err, rewrite.ErrUnsupported) {
					t.Errorf("%s: err = %v, want a refusal", q, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", q, err)
				continue
			}
			if got := p.Params[0].Value.Literal.Go; got != c.want {
				t.Errorf("%s: encrypts %q, want %q", q, got, c.want)
			}
		}
	}
}
