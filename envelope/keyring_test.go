package envelope

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/local"
)

func newLocal(t testing.TB, opts ...local.Option) *local.Provider {
	t.Helper()
	dk := mustDataKey(t) // any 32 random bytes make a master key
	p, err := local.New(dk.bytes(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newKeyring(t testing.TB, cfg KeyringConfig) *Keyring {
	t.Helper()
	k, err := NewKeyring(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

func assertCounts(t *testing.T, p *local.Provider, encrypts, decrypts int64) {
	t.Helper()
	if e, d := p.Counts(); e != encrypts || d != decrypts {
		t.Errorf("provider calls: %d encrypts, %d decrypts; want %d, %d", e, d, encrypts, decrypts)
	}
}

// sameKey reports whether two data keys are the same key.
func sameKey(t *testing.T, a, b *DataKey) bool {
	t.Helper()
	_, err := b.Open("t.c", a.Seal("t.c", []byte("x")))
	return err == nil
}

var usersCtx = Context{"table": "users", "id": "1"}

func TestWrapUnwrap(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name           string
		ttl            time.Duration
		unwrapDecrypts int64 // provider decrypts to unwrap a key just wrapped
		rereadDecrypts int64 // ... and to unwrap it again
	}{
		{"cache on", time.Minute, 0, 0},
		{"cache off", 0, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newLocal(t)
			k := newKeyring(t, KeyringConfig{Current: p, Version: 3, CacheTTL: tt.ttl})
			dk, wrapped, err := k.Wrap(ctx, usersCtx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(wrapped, "v3:") {
				t.Errorf("wrapped key %q lacks the version prefix v3:", wrapped)
			}
			assertCounts(t, p, 1, 0)
			got, err := k.Unwrap(ctx, wrapped, Context{"id": "1", "table": "users"})
			if err != nil {
				t.Fatal(err)
			}
			assertCounts(t, p, 1, tt.unwrapDecrypts)
			if !sameKey(t, dk, got) {
				t.Error("Unwrap returned another key than Wrap")
			}
			if _, err := k.Unwrap(ctx, wrapped, usersCtx); err != nil {
				t.Fatal(err)
			}
			assertCounts(t, p, 1, tt.rereadDecrypts)
		})
	}
}

func TestUnwrapWrongContext(t *testing.T) {
	ctx := context.Background()
	p := newLocal(t)
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Minute})
	_, wrapped, err := k.Wrap(ctx, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	// The cache is keyed by context too: a key cached for one row is not
	// handed out for another.
	for _, ec := range []Context{{"table": "users", "id": "2"}, nil, {"table": "users"}} {
		if _, err := k.Unwrap(ctx, wrapped, ec); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Unwrap under %v = %v, want ErrDecrypt", ec, err)
		}
	}
	assertCounts(t, p, 1, 3)
}

func TestCacheTTLExpiry(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := newLocal(t)
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Minute})
	k.cache.now = clock.Now
	_, wrapped, err := k.Wrap(ctx, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Second)
	if _, err := k.Unwrap(ctx, wrapped, usersCtx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, p, 1, 0)
	clock.Advance(time.Second)
	if _, err := k.Unwrap(ctx, wrapped, usersCtx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, p, 1, 1)
	if _, err := k.Unwrap(ctx, wrapped, usersCtx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, p, 1, 1) // cached again after the unwrap
}

