package integration_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/providers"
)

// inFlight wraps a provider and records how many Decrypt calls overlap.
type inFlight struct {
	providers.Provider
	now, max, calls atomic.Int64
}

func (p *inFlight) Decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	p.calls.Add(1)
	n := p.now.Add(1)
	defer p.now.Add(-1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	// Stand in for a KMS round trip, so that overlapping calls overlap.
	time.Sleep(2 * time.Millisecond)
	return p.Provider.Decrypt(ctx, ct, ec)
}

const readSchema = `
cache:
  ttl: 1h
tables:
  users:
    columns:
      email: text
`

// TestReadAheadUnwrapsConcurrently reads rows whose keys are not cached and
// checks that the window's keys are unwrapped together (several calls in
// flight at once, bounded), once per distinct key, and that a second read is
// served by the cache.
func TestReadAheadUnwrapsConcurrently(t *testing.T) {
	t.Parallel()
	const n = 300
	writer := setup(t, "cache_statement", readSchema, pgDDL...)
	for i := 0; i < n; i++ {
		writer.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, i, canary("read"))
	}
	// A second connector has a cold cache: every key must be unwrapped.
	var counter *inFlight
	reader := reopen(t, writer, func(p providers.Provider) providers.Provider {
		counter = &inFlight{Provider: p}
		return counter
	})
	readAll := func() int {
		rows, err := reader.query(`SELECT id, email FROM users`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			var id int64
			var email string
			if err := rows.Scan(&id, &email); err != nil {
				t.Fatal(err)
			}
			got++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := readAll(); got != n {
		t.Fatalf("read %d rows, want %d", got, n)
	}
	if c := counter.calls.Load(); c != n {
		t.Errorf("%d KMS decrypts for %d rows with distinct keys, want %d", c, n, n)
	}
	if m := counter.max.Load(); m < 2 || m > 16 {
		t.Errorf("at most %d decrypts in flight, want between 2 and 16 (concurrent, bounded)", m)
	}
	if got := readAll(); got != n {
		t.Fatalf("second read: %d rows", got)
	}
	if c := counter.calls.Load(); c != n {
		t.Errorf("the second read made %d more KMS calls, want 0 (cache)", c-n)
	}
	if u := reader.events.count(kmsenc.EventUnwrap); u != n {
		t.Errorf("%d unwrap events, want %d", u, n)
	}
}

// TestEventsHoldNoSecrets logs every event of a write, a read and a refusal
// through the slog adapter and checks that no plaintext value and no master
// key appears, while the events themselves are there.
func TestEventsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.db.Close()
	e = reopenWith(t, e, nil, kmsenc.WithHook(kmsenc.SlogHook(logger)))
	em := canary("log")
	e.exec(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", em)
	reader := reopenWith(t, e, nil, kmsenc.WithHook(kmsenc.SlogHook(logger)))
	var got string
	if err := reader.queryRow(`SELECT email FROM users WHERE id = 1`).Scan(&got); err != nil || got != em {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, err := e.execErr(`SELECT id FROM users WHERE email = $1`, em); err == nil {
		t.Fatal("comparison on an encrypted column was not refused")
	}
	out := buf.String()
	for _, want := range []string{"event=wrap", "event=unwrap", "event=refused", "context.table=users", "context.id=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	secret := strings.TrimPrefix(e.keyURL, "base64key://")
	for _, leak := range []string{em, secret} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds a secret %q:\n%s", leak, out)
		}
	}
}

// TestOneKMSCallPerKey: an INSERT wraps one key per row, and a read unwraps
// one key per distinct key — exactly once, whatever the driver's mode (with
// MySQL's interpolateParams=false, the base driver declines direct
// execution and kmsenc must not encrypt the statement twice).
func TestOneKMSCallPerKey(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		e.key.ResetCounts()
		e.exec(`INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9)`,
			1, canary("c"), canary("c"), 2, canary("c"), nil, 3, nil, nil)
		e.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, 4, canary("c"))
		if enc, dec := e.key.Counts(); enc != 4 || dec != 0 {
			t.Errorf("4 rows written: %d wraps, %d unwraps; want 4 and 0", enc, dec)
		}
		reader := reopen(t, e, nil) // a cold cache
		reader.key.ResetCounts()
		for i := 0; i < 2; i++ {
			rows, err := reader.query(`SELECT u.id, u.email, u.ssn, v.email FROM users u JOIN users v ON v.id = u.id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var a, b, c sql.NullString
				if err := rows.Scan(&id, &a, &b, &c); err != nil {
					t.Fatal(err)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		// Row 3 has no encrypted value: its key is never needed.
		if enc, dec := reader.key.Counts(); enc != 0 || dec != 3 {
			t.Errorf("reading 4 rows twice, each key twice per row: %d wraps, %d unwraps; want 0 and 3", enc, dec)
		}
	})
}
