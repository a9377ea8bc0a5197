package postgres

import (
	"errors"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// TestStandardConformingStrings: with the option, strings read one way
// (backslashes are characters), so bun's 'it\'s' in a statement on a
// declared table is planned; statements that could change the setting are
// refused. Without it, such a statement is refused as ambiguous.
func TestStandardConformingStrings(t *testing.T) {
	cfg := testConfig()
	bun := `INSERT INTO "users" ("id", "name", "email") VALUES (1, 'it\''s \', 'a@b.c')`
	if _, err := New(cfg).Rewrite(bun); !errors.Is(err, rewrite.ErrUnsupported) {
		t.Errorf("without the option: err = %v, want a refusal", err)
	}
	r := New(cfg, StandardConformingStrings())
	p, err := r.Rewrite(bun)
	if err != nil {
		t.Fatalf("with the option: %v", err)
	}
	if want := `INSERT INTO "users" ("id", "name", "email", encrypted_kms_key) VALUES (1, 'it\''s \', $1, $2)`; p.SQL != want {
		t.Errorf("SQL = %s\nwant  %s", p.SQL, want)
	}
	for _, sql := range []string{
		`SET standard_conforming_strings = off`,
		`set Standard_Conforming_Strings to off`,
		`SELECT set_config('standard_conforming_strings', 'off', false)`,
		`RESET standard_conforming_strings`,
	} {
		if _, err := r.Rewrite(sql); !errors.Is(err, rewrite.ErrUnsupported) {
			t.Errorf("%s: err = %v, want a refusal", sql, err)
		}
	}
	if p, err := r.Rewrite(`SHOW standard_conforming_strings`); err != nil || p.Kind != rewrite.PassThrough {
		t.Errorf("SHOW: %v, %v", p, err)
	}
}
