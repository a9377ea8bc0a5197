package integration_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/providers"
)

// writeSchema writes a schema file for the suite's tables with the given
// key section and returns its path.
func writeSchema(t testing.TB, keySection, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kmsenc.yaml")
	body := keySection + "\n" + extra + strings.TrimPrefix(suiteSchema, "\n")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSchema opens kmsenc over e's tables with another schema file.
func withSchema(t testing.TB, e *env, path string, wrap func(providers.Provider) providers.Provider) *env {
	t.Helper()
	e2 := &env{t: t, d: e.d, mode: e.mode, raw: e.raw, keyURL: e.keyURL, cfg: path}
	e2.open(wrap)
	return e2
}

func (e *env) rawKeys() map[int64]string {
	e.t.Helper()
	rows, err := e.raw.Query(`SELECT id, encrypted_kms_key, email FROM users ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var key, email []byte
		if err := rows.Scan(&id, &key, &email); err != nil {
			e.t.Fatal(err)
		}
		out[id] = string(key) + " " + string(email)
	}
	return out
}

// TestKeyVersionsAndRotation writes rows under master key version 1, moves
// to version 2 with version 1 kept as a previous version, and rotates: the
// old rows' keys are re-wrapped under version 2 without their values
// changing, after which version 1 is no longer needed.
func TestKeyVersionsAndRotation(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		v1, v2 := newKey(t), newKey(t)
		e1 := withSchema(t, e, writeSchema(t, "key:\n  url: "+v1, ""), nil)
		old := []string{canary("v1"), canary("v1"), canary("v1")}
		for i, em := range old {
			e1.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, i+1, em)
		}

		both := writeSchema(t, fmt.Sprintf("key:\n  url: %s\n  version: 2\n  previous_versions:\n    1: %s", v2, v1), "")
		e2 := withSchema(t, e, both, nil)
		e2.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, 10, "new")
		readAll := func(e *env) (map[int64]string, error) {
			rows, err := e.query(`SELECT id, email FROM users ORDER BY id`)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			got := map[int64]string{}
			for rows.Next() {
				var id int64
				var em string
				if err := rows.Scan(&id, &em); err != nil {
					return nil, err
				}
				got[id] = em
			}
			return got, rows.Err()
		}
		got, err := readAll(e2)
		if err != nil || got[1] != old[0] || got[3] != old[2] || got[10] != "new" {
			t.Fatalf("versions 1 and 2 side by side: %v, %v", got, err)
		}
		before := e.rawKeys()
		if !strings.HasPrefix(before[1], "v1:") || !strings.HasPrefix(before[10], "v2:") {
			t.Fatalf("key prefixes: %v", before)
		}

		// Without version 1 the old rows can't be read, and the error says
		// what to do.
		onlyV2 := writeSchema(t, fmt.Sprintf("key:\n  url: %s\n  version: 2", v2), "")
		if _, err := readAll(withSchema(t, e, onlyV2, nil)); err == nil || !strings.Contains(err.Error(), "previous_versions") {
			t.Errorf("reading v1 rows without version 1: %v", err)
		}

		n, err := e2.connector.Rotate(context.Background(), "users", 0)
		if err != nil || n != len(old) {
			t.Fatalf("Rotate = %d, %v; want %d", n, err, len(old))
		}
		after := e.rawKeys()
		for id, kv := range after {
			key, value, _ := strings.Cut(kv, " ")
			_, beforeValue, _ := strings.Cut(before[id], " ")
			if !strings.HasPrefix(key, "v2:") || value != beforeValue {
				t.Errorf("row %d after rotation: key %.10s..., value changed: %v", id, key, value != beforeValue)
			}
		}
		if n, err := e2.connector.Rotate(context.Background(), "users", 0); n != 0 || err != nil {
			t.Errorf("second Rotate = %d, %v; want 0 (idempotent)", n, err)
		}
		got, err = readAll(withSchema(t, e, onlyV2, nil))
		if err != nil || got[1] != old[0] || got[2] != old[1] || got[3] != old[2] {
			t.Errorf("after rotation, version 2 alone reads %v, %v", got, err)
		}
	})
}

// TestEncryptOnlyIdentity: a service whose key may only encrypt can insert,
// can read the plain columns, and gets ErrKeyAccessDenied, never
// ciphertext, when it reads an encrypted one.
func TestEncryptOnlyIdentity(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		w := withSchema(t, e, writeSchema(t, "key:\n  url: "+e.keyURL+"?decrypt=deny", "cache:\n  ttl: 0\n"), nil)
		em := canary("wo")
		w.exec(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", em)
		e.assertStored("users", []string{"email"}, em)
		var name string
		if err := w.queryRow(`SELECT name FROM users WHERE id = $1`, 1).Scan(&name); err != nil || name != "Ann" {
			t.Errorf("plain column: %q, %v", name, err)
		}
		var got string
		err := w.queryRow(`SELECT email FROM users WHERE id = $1`, 1).Scan(&got)
		if !errors.Is(err, kmsenc.ErrKeyAccessDenied) {
			t.Errorf("encrypted column with an encrypt-only key: %q, %v; want ErrKeyAccessDenied", got, err)
		}
		// The full-permission identity reads what the other one wrote.
		if err := e.queryRow(`SELECT email FROM users WHERE id = $1`, 1).Scan(&got); err != nil || got != em {
			t.Errorf("reader: %q, %v", got, err)
		}
	})
}

// revocable is a provider whose Decrypt permission can be revoked, as an
// operator would in the KMS.
type revocable struct {
	providers.Provider
	revoked atomic.Bool
}

func (p *revocable) Decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	if p.revoked.Load() {
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(), Err: fmt.Errorf("%w: decrypt permission revoked", providers.ErrAccessDenied)}
	}
	return p.Provider.Decrypt(ctx, ct, ec)
}

// TestKillSwitch revokes Decrypt: with the cache off every read fails at
// once; with it on, cached keys serve until they expire or the cache is
// purged, after which every read fails. Nothing falls back to ciphertext.
func TestKillSwitch(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		for i := 1; i <= 3; i++ {
			e.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, i, canary("kill"))
		}
		for _, ttl := range []string{"0", "1h"} {
			var p *revocable
			r := withSchema(t, e, writeSchema(t, "key:\n  url: "+e.keyURL, "cache:\n  ttl: "+ttl+"\n"), func(base providers.Provider) providers.Provider {
				p = &revocable{Provider: base}
				return p
			})
			read := func() error {
				rows, err := r.query(`SELECT id, email FROM users`)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id int64
					var em string
					if err := rows.Scan(&id, &em); err != nil {
						return err
					}
					if !strings.HasPrefix(em, "canary-kill") {
						t.Errorf("ttl %s: read %q", ttl, em)
					}
				}
				return rows.Err()
			}
			if err := read(); err != nil {
				t.Fatalf("ttl %s, before revocation: %v", ttl, err)
			}
			p.revoked.Store(true)
			err := read()
			if ttl == "0" && !errors.Is(err, kmsenc.ErrKeyAccessDenied) {
				t.Errorf("ttl 0: after revocation err = %v, want ErrKeyAccessDenied", err)
			}
			if ttl != "0" {
				if err != nil {
					t.Errorf("ttl %s: cached keys should still serve: %v", ttl, err)
				}
				r.connector.PurgeKeyCache()
				if err := read(); !errors.Is(err, kmsenc.ErrKeyAccessDenied) {
					t.Errorf("ttl %s: after revocation and purge err = %v, want ErrKeyAccessDenied", ttl, err)
				}
			}
		}
	})
}