func TestCacheEviction(t *testing.T) {
	ctx := context.Background()
	p := newLocal(t)
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Minute, CacheMaxKeys: 2})
	var wrapped []string
	for i := range 3 {
		_, w, err := k.Wrap(ctx, Context{"id": fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		wrapped = append(wrapped, w)
	}
	for i := 2; i >= 0; i-- { // newest first, so that reading doesn't evict the next
		if _, err := k.Unwrap(ctx, wrapped[i], Context{"id": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	assertCounts(t, p, 3, 1) // only the oldest was evicted
}

func TestPurgeCache(t *testing.T) {
	ctx := context.Background()
	p := newLocal(t)
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Hour})
	_, wrapped, err := k.Wrap(ctx, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	k.PurgeCache()
	if _, err := k.Unwrap(ctx, wrapped, usersCtx); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, p, 1, 1)
}

// gatedProvider blocks Decrypt until its gate is opened, or its context ends.
type gatedProvider struct {
	*local.Provider
	gate    chan struct{}
	entered chan struct{}
}

func (p *gatedProvider) Decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	select {
	case p.entered <- struct{}{}:
	default:
	}
	select {
	case <-p.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.Provider.Decrypt(ctx, ct, ec)
}

func TestUnwrapSingleflight(t *testing.T) {
	ctx := context.Background()
	inner := newLocal(t)
	p := &gatedProvider{Provider: inner, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	// Wrap with a keyring that has no cache, so the key is not cached.
	_, wrapped, err := newKeyring(t, KeyringConfig{Current: inner, Version: 1}).Wrap(ctx, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Minute})
	const n = 50
	var started, done sync.WaitGroup
	keys := make([]*DataKey, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Go(func() {
			started.Done()
			keys[i], errs[i] = k.Unwrap(ctx, wrapped, usersCtx)
		})
	}
	started.Wait()
	<-p.entered
	time.Sleep(20 * time.Millisecond) // let every goroutine join the call in flight
	close(p.gate)
	done.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Unwrap %d: %v", i, errs[i])
		}
	}
	assertCounts(t, inner, 1, 1)
}

func TestUnwrapLeaderCanceled(t *testing.T) {
	inner := newLocal(t)
	p := &gatedProvider{Provider: inner, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1})
	_, wrapped, err := k.Wrap(context.Background(), usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error)
	go func() {
		_, err := k.Unwrap(leaderCtx, wrapped, usersCtx)
		leaderErr <- err
	}()
	<-p.entered
	waiterErr := make(chan error)
	go func() {
		_, err := k.Unwrap(context.Background(), wrapped, usersCtx)
		waiterErr <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the waiter join the leader's call
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want context.Canceled", err)
	}
	<-p.entered // the waiter's own call
	close(p.gate)
	if err := <-waiterErr; err != nil {
		t.Errorf("a caller whose context is live failed because another's was canceled: %v", err)
	}
}

// batchProvider adds a batch call to a local provider.
type batchProvider struct {
	*local.Provider
	batches atomic.Int64
	sizes   []int
	mu      sync.Mutex
}

func (p *batchProvider) DecryptBatch(ctx context.Context, items []providers.DecryptItem) []providers.DecryptResult {
	p.batches.Add(1)
	p.mu.Lock()
	p.sizes = append(p.sizes, len(items))
	p.mu.Unlock()
	out := make([]providers.DecryptResult, len(items))
	for i, it := range items {
		out[i].Plaintext, out[i].Err = p.Provider.Decrypt(ctx, it.Ciphertext, it.Context)
	}
	return out
}

