package kmsenc

import (
	"fmt"

	"github.com/kmsenc/kmsenc/providers"
)

// Option configures a Connector.
type Option func(*options) error

type options struct {
	hooks          []Hook
	window         int
	maxConcurrency int
	planCacheSize  int
	providers      map[string]providers.Provider // key URL -> provider, instead of opening it
}

func defaultOptions() options {
	return options{window: 256, maxConcurrency: 16, planCacheSize: 1024}
}

// WithHook adds a hook that receives an Event for every wrap, unwrap and
// refused statement.
func WithHook(h Hook) Option {
	return func(o *options) error {
		if h == nil {
			return fmt.Errorf("%w: WithHook: nil hook", ErrConfig)
		}
		o.hooks = append(o.hooks, h)
		return nil
	}
}

// WithReadAhead sets how many rows a result reads ahead to unwrap their keys
// together (default 256). Memory stays bounded by this many rows.
func WithReadAhead(rows int) Option {
	return func(o *options) error {
		if rows < 1 {
			return fmt.Errorf("%w: WithReadAhead: %d rows (want at least 1)", ErrConfig, rows)
		}
		o.window = rows
		return nil
	}
}

// WithMaxConcurrency bounds the concurrent calls to the key management
// service made by one statement (default 16).
func WithMaxConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxConcurrency: %d (want at least 1)", ErrConfig, n)
		}
		o.maxConcurrency = n
		return nil
	}
}

// WithPlanCacheSize bounds the number of statement plans kept (default 1024).
func WithPlanCacheSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: WithPlanCacheSize: %d (want at least 1)", ErrConfig, n)
		}
		o.planCacheSize = n
		return nil
	}
}

// WithProvider uses p for the master key whose URL in the schema file is
// keyURL, instead of opening that URL. Tests use it to count or refuse calls;
// applications to pass a provider built with their own SDK client. The
// connector closes it when it is closed.
func WithProvider(keyURL string, p providers.Provider) Option {
	return func(o *options) error {
		if p == nil {
			return fmt.Errorf("%w: WithProvider(%q): nil provider", ErrConfig, keyURL)
		}
		if o.providers == nil {
			o.providers = make(map[string]providers.Provider)
		}
		o.providers[keyURL] = p
		return nil
	}
}
