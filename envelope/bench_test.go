package envelope

import (
	"context"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc/schema"
)

func BenchmarkSeal(b *testing.B) {
	dk := mustDataKey(b)
	value := make([]byte, 32)
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		dk.Seal("users.email", value)
	}
}

func BenchmarkOpen(b *testing.B) {
	dk := mustDataKey(b)
	sealed := dk.Seal("users.email", make([]byte, 32))
	b.SetBytes(32)
	for b.Loop() {
		if _, err := dk.Open("users.email", sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrapLocal(b *testing.B) {
	k := newKeyring(b, KeyringConfig{Current: newLocal(b), Version: 1})
	ctx := context.Background()
	ec := Context{"table": "users", "id": "123"}
	for b.Loop() {
		if _, _, err := k.Wrap(ctx, ec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapCached(b *testing.B) {
	k := newKeyring(b, KeyringConfig{Current: newLocal(b), Version: 1, CacheTTL: time.Hour})
	ctx := context.Background()
	ec := Context{"table": "users", "id": "123"}
	_, wrapped, err := k.Wrap(ctx, ec)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := k.Unwrap(ctx, wrapped, ec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecodeTimestamp(b *testing.B) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	for b.Loop() {
		enc, _ := Encode(schema.Timestamp, ts)
		if _, err := Decode(schema.Timestamp, enc); err != nil {
			b.Fatal(err)
		}
	}
}