func TestUnwrapMany(t *testing.T) {
	ctx := context.Background()
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			v1, v2 := newLocal(t), newLocal(t)
			var current providers.Provider = v2
			var bp *batchProvider
			if batch {
				bp = &batchProvider{Provider: v2}
				current = bp
			}
			var events []Event
			var mu sync.Mutex
			k := newKeyring(t, KeyringConfig{
				Current: current, Version: 2, Previous: map[int]providers.Provider{1: v1},
				CacheTTL: time.Minute, MaxConcurrency: 3,
				Observe: func(_ context.Context, e Event) {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, e)
				},
			})
			old := newKeyring(t, KeyringConfig{Current: v1, Version: 1})
			wrap := func(k *Keyring, id string) string {
				_, w, err := k.Wrap(ctx, Context{"id": id})
				if err != nil {
					t.Fatal(err)
				}
				return w
			}
			cached := wrap(k, "cached")
			uncached := newKeyring(t, KeyringConfig{Current: current, Version: 2})
			a, b, c := wrap(uncached, "a"), wrap(uncached, "b"), wrap(uncached, "c")
			old1 := wrap(old, "old")
			v1.ResetCounts()
			v2.ResetCounts()
			mu.Lock()
			events = nil
			mu.Unlock()

			reqs := []UnwrapRequest{
				{a, Context{"id": "a"}},
				{cached, Context{"id": "cached"}},
				{b, Context{"id": "b"}},
				{a, Context{"id": "a"}}, // duplicate
				{"not a key", nil},
				{"v9:AAAA", nil},
				{c, Context{"id": "wrong"}},
				{old1, Context{"id": "old"}},
				{c, Context{"id": "c"}},
				{b, Context{"id": "b"}}, // duplicate
			}
			keys, errs := k.UnwrapMany(ctx, reqs)
			if len(keys) != len(reqs) || len(errs) != len(reqs) {
				t.Fatalf("got %d keys and %d errors for %d requests", len(keys), len(errs), len(reqs))
			}
			wantErr := map[int]error{4: ErrDecrypt, 5: ErrUnknownVersion, 6: ErrDecrypt}
			for i := range reqs {
				if want := wantErr[i]; want != nil {
					if !errors.Is(errs[i], want) || keys[i] != nil {
						t.Errorf("request %d: %v, %v; want %v", i, keys[i], errs[i], want)
					}
					continue
				}
				if errs[i] != nil || keys[i] == nil {
					t.Errorf("request %d: %v", i, errs[i])
				}
			}
			if keys[0] != keys[3] || keys[2] != keys[9] {
				t.Error("duplicate requests got different keys")
			}
			// Misses: a, b, wrong-context c, c under v2; old under v1.
			assertCounts(t, v2, 0, 4)
			assertCounts(t, v1, 0, 1)
			mu.Lock()
			defer mu.Unlock()
			if batch {
				if n := bp.batches.Load(); n != 1 || bp.sizes[0] != 4 {
					t.Errorf("batch calls %d of sizes %v, want one of 4", n, bp.sizes)
				}
				if len(events) != 2 {
					t.Fatalf("events: %+v, want one for the batch and one for v1", events)
				}
				for _, e := range events {
					if e.Version == 2 && (e.Batch != 4 || e.Context != nil || !errors.Is(e.Err, ErrDecrypt)) {
						t.Errorf("batch event %+v", e)
					}
				}
			} else if len(events) != 5 {
				t.Errorf("%d events, want one per provider call (5)", len(events))
			}
			// Everything that unwrapped is now cached.
			v2.ResetCounts()
			if _, errs := k.UnwrapMany(ctx, []UnwrapRequest{{a, Context{"id": "a"}}, {c, Context{"id": "c"}}}); errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			assertCounts(t, v2, 0, 0)
		})
	}
}

