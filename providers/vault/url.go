package vault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/kmsenc/kmsenc/providers"
)

// open is the [providers.Opener] of hashivault:// URLs. It builds a Vault
// client as the Vault CLI does (api.DefaultConfig reads VAULT_ADDR,
// VAULT_CACERT and the other VAULT_* settings; api.NewClient reads
// VAULT_TOKEN and VAULT_NAMESPACE), without the client's retries. It makes
// no request.
func open(_ context.Context, u *url.URL) (providers.Provider, error) {
	key, err := parseKeyName(u)
	if err != nil {
		return nil, err
	}
	mount, err := parseMount(u)
	if err != nil {
		return nil, err
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: reading the Vault client's settings from the environment (VAULT_*): %w", cfg.Error)
	}
	cfg.MaxRetries = 0
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: making the Vault client from the environment (VAULT_ADDR, VAULT_TOKEN, ...): %w", err)
	}
	p := New(client, key, WithMount(mount))
	p.close = cfg.HttpClient.CloseIdleConnections
	return p, nil
}

// parseKeyName reads the Transit key's name from the host and path
// (hashivault://app, hashivault:///app).
func parseKeyName(u *url.URL) (string, error) {
	if u.Opaque != "" {
		return "", errors.New("vault: a key URL starts with hashivault:// (hashivault://<key name>?mount=transit)")
	}
	if u.User != nil {
		return "", errors.New("vault: a hashivault:// URL holds no token; the Vault client reads it from VAULT_TOKEN")
	}
	key := strings.Trim(path.Join(u.Host, u.Path), "/")
	switch {
	case key == "" || key == ".":
		return "", errors.New("vault: the key URL names no Transit key; use hashivault://<key name>, e.g. hashivault://app?mount=transit")
	case strings.Contains(key, "/"):
		return "", fmt.Errorf("vault: %q is not a Transit key name (a name has no '/'); put the engine's path in the mount parameter, e.g. hashivault://app?mount=secrets/transit", key)
	case !validKeyName(key):
		return "", fmt.Errorf("vault: %q is not a Transit key name: use letters, digits, '_', '-' and '.', starting and ending with a letter, digit or '_'", key)
	}
	return key, nil
}

// validKeyName follows Vault's pattern for names in a path:
// \w(([\w-.]+)?\w)?
func validKeyName(name string) bool {
	word := func(c byte) bool {
		return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !word(c) && (c != '-' && c != '.' || i == 0 || i == len(name)-1) {
			return false
		}
	}
	return true
}

// parseMount reads the mount parameter, the only one.
func parseMount(u *url.URL) (string, error) {
	mount := DefaultMount
	for name, values := range u.Query() {
		if name != "mount" {
			return "", fmt.Errorf("vault: unknown parameter %q in a hashivault:// URL; the one parameter is mount (the Transit engine's path, default %s); the address and token come from VAULT_ADDR and VAULT_TOKEN", name, DefaultMount)
		}
		if len(values) != 1 || strings.Trim(values[0], "/") == "" {
			return "", errors.New("vault: the mount parameter takes one path, e.g. mount=transit")
		}
		mount = strings.Trim(values[0], "/")
	}
	for _, segment := range strings.Split(mount, "/") {
		if segment == "" || segment == "." || segment == ".." || strings.ContainsAny(segment, " ?#") {
			return "", fmt.Errorf("vault: the mount parameter %q is not a Vault mount path; use e.g. mount=transit or mount=secrets/transit", mount)
		}
	}
	return mount, nil
}
