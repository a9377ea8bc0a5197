package envelope

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/kmsenc/kmsenc/providers"
)

// Context is an encryption context: the KMS binds a wrapped data key to it,
// records it in its audit log, and refuses to unwrap the key under any other.
type Context map[string]string

// Defaults of [KeyringConfig].
const (
	DefaultCacheMaxKeys   = 10000
	DefaultMaxConcurrency = 16
)

// KeyringConfig configures a [Keyring].
type KeyringConfig struct {
	// Current wraps every new data key; Version (at least 1) is the version
	// prefix written with its wrapped keys.
	Current providers.Provider
	Version int
	// Previous holds the master keys of older versions; they only unwrap.
	Previous map[int]providers.Provider

	// CacheTTL is how long an unwrapped data key may be reused; 0 turns the
	// cache off, so that every read is one KMS call and one audit entry.
	// CacheMaxKeys bounds the cache (default DefaultCacheMaxKeys).
	CacheTTL     time.Duration
	CacheMaxKeys int

	// MaxConcurrency bounds the concurrent provider calls of one WrapMany or
	// UnwrapMany (default DefaultMaxConcurrency).
	MaxConcurrency int

	// Observe, if set, is called once after every provider call (never for
	// a cache hit), on the goroutine that made the call, which may not be the
	// caller's. It must be safe for concurrent use and should return quickly.
	Observe func(ctx context.Context, e Event)
}

// Event describes one provider call, the counterpart of kms_encrypted's
// encrypt.kms_encrypted and decrypt.kms_encrypted notifications. It never
// holds a key.
type Event struct {
	Op       string        // "wrap" or "unwrap"
	Provider string        // the key URL's scheme, e.g. "awskms"
	KeyURL   string        // Provider.URL(): secrets removed
	Version  int           // the master key version
	Context  Context       // a copy of the encryption context; nil for a batch of several
	Duration time.Duration // of the provider call
	Batch    int           // items in a batch call, 1 otherwise
	Err      error         // nil on success; for a batch, the first item's error
}

// Keyring wraps new data keys with the current master key and unwraps data
// keys with the master key their version prefix names. Unwrapped keys are
// cached (LRU with a TTL), and concurrent unwraps of one key share one
// provider call. A Keyring is safe for concurrent use.
type Keyring struct {
	version   int
	current   providers.Provider
	byVersion map[int]providers.Provider // current and previous
	cache     *keyCache                  // nil when caching is off
	flight    singleflight.Group
	limit     int
	observe   func(context.Context, Event)

	closeOnce sync.Once
	closeErr  error
}

// NewKeyring checks cfg and returns a [Keyring]. The keyring owns the
// providers of cfg: [Keyring.Close] closes them.
func NewKeyring(cfg KeyringConfig) (*Keyring, error) {
	switch {
	case cfg.Current == nil:
		return nil, errors.New("envelope: the keyring needs a current master key provider")
	case cfg.Version < 1:
		return nil, fmt.Errorf("envelope: the master key version must be 1 or more, got %d", cfg.Version)
	case cfg.CacheTTL < 0:
		return nil, fmt.Errorf("envelope: the cache TTL can't be negative (%v); 0 turns the cache off", cfg.CacheTTL)
	case cfg.CacheMaxKeys < 0:
		return nil, fmt.Errorf("envelope: the cache's max keys can't be negative (%d)", cfg.CacheMaxKeys)
	case cfg.MaxConcurrency < 0:
		return nil, fmt.Errorf("envelope: max concurrency can't be negative (%d)", cfg.MaxConcurrency)
	}
	k := &Keyring{
		version:   cfg.Version,
		current:   cfg.Current,
		byVersion: map[int]providers.Provider{cfg.Version: cfg.Current},
		limit:     cfg.MaxConcurrency,
		observe:   cfg.Observe,
	}
	for v, p := range cfg.Previous {
		switch {
		case v == cfg.Version:
			return nil, fmt.Errorf("envelope: version %d is both the current master key and a previous version; give the current key a higher version", v)
		case v < 0:
			return nil, fmt.Errorf("envelope: previous master key version %d is negative", v)
		case p == nil:
			return nil, fmt.Errorf("envelope: previous master key version %d has no provider", v)
		}
		k.byVersion[v] = p
	}
	if k.limit == 0 {
		k.limit = DefaultMaxConcurrency
	}
	if cfg.CacheTTL > 0 {
		maxKeys := cfg.CacheMaxKeys
		if maxKeys == 0 {
			maxKeys = DefaultCacheMaxKeys
		}
		k.cache = newKeyCache(cfg.CacheTTL, maxKeys)
	}
	return k, nil
}

