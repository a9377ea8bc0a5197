package kmsenc

import (
	"database/sql/driver"
	"testing"
)

// TestAsInt covers the forms in which drivers report a column's length:
// pgx int64, go-sql-driver/mysql uint64 (unsigned columns) or bytes.
func TestAsInt(t *testing.T) {
	cases := []struct {
		in   driver.Value
		want int64
		ok   bool
	}{
		{int64(40), 40, true},
		{uint64(65535), 65535, true},
		{uint64(1 << 63), 1 << 62, true},
		{[]byte("40"), 40, true},
		{"7", 7, true},
		{nil, 0, false},
		{[]byte("x"), 0, false},
	}
	for _, c := range cases {
		if n, ok := asInt(c.in); n != c.want || ok != c.ok {
			t.Errorf("asInt(%#v) = %d, %v; want %d, %v", c.in, n, ok, c.want, c.ok)
		}
	}
}

func TestIsDefault(t *testing.T) {
	for v, want := range map[any]bool{nil: false, "NULL": false, "NULL::text": false, "''": true, "'x'::text": true, "0": true} {
		if got := isDefault(v); got != want {
			t.Errorf("isDefault(%#v) = %v, want %v", v, got, want)
		}
	}
}
