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
