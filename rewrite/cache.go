package rewrite

import (
	"container/list"
	"sync"
)

// NewCache returns a Rewriter that remembers the plans (and refusals) of r
// for the size most recently used SQL texts. ORMs reuse a small set of
// statements, so after warm-up a statement costs one map lookup.
func NewCache(r Rewriter, size int) Rewriter {
	if size < 1 {
		size = 1
	}
	return &cache{r: r, size: size, m: make(map[string]*list.Element, size)}
}

type cache struct {
	r    Rewriter
	size int

	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List // front = most recently used
}

type cached struct {
	sql  string
	plan *Plan
	err  error
}

// Rewrite implements Rewriter.
func (c *cache) Rewrite(sql string) (*Plan, error) {
	c.mu.Lock()
	if el, ok := c.m[sql]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cached)
		c.mu.Unlock()
		return e.plan, e.err
	}
	c.mu.Unlock()

	// Plan outside the lock: planning takes microseconds, and two
	// goroutines planning the same text get equal plans.
	p, err := c.r.Rewrite(sql)

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[sql]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cached)
		return e.plan, e.err
	}
	c.m[sql] = c.lru.PushFront(&cached{sql: sql, plan: p, err: err})
	for c.lru.Len() > c.size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.m, old.Value.(*cached).sql)
	}
	return p, err
}
