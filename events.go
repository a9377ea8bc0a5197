package kmsenc

import (
	"context"
	"log/slog"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventWrap: a new data key was wrapped by the key management service.
	EventWrap EventKind = iota + 1
	// EventUnwrap: a wrapped data key was sent to the key management service
	// to be unwrapped (cache hits make no event: the KMS saw no call).
	EventUnwrap
	// EventRefused: a statement was refused with ErrUnsupportedStatement.
	EventRefused
	// EventRewrap: the key management service re-encrypted a wrapped key
	// under the current version of the same key (rotation), without
	// returning the data key.
	EventRewrap
)

func (k EventKind) String() string {
	switch k {
	case EventWrap:
		return "wrap"
	case EventUnwrap:
		return "unwrap"
	case EventRefused:
		return "refused"
	case EventRewrap:
		return "rewrap"
	}
	return "unknown"
}

// Event reports one call to the key management service, or one refused
// statement. It never holds a data key or a plaintext value: Context holds
// only the encryption context (table name and the configured columns).
type Event struct {
	Kind     EventKind
	Provider string            // key URL scheme: "awskms", "base64key", ...
	KeyURL   string            // with secrets removed
	Version  int               // master key version
	Context  map[string]string // encryption context
	Batch    int               // keys in one provider call
	Duration time.Duration
	Err      error // the call's error, or for EventRefused the refusal
}

// Hook receives events. It is called synchronously, but not always on the
// statement's goroutine: the keys of a multi-row INSERT or a read-ahead
// window are wrapped and unwrapped concurrently. It must be fast and safe
// for concurrent use.
type Hook interface {
	Event(ctx context.Context, e Event)
}

// HookFunc adapts a function to Hook.
type HookFunc func(ctx context.Context, e Event)

// Event calls f.
func (f HookFunc) Event(ctx context.Context, e Event) { f(ctx, e) }

// SlogHook returns a Hook that logs each event to l: KMS calls at Debug,
// failures and refusals at Warn.
func SlogHook(l *slog.Logger) Hook {
	return HookFunc(func(ctx context.Context, e Event) {
		level := slog.LevelDebug
		if e.Err != nil {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{slog.String("event", e.Kind.String())}
		if e.Kind != EventRefused {
			ctxAttrs := make([]any, 0, len(e.Context))
			for k, v := range e.Context {
				ctxAttrs = append(ctxAttrs, slog.String(k, v))
			}
			attrs = append(attrs,
				slog.String("provider", e.Provider),
				slog.String("key_url", e.KeyURL),
				slog.Int("version", e.Version),
				slog.Group("context", ctxAttrs...),
				slog.Int("batch", e.Batch),
				slog.Duration("duration", e.Duration))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		l.LogAttrs(ctx, level, "kmsenc", attrs...)
	})
}