// Version returns the version of the current master key.
func (k *Keyring) Version() int { return k.version }

// Wrap returns a new data key and its key column value: the key wrapped by
// the current master key under ec, with the version prefix. The key is
// cached, so reading back a row just written costs no unwrap.
func (k *Keyring) Wrap(ctx context.Context, ec Context) (*DataKey, string, error) {
	dk, err := NewDataKey()
	if err != nil {
		return nil, "", err
	}
	wrapped, err := k.wrapKey(ctx, dk, ec)
	if err != nil {
		return nil, "", err
	}
	return dk, wrapped, nil
}

func (k *Keyring) wrapKey(ctx context.Context, dk *DataKey, ec Context) (string, error) {
	start := time.Now()
	ct, err := k.current.Encrypt(ctx, dk.bytes(), ec)
	if err == nil && len(ct) == 0 {
		err = errors.New("the provider returned an empty ciphertext")
	}
	err = providerError("encrypt", k.current, err)
	k.emit(ctx, "wrap", k.current, k.version, ec, time.Since(start), 1, err)
	if err != nil {
		return "", err
	}
	wrapped := FormatWrappedKey(k.version, ct)
	if k.cache != nil {
		k.cache.put(cacheKey(wrapped, providers.CanonicalContext(ec)), dk)
	}
	return wrapped, nil
}

