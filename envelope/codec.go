package envelope

import (
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kmsenc/kmsenc/schema"
)

// Layouts of the encoded date and timestamp. The timestamp is RFC 3339 with
// nine fractional digits in UTC, as Lockbox writes datetimes.
const (
	dateLayout      = "2006-01-02"
	timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"
)

// Encode returns the bytes that are encrypted for v in a column of type t,
// one of [schema.Types] (ARCHITECTURE.md §4.4): text as UTF-8; bytes raw; int as 8-byte big-endian two's
// complement; float as 8-byte big-endian IEEE 754; bool as "t" or "f"; date
// as YYYY-MM-DD; timestamp as RFC 3339 with nanoseconds in UTC; json as its
// bytes.
//
// v is a driver.Value (string, []byte, int64, float64, bool, time.Time), or
// any value database/sql's default converter accepts (other int, uint and
// float kinds, driver.Valuer, pointers). Strings in the text forms of a type
// are accepted, as a plain driver would send them for the database to parse.
// nil is refused with [ErrNull]: NULL stays NULL. Errors say which type the
// column wants and what it got, never the value.
func Encode(t schema.Type, v any) ([]byte, error) {
	v, err := normalize(v)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode %s: %w", t, err)
	}
	switch t {
	case schema.Text:
		return encodeText(v)
	case schema.Bytes:
		switch v := v.(type) {
		case []byte:
			return clone(v), nil
		case string:
			return []byte(v), nil
		}
		return nil, wrongType(t, "bytes ([]byte or string)", v)
	case schema.Int:
		return encodeInt(v)
	case schema.Float:
		return encodeFloat(v)
	case schema.Bool:
		return encodeBool(v)
	case schema.Date:
		return encodeDate(v)
	case schema.Timestamp:
		return encodeTimestamp(v)
	case schema.JSON:
		var b []byte
		switch v := v.(type) {
		case []byte:
			b = clone(v)
		case string:
			b = []byte(v)
		default:
			return nil, wrongType(t, "JSON text (string or []byte)", v)
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("envelope: a json column needs valid JSON, got a %T that doesn't parse as JSON", v)
		}
		return b, nil
	}
	return nil, unknownType(t)
}

// MaxEncodedSize returns the largest number of bytes [Encode] returns for
// type t, and false for the types whose values have no bound (text, bytes,
// json).
func MaxEncodedSize(t schema.Type) (int, bool) {
	switch t {
	case schema.Int, schema.Float:
		return 8, true
	case schema.Bool:
		return 1, true
	case schema.Date:
		return len(dateLayout), true
	case schema.Timestamp:
		return len("2006-01-02T15:04:05.000000000Z"), true
	}
	return 0, false
}

// normalize turns v into one of the driver.Value types, as database/sql does.
func normalize(v any) (any, error) {
	switch v.(type) {
	case nil:
		return nil, ErrNull
	case string, []byte, int64, float64, bool, time.Time:
		return v, nil
	}
	cv, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return nil, err
	}
	if cv == nil {
		return nil, ErrNull
	}
	return cv, nil
}

func encodeText(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return clone(v), nil
	case int64:
		return strconv.AppendInt(nil, v, 10), nil
	case float64:
		return []byte(formatFloat(v)), nil
	case bool:
		// What PostgreSQL prints for boolean::text.
		return []byte(strconv.FormatBool(v)), nil
	}
	return nil, wrongType(schema.Text, "a string", v)
}

// formatFloat prints f as PostgreSQL 12+ prints a float8: the shortest
// representation that reads back exactly, in exponent form when the exponent
// is below -4 or at least 15.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 15 {
		return e
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func encodeInt(v any) ([]byte, error) {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case string, []byte:
		var err error
		n, err = strconv.ParseInt(strings.TrimSpace(asString(v)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("envelope: an int column needs an integer, got a %T that is not a 64-bit integer", v)
		}
	default:
		return nil, wrongType(schema.Int, "an integer (int64 or a decimal string)", v)
	}
	return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
}

func encodeFloat(v any) ([]byte, error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	case string, []byte:
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(asString(v)), 64)
		if err != nil {
			return nil, fmt.Errorf("envelope: a float column needs a number, got a %T that is not a number", v)
		}
	default:
		return nil, wrongType(schema.Float, "a number (float64, int64 or a numeric string)", v)
	}
	return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)), nil
}

