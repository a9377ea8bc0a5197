package postgres

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestGeneratedStatements plans statements built from random pieces —
// spacing, comments, quoting, case, values of every form — and checks each
// plan against the oracle of FuzzRewrite. Byte-level fuzzing rarely builds
// a valid statement; this reaches the locators with many that are.
func TestGeneratedStatements(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	r := New(testConfig())
	g := &gen{rng: rng}
	planned := 0
	for i := 0; i < 3000; i++ {
		sql := g.statement()
		p, err := r.Rewrite(sql)
		if err != nil {
			if !strings.Contains(err.Error(), "unsupported statement") {
				t.Fatalf("Rewrite(%q): %v", sql, err)
			}
			continue
		}
		if p.Kind != 0 {
			planned++
			checkPlan(t, sql, p)
		}
	}
	if planned < 1000 {
		t.Errorf("only %d of 3000 generated statements were planned; the generator has drifted", planned)
	}
}

type gen struct {
	rng *rand.Rand
	arg int
}

func (g *gen) pick(xs ...string) string { return xs[g.rng.Intn(len(xs))] }

// sp is the space between two tokens: none where it may be, or more.
func (g *gen) sp() string {
	return g.pick("", " ", " ", " ", "\n", "  ", " /* users.email */ ", " -- email\n")
}

// ws is space that must be there.
func (g *gen) ws() string { return g.pick(" ", " ", "\n\t", " /* c */ ", " -- ssn\n") }

// name writes an identifier bare, in upper case, or quoted.
func (g *gen) name(n string) string {
	switch g.rng.Intn(4) {
	case 0:
		return strings.ToUpper(n)
	case 1:
		return `"` + n + `"`
	}
	return n
}

func (g *gen) value() string {
	switch g.rng.Intn(12) {
	case 0, 1, 2, 3:
		g.arg++
		return fmt.Sprintf("$%d", g.arg)
	case 4:
		return g.pick(`'a@b.c'`, `'x''y'`, `E'a\nb'`, `$$it's$$`, `$q$a$$b$q$`, "'a'\n'b'", `''`)
	case 5:
		return g.pick("42", "-7", "1.5", "1e3", "0x1F", "- 3")
	case 6:
		return g.pick("TRUE", "false", "NULL", "null")
	case 7:
		return g.pick("DEFAULT", "lower('X')", "now()", "$1::text", "(SELECT 1)")
	}
	g.arg++
	return fmt.Sprintf("$%d", g.arg)
}

func (g *gen) statement() string {
	g.arg = 0
	switch g.rng.Intn(4) {
	case 0:
		return g.insert()
	case 1:
		return g.update()
	case 2:
		return g.selectStmt()
	}
	return g.delete()
}

var genColumns = map[string][]string{
	"users":     {"id", "email", "ssn", "name", "created_at"},
	"companies": {"id", "tax_id", "name"},
	"accounts":  {"org_id", "id", "secret"},
	"orders":    {"id", "user_id", "note"},
}

func (g *gen) table() string { return g.pick("users", "users", "companies", "accounts", "orders") }

func (g *gen) insert() string {
	t := g.table()
	cols := genColumns[t]
	n := 1 + g.rng.Intn(len(cols))
	cols = cols[:n]
	var b strings.Builder
	b.WriteString("INSERT" + g.ws() + "INTO" + g.ws() + g.name(t))
	if g.rng.Intn(4) == 0 {
		b.WriteString(g.ws() + "AS" + g.ws() + g.name("x"))
	}
	b.WriteString(g.sp() + "(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString("," + g.sp())
		}
		b.WriteString(g.name(c))
	}
	b.WriteString(")" + g.sp() + "VALUES")
	rows := 1 + g.rng.Intn(3)
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(",")
		}
		b.WriteString(g.sp() + "(")
		for i := range cols {
			if i > 0 {
				b.WriteString("," + g.sp())
			}
			b.WriteString(g.value())
		}
		b.WriteString(")")
	}
	switch g.rng.Intn(5) {
	case 0:
		b.WriteString(g.ws() + "ON CONFLICT DO NOTHING")
	case 1:
		b.WriteString(g.ws() + "ON CONFLICT (" + g.name(cols[0]) + ") DO UPDATE SET ")
		for i, c := range cols {
			if i > 0 {
				b.WriteString("," + g.sp())
			}
			b.WriteString(g.name(c) + g.sp() + "=" + g.sp() + g.pick("EXCLUDED.", `"excluded".`) + g.name(c))
		}
	}
	if g.rng.Intn(3) == 0 {
		b.WriteString(g.ws() + "RETURNING" + g.ws() + g.pick("*", g.name("id"), g.name(cols[len(cols)-1])))
	}
	return b.String() + g.pick("", ";", " ; ")
}

func (g *gen) update() string {
	t := g.table()
	cols := genColumns[t]
	var b strings.Builder
	b.WriteString("UPDATE" + g.ws() + g.name(t) + g.ws() + "SET" + g.ws())
	n := 1 + g.rng.Intn(len(cols)-1)
	for i, c := range cols[len(cols)-n:] {
		if i > 0 {
			b.WriteString("," + g.sp())
		}
		b.WriteString(g.name(c) + g.sp() + "=" + g.sp() + g.value())
	}
	b.WriteString(g.ws() + "WHERE" + g.ws())
	if t == "accounts" {
		b.WriteString(g.name("org_id") + " = " + g.value() + " AND ")
	}
	open := g.pick("", "(")
	b.WriteString(open + g.name("id") + g.sp() + "=" + g.sp() + g.pick("$9", "5", "'k'"))
	if open != "" {
		b.WriteString(")")
	}
	return b.String() + g.pick("", g.ws()+"AND"+g.ws()+"deleted_at IS NULL", g.ws()+"RETURNING *")
}

func (g *gen) selectStmt() string {
	t := g.table()
	from := g.name(t)
	alias := ""
	if g.rng.Intn(2) == 0 {
		alias = g.name("t")
		from += g.pick(" ", " AS ") + alias
	}
	q := alias
	if q == "" {
		q = g.name(t)
	}
	cols := genColumns[t]
	items := g.pick("*", q+".*", cols[len(cols)-1], q+"."+g.name(cols[1]), cols[0]+","+g.sp()+cols[1]+" AS x")
	sep := g.ws()
	if items == "*" {
		sep = g.sp()
	}
	sql := "SELECT" + sep + items + g.ws() + "FROM" + g.ws() + from
	switch g.rng.Intn(4) {
	case 0:
		sql += g.ws() + "JOIN" + g.ws() + "companies c ON c.id = " + q + ".id"
	case 1:
		sql = "SELECT" + g.sp() + "*" + g.sp() + "FROM" + g.sp() + "(" + sql + ")" + g.ws() + "s"
	case 2:
		sql = "WITH s AS (" + sql + ") SELECT" + g.sp() + "*" + g.sp() + "FROM s"
	}
	return sql + g.pick("", g.ws()+"LIMIT $1", g.ws()+"ORDER BY 1", g.ws()+"FOR UPDATE")
}

func (g *gen) delete() string {
	return "DELETE" + g.ws() + "FROM" + g.ws() + g.name(g.table()) + g.ws() + "WHERE id = $1" +
		g.pick("", g.ws()+"RETURNING *", g.ws()+"RETURNING "+g.name("email"))
}
