package postgres

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// golden is one rewrite rule or refusal: SQL in, plan (or refusal) out.
// Plans are compared through the renderings of helpers_test.go.
type golden struct {
	name   string
	sql    string
	refuse string // the statement is refused with this in the reason

	kind   rewrite.Kind
	want   string // Plan.SQL; "" when the text goes out unchanged
	params []string
	rows   []string
	cols   []string
	insts  []string
	// Update plans
	lookup, setKey string
	lookupParams   []string
}

func runGolden(t *testing.T, cases []golden) {
	t.Helper()
	r := New(testConfig())
	for _, g := range cases {
		t.Run(g.name, func(t *testing.T) {
			p, err := r.Rewrite(g.sql)
			if os.Getenv("KMSENC_GOLDEN_PRINT") != "" {
				printGolden(g, p, err)
				return
			}
			if g.refuse != "" {
				if !errors.Is(err, rewrite.ErrUnsupported) {
					t.Fatalf("Rewrite(%q) = %v, %v; want a refusal", g.sql, p, err)
				}
				if !strings.Contains(err.Error(), g.refuse) {
					t.Fatalf("refusal %q\ndoes not say %q", err, g.refuse)
				}
				return
			}
			if err != nil {
				t.Fatalf("Rewrite(%q): %v", g.sql, err)
			}
			want := g.want
			if want == "" {
				want = g.sql
			}
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Errorf("%s\n got %q\nwant %q", what, got, want)
				}
			}
			check("kind", p.Kind.String(), g.kind.String())
			check("SQL", p.SQL, want)
			check("params", renderParams(p.Params), nonNil(g.params))
			check("rows", renderRows(p.Rows), nonNil(g.rows))
			check("output columns", renderColumns(p.Output), g.cols)
			check("output instances", renderInstances(p.Output), g.insts)
			if g.lookup != "" || p.Update != nil {
				if p.Update == nil {
					t.Fatalf("no Update plan")
				}
				check("lookup", p.Update.Lookup, g.lookup)
				check("lookup params", renderValues(p.Update.LookupParams), nonNil(g.lookupParams))
				check("set key", p.Update.SetKey, g.setKey)
				check("set key params", renderValues(p.Update.SetKeyParams), nonNil(g.lookupParams))
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printGolden prints what a case produces, as Go, for writing new cases
// (KMSENC_GOLDEN_PRINT=1 go test -run ...). Review it before pasting.
func printGolden(g golden, p *rewrite.Plan, err error) {
	fmt.Printf("{\n\tname: %q,\n\tsql:  %s,\n", g.name, goString(g.sql))
	if err != nil {
		fmt.Printf("\trefuse: %s,\n},\n", goString(err.Error()))
		return
	}
	fmt.Printf("\tkind: rewrite.%s,\n", map[rewrite.Kind]string{rewrite.PassThrough: "PassThrough", rewrite.Insert: "Insert", rewrite.Select: "Select", rewrite.Update: "Update", rewrite.Delete: "Delete"}[p.Kind])
	if p.SQL != g.sql {
		fmt.Printf("\twant: %s,\n", goString(p.SQL))
	}
	list := func(name string, v []string) {
		if len(v) > 0 {
			quoted := make([]string, len(v))
			for i, s := range v {
				quoted[i] = goString(s)
			}
			fmt.Printf("\t%s: []string{%s},\n", name, strings.Join(quoted, ", "))
		}
	}
	list("params", renderParams(p.Params))
	list("rows", renderRows(p.Rows))
	list("cols", renderColumns(p.Output))
	list("insts", renderInstances(p.Output))
	if p.Update != nil {
		fmt.Printf("\tlookup: %s,\n", goString(p.Update.Lookup))
		list("lookupParams", renderValues(p.Update.LookupParams))
		fmt.Printf("\tsetKey: %s,\n", goString(p.Update.SetKey))
	}
	fmt.Println("},")
}

// goString quotes s for Go source, with backquotes when it can.
func goString(s string) string {
	if strings.ContainsAny(s, "`\n\r\t") {
		return fmt.Sprintf("%q", s)
	}
	return "`" + s + "`"
}
