package mysql

import (
	"errors"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestUpsertAsksForPrimaryKeyOnlyUnique: an ON DUPLICATE KEY UPDATE of
// encrypted columns on a table whose context holds a primary-key column is
// only exact if the duplicate can't be on another unique key, which the
// plan asks the driver to check; setting the context columns from the
// inserted row, or a context without columns, needs no check.
func TestUpsertAsksForPrimaryKeyOnlyUnique(t *testing.T) {
	r := New(testConfig(t))
	cases := []struct {
		sql  string
		want bool
	}{
		{"INSERT INTO `users` (`id`,`email`,`ssn`) VALUES (?,?,?) ON DUPLICATE KEY UPDATE `email`=VALUES(`email`),`ssn`=VALUES(`ssn`)", true},
		{"INSERT INTO users (id, email, ssn) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE id = VALUES(id), email = VALUES(email), ssn = VALUES(ssn)", false},
		{"INSERT INTO users (id, email, ssn) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE id = id", false},
		{"INSERT INTO users (id, email, ssn) VALUES (?, ?, ?)", false},
	}
	for _, c := range cases {
		p, err := r.Rewrite(c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if p.PrimaryKeyOnlyUnique != c.want {
			t.Errorf("%s: PrimaryKeyOnlyUnique = %v, want %v", c.sql, p.PrimaryKeyOnlyUnique, c.want)
		}
	}
}

// TestNoBackslashEscapesRefused: kmsenc reads strings with backslash
// escapes; a statement that could switch them off is refused, whatever it
// touches.
func TestNoBackslashEscapesRefused(t *testing.T) {
	r := New(testConfig(t))
	for _, sql := range []string{
		"SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
		"SET SESSION sql_mode = CONCAT(@@sql_mode, ',no_backslash_escapes')",
	} {
		if _, err := r.Rewrite(sql); !errors.Is(err, rewrite.ErrUnsupported) {
			t.Errorf("%s: err = %v, want a refusal", sql, err)
		}
	}
	if p, err := r.Rewrite("SET sql_mode = 'STRICT_ALL_TABLES'"); err != nil || p.Kind != rewrite.PassThrough {
		t.Errorf("another sql_mode: %v, %v", p, err)
	}
}
