package postgres

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
	cfg := testConfig().WithRefused(map[string]string{
		"user_emails":           "view public.user_emails reads table users",
		strings.Repeat("v", 63): "view with a long name",
		"add_user":              "function public.add_user names users",
		"orders":                "trigger copy_to_users on table orders",
	})
	r := New(cfg, StandardConformingStrings())
	refused := []string{
		`SELECT * FROM user_emails`,
		`SELECT * FROM public.USER_EMAILS`,
		`SELECT * FROM "user_emails"`,
		`select x from (select 1 as x) s join user_emails on true`,
		`INSERT INTO orders (id, note) VALUES ($1, $2)`,
		`UPDATE orders SET note = 'x'`,
		`SELECT add_user($1, $2)`,
		`PREPARE p AS SELECT * FROM user_emails`,
		`DO $$ BEGIN PERFORM add_user('a', 'b'); END $$`,
		`CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT count(*) FROM user_emails'`,
		`SELECT * FROM ` + strings.Repeat("v", 70), // PostgreSQL truncates it to the refused name
		`SELECT id, email FROM users JOIN user_emails USING (id)`,
	}
	for _, sql := range refused {
		_, err := r.Rewrite(sql)
		if !errors.Is(err, rewrite.ErrUnsupported) {
			t.Errorf("%s: err = %v; want a refusal", sql, err)
		}
	}
	if _, err := r.Rewrite(`SELECT * FROM user_emails`); err == nil || !strings.Contains(err.Error(), "view public.user_emails reads table users") {
		t.Errorf("the refusal %v doesn't carry the reason found at open", err)
	}
	for _, sql := range []string{
		`SELECT * FROM user_emails_archive`,
		`SELECT 'user_emails'`, // a string constant, not a name
		`INSERT INTO users (id, email) VALUES ($1, $2)`,
		`SELECT * FROM products`,
	} {
		if _, err := r.Rewrite(sql); err != nil {
			t.Errorf("%s: %v; want it planned", sql, err)
		}
	}
	// Without names found at open, the same text passes.
	if _, err := New(testConfig(), StandardConformingStrings()).Rewrite(`SELECT * FROM user_emails`); err != nil {
		t.Errorf("without refused names: %v", err)
	}
}
