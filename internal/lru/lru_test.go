package lru

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// keys returns c's keys from the most to the least recently used, and
// checks that the list and the map agree.
func keys[K comparable, V any](t *testing.T, c *Cache[K, V]) []K {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []K
	for e := c.root.next; e != &c.root; e = e.next {
		if e.next.prev != e {
			t.Fatalf("broken links at %v", e.key)
		}
		if c.items[e.key] != e {
			t.Fatalf("list entry %v is not the map's", e.key)
		}
		out = append(out, e.key)
	}
	if len(out) != len(c.items) {
		t.Fatalf("list has %d entries, map %d", len(out), len(c.items))
	}
	return out
}

func TestGetPut(t *testing.T) {
	c := New[string, int](3)
	if _, ok := c.Get("a"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put("a", 1)
	c.Put("a", 2)
	if v, ok := c.Get("a"); !ok || v != 2 {
		t.Fatalf("Get after two Puts = %v, %v; want 2, true", v, ok)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d after replacing a value, want 1", c.Len())
	}
}

// Every operation that finds or stores an entry makes it the most recently
// used; the least recently used is the one evicted.
func TestEvictsLeastRecentlyUsed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		touch func(c *Cache[string, int]) // touches "a"
	}{
		{"Get", func(c *Cache[string, int]) { c.Get("a") }},
		{"GetValid", func(c *Cache[string, int]) { c.GetValid("a", func(int) bool { return true }) }},
		{"Put", func(c *Cache[string, int]) { c.Put("a", 10) }},
		{"GetOrPut", func(c *Cache[string, int]) { c.GetOrPut("a", 10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New[string, int](3)
			c.Put("a", 1)
			c.Put("b", 2)
			c.Put("c", 3)
			tc.touch(c)
			c.Put("d", 4)
			if got, want := keys(t, c), []string{"d", "a", "c"}; !slices.Equal(got, want) {
				t.Errorf("after touching a and adding d: %v, want %v", got, want)
			}
		})
	}
}

func TestGetOrPut(t *testing.T) {
	c := New[string, int](2)
	if v, loaded := c.GetOrPut("a", 1); loaded || v != 1 {
		t.Errorf("GetOrPut of a new key = %v, %v; want 1, false", v, loaded)
	}
	if v, loaded := c.GetOrPut("a", 2); !loaded || v != 1 {
		t.Errorf("GetOrPut of a stored key = %v, %v; want the stored 1, true", v, loaded)
	}
	if v, _ := c.Get("a"); v != 1 {
		t.Errorf("GetOrPut replaced the stored value with %v", v)
	}
}

func TestGetValidRemovesStaleEntries(t *testing.T) {
	c := New[string, int](3)
	c.Put("a", 1)
	c.Put("b", 2)
	fresh := func(v int) bool { return v > 1 }
	if v, ok := c.GetValid("b", fresh); !ok || v != 2 {
		t.Errorf("GetValid of a valid entry = %v, %v; want 2, true", v, ok)
	}
	if _, ok := c.GetValid("a", fresh); ok {
		t.Error("GetValid returned a value its test refused")
	}
	if got := keys(t, c); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after GetValid refused a: %v, want [b]", got)
	}
	if _, ok := c.GetValid("zz", fresh); ok {
		t.Error("GetValid hit a missing key")
	}
}

func TestSizeBelowOne(t *testing.T) {
	c := New[int, int](0)
	c.Put(1, 1)
	c.Put(2, 2)
	if got := keys(t, c); !slices.Equal(got, []int{2}) {
		t.Errorf("a cache of size 0 holds %v, want the last entry only", got)
	}
}

func TestClear(t *testing.T) {
	c := New[int, int](4)
	for i := range 4 {
		c.Put(i, i)
	}
	c.Clear()
	if c.Len() != 0 || len(keys(t, c)) != 0 {
		t.Fatalf("Clear left %d entries", c.Len())
	}
	c.Put(9, 9) // the emptied cache is usable
	if got := keys(t, c); !slices.Equal(got, []int{9}) {
		t.Errorf("after Clear and Put: %v", got)
	}
}

// TestAgainstModel runs random operations on a Cache and on a plain slice
// kept in recency order, and compares every answer and the final order.
func TestAgainstModel(t *testing.T) {
	const size = 5
	rng := rand.New(rand.NewPCG(1, 2))
	c := New[int, int](size)
	type kv struct{ k, v int }
	var model []kv // most recently used first
	find := func(k int) int {
		return slices.IndexFunc(model, func(e kv) bool { return e.k == k })
	}
	toFront := func(i int) {
		e := model[i]
		model = slices.Insert(slices.Delete(model, i, i+1), 0, e)
	}
	for step := range 5000 {
		k, v := rng.IntN(9), rng.IntN(100)
		i := find(k)
		switch op := rng.IntN(5); op {
		case 0: // Get
			got, ok := c.Get(k)
			if ok != (i >= 0) || ok && got != model[i].v {
				t.Fatalf("step %d: Get(%d) = %d, %v; model %v", step, k, got, ok, model)
			}
			if ok {
				toFront(i)
			}
		case 1: // GetValid, refusing odd values
			got, ok := c.GetValid(k, func(v int) bool { return v%2 == 0 })
			want := i >= 0 && model[i].v%2 == 0
			if ok != want || ok && got != model[i].v {
				t.Fatalf("step %d: GetValid(%d) = %d, %v; model %v", step, k, got, ok, model)
			}
			switch {
			case ok:
				toFront(i)
			case i >= 0:
				model = slices.Delete(model, i, i+1)
			}
		case 2, 3: // Put
			c.Put(k, v)
			if i >= 0 {
				model[i].v = v
				toFront(i)
			} else {
				model = slices.Insert(model, 0, kv{k, v})
			}
		case 4: // GetOrPut
			got, loaded := c.GetOrPut(k, v)
			if loaded != (i >= 0) {
				t.Fatalf("step %d: GetOrPut(%d) loaded = %v; model %v", step, k, loaded, model)
			}
			if i >= 0 {
				if got != model[i].v {
					t.Fatalf("step %d: GetOrPut(%d) = %d; model %v", step, k, got, model)
				}
				toFront(i)
			} else {
				if got != v {
					t.Fatalf("step %d: GetOrPut(%d, %d) stored %d", step, k, v, got)
				}
				model = slices.Insert(model, 0, kv{k, v})
			}
		}
		if len(model) > size {
			model = model[:size]
		}
		want := make([]int, len(model))
		for j, e := range model {
			want[j] = e.k
		}
		if got := keys(t, c); !slices.Equal(got, want) {
			t.Fatalf("step %d: order %v, model %v", step, got, want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	c := New[string, int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint((g*1000 + i) % 100)
				switch i % 4 {
				case 0:
					c.Put(k, i)
				case 1:
					c.GetOrPut(k, i)
				case 2:
					c.GetValid(k, func(v int) bool { return v%3 != 0 })
				default:
					c.Get(k)
				}
			}
		})
	}
	wg.Wait()
	if n := len(keys(t, c)); n > 64 {
		t.Errorf("%d entries exceed the maximum 64", n)
	}
}

func BenchmarkGet(b *testing.B) {
	c := New[string, int](10000)
	c.Put("key", 1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("key")
		}
	})
}
