// Package lru is a bounded map that evicts its least recently used entry.
// kmsenc keeps two such caches: unwrapped data keys (package envelope, with
// a TTL kept in the values) and statement plans (package rewrite).
package lru

import "sync"

// Cache maps keys to values, holding at most a fixed number of entries:
// storing one more evicts the least recently used. Get, GetValid, Put and
// GetOrPut mark the entry they find or store as the most recently used. A
// Cache is safe for concurrent use; build it with [New].
type Cache[K comparable, V any] struct {
	max int

	mu    sync.Mutex
	items map[K]*entry[K, V]
	// root closes the circular list of the entries: root.next is the most
	// recently used, root.prev the least.
	root entry[K, V]
}

type entry[K comparable, V any] struct {
	key        K
	val        V
	prev, next *entry[K, V]
}

// New returns an empty Cache of at most size entries; a size below 1 is 1.
func New[K comparable, V any](size int) *Cache[K, V] {
	c := &Cache[K, V]{max: max(size, 1), items: make(map[K]*entry[K, V])}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

// Get returns the value stored for k, and whether there was one.
func (c *Cache[K, V]) Get(k K) (V, bool) { return c.get(k, nil) }

// GetValid is Get for values that go stale: when valid reports false for
// the value stored for k, the entry is removed and GetValid reports a miss,
// under the same lock, so a value stored meanwhile is never lost. valid runs
// with the cache locked: it must be quick and must not use the cache.
func (c *Cache[K, V]) GetValid(k K, valid func(V) bool) (V, bool) { return c.get(k, valid) }

func (c *Cache[K, V]) get(k K, valid func(V) bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if ok && valid != nil && !valid(e.val) {
		c.remove(e)
		ok = false
	}
	if !ok {
		var zero V
		return zero, false
	}
	c.use(e)
	return e.val, true
}

// Put stores v for k, replacing the value k had, and evicts the least
// recently used entry if the cache then holds more than its maximum.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.val = v
		c.use(e)
		return
	}
	c.add(k, v)
}

// GetOrPut returns the value stored for k if there is one (loaded is true);
// else it stores v as Put does and returns it. Two goroutines that computed
// a value for the same key thus both end up with the one stored first.
func (c *Cache[K, V]) GetOrPut(k K, v V) (actual V, loaded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.use(e)
		return e.val, true
	}
	c.add(k, v)
	return v, false
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Clear removes every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
	c.root.prev, c.root.next = &c.root, &c.root
}

// add links a new entry first and evicts from the back. c.mu is held and k
// is not in the cache.
func (c *Cache[K, V]) add(k K, v V) {
	e := &entry[K, V]{key: k, val: v}
	c.items[k] = e
	c.link(e)
	for len(c.items) > c.max {
		c.remove(c.root.prev)
	}
}

// use moves e to the front, as the most recently used.
func (c *Cache[K, V]) use(e *entry[K, V]) {
	if c.root.next == e {
		return
	}
	c.unlink(e)
	c.link(e)
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	c.unlink(e)
	delete(c.items, e.key)
}

func (c *Cache[K, V]) link(e *entry[K, V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

func (c *Cache[K, V]) unlink(e *entry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil // no dangling links from an evicted entry
}
