package postgres

import (
	"fmt"
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// testConfig declares the tables of the golden cases:
//
//	users:     email, ssn; context {id: $id, table: users}
//	companies: tax_id; default context {table: companies}
//	accounts:  secret; key column kms_key; primary key (org_id, id);
//	           context {org: $org_id, table: accounts}
func testConfig() *schema.Config {
	col := func(table, name string, typ schema.Type) *schema.Column {
		return &schema.Column{Table: table, Name: name, Type: typ}
	}
	return &schema.Config{Tables: map[string]*schema.Table{
		"users": {
			Name: "users", KeyColumn: "encrypted_kms_key", PrimaryKey: []string{"id"},
			Context: []schema.ContextEntry{{Name: "id", Column: "id"}, {Name: "table", Value: "users"}},
			Columns: map[string]*schema.Column{"email": col("users", "email", schema.Text), "ssn": col("users", "ssn", schema.Text)},
		},
		"companies": {
			Name: "companies", KeyColumn: "encrypted_kms_key", PrimaryKey: []string{"id"},
			Context: []schema.ContextEntry{{Name: "table", Value: "companies"}},
			Columns: map[string]*schema.Column{"tax_id": col("companies", "tax_id", schema.Text)},
		},
		"accounts": {
			Name: "accounts", KeyColumn: "kms_key", PrimaryKey: []string{"org_id", "id"},
			Context: []schema.ContextEntry{{Name: "org", Column: "org_id"}, {Name: "table", Value: "accounts"}},
			Columns: map[string]*schema.Column{"secret": col("accounts", "secret", schema.Bytes)},
		},
	}}
}

// The renderings below make plans comparable, and golden cases readable:
//
//	params:  "$2" (the caller's $2, sent as is), "'a'" (a literal),
//	         "enc(email, row 0, $2)", "key(row 0)", "guard"
//	columns: "plain", "enc 0 email", "key 0", "ctx 0 id", "star 0 end=__kmsenc_1",
//	         with " hidden" for columns kmsenc added
//	insts:   "users key=1 ctx=[2]"
//	rows:    "id=$3 table=users" (the context of each inserted row)

func renderValue(v rewrite.Value) string {
	if v.IsArg() {
		return fmt.Sprintf("$%d", v.Arg+1)
	}
	switch g := v.Literal.Go.(type) {
	case string:
		return "'" + g + "'"
	default:
		return fmt.Sprint(g)
	}
}

func renderParams(ps []rewrite.Param) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		switch p.Kind {
		case rewrite.ParamWrappedKey:
			out = append(out, fmt.Sprintf("key(row %d)", p.Row))
		case rewrite.ParamRowKeyGuard:
			out = append(out, "guard")
		default:
			if p.Encrypt != nil {
				out = append(out, fmt.Sprintf("enc(%s, row %d, %s)", p.Encrypt.Name, p.Row, renderValue(p.Value)))
			} else {
				out = append(out, renderValue(p.Value))
			}
		}
	}
	return out
}

func renderColumns(o *rewrite.Output) []string {
	if o == nil {
		return nil
	}
	out := make([]string, 0, len(o.Columns))
	for _, c := range o.Columns {
		var s string
		switch {
		case c.Star:
			s = fmt.Sprintf("star %d end=%s", c.Instance, c.End)
		case c.Kind == rewrite.OutPlain:
			s = "plain"
		case c.Kind == rewrite.OutEncrypted:
			s = fmt.Sprintf("enc %d %s", c.Instance, c.Column.Name)
		case c.Kind == rewrite.OutKey:
			s = fmt.Sprintf("key %d", c.Instance)
		case c.Kind == rewrite.OutContext:
			s = fmt.Sprintf("ctx %d %s", c.Instance, c.Name)
		}
		if c.Hidden {
			s += " hidden"
		}
		out = append(out, s)
	}
	return out
}

func renderInstances(o *rewrite.Output) []string {
	if o == nil {
		return nil
	}
	out := make([]string, 0, len(o.Instances))
	for _, in := range o.Instances {
		out = append(out, fmt.Sprintf("%s key=%d ctx=%v", in.Table.Name, in.Key, in.Context))
	}
	return out
}

func renderRows(rows []rewrite.Row) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		parts := make([]string, 0, len(r.Context))
		for _, cv := range r.Context {
			if cv.Column != "" {
				parts = append(parts, cv.Name+"="+renderValue(cv.Value))
			} else {
				parts = append(parts, cv.Name+"="+cv.Fixed)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func renderValues(vs []rewrite.Value) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, renderValue(v))
	}
	return out
}
