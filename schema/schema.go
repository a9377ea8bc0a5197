// Package schema holds kmsenc's schema file: which tables have encrypted
// columns, their plaintext types, the key column, the primary key and the
// encryption context of each table, and the master key that wraps data keys.
// [Load] and [Parse] read the file (ARCHITECTURE.md §4.2); each of their errors is a
// [*FieldError] that names the file, line and field, and matches [ErrConfig].
//
// Names are matched case-insensitively: PostgreSQL folds unquoted identifiers
// to lower case and MySQL compares column names without case, so a lookup that
// ignores case can only find more, never less, and kmsenc errs on the side of
// treating a name as encrypted.
package schema

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrConfig is the error every schema file problem matches with errors.Is.
var ErrConfig = errors.New("kmsenc: configuration error")

// Type is the plaintext type of an encrypted column. It is kmsenc's one
// enum of plaintext types: package envelope's codec encodes and decodes by
// it, and the dialects name SQL types by it. It lives here, in the package
// that imports nothing of kmsenc's, so that every layer can use it.
type Type string

// The plaintext types. A decrypted value comes back as the Go type a plain
// driver returns for the matching SQL type.
const (
	Text      Type = "text"      // string
	Bytes     Type = "bytes"     // []byte
	Int       Type = "int"       // int64
	Float     Type = "float"     // float64
	Bool      Type = "bool"      // bool
	Date      Type = "date"      // time.Time (UTC midnight)
	Timestamp Type = "timestamp" // time.Time
	JSON      Type = "json"      // []byte
)

// Types lists every valid Type, in the order the docs give them.
var Types = []Type{Text, Bytes, Int, Float, Bool, Date, Timestamp, JSON}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, v := range Types {
		if t == v {
			return true
		}
	}
	return false
}

// Defaults of the schema file.
const (
	DefaultKeyColumn = "encrypted_kms_key"
	DefaultCacheTTL  = 60 * time.Second
	DefaultMaxKeys   = 10000
)

// Config is a loaded, validated schema file.
type Config struct {
	File   string // path the config was loaded from ("" when parsed from bytes)
	Key    Key
	Cache  Cache
	Tables map[string]*Table // by lower-case table name
	// Reviewed names server-side objects (routines, triggers, rules,
	// views) found over encrypted tables that the file's author has checked
	// and that kmsenc must not refuse statements for (catalog.go).
	Reviewed []string

	// refused: names found in the database at open, lower case, with why
	// statements naming them are refused (WithRefused).
	refused map[string]string

	touchOnce sync.Once
	touch     map[string]bool // lower-case names that Touches reports

	pos positions // the line of each field the file sets; nil when built in Go
}

// Key names a master key: the URL that wraps new data keys, its version, and
// the URLs of earlier versions that still unwrap older rows.
type Key struct {
	URL      string
	Version  int            // written as the "v<N>:" prefix; default 1
	Previous map[int]string // version -> URL
}

// Cache configures the data-key cache.
type Cache struct {
	TTL     time.Duration // 0 turns the cache off
	MaxKeys int
}

// Table is one table with encrypted columns.
type Table struct {
	Name       string   // as written in the file
	KeyColumn  string   // default DefaultKeyColumn
	PrimaryKey []string // default [id]
	Context    []ContextEntry
	Columns    map[string]*Column // by lower-case column name
	Key        *Key               // per-table master key, or nil for Config.Key
	// ViewOf: this is a view of the declared table named here. Its values
	// were sealed as that table's, so their associated data and the
	// default context name that table (catalog.go).
	ViewOf string
}

// ContextEntry is one entry of a table's encryption context. Exactly one of
// Value and Column is set: a fixed string, or the name of a column of the row
// whose value becomes the entry ("$id" in the file).
type ContextEntry struct {
	Name   string
	Value  string
	Column string
}

// Column is one encrypted column.
type Column struct {
	Table string // the table's name as written in the file
	Name  string // as written in the file
	Type  Type
}

// AssociatedData is the AES-GCM associated data of the column's values,
// "<table>.<column>", so that a value can't be moved to another column.
func (c *Column) AssociatedData() string { return c.Table + "." + c.Name }

// Line returns the line of the schema file that sets field, a dotted path
// such as "tables.users.columns.email" or "tables.users.context.id" (names
// as written in the file), or 0 if the file doesn't set it (a default, or a
// Config built in Go). Errors found outside this package, such as the
// check of the file against the database, use it to name the line.
func (c *Config) Line(field string) int {
	if c == nil {
		return 0
	}
	return c.pos.line(field)
}

// Table returns the table named name (any case), or nil.
func (c *Config) Table(name string) *Table {
	if c == nil {
		return nil
	}
	return c.Tables[strings.ToLower(name)]
}

// TableNames returns the declared table names, sorted.
func (c *Config) TableNames() []string {
	if c == nil {
		return nil
	}
	names := make([]string, 0, len(c.Tables))
	for _, t := range c.Tables {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

// Column returns the encrypted column named name (any case), or nil.
func (t *Table) Column(name string) *Column {
	if t == nil {
		return nil
	}
	return t.Columns[strings.ToLower(name)]
}

// ColumnNames returns the names of the encrypted columns, sorted.
func (t *Table) ColumnNames() []string {
	names := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

// IsKeyColumn reports whether name (any case) is the table's key column.
func (t *Table) IsKeyColumn(name string) bool { return strings.EqualFold(name, t.KeyColumn) }

// IsPrimaryKey reports whether name (any case) is part of the primary key.
func (t *Table) IsPrimaryKey(name string) bool {
	for _, pk := range t.PrimaryKey {
		if strings.EqualFold(pk, name) {
			return true
		}
	}
	return false
}

// ContextColumns returns the columns whose values are part of the encryption
// context, in the order of Context (which is sorted by entry name).
func (t *Table) ContextColumns() []string {
	var cols []string
	for _, e := range t.Context {
		if e.Column != "" {
			cols = append(cols, e.Column)
		}
	}
	return cols
}

// IsContextColumn reports whether name (any case) is a context column.
func (t *Table) IsContextColumn(name string) bool {
	for _, e := range t.Context {
		if e.Column != "" && strings.EqualFold(e.Column, name) {
			return true
		}
	}
	return false
}

// Touches reports whether the identifier name (any case) names a declared
// table, an encrypted column or a key column of any declared table. It is the
// conservative test of ARCHITECTURE.md §5: a statement with such an identifier must be
// fully understood or refused.
func (c *Config) Touches(name string) bool {
	if c == nil {
		return false
	}
	c.touchOnce.Do(func() {
		c.touch = make(map[string]bool)
		for lower, t := range c.Tables {
			c.touch[lower] = true
			c.touch[strings.ToLower(t.KeyColumn)] = true
			for col := range t.Columns {
				c.touch[col] = true
			}
		}
	})
	return c.touch[strings.ToLower(name)]
}
