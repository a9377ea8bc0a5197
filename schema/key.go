package schema

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// URLFor returns the URL of the master key with the given version: the
// current one or one of Previous. ok is false for a version the file doesn't
// list, which a row's "v<N>:" prefix may name after a key was dropped.
func (k Key) URLFor(version int) (url string, ok bool) {
	if version == k.Version {
		return k.URL, k.URL != ""
	}
	url, ok = k.Previous[version]
	return url, ok
}

// KeyFor returns the master key of table t: its own key if the file gives it
// one, else the top-level key.
func (c *Config) KeyFor(t *Table) Key {
	switch {
	case t != nil && t.Key != nil:
		return *t.Key
	case c == nil:
		return Key{}
	}
	return c.Key
}

const (
	wantURL     = "a key URL such as awskms://alias/app?region=us-east-1"
	wantVersion = "a whole number >= 1"
)

// key decodes a key: mapping (top level or per table) into k. The URL is a
// secret for error purposes: nothing here echoes it.
func (d *decoder) key(n *yaml.Node, path string, k *Key) {
	k.Version = 1
	d.object(n, path, "a mapping with url: (and optionally version: and previous_versions:)", []field{
		{"url", func(_, v *yaml.Node) { k.URL, _ = d.str(v, join(path, "url"), wantURL) }},
		{"version", func(_, v *yaml.Node) {
			if ver, ok := d.int(v, join(path, "version"), wantVersion); ok {
				k.Version = ver
			}
		}},
		{"previous_versions", func(_, v *yaml.Node) { k.Previous = d.previous(v, join(path, "previous_versions")) }},
	})
}

// previous decodes previous_versions: a mapping from version to key URL.
func (d *decoder) previous(n *yaml.Node, path string) map[int]string {
	prev := map[int]string{}
	seen := map[int]int{} // version -> line, to catch 1: and 01:
	d.entries(n, path, "a mapping from version to key URL, e.g. 1: awskms://alias/old", func(k, v *yaml.Node) {
		ver, err := strconv.Atoi(strings.TrimSpace(k.Value))
		if err != nil {
			d.failf(k.Line, join(path, k.Value), "%q is not a version; want a whole number >= 1 as the key, e.g. 1: awskms://alias/old", k.Value)
			return
		}
		vpath := join(path, strconv.Itoa(ver))
		if first, dup := seen[ver]; dup {
			d.failf(k.Line, vpath, "version %d is listed twice (first at line %d); keep one", ver, first)
			return
		}
		seen[ver] = k.Line
		d.pos[vpath] = k.Line
		if url, ok := d.str(v, vpath, wantURL); ok {
			prev[ver] = url
		}
	})
	return prev
}

// cache decodes the cache: mapping into c, which holds the defaults.
func (d *decoder) cache(n *yaml.Node, path string, c *Cache) {
	d.object(n, path, "a mapping with ttl: and max_keys:", []field{
		{"ttl", func(_, v *yaml.Node) {
			p := join(path, "ttl")
			s, ok := d.str(v, p, "a duration such as 60s or 5m, or 0 to turn the cache off")
			if !ok {
				return
			}
			ttl, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				d.failf(resolve(v).Line, p, "%q is not a duration; want a number with a unit, such as 60s or 5m, or 0 to turn the cache off", s)
				return
			}
			c.TTL = ttl
		}},
		{"max_keys", func(_, v *yaml.Node) {
			if m, ok := d.int(v, join(path, "max_keys"), "a whole number >= 1"); ok {
				c.MaxKeys = m
			}
		}},
	})
}

// validateKey checks the rules of one master key. The URL's value is never
// part of a message: it may hold the key itself.
func validateKey(k Key, path string, pos positions, fail func(line int, path, format string, args ...any)) {
	urlPath := join(path, "url")
	switch {
	case !pos.has(urlPath) && k.URL == "":
		fail(pos.line(path), urlPath, "missing; want %s (the master key that wraps new data keys)", wantURL)
	default:
		if msg := checkURL(k.URL); msg != "" {
			fail(pos.line(urlPath), urlPath, "%s", msg)
		}
	}
	if k.Version < 1 {
		fail(pos.line(join(path, "version")), join(path, "version"), "%d is not a valid version; want %s", k.Version, wantVersion)
	}
	for _, ver := range sortedVersions(k.Previous) {
		p := join(join(path, "previous_versions"), strconv.Itoa(ver))
		switch {
		case ver < 1:
			fail(pos.line(p), p, "%d is not a valid version; want %s", ver, wantVersion)
		case ver >= k.Version:
			fail(pos.line(p), p, "version %d is not older than %s.version (%d); previous_versions lists only older versions: raise %s.version or remove this entry", ver, path, k.Version, path)
		}
		if msg := checkURL(k.Previous[ver]); msg != "" {
			fail(pos.line(p), p, "%s", msg)
		}
	}
}

// checkURL returns what is wrong with a key URL, or "". It checks the form
// only; whether a provider for the scheme is linked in is the driver's
// concern. The message never quotes the URL.
func checkURL(u string) string {
	if strings.TrimSpace(u) == "" {
		return "empty; want " + wantURL + " (if it comes from ${VAR}, the variable is empty)"
	}
	scheme, _, ok := strings.Cut(u, "://")
	if !ok || scheme == "" || !isScheme(scheme) {
		return "not a key URL; want <scheme>://..., e.g. awskms://alias/app?region=us-east-1, gcpkms://projects/..., hashivault://key or base64key://${KMSENC_DEV_KEY}"
	}
	return ""
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// sortedVersions returns the keys of m in increasing order, for errors in a
// stable order.
func sortedVersions(m map[int]string) []int {
	return slices.Sorted(maps.Keys(m))
}
