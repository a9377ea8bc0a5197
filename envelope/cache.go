package envelope

import (
	"container/list"
	"sync"
	"time"
)

// keyCache is the data-key cache: an LRU of unwrapped data keys, keyed by the
// wrapped key and the canonical encryption context, whose entries expire a
// TTL after they were added. Expiry is checked on get, so a revoked KMS
// permission takes effect within one TTL. It is safe for concurrent use.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time // time.Now, or a test's clock

	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	dk      *DataKey
	expires time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, max: max, now: time.Now, order: list.New(), items: make(map[string]*list.Element)}
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

func (c *keyCache) get(key string) (*DataKey, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.dk, true
}

func (c *keyCache) put(key string, dk *DataKey) {
	expires := c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.dk, e.expires = dk, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, dk: dk, expires: expires})
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
}

func (c *keyCache) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.items, el.Value.(*cacheEntry).key)
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *keyCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.items)
}
