// Package canon renders the values of encryption-context columns ("$id" in a
// schema file) as canonical text (ARCHITECTURE.md §4.4): the text kmsenc
// puts in a row's encryption context when it writes the row must be the text
// it computes from the value the database returns when the row is read, in
// whatever form the application gave the value ("000100035" for a bigint, an
// upper-case UUID). A [Rule] is made per column from its SQL type by the
// dialect package; a value it can't be sure of is refused, so that no row is
// written under a context that can never be rebuilt.
package canon

import (
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is how a column's values are compared and rendered.
type Kind int

const (
	// Integer: decimal digits, "-" for negatives, no leading zeros.
	Integer Kind = iota + 1
	// UUID: 8-4-4-4-12 lower-case hexadecimal digits.
	UUID
	// Text: the characters as the database returns them.
	Text
	// Bool: "true" or "false".
	Bool
	// Date: "YYYY-MM-DDT00:00:00Z", the form a date read as a time.Time
	// had before context values were canonical.
	Date
	// Bytes: lower-case hexadecimal, or the UUID form for 16 bytes when
	// UUIDForm is set.
	Bytes
)

// Rule is how the values of one context column become canonical text.
type Rule struct {
	Column  string // "<table>.<column>", for messages
	SQLType string // the column's type as the catalog names it, for messages
	Kind    Kind

	// Integer: the column's range.
	Min, Max *big.Int

	// Text: the length in characters of char(n) and varchar(n), 0 for
	// none. Bytes: the fixed length of binary(n), 0 for none.
	Length int64
	// Text: the database pads a shorter value with blanks to Length
	// (PostgreSQL character(n)).
	Pad bool
	// Text: the database silently drops blanks beyond Length (PostgreSQL
	// character(n) and character varying(n)); otherwise a longer value is
	// refused.
	DropOverLength bool
	// Text: the database returns the value without its trailing blanks
	// (MySQL CHAR).
	TrimTrailing bool
	// Text: the column's character set holds ASCII only for certain
	// (MySQL latin1, utf8mb3, ...: a server in a lax sql_mode would store
	// another character as '?').
	ASCIIOnly bool

	// Bytes: 16 bytes render as a UUID (MySQL binary(16)).
	UUIDForm bool

	// Date: a time.Time is accepted when written (PostgreSQL takes its date
	// where it is; go-sql-driver/mysql would first move it to the
	// connection's time zone, which kmsenc doesn't know).
	TimeInput bool

	// Exact reports whether two values the column holds are equal in the
	// database only when their canonical texts are the same (false for
	// MySQL's case-insensitive and blank-padding collations). An upsert that
	// trusts a duplicate key to carry the row's context needs it.
	Exact bool
}

// Write returns the canonical text of v, a value the application gives for
// the column (a caller's argument, before the base driver converts it, or a
// constant of the SQL text). It refuses a value whose stored form kmsenc
// can't be sure of.
func (r *Rule) Write(v any) (string, error) { return r.canonical(v, true) }

// Read returns the canonical text of v, the column's value as the database
// returned it through the base driver.
func (r *Rule) Read(v driver.Value) (string, error) { return r.canonical(v, false) }

func (r *Rule) canonical(v any, write bool) (string, error) {
	v, err := normalise(v)
	if err != nil {
		return "", r.fail("%v", err)
	}
	if v == nil {
		return "", r.fail("the value is NULL: a row's encryption context needs a value")
	}
	switch r.Kind {
	case Integer:
		return r.integer(v)
	case UUID:
		return r.uuid(v)
	case Text:
		return r.text(v, write)
	case Bool:
		return r.boolean(v)
	case Date:
		return r.date(v, write)
	case Bytes:
		return r.bytes(v, write)
	}
	return "", r.fail("kmsenc has no canonical form for it")
}

// normalise turns v into nil, string, []byte, *big.Int (every integer
// kind), float64, bool, time.Time or [16]byte, as database/sql would
// convert it (Valuers and pointers first).
func normalise(v any) (any, error) {
	if a, ok := v.([16]byte); ok {
		return a, nil
	}
	if rv := reflect.ValueOf(v); rv.IsValid() && rv.Kind() == reflect.Array && rv.Len() == 16 && rv.Type().Elem().Kind() == reflect.Uint8 {
		if _, ok := v.(driver.Valuer); !ok {
			var a [16]byte
			reflect.Copy(reflect.ValueOf(&a).Elem(), rv)
			return a, nil
		}
	}
	if rv := reflect.ValueOf(v); rv.IsValid() {
		switch rv.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if _, ok := v.(driver.Valuer); !ok {
				return new(big.Int).SetUint64(rv.Uint()), nil
			}
		}
	}
	v, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return nil, err
	}
	if n, ok := v.(int64); ok {
		return big.NewInt(n), nil
	}
	return v, nil
}

func (r *Rule) fail(format string, args ...any) error {
	return fmt.Errorf("context column %s is %s: %s", r.Column, r.SQLType, fmt.Sprintf(format, args...))
}

// describe names a value's form for messages without showing the value.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("a string of %d bytes", len(v))
	case []byte:
		return fmt.Sprintf("%d bytes", len(v))
	case *big.Int:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a bool"
	case time.Time:
		return "a time.Time"
	case [16]byte:
		return "a [16]byte"
	}
	return fmt.Sprintf("a %T", v)
}

