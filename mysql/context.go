package mysql

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

// integerBits is the width of each MySQL integer type.
var integerBits = map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}

// contextRule says how a context column's values become canonical
// (ARCHITECTURE.md §4.4): the text go-sql-driver/mysql returns for what
// MySQL stored. Types whose returned text depends on more than the value
// (datetime and timestamp on the connection's time zone and rounding,
// decimals on their scale, floats, enums) are refused.
func contextRule(c dialect.Column) (*canon.Rule, error) {
	r := &canon.Rule{Column: c.Table + "." + c.Name, SQLType: c.DataType, Exact: true}
	unsigned := strings.Contains(c.ColumnType, "unsigned")
	if unsigned {
		r.SQLType += " unsigned"
	}
	switch dt := c.DataType; dt {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		r.Kind = canon.Integer
		bits := integerBits[dt]
		if unsigned {
			r.Min, r.Max = big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits), big.NewInt(1))
		} else {
			r.Min, r.Max = new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), bits-1)), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits-1), big.NewInt(1))
		}
	case "decimal", "numeric":
		if c.Scale != 0 || c.Precision <= 0 {
			return nil, fmt.Errorf("context column %s is %s: MySQL rounds a decimal with a scale to it and returns its digits, so kmsenc can't be sure of its text; make it an integer type or decimal(p, 0)", r.Column, c.ColumnType)
		}
		max := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(c.Precision), nil), big.NewInt(1))
		r.Kind, r.Min, r.Max = canon.Integer, new(big.Int).Neg(max), max
		if unsigned {
			r.Min = big.NewInt(0)
		}
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		r.Kind = canon.Text
		if dt == "char" || dt == "varchar" {
			r.Length = c.MaxLen
		}
		// MySQL returns CHAR without its trailing blanks.
		r.TrimTrailing = dt == "char"
		// Only utf8mb4 holds every character a Go string can; a lax
		// sql_mode would store others as '?'.
		r.ASCIIOnly = !strings.HasPrefix(c.Collation, "utf8mb4_")
		// Other collations fold case or ignore trailing blanks: 'ABC'
		// can be a duplicate of 'abc'.
		r.Exact = strings.HasSuffix(c.Collation, "_nopad_bin")
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		r.Kind = canon.Bytes
		if dt == "binary" {
			r.Length = max(c.MaxLen, 1)
			r.UUIDForm = r.Length == 16
		}
	case "date":
		r.Kind = canon.Date
	default:
		return nil, fmt.Errorf("context column %s is %s, which kmsenc can't render in an encryption context exactly as MySQL returns it (datetime and timestamp depend on the connection's time zone and precision, floats on rounding); use an integer type, decimal(p, 0), char, varchar, a text or binary type, or date, or leave it out of the context", r.Column, c.ColumnType)
	}
	return r, nil
}