func encodeBool(v any) ([]byte, error) {
	var b bool
	switch v := v.(type) {
	case bool:
		b = v
	case int64: // MySQL's BOOLEAN is TINYINT(1)
		if v != 0 && v != 1 {
			return nil, errors.New("envelope: a bool column needs a boolean, got an int64 that is neither 0 nor 1")
		}
		b = v == 1
	case string, []byte:
		switch strings.ToLower(strings.TrimSpace(asString(v))) {
		case "t", "true", "1":
			b = true
		case "f", "false", "0":
			b = false
		default:
			return nil, fmt.Errorf("envelope: a bool column needs a boolean, got a %T that is not t, f, true, false, 1 or 0", v)
		}
	default:
		return nil, wrongType(schema.Bool, "a boolean", v)
	}
	if b {
		return []byte{'t'}, nil
	}
	return []byte{'f'}, nil
}

func encodeDate(v any) ([]byte, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v // its date where it is: a date has no zone
	case string, []byte:
		s := strings.TrimSpace(asString(v))
		var err error
		if len(s) == len(dateLayout) {
			t, err = time.Parse(dateLayout, s)
		} else {
			t, err = parseTimestamp(s)
			if err == nil && (t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0) {
				return nil, fmt.Errorf("envelope: a date column needs a date, got a %T with a time of day other than midnight", v)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("envelope: a date column needs a date, got a %T that is not in the form YYYY-MM-DD", v)
		}
	default:
		return nil, wrongType(schema.Date, "a date (time.Time or a YYYY-MM-DD string)", v)
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("envelope: a date column holds years 0 to 9999, got year %d", y)
	}
	return t.AppendFormat(nil, dateLayout), nil
}

func encodeTimestamp(v any) ([]byte, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string, []byte:
		var err error
		t, err = parseTimestamp(strings.TrimSpace(asString(v)))
		if err != nil {
			return nil, fmt.Errorf("envelope: a timestamp column needs a time, got a %T that is not in RFC 3339 or YYYY-MM-DD hh:mm:ss[.fraction][zone] form", v)
		}
	default:
		return nil, wrongType(schema.Timestamp, "a time (time.Time or an RFC 3339 string)", v)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("envelope: a timestamp column holds years 0 to 9999, got year %d", y)
	}
	return t.AppendFormat(nil, timestampLayout), nil
}

// timestampLayouts are the string forms Encode accepts for a timestamp: RFC
// 3339 and PostgreSQL's output, with the zone as +hh:mm, +hh or none (UTC).
// Fractional seconds of any length are accepted after the seconds.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05-07",
	"2006-01-02T15:04:05-07",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

func parseTimestamp(s string) (time.Time, error) {
	var err error
	for _, layout := range timestampLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// Decode returns the value that the bytes of [Encode] stand for, as the Go
// type a plain driver returns for the column's SQL type: text string, bytes
// []byte, int int64, float float64, bool bool, date time.Time at UTC
// midnight, timestamp time.Time in UTC, json []byte. The result may alias b.
//
// Decode fails when b was not encoded as t, which happens when a column's
// type in the schema file changed after rows were written.
func Decode(t schema.Type, b []byte) (driver.Value, error) {
	switch t {
	case schema.Text:
		return string(b), nil
	case schema.Bytes, schema.JSON:
		return b, nil
	case schema.Int:
		if len(b) != 8 {
			return nil, badEncoding(t, "8 bytes", len(b))
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case schema.Float:
		if len(b) != 8 {
			return nil, badEncoding(t, "8 bytes", len(b))
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case schema.Bool:
		if len(b) == 1 && b[0] == 't' {
			return true, nil
		}
		if len(b) == 1 && b[0] == 'f' {
			return false, nil
		}
		return nil, badEncoding(t, `"t" or "f"`, len(b))
	case schema.Date:
		d, err := time.Parse(dateLayout, string(b))
		if err != nil {
			return nil, badEncoding(t, "YYYY-MM-DD", len(b))
		}
		return d, nil
	case schema.Timestamp:
		ts, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return nil, badEncoding(t, "an RFC 3339 time", len(b))
		}
		return ts.UTC(), nil
	}
	return nil, unknownType(t)
}

func badEncoding(t schema.Type, want string, n int) error {
	return fmt.Errorf("envelope: a decrypted %s value must be %s, got %d bytes that aren't: was the column's type changed in the schema file after rows were written?", t, want, n)
}

func wrongType(t schema.Type, want string, v any) error {
	return fmt.Errorf("envelope: a %s column needs %s, got %T", t, want, v)
}

func unknownType(t schema.Type) error {
	return fmt.Errorf("envelope: unknown column type %q; the types are text, bytes, int, float, bool, date, timestamp and json", string(t))
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v.(string)
}

func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
