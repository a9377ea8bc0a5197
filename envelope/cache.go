package envelope

import (
	"time"

	"github.com/kmsenc/kmsenc/internal/lru"
)

// keyCache is the data-key cache: an LRU of unwrapped data keys, keyed by the
// wrapped key and the canonical encryption context, whose entries expire a
// TTL after they were added. Expiry is checked on get, so a revoked KMS
// permission takes effect within one TTL. It is safe for concurrent use.
type keyCache struct {
	ttl  time.Duration
	now  func() time.Time // time.Now, or a test's clock
	keys *lru.Cache[string, cachedKey]
}

type cachedKey struct {
	dk      *DataKey
	expires time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, now: time.Now, keys: lru.New[string, cachedKey](max)}
}

// cacheKey joins a wrapped key and its canonical context; NUL can't occur in
// the wrapped key, so no two pairs share a cache key.
func cacheKey(wrapped string, canonicalContext []byte) string {
	b := make([]byte, 0, len(wrapped)+1+len(canonicalContext))
	b = append(b, wrapped...)
	b = append(b, 0)
	b = append(b, canonicalContext...)
	return string(b)
}

// get returns the data key cached for key unless it has expired; an expired
// entry is dropped.
func (c *keyCache) get(key string) (*DataKey, bool) {
	now := c.now()
	e, ok := c.keys.GetValid(key, func(e cachedKey) bool { return now.Before(e.expires) })
	return e.dk, ok
}

// put caches dk for key for one TTL from now, renewing an entry's TTL.
func (c *keyCache) put(key string, dk *DataKey) {
	c.keys.Put(key, cachedKey{dk: dk, expires: c.now().Add(c.ttl)})
}

func (c *keyCache) len() int { return c.keys.Len() }

func (c *keyCache) purge() { c.keys.Clear() }
