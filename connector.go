package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/internal/dialect"
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// Connector opens kmsenc connections over a base driver's connector. It
// holds everything shared by the connections of one *sql.DB: the schema, the
// plan cache, the keyrings with their data-key caches, and what was learned
// about the tables. Use it with sql.OpenDB; close it (sql.DB.Close does) to
// release the key management clients.
type Connector struct {
	base     driver.Connector
	drv      driver.Driver
	dialect  *dialect.Dialect
	cfg      *Config
	opts     options
	rewriter rewrite.Rewriter
	// keyrings by table; tables without their own key share one keyring.
	keyrings map[*schema.Table]*envelope.Keyring

	tablesMu sync.Mutex
	tables   map[*schema.Table]*tableInfo

	openMu      sync.Mutex // the check of the schema file at open (opencheck.go)
	openChecked bool
	openErr     error
	catalog     catalogState // objects over encrypted tables (catalog.go)
}

var (
	_ driver.Connector = (*Connector)(nil)
	_ io.Closer        = (*Connector)(nil)
)

// NewConnector returns a Connector that encrypts the tables of cfg over the
// base connector of the given dialect. It is for the dialect packages, which
// alone can name a dialect: applications call postgres.NewConnector(base,
// cfg, opts...) or mysql.NewConnector.
func NewConnector(base driver.Connector, d *dialect.Dialect, cfg *Config, opts ...Option) (*Connector, error) {
	if base == nil || d == nil || cfg == nil {
		return nil, fmt.Errorf("%w: NewConnector needs a base connector, a dialect and a config", ErrConfig)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Connector{
		base:     base,
		dialect:  d,
		cfg:      cfg,
		opts:     o,
		rewriter: rewrite.NewCache(d.NewRewriter(cfg), o.planCacheSize),
		keyrings: make(map[*schema.Table]*envelope.Keyring),
		tables:   make(map[*schema.Table]*tableInfo),
	}
	if err := c.openKeyrings(context.Background()); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openKeyrings opens one keyring per distinct master key of the schema. A
// key URL that can't be opened is a problem of the schema file at its line;
// all of them are reported together, as a *ConfigError.
func (c *Connector) openKeyrings(ctx context.Context) error {
	opened := make(map[string]providers.Provider) // by URL
	var problems []*schema.FieldError
	open := func(keyURL, field string) providers.Provider {
		if p, ok := opened[keyURL]; ok {
			return p
		}
		p, ok := c.opts.providers[keyURL]
		if !ok {
			var err error
			if p, err = providers.Open(ctx, keyURL); err != nil {
				// The message of providers.Open names the scheme, never the
				// URL, which may hold a key.
				fe := c.problem(field, "can't open the master key: %s", strings.TrimPrefix(err.Error(), "providers: "))
				fe.Err = err
				problems = append(problems, fe)
				return nil
			}
		}
		opened[keyURL] = p
		return p
	}
	byKey := make(map[string]*envelope.Keyring)
	failed := make(map[string]bool) // key identities already reported
	used := make(map[string]bool)   // URLs of the providers a keyring owns
	for _, name := range c.cfg.TableNames() {
		t := c.cfg.Table(name)
		key, path := c.cfg.Key, "key"
		if t.Key != nil {
			key, path = *t.Key, "tables."+t.Name+".key"
		}
		id := keyIdentity(key)
		if kr, ok := byKey[id]; ok {
			c.keyrings[t] = kr
			continue
		}
		if failed[id] {
			continue
		}
		cur := open(key.URL, path+".url")
		prev := make(map[int]providers.Provider, len(key.Previous))
		for _, v := range slices.Sorted(maps.Keys(key.Previous)) {
			prev[v] = open(key.Previous[v], fmt.Sprintf("%s.previous_versions.%d", path, v))
		}
		if cur == nil || slices.Contains(slices.Collect(maps.Values(prev)), nil) {
			failed[id] = true
			continue
		}
		var observe func(context.Context, envelope.Event)
		if len(c.opts.hooks) > 0 { // events cost a context copy per call
			observe = c.observe
		}
		kr, err := envelope.NewKeyring(envelope.KeyringConfig{
			Current:        cur,
			Version:        key.Version,
			Previous:       prev,
			CacheTTL:       c.cfg.Cache.TTL,
			CacheMaxKeys:   c.cfg.Cache.MaxKeys,
			MaxConcurrency: c.opts.maxConcurrency,
			Observe:        observe,
		})
		if err != nil {
			return wrapErr(err, "table %s", t.Name)
		}
		byKey[id] = kr
		c.keyrings[t] = kr
		used[key.URL] = true
		for _, u := range key.Previous {
			used[u] = true
		}
	}
	for u, p := range opened {
		if len(problems) > 0 && !used[u] {
			p.Close() // no keyring owns it, and NewConnector fails
		}
	}
	return newConfigError("the schema file's master keys can't be opened", problems)
}

func keyIdentity(k schema.Key) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\x00%s", k.Version, k.URL)
	for v, u := range k.Previous {
		fmt.Fprintf(&b, "\x00%d=%s", v, u)
	}
	return b.String()
}

// observe turns the keyrings' events into Events for the hooks.
func (c *Connector) observe(ctx context.Context, e envelope.Event) {
	if len(c.opts.hooks) == 0 {
		return
	}
	kind := EventUnwrap
	switch e.Op {
	case "wrap":
		kind = EventWrap
	case "rewrap":
		kind = EventRewrap
	}
	c.emit(ctx, Event{
		Kind:     kind,
		Provider: e.Provider,
		KeyURL:   e.KeyURL,
		Version:  e.Version,
		Context:  e.Context,
		Batch:    e.Batch,
		Duration: e.Duration,
		Err:      e.Err,
	})
}

func (c *Connector) emit(ctx context.Context, e Event) {
	for _, h := range c.opts.hooks {
		h.Event(ctx, e)
	}
}

// Connect opens a base connection and wraps it.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	bc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cn := &conn{c: c, base: bc}
	err = cn.checkSession(ctx)
	if err == nil && c.dialect.CheckConn != nil {
		err = c.dialect.CheckConn(bc)
	}
	if err != nil {
		bc.Close()
		return nil, err
	}
	if err := c.checkOpen(ctx, cn); err != nil {
		bc.Close()
		return nil, err
	}
	if err := c.readDependents(ctx, cn); err != nil {
		bc.Close()
		return nil, err
	}
	return cn, nil
}