func (r *Rule) integer(v any) (string, error) {
	var n *big.Int
	switch v := v.(type) {
	case *big.Int:
		n = v
	case string, []byte:
		s := asText(v)
		if !isInteger(s) {
			return "", r.fail("the value given (%s) is not an integer: pass an integer, or a string of decimal digits with an optional sign", describe(v))
		}
		n, _ = new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10)
	default:
		return "", r.fail("the value given (%s) is not an integer: pass an integer, or a string of decimal digits", describe(v))
	}
	if (r.Min != nil && n.Cmp(r.Min) < 0) || (r.Max != nil && n.Cmp(r.Max) > 0) {
		return "", r.fail("the value given is out of its range [%s, %s]", r.Min, r.Max)
	}
	return n.String(), nil
}

// isInteger reports whether s is an optional sign and decimal digits, which
// every dialect reads as the same integer.
func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (r *Rule) uuid(v any) (string, error) {
	switch v := v.(type) {
	case [16]byte:
		return uuidText(v[:]), nil
	case string, []byte:
		if u, ok := parseUUID(asText(v)); ok {
			return u, nil
		}
		return "", r.fail("the value given (%s) is not a UUID: pass xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (any case, optionally in braces) or 32 hexadecimal digits", describe(v))
	}
	return "", r.fail("the value given (%s) is not a UUID: pass it as a string or a [16]byte", describe(v))
}

// parseUUID reads the forms every dialect's uuid input reads: the
// hyphenated form and 32 bare hexadecimal digits, in any case, optionally in
// braces.
func parseUUID(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
	default:
		return "", false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	return uuidText(b), true
}

func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (r *Rule) text(v any, write bool) (string, error) {
	var s string
	switch v := v.(type) {
	case string, []byte:
		s = asText(v)
	default:
		return "", r.fail("the value given (%s) is not text: pass a string", describe(v))
	}
	if write {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return "", r.fail("the value given is not valid UTF-8 text without NUL characters")
		}
		if r.ASCIIOnly {
			for i := 0; i < len(s); i++ {
				if s[i] >= utf8.RuneSelf {
					return "", r.fail("the value given has non-ASCII characters, which the column's character set may not hold as given: make the column utf8mb4")
				}
			}
		}
		if r.Length > 0 && int64(utf8.RuneCountInString(s)) > r.Length {
			over := string([]rune(s)[r.Length:])
			if !r.DropOverLength || strings.Trim(over, " ") != "" {
				return "", r.fail("the value given is longer than its %d characters", r.Length)
			}
			s = string([]rune(s)[:r.Length])
		}
	}
	if r.TrimTrailing {
		s = strings.TrimRight(s, " ")
	}
	if r.Pad && r.Length > 0 {
		if n := r.Length - int64(utf8.RuneCountInString(s)); n > 0 {
			s += strings.Repeat(" ", int(n))
		}
	}
	return s, nil
}

func (r *Rule) boolean(v any) (string, error) {
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v), nil
	case string, []byte:
		switch strings.ToLower(asText(v)) {
		case "t", "true", "y", "yes", "on", "1":
			return "true", nil
		case "f", "false", "n", "no", "off", "0":
			return "false", nil
		}
	}
	return "", r.fail("the value given (%s) is not a boolean: pass a bool, or one of true, false, t, f, 1, 0", describe(v))
}

func (r *Rule) date(v any, write bool) (string, error) {
	const form = "2006-01-02"
	switch v := v.(type) {
	case time.Time:
		if !write {
			// The database's date, as the driver placed it in a zone.
			return v.Format(form) + "T00:00:00Z", nil
		}
		u := v.UTC()
		if !r.TimeInput || v.Location() != time.UTC || u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
			break
		}
		return u.Format(form) + "T00:00:00Z", nil
	case string, []byte:
		s := asText(v)
		if t, err := time.Parse(form, s); err == nil && t.Format(form) == s {
			return s + "T00:00:00Z", nil
		}
		if !write {
			// A driver that reads dates as times (parseTime).
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.Format(form) + "T00:00:00Z", nil
			}
		}
		return "", r.fail("the value given (%s) is not a date: pass YYYY-MM-DD", describe(v))
	}
	if r.TimeInput {
		return "", r.fail("the value given (%s) is not a date: pass YYYY-MM-DD, or a time.Time at midnight UTC", describe(v))
	}
	return "", r.fail("the value given (%s) is not a date: pass YYYY-MM-DD (a time.Time would be moved to the connection's time zone first)", describe(v))
}

func (r *Rule) bytes(v any, write bool) (string, error) {
	var b []byte
	switch v := v.(type) {
	case [16]byte:
		b = v[:]
	case []byte:
		b = v
	default:
		return "", r.fail("the value given (%s) is not bytes: pass a []byte", describe(v))
	}
	if write && r.Length > 0 && int64(len(b)) != r.Length {
		return "", r.fail("the value given has %d bytes, not %d (the database would pad or cut it)", len(b), r.Length)
	}
	if r.UUIDForm && len(b) == 16 {
		return uuidText(b), nil
	}
	return hex.EncodeToString(b), nil
}

func asText(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v.(string)
}
