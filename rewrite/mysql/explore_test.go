package mysql

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestExplore prints the golden entries of the statements in $SQLS, one a
// line; a tool for writing golden cases, skipped otherwise.
func TestExplore(t *testing.T) {
	in := os.Getenv("SQLS")
	if in == "" {
		t.Skip()
	}
	r := New(testConfig(t))
	for _, sql := range strings.Split(in, "\n") {
		if strings.TrimSpace(sql) == "" {
			continue
		}
		p, err := r.Rewrite(sql)
		if err != nil {
			fmt.Printf("{sql: %q,\n err: %q},\n", sql, err.Error())
			continue
		}
		if err := verifyPlan(r.cfg, sql, p); err != nil {
			fmt.Println("VERIFY:", err)
		}
		out := p.SQL
		if out == sql {
			out = ""
		}
		fmt.Printf("{sql: %q,\n kind: rewrite.%s, out: %q,\n params: %q,\n rows: %q,\n update: %q,\n output: %q},\n",
			sql, kindName(p.Kind), out, paramsString(p.Params), rowsString(p.Rows), updateString(p.Update), outputString(p.Output))
	}
}

func kindName(k interface{ String() string }) string {
	switch k.String() {
	case "pass-through":
		return "PassThrough"
	case "insert":
		return "Insert"
	case "select":
		return "Select"
	case "update":
		return "Update"
	case "delete":
		return "Delete"
	}
	return k.String()
}
