package rewrite

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

type countingRewriter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *countingRewriter) Rewrite(sql string) (*Plan, error) {
	r.mu.Lock()
	r.calls[sql]++
	r.mu.Unlock()
	if sql == "refuse" {
		return nil, Refuse("", "no")
	}
	return &Plan{SQL: sql}, nil
}

func TestCacheRemembersPlansAndRefusals(t *testing.T) {
	inner := &countingRewriter{calls: map[string]int{}}
	c := NewCache(inner, 2)
	for i := 0; i < 3; i++ {
		if p, err := c.Rewrite("a"); err != nil || p.SQL != "a" {
			t.Fatalf("a: %v %v", p, err)
		}
		if _, err := c.Rewrite("refuse"); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("refuse: %v", err)
		}
	}
	if inner.calls["a"] != 1 || inner.calls["refuse"] != 1 {
		t.Errorf("planned %v times, want once each", inner.calls)
	}
	// "b" evicts the least recently used entry, "a".
	c.Rewrite("b")
	c.Rewrite("a")
	if inner.calls["a"] != 2 {
		t.Errorf("a planned %d times after eviction, want 2", inner.calls["a"])
	}
}

func TestCacheConcurrent(t *testing.T) {
	inner := &countingRewriter{calls: map[string]int{}}
	c := NewCache(inner, 8)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				sql := fmt.Sprint(i % 10)
				if p, err := c.Rewrite(sql); err != nil || p.SQL != sql {
					t.Errorf("%s: %v %v", sql, p, err)
				}
			}
		}(g)
	}
	wg.Wait()
}
