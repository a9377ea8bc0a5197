package kmsenc

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/rewrite"
)

// workload runs every kind of statement that makes an event: an INSERT (two
// wraps), a SELECT (unwraps, one of them failing), an UPDATE of a keyless
// row (a wrap), a SELECT with a context column, and a refusal. It returns
// the secrets no event may show: plaintexts, the master key and every data
// key, raw and in the encodings a log might use.
func workload(t *testing.T, f *fixture) (secrets []string) {
	t.Helper()
	raws := [][]byte{f.master}

	f.plan(insertSQL, f.insertPlan())
	f.base.on(insertSQLOut, func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{affected: 2}, nil })
	if _, err := f.db.Exec(insertSQL, 1, emailCanary, []byte(avatarCanary), 42, 2, nil, 7); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.mainCalls(insertSQLOut) {
		for _, i := range []int{4, 9} {
			_, ct, err := envelope.ParseWrappedKey(c.args[i].Value.(string))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := f.writer.Decrypt(context.Background(), ct, map[string]string{"table": "users"})
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, raw)
		}
	}

	f.plan(selectStarSQL, f.selectStarPlan())
	ec := envelope.Context{"table": "users"}
	k1, k2 := f.newKey(ec), f.newKey(ec)
	raws = append(raws, k1.raw, k2.raw)
	bad := f.userRow(t, 3, &k2, "bad-canary", nil, nil, nil)
	bad[1] = k2.wrapped[:len(k2.wrapped)-4] + "AAA="
	bad[6] = bad[1]
	stored := [][]driver.Value{
		f.userRow(t, 1, &k1, emailCanary, []byte(avatarCanary), 42, "Alice"),
		f.userRow(t, 2, &k2, "second-canary", nil, nil, nil),
		bad,
	}
	f.base.on(selectStarOut, func([]driver.NamedValue) (*fakeResult, error) {
		return &fakeResult{cols: usersStarCols, types: usersStarTypes, rows: stored}, nil
	})
	rows, err := f.db.Query(selectStarSQL)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if !errors.Is(rows.Err(), ErrDecrypt) {
		t.Errorf("the tampered key read as %v, want ErrDecrypt", rows.Err())
	}
	rows.Close()

	f.plan(updateSQL, f.updatePlan())
	row := &storedRow{exists: true}
	f.scriptRow(row)
	if _, err := f.db.Exec(updateSQL, "update-canary", 5); err != nil {
		t.Fatal(err)
	}
	_, ct, err := envelope.ParseWrappedKey(asString(row.key))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.writer.Decrypt(context.Background(), ct, ec)
	if err != nil {
		t.Fatal(err)
	}
	raws = append(raws, raw)

	const (
		q    = "SELECT note FROM accounts"
		qOut = "SELECT note, encrypted_kms_key AS __kmsenc_k0, id AS __kmsenc_c0 FROM accounts"
	)
	note := f.accts.Column("note")
	f.plan(q, &rewrite.Plan{Kind: rewrite.Select, SQL: qOut, NumInput: 0, Output: &rewrite.Output{
		Columns: []rewrite.OutputColumn{
			{Kind: rewrite.OutEncrypted, Instance: 0, Column: note},
			{Kind: rewrite.OutKey, Instance: 0, Hidden: true},
			{Kind: rewrite.OutContext, Instance: 0, Name: "id", Hidden: true},
		},
		Instances: []rewrite.Instance{{Table: f.accts, Key: 1, Context: []int{2}}},
	}})
	ka := f.newKey(envelope.Context{"table": "accounts", "id": "7"})
	raws = append(raws, ka.raw)
	f.base.on(qOut, func([]driver.NamedValue) (*fakeResult, error) {
		return &fakeResult{cols: []string{"note", "__kmsenc_k0", "__kmsenc_c0"},
			rows: [][]driver.Value{{ka.seal(t, note, "note-canary", false), ka.wrapped, int64(7)}}}, nil
	})
	var got string
	if err := f.db.QueryRow(q).Scan(&got); err != nil || got != "note-canary" {
		t.Fatalf("accounts note = %q, %v", got, err)
	}

	f.rw.mu.Lock()
	f.rw.errs["SELECT email FROM users ORDER BY email"] = rewrite.Refuse("ORDER BY email", "an encrypted column can't be sorted by the database")
	f.rw.mu.Unlock()
	if _, err := f.db.Query("SELECT email FROM users ORDER BY email"); !errors.Is(err, ErrUnsupportedStatement) {
		t.Errorf("refused statement: %v", err)
	}

	secrets = []string{emailCanary, avatarCanary, "literal-canary", "second-canary", "bad-canary", "update-canary", "note-canary"}
	for _, r := range raws {
		secrets = append(secrets, string(r), hex.EncodeToString(r), base64.StdEncoding.EncodeToString(r),
			base64.RawStdEncoding.EncodeToString(r), base64.URLEncoding.EncodeToString(r), fmt.Sprint(r), fmt.Sprintf("%x", r))
	}
	return secrets
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	secrets := workload(t, f)
	contexts := []map[string]string{{"table": "users"}, {"table": "accounts", "id": "7"}}
	count := map[EventKind]int{}
	var failed int
	for _, e := range f.events.all() {
		count[e.Kind]++
		dump := fmt.Sprintf("%v %+v %#v", e, e, e)
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Errorf("a %v event shows a secret (%q): %s", e.Kind, s, dump)
			}
		}
		switch e.Kind {
		case EventWrap, EventUnwrap:
			if e.Provider != "base64key" || e.KeyURL != "base64key://(redacted)" || e.Version != 1 || e.Batch != 1 {
				t.Errorf("%v event: provider %q, key URL %q, version %d, batch %d", e.Kind, e.Provider, e.KeyURL, e.Version, e.Batch)
			}
			ok := false
			for _, c := range contexts {
				ok = ok || maps.Equal(e.Context, c)
			}
			if !ok {
				t.Errorf("%v event with context %v, want one of %v", e.Kind, e.Context, contexts)
			}
			if e.Err != nil {
				failed++
				if e.Kind != EventUnwrap || !errors.Is(e.Err, ErrDecrypt) {
					t.Errorf("%v event failed with %v", e.Kind, e.Err)
				}
			}
		case EventRefused:
			if !errors.Is(e.Err, ErrUnsupportedStatement) || e.Provider != "" || e.Context != nil {
				t.Errorf("refusal event %+v", e)
			}
		default:
			t.Errorf("event of kind %v", e.Kind)
		}
	}
	// 2 rows inserted + 1 keyless row updated; 3 keys read + 1 account.
	want := map[EventKind]int{EventWrap: 3, EventUnwrap: 4, EventRefused: 1}
	if !maps.Equal(count, want) {
		t.Errorf("events %v, want %v", count, want)
	}
	if failed != 1 {
		t.Errorf("%d failed events, want 1 (the tampered key)", failed)
	}
	enc, dec := f.counts()
	if int(enc) != want[EventWrap] || int(dec) != want[EventUnwrap] {
		t.Errorf("%d encrypts and %d decrypts; the events say %d and %d", enc, dec, want[EventWrap], want[EventUnwrap])
	}
}

func TestSlogHook(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, WithHook(SlogHook(logger)))
	secrets := workload(t, f)
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log shows a secret (%q):\n%s", s, out)
		}
	}
	for _, want := range []string{
		"level=DEBUG msg=kmsenc event=wrap provider=base64key",
		"event=unwrap provider=base64key",
		"level=WARN msg=kmsenc event=unwrap",
		"level=WARN msg=kmsenc event=refused",
		"base64key://(redacted)",
		"context.table=users",
		"context.id=7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 8 {
		t.Errorf("%d log lines, want 8 (one per event):\n%s", n, out)
	}
}
