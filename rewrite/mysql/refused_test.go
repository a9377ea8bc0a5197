package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestRefusedNames: a statement naming an object found over an encrypted
// table at open is refused with its reason, however the name is written and
// wherever it stands; other statements are planned as before.
func TestRefusedNames(t *testing.T) {
	cfg := testConfig(t).WithRefused(map[string]string{
		"user_emails": "view app.user_emails reads table users",
		"add_user":    "procedure app.add_user names users",
		"orders":      "trigger copy_to_users on table orders",
	})
	r := New(cfg)
	for _, sql := range []string{
		"SELECT * FROM user_emails",
		"SELECT * FROM app.USER_EMAILS",
		"SELECT * FROM `user_emails`",
		`SELECT * FROM "user_emails"`, // an identifier under ANSI_QUOTES
		"INSERT INTO orders (id, note) VALUES (?, ?)",
		"DELETE FROM orders WHERE id = 1",
		"SELECT add_user(?, ?)",
		"CALL add_user(?, ?)",
		"PREPARE p FROM 'SELECT 1'; SELECT * FROM user_emails",
		"CREATE PROCEDURE p() BEGIN SELECT * FROM user_emails; END",
		"CREATE PROCEDURE p() BEGIN PREPARE s FROM 'SELECT * FROM user_emails'; END",
	} {
		_, err := r.Rewrite(sql)
		if !errors.Is(err, rewrite.ErrUnsupported) {
			t.Errorf("%s: err = %v; want a refusal", sql, err)
		}
	}
	if _, err := r.Rewrite("SELECT * FROM user_emails"); err == nil || !strings.Contains(err.Error(), "view app.user_emails reads table users") {
		t.Errorf("the refusal %v doesn't carry the reason found at open", err)
	}
	for _, sql := range []string{
		"SELECT * FROM user_emails_archive",
		"SELECT 'user_emails'",
		"INSERT INTO users (id, email) VALUES (?, ?)",
		"SELECT * FROM products",
	} {
		if _, err := r.Rewrite(sql); err != nil {
			t.Errorf("%s: %v; want it planned", sql, err)
		}
	}
	if _, err := New(testConfig(t)).Rewrite("SELECT * FROM user_emails"); err != nil {
		t.Errorf("without refused names: %v", err)
	}
}
