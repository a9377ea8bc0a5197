package integration_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc"
)

// Decrypt errors name the row: its table, its context values and the
// master key version of its key column (ARCHITECTURE.md §4.5), never a
// value, and say kmsenc once.

const errorsSchema = `tables:
  accounts:
    context:
      table: accounts
      id: $id
    columns:
      note: text
`

func errorsDDL(d *dialect) []string {
	return []string{
		`DROP TABLE IF EXISTS accounts`,
		`CREATE TABLE accounts (id bigint PRIMARY KEY, note text, encrypted_kms_key text)`,
	}
}

// readNoteErr reads the note of row id through kmsenc and returns the error,
// failing the test if a value came through.
func (e *env) readNoteErr(id int) error {
	e.t.Helper()
	var got string
	err := e.queryRow(`SELECT note FROM accounts WHERE id = $1`, id).Scan(&got)
	if err == nil {
		e.t.Fatalf("row %d read as %q; want an error", id, got)
	}
	if msg := err.Error(); strings.Count(msg, "kmsenc:") != 1 || !strings.HasPrefix(msg, "kmsenc: ") {
		e.t.Errorf("%q: want one kmsenc: prefix, at the start", msg)
	}
	return err
}

func TestDecryptErrorsNameTheRow(t *testing.T) {
	t.Parallel()
	forEachDialect(t, errorsSchema, errorsDDL, func(t *testing.T, e *env) {
		notes := []string{canary("err"), canary("err")}
		for i, n := range notes {
			e.exec(`INSERT INTO accounts (id, note) VALUES ($1, $2)`, i+1, n)
		}
		// A tampered value: one bit of its ciphertext flipped.
		var stored string
		if err := e.raw.QueryRow(e.q(`SELECT note FROM accounts WHERE id = $1`), 1).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(stored)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 1
		e.rawExec(`UPDATE accounts SET note = $1 WHERE id = $2`, base64.StdEncoding.EncodeToString(b), 1)
		err = e.readNoteErr(1)
		if !errors.Is(err, kmsenc.ErrDecrypt) || !strings.Contains(err.Error(), "kmsenc: row of accounts (id=1, key v1): decryption failed: the value of accounts.note was tampered with") {
			t.Errorf("tampered: %v; want ErrDecrypt naming accounts, id=1 and v1", err)
		}

		// A key column whose version the schema file doesn't list.
		e.rawExec(e.pick(`UPDATE accounts SET encrypted_kms_key = 'v9' || substring(encrypted_kms_key from 3) WHERE id = $1`,
			`UPDATE accounts SET encrypted_kms_key = CONCAT('v9', SUBSTRING(encrypted_kms_key, 3)) WHERE id = $1`), 2)
		err = e.readNoteErr(2)
		if !errors.Is(err, kmsenc.ErrUnknownKeyVersion) || !strings.Contains(err.Error(), "kmsenc: row of accounts (id=2, key v9): unknown master key version") ||
			!strings.Contains(err.Error(), "add version 9 to key.previous_versions") {
			t.Errorf("unknown version: %v; want ErrUnknownKeyVersion naming accounts, id=2 and v9", err)
		}

		// A row written without kmsenc, as a table has before adoption.
		// (Not a canary: it is plaintext in the table on purpose.)
		e.rawExec(`INSERT INTO accounts (id, note) VALUES ($1, $2)`, 3, "written before kmsenc")
		err = e.readNoteErr(3)
		want := "row of accounts (id=3) has no data key but note holds a value that is not ciphertext: it was written without kmsenc; encrypt existing rows first (see README: Adopting kmsenc on a table with rows)"
		if !errors.Is(err, kmsenc.ErrDecrypt) || !strings.Contains(err.Error(), want) {
			t.Errorf("keyless plaintext: %v\nwant ErrDecrypt saying %q", err, want)
		}
		if strings.Contains(err.Error(), "written before kmsenc") {
			t.Errorf("keyless plaintext: %v: quotes the value", err)
		}
		for id := 1; id <= 3; id++ {
			msg := e.readNoteErr(id).Error()
			for _, n := range notes {
				if strings.Contains(msg, n) {
					t.Errorf("%q quotes a plaintext", msg)
				}
			}
		}
	})
}