// Driver returns the kmsenc driver of the connector's dialect.
func (c *Connector) Driver() driver.Driver {
	if c.drv != nil {
		return c.drv
	}
	return &sqlDriver{dialect: c.dialect}
}

// Close releases the key management clients (the keyrings close their
// providers, including those given with WithProvider) and, if it has a Close
// method, the base connector.
func (c *Connector) Close() error {
	var errs []error
	closed := make(map[*envelope.Keyring]bool)
	for _, kr := range c.keyrings {
		if !closed[kr] {
			closed[kr] = true
			errs = append(errs, kr.Close())
		}
	}
	if cl, ok := c.base.(io.Closer); ok {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

// keyring returns the keyring of a declared table.
func (c *Connector) keyring(t *schema.Table) (*envelope.Keyring, error) {
	kr, ok := c.keyrings[t]
	if !ok {
		return nil, fmt.Errorf("%w: no master key for table %s", ErrConfig, t.Name)
	}
	return kr, nil
}

// Config returns the connector's schema.
func (c *Connector) Config() *Config { return c.cfg }

// PurgeKeyCache drops every cached data key, so that the next read of each
// row goes to the key management service. After revoking Decrypt there, call
// it to make the revocation take effect at once rather than within the
// cache TTL.
func (c *Connector) PurgeKeyCache() {
	for _, kr := range c.keyrings {
		kr.PurgeCache()
	}
}
