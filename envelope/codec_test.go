package envelope

import (
	"bytes"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc/schema"
)

type myString string

type valuer struct{ v driver.Value }

func (v valuer) Value() (driver.Value, error) { return v.v, nil }

func TestEncodeGolden(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	ptr := int64(42)
	tests := []struct {
		name string
		typ  schema.Type
		in   any
		want string // hex when wantHex
		hex  bool
	}{
		{"text string", schema.Text, "héllo", "héllo", false},
		{"text empty", schema.Text, "", "", false},
		{"text bytes", schema.Text, []byte("abc"), "abc", false},
		{"text int64", schema.Text, int64(-42), "-42", false},
		{"text float", schema.Text, 1.5, "1.5", false},
		{"text float large", schema.Text, 1e15, "1e+15", false},
		{"text float below exponent", schema.Text, 123456789012345.0, "123456789012345", false},
		{"text float small", schema.Text, 0.00001, "1e-05", false},
		{"text float 0.0001", schema.Text, 0.0001, "0.0001", false},
		{"text float NaN", schema.Text, math.NaN(), "NaN", false},
		{"text float -Inf", schema.Text, math.Inf(-1), "-Infinity", false},
		{"text bool", schema.Text, true, "true", false},
		{"text named string", schema.Text, myString("named"), "named", false},
		{"text valuer", schema.Text, valuer{"from Value"}, "from Value", false},

		{"bytes", schema.Bytes, []byte{0, 1, 0xff}, "0001ff", true},
		{"bytes empty", schema.Bytes, []byte{}, "", true},
		{"bytes from string", schema.Bytes, "AB", "4142", true},

		{"int 1", schema.Int, int64(1), "0000000000000001", true},
		{"int -1", schema.Int, int64(-1), "ffffffffffffffff", true},
		{"int 0", schema.Int, int64(0), "0000000000000000", true},
		{"int max", schema.Int, int64(math.MaxInt64), "7fffffffffffffff", true},
		{"int min", schema.Int, int64(math.MinInt64), "8000000000000000", true},
		{"int from int", schema.Int, 258, "0000000000000102", true},
		{"int from uint8", schema.Int, uint8(255), "00000000000000ff", true},
		{"int from *int64", schema.Int, &ptr, "000000000000002a", true},
		{"int from string", schema.Int, " -2 ", "fffffffffffffffe", true},

		{"float 1.5", schema.Float, 1.5, "3ff8000000000000", true},
		{"float -2", schema.Float, -2.0, "c000000000000000", true},
		{"float from float32", schema.Float, float32(0.5), "3fe0000000000000", true},
		{"float from int64", schema.Float, int64(1), "3ff0000000000000", true},
		{"float from string", schema.Float, "1.5", "3ff8000000000000", true},
		{"float Infinity string", schema.Float, "-Infinity", "fff0000000000000", true},

		{"bool true", schema.Bool, true, "t", false},
		{"bool false", schema.Bool, false, "f", false},
		{"bool string TRUE", schema.Bool, "TRUE", "t", false},
		{"bool string f", schema.Bool, "f", "f", false},
		{"bool string 1", schema.Bool, "1", "t", false},
		{"bool string False", schema.Bool, "False", "f", false},
		{"bool int64 0", schema.Bool, int64(0), "f", false},

		{"date time", schema.Date, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29", false},
		{"date time in own zone", schema.Date, time.Date(2024, 3, 1, 1, 0, 0, 0, tokyo), "2024-03-01", false},
		{"date string", schema.Date, "2024-02-29", "2024-02-29", false},
		{"date midnight timestamp string", schema.Date, "2024-02-29 00:00:00", "2024-02-29", false},
		{"date midnight with zone", schema.Date, "2024-02-29T00:00:00+09:00", "2024-02-29", false},
		{"date year 1", schema.Date, "0001-01-01", "0001-01-01", false},

		{"timestamp UTC nanos", schema.Timestamp, time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), "2024-01-02T03:04:05.123456789Z", false},
		{"timestamp converted to UTC", schema.Timestamp, time.Date(2024, 1, 2, 3, 4, 5, 0, tokyo), "2024-01-01T18:04:05.000000000Z", false},
		{"timestamp RFC3339 string", schema.Timestamp, "2024-01-02T03:04:05.5+01:00", "2024-01-02T02:04:05.500000000Z", false},
		{"timestamp PostgreSQL output", schema.Timestamp, "2024-01-02 03:04:05.123456+00", "2024-01-02T03:04:05.123456000Z", false},
		{"timestamp PostgreSQL half-hour zone", schema.Timestamp, "2024-01-02 03:04:05+05:30", "2024-01-01T21:34:05.000000000Z", false},
		{"timestamp no zone is UTC", schema.Timestamp, "2024-01-02 03:04:05", "2024-01-02T03:04:05.000000000Z", false},
		{"timestamp Z", schema.Timestamp, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000000000Z", false},

		{"json string", schema.JSON, `{"a": [1, 2]}`, `{"a": [1, 2]}`, false},
		{"json bytes", schema.JSON, []byte(`null`), `null`, false},
		{"json RawMessage", schema.JSON, json.RawMessage(`[1]`), `[1]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.typ, tt.in)
			if err != nil {
				t.Fatalf("Encode(%s, %#v): %v", tt.typ, tt.in, err)
			}
			want := []byte(tt.want)
			if tt.hex {
				want, _ = hex.DecodeString(tt.want)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Encode(%s, %#v) = %q (%x), want %q", tt.typ, tt.in, got, got, want)
			}
		})
	}
}

func TestEncodeDoesNotAlias(t *testing.T) {
	for _, typ := range []schema.Type{schema.Text, schema.Bytes, schema.JSON} {
		in := []byte(`"abc"`)
		out, err := Encode(typ, in)
		if err != nil {
			t.Fatal(err)
		}
		in[1] = 'X'
		if string(out) != `"abc"` {
			t.Errorf("Encode(%s) aliases its input", typ)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", -7*3600))
	tests := []struct {
		typ  schema.Type
		in   any
		want driver.Value
	}{
		{schema.Text, "héllo", "héllo"},
		{schema.Text, "", ""},
		{schema.Bytes, []byte{0, 0xff}, []byte{0, 0xff}},
		{schema.Int, int64(-1), int64(-1)},
		{schema.Int, int64(math.MinInt64), int64(math.MinInt64)},
		{schema.Int, int32(7), int64(7)},
		{schema.Float, 3.14, 3.14},
		{schema.Float, math.Inf(1), math.Inf(1)},
		{schema.Float, math.Copysign(0, -1), math.Copysign(0, -1)},
		{schema.Bool, true, true},
		{schema.Bool, false, false},
		{schema.Date, time.Date(2024, 2, 29, 23, 0, 0, 0, time.Local), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{schema.Timestamp, ts, ts.UTC()},
		{schema.JSON, `{"k":"v"}`, []byte(`{"k":"v"}`)},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			b, err := Encode(tt.typ, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(tt.typ, b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(Encode(%#v)) = %#v, want %#v", tt.in, got, tt.want)
			}
			if ti, ok := got.(time.Time); ok && ti.Location() != time.UTC {
				t.Errorf("Decode returned a time in %v, want UTC", ti.Location())
			}
			if f, ok := got.(float64); ok && math.Signbit(f) != math.Signbit(tt.want.(float64)) {
				t.Errorf("Decode lost the sign of %v", f)
			}
		})
	}
	b, _ := Encode(schema.Float, math.NaN())
	if got, err := Decode(schema.Float, b); err != nil || !math.IsNaN(got.(float64)) {
		t.Errorf("NaN round trip = %v, %v", got, err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	const secret = "s3cr3t-value"
	var nilPtr *int64
	tests := []struct {
		name string
		typ  schema.Type
		in   any
		want string
	}{
		{"nil", schema.Text, nil, "NULL"},
		{"nil pointer", schema.Int, nilPtr, "NULL"},
		{"valuer of nil", schema.Text, valuer{nil}, "NULL"},
		{"unknown type", schema.Type("uuid"), "x", `unknown column type "uuid"`},
		{"text from time", schema.Text, time.Now(), "needs a string, got time.Time"},
		{"text from struct", schema.Text, struct{ A string }{secret}, "unsupported type"},
		{"bytes from int", schema.Bytes, int64(1), "needs bytes"},
		{"int from float", schema.Int, 1.5, "got float64"},
		{"int from bad string", schema.Int, secret, "not a 64-bit integer"},
		{"int overflow string", schema.Int, "9223372036854775808", "not a 64-bit integer"},
		{"int from uint64 high bit", schema.Int, uint64(math.MaxUint64), "high bit"},
		{"int from bool", schema.Int, true, "got bool"},
		{"float from bad string", schema.Float, secret, "not a number"},
		{"float from bool", schema.Float, false, "got bool"},
		{"bool from word", schema.Bool, secret, "not t, f, true"},
		{"bool from yes", schema.Bool, "yes", "not t, f, true"},
		{"bool from int 2", schema.Bool, int64(2), "neither 0 nor 1"},
		{"bool from float", schema.Bool, 1.0, "got float64"},
		{"date not midnight", schema.Date, "2024-01-02 10:00:00", "other than midnight"},
		{"date bad string", schema.Date, secret, "YYYY-MM-DD"},
		{"date bad day", schema.Date, "2024-02-30", "YYYY-MM-DD"},
		{"date out of range", schema.Date, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "years 0 to 9999"},
		{"date from int", schema.Date, int64(20240102), "got int64"},
		{"timestamp bad string", schema.Timestamp, secret, "RFC 3339"},
		{"timestamp from int", schema.Timestamp, int64(1), "got int64"},
		{"timestamp out of range", schema.Timestamp, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "years 0 to 9999"},
		{"json invalid", schema.JSON, `{"secret": ` + secret, "valid JSON"},
		{"json from int", schema.JSON, int64(1), "got int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.typ, tt.in)
			if err == nil {
				t.Fatalf("Encode(%s, %#v) = %q, want an error", tt.typ, tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the value", err)
			}
			if tt.want == "NULL" && !errors.Is(err, ErrNull) {
				t.Errorf("error %v is not ErrNull", err)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		typ schema.Type
		in  string
	}{
		{schema.Int, "1234567"},
		{schema.Int, "123456789"},
		{schema.Float, ""},
		{schema.Bool, "true"},
		{schema.Bool, "T"},
		{schema.Bool, ""},
		{schema.Date, "2024-1-2"},
		{schema.Date, "2024-01-02T00:00:00Z"},
		{schema.Timestamp, "2024-01-02"},
		{schema.Type("money"), "1"},
	}
	for _, tt := range tests {
		if got, err := Decode(tt.typ, []byte(tt.in)); err == nil {
			t.Errorf("Decode(%s, %q) = %#v, want an error", tt.typ, tt.in, got)
		}
	}
}

// TestDecodeLockboxDatetime reads a datetime as Lockbox writes it, with an offset.
func TestDecodeLockboxDatetime(t *testing.T) {
	got, err := Decode(schema.Timestamp, []byte("2024-01-02T12:04:05.123456789+09:00"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC); got != want {
		t.Errorf("Decode = %v, want %v", got, want)
	}
}

// MaxEncodedSize bounds what Encode returns for the largest value of each
// bounded type; the check at open sizes columns by it.
func TestMaxEncodedSize(t *testing.T) {
	largest := map[schema.Type]any{
		schema.Int:       int64(math.MinInt64),
		schema.Float:     -math.MaxFloat64,
		schema.Bool:      true,
		schema.Date:      "9999-12-31",
		schema.Timestamp: "9999-12-31T23:59:59.999999999Z",
	}
	for typ, v := range largest {
		n, bounded := MaxEncodedSize(typ)
		b, err := Encode(typ, v)
		if err != nil {
			t.Fatalf("Encode(%s): %v", typ, err)
		}
		if !bounded || len(b) != n {
			t.Errorf("MaxEncodedSize(%s) = %d, %v; Encode gave %d bytes", typ, n, bounded, len(b))
		}
	}
	for _, typ := range []schema.Type{schema.Text, schema.Bytes, schema.JSON} {
		if _, bounded := MaxEncodedSize(typ); bounded {
			t.Errorf("MaxEncodedSize(%s) is bounded", typ)
		}
	}
	if got := StoredSize(8, false); got != len(StoreValue(make([]byte, 8+sealOverhead), false).(string)) {
		t.Errorf("StoredSize(8, text) = %d", got)
	}
	if got := StoredSize(8, true); got != 36 {
		t.Errorf("StoredSize(8, binary) = %d, want 36", got)
	}
}
