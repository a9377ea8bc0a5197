package mysql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// testSchema declares users (email, ssn; context {table, id: $id}) with the
// default key column and primary key, accounts (balance; composite primary
// key, context tenant_id), and notes (body; default context).
const testSchema = `
key:
  url: base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
tables:
  users:
    context:
      table: users
      id: $id
    columns:
      email: text
      ssn: text
  accounts:
    key_column: wrapped_key
    primary_key: [tenant_id, id]
    context:
      table: accounts
      tenant: $tenant_id
    columns:
      balance: int
  notes:
    columns:
      body: text
`

func testConfig(t testing.TB) *schema.Config {
	t.Helper()
	cfg, err := schema.Parse([]byte(testSchema), "kmsenc.yaml")
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	return cfg
}

// paramsString renders Params compactly: $i (the caller's argument i),
// lit(type value) (a constant), ">table.col@r" (encrypted for that column
// under row r's key), key@r (row r's wrapped key), guard (the row key guard).
func paramsString(ps []rewrite.Param) string {
	var out []string
	for _, p := range ps {
		out = append(out, paramString(p))
	}
	return strings.Join(out, " ")
}

func paramString(p rewrite.Param) string {
	switch p.Kind {
	case rewrite.ParamWrappedKey:
		return fmt.Sprintf("key@%d", p.Row)
	case rewrite.ParamRowKeyGuard:
		return "guard"
	}
	s := valueString(p.Value)
	if p.Encrypt != nil {
		s += fmt.Sprintf(">%s@%d", p.Encrypt.AssociatedData(), p.Row)
	}
	return s
}

func valueString(v rewrite.Value) string {
	if v.IsArg() {
		return fmt.Sprintf("$%d", v.Arg)
	}
	return fmt.Sprintf("lit(%T %q)", v.Literal.Go, fmt.Sprint(v.Literal.Go))
}

func valuesString(vs []rewrite.Value) string {
	var s []string
	for _, v := range vs {
		s = append(s, valueString(v))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// rowsString renders the rows' encryption contexts: name=fixed, or
// name=$col:value.
func rowsString(rows []rewrite.Row) string {
	var out []string
	for _, r := range rows {
		var cs []string
		for _, cv := range r.Context {
			if cv.Column == "" {
				cs = append(cs, cv.Name+"="+cv.Fixed)
			} else {
				cs = append(cs, cv.Name+"=$"+cv.Column+":"+valueString(cv.Value))
			}
		}
		out = append(out, strings.Join(cs, " "))
	}
	return strings.Join(out, "; ")
}

func updateString(u *rewrite.UpdatePlan) string {
	if u == nil {
		return ""
	}
	return u.Lookup + " " + valuesString(u.LookupParams) + " | " + u.SetKey + " " + valuesString(u.SetKeyParams)
}

// outputString renders an Output: per column *i>End (a star run of
// instance i ending at End), enc<i>:col, key<i>, ctx<i>:col or plain, "!"
// when hidden; then per instance its table, key index and context indexes.
func outputString(o *rewrite.Output) string {
	if o == nil {
		return ""
	}
	var cols []string
	for _, c := range o.Columns {
		var s string
		switch {
		case c.Star:
			s = fmt.Sprintf("*%d>%s", c.Instance, c.End)
		case c.Kind == rewrite.OutEncrypted:
			s = fmt.Sprintf("enc%d:%s", c.Instance, c.Column.Name)
		case c.Kind == rewrite.OutKey:
			s = fmt.Sprintf("key%d", c.Instance)
		case c.Kind == rewrite.OutContext:
			s = fmt.Sprintf("ctx%d:%s", c.Instance, c.Name)
		default:
			s = "plain"
		}
		if c.Hidden {
			s += "!"
		}
		cols = append(cols, s)
	}
	var insts []string
	for i, in := range o.Instances {
		insts = append(insts, fmt.Sprintf("%d=%s key@%d ctx@%v", i, in.Table.Name, in.Key, in.Context))
	}
	return strings.Join(cols, " ") + " | " + strings.Join(insts, ", ")
}
