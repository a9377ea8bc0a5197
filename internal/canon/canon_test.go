package canon

import (
	"database/sql/driver"
	"math/big"
	"strings"
	"testing"
	"time"
)

type uuidValuer [16]byte // like github.com/google/uuid.UUID

func (u uuidValuer) Value() (driver.Value, error) { return uuidText(u[:]), nil }

type myInt int32

func rng(min, max int64) (*big.Int, *big.Int) { return big.NewInt(min), big.NewInt(max) }

func TestWrite(t *testing.T) {
	bigint := &Rule{Column: "users.id", SQLType: "bigint", Kind: Integer}
	bigint.Min, bigint.Max = rng(-1<<63, 1<<63-1)
	smallint := &Rule{Column: "users.id", SQLType: "smallint", Kind: Integer}
	smallint.Min, smallint.Max = rng(-1<<15, 1<<15-1)
	ubig := &Rule{Column: "users.id", SQLType: "bigint unsigned", Kind: Integer, Min: big.NewInt(0)}
	ubig.Max, _ = new(big.Int).SetString("18446744073709551615", 10)
	uuid := &Rule{Column: "users.id", SQLType: "uuid", Kind: UUID}
	text := &Rule{Column: "users.code", SQLType: "text", Kind: Text}
	pgChar := &Rule{Column: "users.code", SQLType: "character", Kind: Text, Length: 5, Pad: true, DropOverLength: true}
	pgVarchar := &Rule{Column: "users.code", SQLType: "character varying", Kind: Text, Length: 3, DropOverLength: true}
	myChar := &Rule{Column: "users.code", SQLType: "char", Kind: Text, Length: 5, TrimTrailing: true}
	myVarchar := &Rule{Column: "users.code", SQLType: "varchar", Kind: Text, Length: 3}
	latin1 := &Rule{Column: "users.code", SQLType: "varchar", Kind: Text, ASCIIOnly: true}
	boolean := &Rule{Column: "users.flag", SQLType: "boolean", Kind: Bool}
	pgDate := &Rule{Column: "users.day", SQLType: "date", Kind: Date, TimeInput: true}
	myDate := &Rule{Column: "users.day", SQLType: "date", Kind: Date}
	bin16 := &Rule{Column: "users.id", SQLType: "binary", Kind: Bytes, Length: 16, UUIDForm: true}
	bytea := &Rule{Column: "users.id", SQLType: "bytea", Kind: Bytes}

	u := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	const us = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)

	cases := []struct {
		name string
		r    *Rule
		in   any
		want string // "" with refuse set
		// refuse: the error holds this.
		refuse string
	}{
		{"int64", bigint, int64(100035), "100035", ""},
		{"int", bigint, 7, "7", ""},
		{"named int32", bigint, myInt(-4), "-4", ""},
		{"pointer", bigint, func() *int64 { n := int64(9); return &n }(), "9", ""},
		{"string with leading zeros", bigint, "000100035", "100035", ""},
		{"bytes with leading zeros", bigint, []byte("000100149"), "100149", ""},
		{"string with a plus sign", bigint, "+12", "12", ""},
		{"negative zero", bigint, "-0", "0", ""},
		{"not an integer", bigint, "12abc", "", "users.id is bigint: the value given (a string of 5 bytes) is not an integer"},
		{"blank around", bigint, " 12", "", "is not an integer"},
		{"empty", bigint, "", "", "is not an integer"},
		{"decimal point", bigint, "12.0", "", "is not an integer"},
		{"exponent", bigint, "1e3", "", "is not an integer"},
		{"hex", bigint, "0x10", "", "is not an integer"},
		{"float", bigint, 12.0, "", "(a float) is not an integer"},
		{"bool", bigint, true, "", "(a bool) is not an integer"},
		{"too big for bigint", bigint, "9223372036854775808", "", "out of its range"},
		{"too big for smallint", smallint, int64(40000), "", "out of its range [-32768, 32767]"},
		{"uint64 above int64", ubig, uint64(1<<63 + 5), "9223372036854775813", ""},
		{"negative unsigned", ubig, int64(-1), "", "out of its range"},
		{"NULL", bigint, nil, "", "the value is NULL"},

		{"upper-case uuid", uuid, strings.ToUpper(us), us, ""},
		{"uuid in braces", uuid, "{" + us + "}", us, ""},
		{"uuid without hyphens", uuid, strings.ReplaceAll(us, "-", ""), us, ""},
		{"uuid as [16]byte", uuid, u, us, ""},
		{"uuid Valuer", uuid, uuidValuer(u), us, ""},
		{"uuid as bytes of its text", uuid, []byte(strings.ToUpper(us)), us, ""},
		{"uuid with misplaced hyphens", uuid, us[:7] + "-" + us[7:8] + us[9:], "", "is not a UUID"},
		{"uuid not hex", uuid, strings.Replace(us, "a", "g", 1), "", "is not a UUID"},
		{"uuid as int", uuid, 7, "", "is not a UUID"},

		{"text as is", text, "Ab c ", "Ab c ", ""},
		{"text bytes", text, []byte("x"), "x", ""},
		{"text not UTF-8", text, "\xff", "", "not valid UTF-8"},
		{"text with NUL", text, "a\x00b", "", "without NUL"},
		{"text from an int", text, 7, "", "is not text"},
		{"PostgreSQL char(5) pads", pgChar, "ab", "ab   ", ""},
		{"PostgreSQL char(5) drops blanks over", pgChar, "abcde  ", "abcde", ""},
		{"PostgreSQL char(5) counts characters", pgChar, "äöü", "äöü  ", ""},
		{"PostgreSQL char(5) too long", pgChar, "abcdef", "", "longer than its 5 characters"},
		{"PostgreSQL varchar(3) drops blanks over", pgVarchar, "ab  ", "ab ", ""},
		{"PostgreSQL varchar(3) keeps its blanks", pgVarchar, "a ", "a ", ""},
		{"MySQL char(5) trims", myChar, "ab  ", "ab", ""},
		{"MySQL varchar(3) too long", myVarchar, "ab  ", "", "longer than its 3 characters"},
		{"MySQL varchar keeps case and blanks", myVarchar, "AB ", "AB ", ""},
		{"latin1 ASCII", latin1, "abc", "abc", ""},
		{"latin1 non-ASCII", latin1, "é", "", "non-ASCII"},

		{"bool", boolean, false, "false", ""},
		{"bool text", boolean, "T", "true", ""},
		{"bool yes", boolean, "yes", "true", ""},
		{"bool 0", boolean, "0", "false", ""},
		{"bool int", boolean, 1, "", "is not a boolean"},
		{"bool word", boolean, "maybe", "", "is not a boolean"},

		{"date text", pgDate, "2024-02-29", "2024-02-29T00:00:00Z", ""},
		{"date time at UTC midnight", pgDate, day, "2024-02-29T00:00:00Z", ""},
		{"date time not at midnight", pgDate, day.Add(time.Hour), "", "at midnight UTC"},
		{"date time in another zone", pgDate, time.Date(2024, 2, 29, 0, 0, 0, 0, time.FixedZone("x", 3600)), "", "at midnight UTC"},
		{"date time on MySQL", myDate, day, "", "connection's time zone"},
		{"date not a day", pgDate, "2023-02-29", "", "is not a date"},
		{"date short form", myDate, "2024-2-9", "", "is not a date"},
		{"date with time", myDate, "2024-02-29 00:00:00", "", "is not a date"},

		{"binary(16) bytes", bin16, u[:], us, ""},
		{"binary(16) array", bin16, u, us, ""},
		{"binary(16) short", bin16, []byte{1, 2}, "", "has 2 bytes, not 16"},
		{"binary(16) uuid text", bin16, us, "", "is not bytes"},
		{"binary(16) uuid Valuer", bin16, uuidValuer(u), "", "is not bytes"},
		{"bytea", bytea, []byte{0xde, 0xad}, "dead", ""},
	}
	for _, c := range cases {
		got, err := c.r.Write(c.in)
		if c.refuse != "" {
			if err == nil || !strings.Contains(err.Error(), c.refuse) {
				t.Errorf("%s: Write = %q, %v; want an error with %q", c.name, got, err, c.refuse)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: Write = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestReadMatchesWrite: what the drivers return for a stored value renders
// as the write side rendered the value given.
func TestReadMatchesWrite(t *testing.T) {
	bigint := &Rule{Column: "t.id", SQLType: "bigint", Kind: Integer}
	uuid := &Rule{Column: "t.id", SQLType: "uuid", Kind: UUID}
	pgChar := &Rule{Column: "t.c", SQLType: "character", Kind: Text, Length: 5, Pad: true, DropOverLength: true}
	myChar := &Rule{Column: "t.c", SQLType: "char", Kind: Text, Length: 5, TrimTrailing: true}
	date := &Rule{Column: "t.d", SQLType: "date", Kind: Date}
	bin16 := &Rule{Column: "t.id", SQLType: "binary", Kind: Bytes, Length: 16, UUIDForm: true}
	boolean := &Rule{Column: "t.b", SQLType: "boolean", Kind: Bool}
	u := []byte("0123456789abcdef")

	cases := []struct {
		name  string
		r     *Rule
		write any
		read  driver.Value
	}{
		{"pgx int64", bigint, "000100035", int64(100035)},
		{"mysql text protocol", bigint, "000100035", []byte("100035")},
		{"mysql unsigned", bigint, uint64(7), uint64(7)},
		{"mysql zerofill", bigint, 42, []byte("00042")},
		{"numeric as text", bigint, int64(-5), "-5"},
		{"uuid", uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"PostgreSQL char(5)", pgChar, "ab", "ab   "},
		{"MySQL char(5)", myChar, "ab ", []byte("ab")},
		{"pgx date", date, "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"mysql date", date, "2024-02-29", []byte("2024-02-29")},
		{"mysql parseTime date in another zone", date, "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.FixedZone("x", -5*3600))},
		{"binary(16)", bin16, u, u},
		{"bool", boolean, "t", true},
	}
	for _, c := range cases {
		w, err := c.r.Write(c.write)
		if err != nil {
			t.Errorf("%s: Write: %v", c.name, err)
			continue
		}
		r, err := c.r.Read(c.read)
		if err != nil || r != w {
			t.Errorf("%s: Read = %q, %v; Write gave %q", c.name, r, err, w)
		}
	}
}

// TestReadIsLenient: reading renders what the database holds, even a value
// kmsenc would refuse to write (a row written before or without it).
func TestReadIsLenient(t *testing.T) {
	latin1 := &Rule{Column: "t.c", SQLType: "varchar", Kind: Text, Length: 2, ASCIIOnly: true}
	if got, err := latin1.Read([]byte("ééé")); err != nil || got != "ééé" {
		t.Errorf("Read = %q, %v", got, err)
	}
	if _, err := latin1.Write("ééé"); err == nil {
		t.Error("Write of non-ASCII text into an ASCII-only column: no error")
	}
}