// WrapMany wraps a new data key for each context, with up to MaxConcurrency
// provider calls at a time. It returns all keys, in the order of ecs, or the
// first error, after which the remaining calls are canceled.
func (k *Keyring) WrapMany(ctx context.Context, ecs []Context) ([]*DataKey, []string, error) {
	keys := make([]*DataKey, len(ecs))
	wrapped := make([]string, len(ecs))
	if len(ecs) == 1 {
		var err error
		if keys[0], wrapped[0], err = k.Wrap(ctx, ecs[0]); err != nil {
			return nil, nil, err
		}
		return keys, wrapped, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(k.limit)
	for i, ec := range ecs {
		g.Go(func() error {
			var err error
			keys[i], wrapped[i], err = k.Wrap(gctx, ec)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return keys, wrapped, nil
}

// Unwrap returns the data key of a key column value wrapped under ec: from
// the cache, else from the provider of its version, sharing one provider
// call among concurrent callers. A malformed value fails with an error
// wrapping [ErrDecrypt]; an unknown version with [ErrUnknownVersion];
// provider errors keep their type (see [providers.Error]).
func (k *Keyring) Unwrap(ctx context.Context, wrapped string, ec Context) (*DataKey, error) {
	key := cacheKey(wrapped, providers.CanonicalContext(ec))
	if k.cache != nil {
		if dk, ok := k.cache.get(key); ok {
			return dk, nil
		}
	}
	version, ct, p, err := k.parse(wrapped)
	if err != nil {
		return nil, err
	}
	return k.unwrapShared(ctx, key, version, ct, p, ec)
}

// parse splits a key column value and finds the provider of its version.
func (k *Keyring) parse(wrapped string) (int, []byte, providers.Provider, error) {
	version, ct, err := ParseWrappedKey(wrapped)
	if err != nil {
		return 0, nil, nil, err
	}
	p, ok := k.byVersion[version]
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: a data key is wrapped by master key version %d, which this keyring doesn't have (%s); add version %d to key.previous_versions", ErrUnknownVersion, version, k.versionList(), version)
	}
	return version, ct, p, nil
}

func (k *Keyring) versionList() string {
	var s []string
	for _, v := range slices.Sorted(maps.Keys(k.byVersion)) {
		if v == k.version {
			s = append(s, "current v"+strconv.Itoa(v))
		} else {
			s = append(s, "previous v"+strconv.Itoa(v))
		}
	}
	return strings.Join(s, ", ")
}

// abandonedError marks a shared call that failed because the context of the
// caller that ran it ended; callers whose own context is live try again.
type abandonedError struct{ err error }

func (e *abandonedError) Error() string { return e.err.Error() }

func (k *Keyring) unwrapShared(ctx context.Context, key string, version int, ct []byte, p providers.Provider, ec Context) (*DataKey, error) {
	for {
		ch := k.flight.DoChan(key, func() (any, error) {
			dk, err := k.unwrapNow(ctx, key, version, ct, p, ec)
			if err != nil && ctx.Err() != nil {
				return nil, &abandonedError{err}
			}
			return dk, err
		})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r := <-ch:
			var ab *abandonedError
			if errors.As(r.Err, &ab) {
				if ctx.Err() == nil {
					continue
				}
				return nil, ab.err
			}
			if r.Err != nil {
				return nil, r.Err
			}
			return r.Val.(*DataKey), nil
		}
	}
}

// unwrapNow calls the provider and caches the key.
func (k *Keyring) unwrapNow(ctx context.Context, key string, version int, ct []byte, p providers.Provider, ec Context) (*DataKey, error) {
	start := time.Now()
	pt, err := p.Decrypt(ctx, ct, ec)
	err = providerError("decrypt", p, err)
	k.emit(ctx, "unwrap", p, version, ec, time.Since(start), 1, err)
	if err != nil {
		return nil, err
	}
	return k.keep(key, pt)
}

// keep turns a provider's plaintext into a cached data key and wipes it.
func (k *Keyring) keep(key string, plaintext []byte) (*DataKey, error) {
	dk, err := DataKeyFromBytes(plaintext)
	clear(plaintext)
	if err != nil {
		return nil, err
	}
	if k.cache != nil {
		k.cache.put(key, dk)
	}
	return dk, nil
}

// UnwrapRequest is one key column value to unwrap and its context.
type UnwrapRequest struct {
	Wrapped string
	Context Context
}

// pendingUnwrap is one distinct request of UnwrapMany and its outcome.
type pendingUnwrap struct {
	req     UnwrapRequest
	key     string
	version int
	ct      []byte
	dk      *DataKey
	err     error
}

// UnwrapMany unwraps the data keys of many rows, such as a read-ahead window.
// It returns one key and one error per request, in order: errs[i] is nil
// exactly when keys[i] is set. Identical requests are unwrapped once; cache
// hits skip the provider; the misses of each version go to the provider in
// one batch call when it is a [providers.BatchDecrypter], else in
// concurrent single calls (at most MaxConcurrency at a time).
func (k *Keyring) UnwrapMany(ctx context.Context, reqs []UnwrapRequest) ([]*DataKey, []error) {
	keys := make([]*DataKey, len(reqs))
	errs := make([]error, len(reqs))
	pending := make([]*pendingUnwrap, len(reqs)) // per request
	distinct := make(map[string]*pendingUnwrap)
	misses := make(map[int][]*pendingUnwrap) // by version
	var canon []byte
	for i, r := range reqs {
		canon = providers.AppendCanonicalContext(canon[:0], r.Context)
		key := cacheKey(r.Wrapped, canon)
		if u, ok := distinct[key]; ok {
			pending[i] = u
			continue
		}
		u := &pendingUnwrap{req: r, key: key}
		distinct[key], pending[i] = u, u
		if k.cache != nil {
			if dk, ok := k.cache.get(key); ok {
				u.dk = dk
				continue
			}
		}
		if u.version, u.ct, _, u.err = k.parse(r.Wrapped); u.err == nil {
			misses[u.version] = append(misses[u.version], u)
		}
	}

	var g errgroup.Group
	g.SetLimit(k.limit)
	for version, us := range misses {
		p := k.byVersion[version]
		if bp, ok := p.(providers.BatchDecrypter); ok && len(us) > 1 {
			g.Go(func() error { k.unwrapBatch(ctx, bp, p, version, us); return nil })
			continue
		}
		for _, u := range us {
			g.Go(func() error {
				u.dk, u.err = k.unwrapShared(ctx, u.key, version, u.ct, p, u.req.Context)
				return nil
			})
		}
	}
	_ = g.Wait()

	for i, u := range pending {
		keys[i], errs[i] = u.dk, u.err
	}
	return keys, errs
}

// unwrapBatch unwraps the misses of one version in one provider call.
func (k *Keyring) unwrapBatch(ctx context.Context, bp providers.BatchDecrypter, p providers.Provider, version int, us []*pendingUnwrap) {
	items := make([]providers.DecryptItem, len(us))
	for i, u := range us {
		items[i] = providers.DecryptItem{Ciphertext: u.ct, Context: u.req.Context}
	}
	start := time.Now()
	results := bp.DecryptBatch(ctx, items)
	duration := time.Since(start)
	var first error
	for i, u := range us {
		if len(results) != len(items) {
			u.err = fmt.Errorf("envelope: the %s provider returned %d results for a batch of %d", providers.Scheme(p.URL()), len(results), len(items))
		} else if u.err = providerError("decrypt", p, results[i].Err); u.err == nil {
			u.dk, u.err = k.keep(u.key, results[i].Plaintext)
		}
		if first == nil {
			first = u.err
		}
	}
	k.emit(ctx, "unwrap", p, version, nil, duration, len(items), first)
}

// Rewrap unwraps a key column value and wraps the same data key with the
// current master key, for rotating rows to a new master key version without
// re-encrypting their values.
//
// When the old version's master key is the current one (the same provider)
// and the provider is a [providers.Rewrapper], the KMS re-encrypts the key
// itself and the data key never reaches this process.
func (k *Keyring) Rewrap(ctx context.Context, wrapped string, ec Context) (string, error) {
	_, ct, p, err := k.parse(wrapped)
	if err != nil {
		return "", err
	}
	if rw, ok := p.(providers.Rewrapper); ok && p == k.current {
		start := time.Now()
		out, err := rw.Rewrap(ctx, ct, ec)
		err = providerError("rewrap", p, err)
		k.emit(ctx, "rewrap", p, k.version, ec, time.Since(start), 1, err)
		if err != nil {
			return "", err
		}
		return FormatWrappedKey(k.version, out), nil
	}
	dk, err := k.Unwrap(ctx, wrapped, ec)
	if err != nil {
		return "", err
	}
	return k.wrapKey(ctx, dk, ec)
}

// PurgeCache drops every cached data key, so that the next reads go to the
// KMS (and fail at once if decryption was revoked there).
func (k *Keyring) PurgeCache() {
	if k.cache != nil {
		k.cache.purge()
	}
}

// Close purges the cache and closes the providers of every version.
func (k *Keyring) Close() error {
	k.closeOnce.Do(func() {
		k.PurgeCache()
		var closed []providers.Provider
		var errs []error
		for _, v := range slices.Sorted(maps.Keys(k.byVersion)) {
			p := k.byVersion[v]
			if reflect.TypeOf(p).Comparable() && slices.Contains(closed, p) {
				continue // one provider serving two versions
			}
			closed = append(closed, p)
			if err := p.Close(); err != nil {
				errs = append(errs, fmt.Errorf("envelope: closing master key v%d (%s): %w", v, p.URL(), err))
			}
		}
		k.closeErr = errors.Join(errs...)
	})
	return k.closeErr
}

// providerError gives every provider failure the [providers.Error] form, so
// that it names the operation and key URL, and keeps its cause for errors.Is.
func providerError(op string, p providers.Provider, err error) error {
	if err == nil {
		return nil
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	return &providers.Error{Op: op, KeyURL: p.URL(), Err: err}
}

func (k *Keyring) emit(ctx context.Context, op string, p providers.Provider, version int, ec Context, d time.Duration, batch int, err error) {
	if k.observe == nil {
		return
	}
	url := p.URL()
	k.observe(ctx, Event{
		Op:       op,
		Provider: providers.Scheme(url),
		KeyURL:   url,
		Version:  version,
		Context:  maps.Clone(ec),
		Duration: d,
		Batch:    batch,
		Err:      err,
	})
}
