package postgres

import (
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

func TestContextRule(t *testing.T) {
	col := func(dataType string, maxLen, precision, scale int64) dialect.Column {
		return dialect.Column{Table: "users", Name: "id", DataType: dataType, MaxLen: maxLen, Precision: precision, Scale: scale}
	}
	for _, c := range []struct {
		col    dialect.Column
		kind   canon.Kind
		refuse string
	}{
		{col("bigint", 0, 64, 0), canon.Integer, ""},
		{col("integer", 0, 32, 0), canon.Integer, ""},
		{col("numeric", 0, 20, 0), canon.Integer, ""},
		{col("numeric", 0, 10, 2), 0, "numeric without a scale of 0"},
		{col("numeric", 0, -1, -1), 0, "numeric without a scale of 0"},
		{col("uuid", 0, -1, -1), canon.UUID, ""},
		{col("character", 4, -1, -1), canon.Text, ""},
		{col("boolean", 0, -1, -1), canon.Bool, ""},
		{col("date", 0, -1, -1), canon.Date, ""},
		{col("timestamp with time zone", 0, -1, -1), 0, "is timestamp with time zone, which kmsenc can't render"},
		{col("timestamp without time zone", 0, -1, -1), 0, "can't render"},
		{col("double precision", 0, 53, -1), 0, "can't render"},
		{col("USER-DEFINED", 0, -1, -1), 0, "can't render"},
		{dialect.Column{Table: "users", Name: "id", DataType: "text", Scale: -1, Collation: "und-ci"}, 0, "nondeterministic collation und-ci"},
	} {
		r, err := contextRule(c.col)
		if c.refuse != "" {
			if err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), "users.id") {
				t.Errorf("%s: %v, want an error with %q", c.col.DataType, err, c.refuse)
			}
			continue
		}
		if err != nil || r.Kind != c.kind || !r.Exact {
			t.Errorf("%s: %+v, %v; want kind %d", c.col.DataType, r, err, c.kind)
		}
	}
	// numeric(3, 0) holds -999..999 only.
	r, err := contextRule(col("numeric", 0, 3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write(1000); err == nil {
		t.Error("numeric(3, 0): 1000 accepted")
	}
	if got, err := r.Write("-0999"); err != nil || got != "-999" {
		t.Errorf("numeric(3, 0): %q, %v", got, err)
	}
}
