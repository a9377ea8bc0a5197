package envelope

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCacheTTL(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	c := newKeyCache(time.Minute, 10)
	c.now = clock.Now
	dk := mustDataKey(t)
	c.put("a", dk)
	clock.Advance(time.Minute - time.Nanosecond)
	if got, ok := c.get("a"); !ok || got != dk {
		t.Fatal("entry gone before its TTL")
	}
	clock.Advance(time.Nanosecond)
	if _, ok := c.get("a"); ok {
		t.Fatal("entry still there at its TTL")
	}
	if c.len() != 0 {
		t.Errorf("an expired entry stays in the cache after get: len %d", c.len())
	}
	// put refreshes the expiry.
	c.put("b", dk)
	clock.Advance(30 * time.Second)
	c.put("b", dk)
	clock.Advance(45 * time.Second)
	if _, ok := c.get("b"); !ok {
		t.Error("put of an existing entry did not renew its TTL")
	}
}

func TestCacheLRU(t *testing.T) {
	c := newKeyCache(time.Hour, 3)
	keys := map[string]*DataKey{}
	for _, k := range []string{"a", "b", "c"} {
		keys[k] = mustDataKey(t)
		c.put(k, keys[k])
	}
	c.get("a") // a is now the most recent; b the least
	c.put("d", mustDataKey(t))
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.get(k); ok != want {
			t.Errorf("after evicting one of 3 entries, %q cached = %v, want %v", k, ok, want)
		}
	}
	if c.len() != 3 {
		t.Errorf("len = %d, want 3", c.len())
	}
	c.purge()
	if _, ok := c.get("a"); ok || c.len() != 0 {
		t.Error("purge left entries")
	}
}

func TestCacheKeyDistinct(t *testing.T) {
	pairs := [][2]string{{"v1:ab", `{}`}, {"v1:a", `b{}`}, {"v1:ab", `{"id":"1"}`}}
	seen := map[string]bool{}
	for _, p := range pairs {
		k := cacheKey(p[0], []byte(p[1]))
		if seen[k] {
			t.Errorf("cache key %q is shared", k)
		}
		seen[k] = true
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := newKeyCache(time.Hour, 64)
	dk := mustDataKey(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint((g*1000 + i) % 100)
				if i%3 == 0 {
					c.put(k, dk)
				} else {
					c.get(k)
				}
			}
		})
	}
	wg.Wait()
	if c.len() > 64 {
		t.Errorf("len %d exceeds max 64", c.len())
	}
}

func BenchmarkCacheGet(b *testing.B) {
	c := newKeyCache(time.Hour, 10000)
	dk := mustDataKey(b)
	key := cacheKey(FormatWrappedKey(1, make([]byte, 60)), []byte(`{"id":"123","table":"users"}`))
	c.put(key, dk)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.get(key)
		}
	})
}
