package mysql

import (
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

func TestContextRule(t *testing.T) {
	col := func(dataType, columnType, collation string, maxLen, precision, scale int64) dialect.Column {
		return dialect.Column{Table: "users", Name: "id", DataType: dataType, ColumnType: columnType, Collation: collation, MaxLen: maxLen, Precision: precision, Scale: scale}
	}
	for _, c := range []struct {
		col    dialect.Column
		kind   canon.Kind
		exact  bool
		refuse string
	}{
		{col("bigint", "bigint(20)", "", 0, 19, 0), canon.Integer, true, ""},
		{col("int", "int(10) unsigned zerofill", "", 0, 10, 0), canon.Integer, true, ""},
		{col("decimal", "decimal(20,0)", "", 0, 20, 0), canon.Integer, true, ""},
		{col("decimal", "decimal(10,2)", "", 0, 10, 2), 0, false, "decimal(10,2): MySQL rounds"},
		{col("varchar", "varchar(36)", "utf8mb4_general_ci", 36, -1, -1), canon.Text, false, ""},
		{col("varchar", "varchar(36)", "utf8mb4_nopad_bin", 36, -1, -1), canon.Text, true, ""},
		{col("binary", "binary(16)", "", 16, -1, -1), canon.Bytes, true, ""},
		{col("date", "date", "", 0, -1, -1), canon.Date, true, ""},
		{col("datetime", "datetime(6)", "", 0, -1, -1), 0, false, "is datetime(6), which kmsenc can't render"},
		{col("timestamp", "timestamp", "", 0, -1, -1), 0, false, "can't render"},
		{col("double", "double", "", 0, 22, -1), 0, false, "can't render"},
		{col("enum", "enum('a','b')", "utf8mb4_general_ci", 1, -1, -1), 0, false, "can't render"},
	} {
		r, err := contextRule(c.col)
		if c.refuse != "" {
			if err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), "users.id") {
				t.Errorf("%s: %v, want an error with %q", c.col.ColumnType, err, c.refuse)
			}
			continue
		}
		if err != nil || r.Kind != c.kind || r.Exact != c.exact {
			t.Errorf("%s: %+v, %v; want kind %d, exact %v", c.col.ColumnType, r, err, c.kind, c.exact)
		}
	}
	ranges := []struct {
		col      dialect.Column
		ok, fail any
	}{
		{col("tinyint", "tinyint(4)", "", 0, 3, 0), -128, 128},
		{col("tinyint", "tinyint(3) unsigned", "", 0, 3, 0), 255, -1},
		{col("mediumint", "mediumint(8) unsigned", "", 0, 7, 0), 1<<24 - 1, 1 << 24},
		{col("bigint", "bigint(20) unsigned", "", 0, 20, 0), uint64(1<<64 - 1), "18446744073709551616"},
	}
	for _, c := range ranges {
		r, err := contextRule(c.col)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write(c.ok); err != nil {
			t.Errorf("%s: %v refused: %v", c.col.ColumnType, c.ok, err)
		}
		if _, err := r.Write(c.fail); err == nil {
			t.Errorf("%s: %v accepted", c.col.ColumnType, c.fail)
		}
	}
	// Non-utf8mb4 text takes ASCII only; CHAR drops trailing blanks.
	r, _ := contextRule(col("char", "char(5)", "latin1_swedish_ci", 5, -1, -1))
	if got, err := r.Write("ab  "); err != nil || got != "ab" {
		t.Errorf("char(5): %q, %v", got, err)
	}
	if _, err := r.Write("é"); err == nil {
		t.Error("latin1: non-ASCII accepted")
	}
}