func TestPreviousVersions(t *testing.T) {
	ctx := context.Background()
	v1, v2 := newLocal(t), newLocal(t)
	old := newKeyring(t, KeyringConfig{Current: v1, Version: 1})
	dk, wrapped, err := old.Wrap(ctx, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyring(t, KeyringConfig{Current: v2, Version: 2, Previous: map[int]providers.Provider{1: v1}})
	got, err := k.Unwrap(ctx, wrapped, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(t, dk, got) {
		t.Error("the previous version unwrapped another key")
	}
	assertCounts(t, v1, 1, 1)
	assertCounts(t, v2, 0, 0)

	rewrapped, err := k.Rewrap(ctx, wrapped, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rewrapped, "v2:") {
		t.Errorf("Rewrap = %q, want a v2: key", rewrapped)
	}
	k.PurgeCache()
	got, err = k.Unwrap(ctx, rewrapped, usersCtx)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(t, dk, got) {
		t.Error("Rewrap changed the data key")
	}
	assertCounts(t, v2, 1, 1)

	// The keyring of v2 alone can't read v1 keys.
	alone := newKeyring(t, KeyringConfig{Current: v2, Version: 2})
	_, err = alone.Unwrap(ctx, wrapped, usersCtx)
	if !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("Unwrap of a v1 key without v1 = %v, want ErrUnknownVersion", err)
	}
	for _, want := range []string{"version 1", "add version 1 to key.previous_versions", "current v2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// failingProvider fails every call with err.
type failingProvider struct {
	err    error
	closed atomic.Int64
}

func (p *failingProvider) Encrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, p.err
}
func (p *failingProvider) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, p.err
}
func (p *failingProvider) URL() string  { return "fake://key" }
func (p *failingProvider) Close() error { p.closed.Add(1); return nil }

func TestProviderErrorsPassThrough(t *testing.T) {
	ctx := context.Background()
	wrapped := FormatWrappedKey(1, make([]byte, 60))
	tests := []struct {
		name string
		p    providers.Provider
		is   error
	}{
		{"encrypt-only", newLocal(t, local.EncryptOnly()), providers.ErrAccessDenied},
		{"unavailable", &failingProvider{err: &providers.Error{Op: "decrypt", KeyURL: "fake://key", Err: providers.ErrUnavailable}}, providers.ErrUnavailable},
		{"bare sentinel", &failingProvider{err: providers.ErrAccessDenied}, providers.ErrAccessDenied},
		{"foreign error", &failingProvider{err: errors.New("boom")}, nil},
		{"authentication", newLocal(t), providers.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKeyring(t, KeyringConfig{Current: tt.p, Version: 1})
			_, err := k.Unwrap(ctx, wrapped, usersCtx)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != "decrypt" || pe.KeyURL != tt.p.URL() {
				t.Fatalf("Unwrap error %v is not a *providers.Error naming decrypt and %s", err, tt.p.URL())
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Unwrap error %v does not match %v", err, tt.is)
			}
			_, errs := k.UnwrapMany(ctx, []UnwrapRequest{{wrapped, usersCtx}})
			if !errors.As(errs[0], &pe) || (tt.is != nil && !errors.Is(errs[0], tt.is)) {
				t.Errorf("UnwrapMany error %v lost its type", errs[0])
			}
		})
	}
	k := newKeyring(t, KeyringConfig{Current: &failingProvider{err: providers.ErrUnavailable}, Version: 1})
	if _, _, err := k.Wrap(ctx, usersCtx); !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "encrypt with master key fake://key") {
		t.Errorf("Wrap error = %v", err)
	}
}

func TestMalformedWrappedKey(t *testing.T) {
	p := newLocal(t)
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1})
	for _, w := range []string{"", "plaintext", "v1:***", "v1:"} {
		if _, err := k.Unwrap(context.Background(), w, nil); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Unwrap(%q) = %v, want ErrDecrypt", w, err)
		}
	}
	assertCounts(t, p, 0, 0)
}

// concurrencyProvider records how many Encrypts run at once.
type concurrencyProvider struct {
	*local.Provider
	now, max atomic.Int64
	failID   string
}

