package postgres

import (
	"fmt"
	"math/big"

	"github.com/kmsenc/kmsenc/internal/canon"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

// contextRule says how a context column's values become canonical
// (ARCHITECTURE.md §4.4): the text pgx returns for what PostgreSQL stored.
// Types whose returned text depends on more than the value (timestamptz on
// the session's time zone, numeric on the scale written, floats on
// rounding) are refused.
func contextRule(c dialect.Column) (*canon.Rule, error) {
	r := &canon.Rule{Column: c.Table + "." + c.Name, SQLType: c.DataType, Exact: true}
	switch c.DataType {
	case "smallint":
		r.Kind, r.Min, r.Max = canon.Integer, big.NewInt(-1<<15), big.NewInt(1<<15-1)
	case "integer":
		r.Kind, r.Min, r.Max = canon.Integer, big.NewInt(-1<<31), big.NewInt(1<<31-1)
	case "bigint":
		r.Kind, r.Min, r.Max = canon.Integer, big.NewInt(-1<<63), big.NewInt(1<<63-1)
	case "numeric":
		if c.Scale != 0 || c.Precision <= 0 {
			return nil, fmt.Errorf("context column %s is numeric without a scale of 0 (numeric(p, 0)): PostgreSQL returns it with the digits it was written with, so kmsenc can't be sure of its text; make it an integer type or numeric(p, 0)", r.Column)
		}
		max := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(c.Precision), nil), big.NewInt(1))
		r.Kind, r.Min, r.Max = canon.Integer, new(big.Int).Neg(max), max
	case "uuid":
		r.Kind = canon.UUID
	case "text":
		r.Kind = canon.Text
	case "character varying":
		r.Kind, r.Length, r.DropOverLength = canon.Text, c.MaxLen, true
	case "character":
		r.Kind, r.Length, r.Pad, r.DropOverLength = canon.Text, max(c.MaxLen, 1), true, true
	case "boolean":
		r.Kind = canon.Bool
	case "date":
		r.Kind, r.TimeInput = canon.Date, true
	case "bytea":
		r.Kind = canon.Bytes
	default:
		return nil, fmt.Errorf("context column %s is %s, which kmsenc can't render in an encryption context exactly as PostgreSQL returns it (timestamps depend on the session's time zone and precision, floats on rounding); use a column of type smallint, integer, bigint, numeric(p, 0), uuid, text, character varying, character, boolean, date or bytea, or leave it out of the context", r.Column, c.DataType)
	}
	if r.Kind == canon.Text && c.Collation != "" {
		return nil, fmt.Errorf("context column %s has the nondeterministic collation %s: values it calls equal can differ, so an upsert could keep a row's value but give it a key made for another; use a deterministic collation", r.Column, c.Collation)
	}
	return r, nil
}
