package planner

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// This file builds the parts of a plan that concern the rows a statement
// writes: the encryption context of each inserted row, and how an UPDATE
// finds the key of the row it pins.

// RowContext builds the encryption context of one row an INSERT writes
// into t, one entry per schema context entry: value returns the
// statement's value for a context column, or the refusal of a row that
// doesn't give one.
func RowContext(t *schema.Table, value func(column string) (rewrite.Value, error)) ([]rewrite.ContextValue, error) {
	ctx := make([]rewrite.ContextValue, 0, len(t.Context))
	for _, ce := range t.Context {
		if ce.Column == "" {
			ctx = append(ctx, rewrite.ContextValue{Name: ce.Name, Fixed: ce.Value})
			continue
		}
		v, err := value(ce.Column)
		if err != nil {
			return nil, err
		}
		ctx = append(ctx, rewrite.ContextValue{Name: ce.Name, Column: ce.Column, Value: v})
	}
	return ctx, nil
}

// RowKeyLookup builds the statements that find, or give, the key of the
// row of t an UPDATE pins by its primary key values pk (in primary key
// order). table is the table as the UPDATE names it; quote writes a column
// name of the schema file; placeholder writes the n-th (1-based)
// placeholder.
func RowKeyLookup(t *schema.Table, table string, pk []rewrite.Value, quote func(column string) string, placeholder func(n int) string) *rewrite.UpdatePlan {
	key := quote(t.KeyColumn)
	cols := []string{key}
	for _, c := range t.ContextColumns() {
		cols = append(cols, quote(c))
	}
	pin := func(first int) string {
		conds := make([]string, len(t.PrimaryKey))
		for i, c := range t.PrimaryKey {
			conds[i] = quote(c) + " = " + placeholder(first+i)
		}
		return strings.Join(conds, " AND ")
	}
	return &rewrite.UpdatePlan{
		Lookup:       "SELECT " + strings.Join(cols, ", ") + " FROM " + table + " WHERE " + pin(1) + " FOR UPDATE",
		LookupParams: pk,
		SetKey:       "UPDATE " + table + " SET " + key + " = " + placeholder(1) + " WHERE " + pin(2) + " AND " + key + " IS NULL",
		SetKeyParams: pk,
	}
}