func (p *concurrencyProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	n := p.now.Add(1)
	defer p.now.Add(-1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	if ec["id"] == p.failID {
		return nil, &providers.Error{Op: "encrypt", KeyURL: p.URL(), Err: providers.ErrUnavailable}
	}
	return p.Provider.Encrypt(ctx, pt, ec)
}

func TestWrapMany(t *testing.T) {
	ctx := context.Background()
	p := &concurrencyProvider{Provider: newLocal(t), failID: "-"}
	k := newKeyring(t, KeyringConfig{Current: p, Version: 1, CacheTTL: time.Minute, MaxConcurrency: 4})
	ecs := make([]Context, 40)
	for i := range ecs {
		ecs[i] = Context{"id": fmt.Sprint(i)}
	}
	keys, wrapped, err := k.WrapMany(ctx, ecs)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 40 || len(wrapped) != 40 {
		t.Fatalf("got %d keys, %d wrapped", len(keys), len(wrapped))
	}
	if m := p.max.Load(); m > 4 || m < 2 {
		t.Errorf("%d concurrent provider calls, want 2 to 4 (MaxConcurrency 4)", m)
	}
	// Each key is wrapped under its own context, in order.
	p.ResetCounts()
	for i := range ecs {
		got, err := k.Unwrap(ctx, wrapped[i], ecs[i])
		if err != nil || got != keys[i] {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	k.PurgeCache()
	for i := range ecs {
		got, err := k.Unwrap(ctx, wrapped[i], ecs[i])
		if err != nil || !sameKey(t, keys[i], got) {
			t.Fatalf("row %d after purge: %v", i, err)
		}
	}
	assertCounts(t, p.Provider, 0, 40)

	p.failID = "7"
	keys, wrapped, err = k.WrapMany(ctx, ecs)
	if !errors.Is(err, providers.ErrUnavailable) || keys != nil || wrapped != nil {
		t.Errorf("WrapMany with one failure = %d keys, %v", len(keys), err)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	p := newLocal(t)
	var events []Event
	k := newKeyring(t, KeyringConfig{Current: p, Version: 2, Observe: func(_ context.Context, e Event) { events = append(events, e) }})
	ec := Context{"table": "users", "id": "7"}
	dk, wrapped, err := k.Wrap(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	ec["id"] = "changed by the caller"
	if _, err := k.Unwrap(ctx, wrapped, Context{"table": "users", "id": "7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Unwrap(ctx, wrapped, Context{"table": "users", "id": "8"}); err == nil {
		t.Fatal("unwrap under the wrong context succeeded")
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(events), events)
	}
	for i, want := range []struct {
		op, id string
		failed bool
	}{{"wrap", "7", false}, {"unwrap", "7", false}, {"unwrap", "8", true}} {
		e := events[i]
		if e.Op != want.op || e.Provider != "base64key" || e.KeyURL != "base64key://(redacted)" || e.Version != 2 ||
			e.Context["id"] != want.id || e.Batch != 1 || e.Duration <= 0 || (e.Err != nil) != want.failed {
			t.Errorf("event %d = %+v, want %s of id %s", i, e, want.op, want.id)
		}
	}
	assertNoKey(t, fmt.Sprintf("%+v %#v", events, events), dk)
}

func TestNewKeyringRefuses(t *testing.T) {
	p := newLocal(t)
	tests := []struct {
		name string
		cfg  KeyringConfig
		want string
	}{
		{"no provider", KeyringConfig{Version: 1}, "current master key"},
		{"version 0", KeyringConfig{Current: p}, "1 or more"},
		{"previous is current", KeyringConfig{Current: p, Version: 2, Previous: map[int]providers.Provider{2: p}}, "both"},
		{"nil previous", KeyringConfig{Current: p, Version: 2, Previous: map[int]providers.Provider{1: nil}}, "no provider"},
		{"negative TTL", KeyringConfig{Current: p, Version: 1, CacheTTL: -1}, "negative"},
		{"negative max keys", KeyringConfig{Current: p, Version: 1, CacheMaxKeys: -1}, "negative"},
		{"negative concurrency", KeyringConfig{Current: p, Version: 1, MaxConcurrency: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeyring(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewKeyring = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestClose(t *testing.T) {
	shared, prev := &failingProvider{}, &failingProvider{}
	k, err := NewKeyring(KeyringConfig{Current: shared, Version: 3, Previous: map[int]providers.Provider{1: prev, 2: shared}})
	if err != nil {
		t.Fatal(err)
	}
	if k.Version() != 3 {
		t.Errorf("Version() = %d", k.Version())
	}
	for range 2 {
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if shared.closed.Load() != 1 || prev.closed.Load() != 1 {
		t.Errorf("providers closed %d and %d times, want once each", shared.closed.Load(), prev.closed.Load())
	}
}
