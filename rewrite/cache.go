package rewrite

import "github.com/kmsenc/kmsenc/internal/lru"

// NewCache returns a Rewriter that remembers the plans (and refusals) of r
// for the size most recently used SQL texts. ORMs reuse a small set of
// statements, so after warm-up a statement costs one map lookup.
func NewCache(r Rewriter, size int) Rewriter {
	return &cache{r: r, plans: lru.New[string, cached](size)}
}

type cache struct {
	r     Rewriter
	plans *lru.Cache[string, cached] // by SQL text
}

type cached struct {
	plan *Plan
	err  error
}

// Rewrite implements Rewriter.
func (c *cache) Rewrite(sql string) (*Plan, error) {
	if e, ok := c.plans.Get(sql); ok {
		return e.plan, e.err
	}
	// Plan outside the lock: planning takes microseconds, and two
	// goroutines planning the same text get equal plans; both return the
	// one stored first.
	p, err := c.r.Rewrite(sql)
	e, _ := c.plans.GetOrPut(sql, cached{plan: p, err: err})
	return e.plan, e.err
}
