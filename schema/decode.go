package schema

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder turns the YAML node tree of a schema file into a Config. It works
// on yaml.Node rather than struct tags so that every error can name the line
// it comes from. It records errors and keeps going, so that Parse can report
// the first mistake in file order rather than the first one it met.
type decoder struct {
	file string
	errs []*FieldError
	pos  positions
}

// positions maps a field path ("tables.users.key_column") to the line where
// the file sets it. Validate uses it to put line numbers on the errors it
// finds in a Config; a path the file doesn't set (a default) has no line.
type positions map[string]int

// line returns the line of path, or 0.
func (p positions) line(path string) int { return p[path] }

// has reports whether the file sets path.
func (p positions) has(path string) bool { _, ok := p[path]; return ok }

// failf records an error at line for the field path.
func (d *decoder) failf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// join appends name to the field path parent.
func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// resolve follows an alias (*name) to the node it stands for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is YAML null: "~", "null" or nothing at all.
func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names the kind of n for a "want X, got Y" message. It never
// includes n's value, which may be a secret.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		}
		return "a string"
	}
	return "something else"
}

// field is one known field of a YAML mapping and what to do with its value.
type field struct {
	name   string
	decode func(key, val *yaml.Node)
}

// object decodes the mapping n at path, handing each known field to its
// decoder and reporting unknown ones; want describes what belongs there, for
// the message if n is not a mapping.
func (d *decoder) object(n *yaml.Node, path, want string, fields []field) {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	d.entries(n, path, want, func(k, v *yaml.Node) {
		for _, f := range fields {
			if k.Value == f.name {
				d.pos[join(path, f.name)] = k.Line
				f.decode(k, v)
				return
			}
		}
		msg := fmt.Sprintf("unknown field %q", k.Value)
		if s := suggest(k.Value, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		d.failf(k.Line, join(path, k.Value), "%s (fields here: %s)", msg, strings.Join(names, ", "))
	})
}

// entries calls fn for each entry of the mapping n, in file order. It reports
// and skips duplicate keys (YAML forbids them, but the node API lets them
// through, and the later one would silently win) and merge keys. If n is
// not a mapping it reports that, with want describing what belongs there.
func (d *decoder) entries(n *yaml.Node, path, want string, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.failf(n.Line, path, "want %s, got %s", want, describe(n))
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.failf(k.Line, path, "a key here is %s; want a name", describe(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.failf(k.Line, path, "merge keys (<<) are not supported; write the fields out, or use an alias (*name) for a whole value")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.failf(k.Line, join(path, k.Value), "set twice (first at line %d); keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// str returns the scalar n as a string with ${VAR} expanded. Numbers and
// booleans come back as written. It reports null, lists and mappings, and
// returns false.
func (d *decoder) str(n *yaml.Node, path, want string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.failf(n.Line, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	s, err := expandEnv(n.Value)
	if err != nil {
		d.failf(n.Line, path, "%v", err)
		return "", false
	}
	return s, true
}

// int returns the scalar n as an int. The text is parsed rather than the YAML
// tag trusted, so that "${VERSION}" works.
func (d *decoder) int(n *yaml.Node, path, want string) (int, bool) {
	s, ok := d.str(n, path, want)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		d.failf(resolve(n).Line, path, "%q is not a whole number; want %s", s, want)
		return 0, false
	}
	return v, true
}

// name returns a mapping key as a name, reporting an empty one.
func (d *decoder) name(k *yaml.Node, path, what string) (string, bool) {
	if strings.TrimSpace(k.Value) == "" {
		d.failf(k.Line, path, "empty %s name; write the %s's name", what, what)
		return "", false
	}
	return k.Value, true
}
