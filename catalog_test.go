package kmsenc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kmsenc/kmsenc/providers/local"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

func catalogConfig(t *testing.T, extra string) *schema.Config {
	t.Helper()
	cfg, err := schema.Parse([]byte(`key: {url: "base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
tables:
  users:
    context: {table: users, id: $id}
    columns: {email: text}
  audit:
    columns: {detail: text}
`+extra), "kmsenc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// obj builds a catalog row: kind, schema, name, detail, onSchema, onTable,
// body, lang.
func obj(f ...string) catalogObject {
	for len(f) < 8 {
		f = append(f, "")
	}
	return catalogObject{kind: f[0], schema: f[1], name: f[2], detail: f[3], onSchema: f[4], onTable: f[5], body: f[6], lang: f[7]}
}

// TestRefusedObjects: each kind of object found at open, dangerous or
// not, and what lifts a refusal.
func TestRefusedObjects(t *testing.T) {
	path := obj("path", "app")
	auditCopy := "BEGIN INSERT INTO users_audit (id, email, encrypted_kms_key) VALUES (NEW.id, NEW.email, NEW.encrypted_kms_key); RETURN NEW; END"
	tests := []struct {
		name    string
		extra   string // schema file lines
		objs    []catalogObject
		refused map[string]string // name -> substring of the reason
	}{
		{name: "a view, a view over it, a materialized view", objs: []catalogObject{
			path,
			obj("depends", "app", "v2", "view", "app", "user_emails"),
			obj("depends", "app", "user_emails", "view", "app", "users"),
			obj("depends", "app", "mv", "materialized view", "app", "users"),
		}, refused: map[string]string{
			"user_emails": "view app.user_emails reads table users, which has encrypted columns",
			"v2":          "view app.v2 reads view app.user_emails",
			"mv":          "materialized view app.mv reads table users",
		}},
		{name: "a view over another schema's users", objs: []catalogObject{
			path,
			obj("depends", "app", "other_emails", "view", "other", "users"),
		}},
		{name: "a declared view is read through; a reviewed one is trusted", extra: "  user_emails: {columns: {email: text}}\nreviewed: [user_names]\n", objs: []catalogObject{
			path,
			obj("depends", "app", "user_emails", "view", "app", "users"),
			obj("depends", "app", "user_names", "view", "app", "users"),
		}},
		{name: "a rule on another table writing into users", objs: []catalogObject{
			path,
			obj("depends", "app", "orders", "rule r1", "app", "users"),
			obj("rule", "app", "orders", "r1"),
		}, refused: map[string]string{"orders": "rule r1 on table app.orders reads or writes table users"}},
		{name: "a rule on users", objs: []catalogObject{path, obj("rule", "app", "users", "r2")},
			refused: map[string]string{"users": "rule r2 on table users rewrites statements"}},
		{name: "a reviewed rule on users", extra: "reviewed: [r2]\n", objs: []catalogObject{path, obj("rule", "app", "users", "r2")}},
		{name: "children, grandchildren and parents, not siblings", objs: []catalogObject{
			path,
			obj("inherits", "app", "users_2025", "partition", "app", "users"),
			obj("inherits", "app", "users_2025_01", "partition", "app", "users_2025"),
			obj("inherits", "app", "users", "child", "app", "people"),
			obj("inherits", "app", "staff", "child", "app", "people"),
			obj("depends", "app", "everyone", "view", "app", "people"),
		}, refused: map[string]string{
			"users_2025":    "table app.users_2025 is a partition of users",
			"users_2025_01": "is a partition of users_2025",
			"people":        "table app.people is a parent of users",
			"everyone":      "reads table app.people",
		}},
		{name: "an audit trigger on users copies ciphertext", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "users_audit", "app", "audit_copy", auditCopy, "plpgsql"),
			obj("routine", "app", "audit_copy", "function", "", "", auditCopy, "plpgsql"),
		}},
		{name: "a MySQL audit trigger on users copies ciphertext", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "users_audit", "app", "users_audit", "INSERT INTO users_audit (id, email) VALUES (NEW.id, NEW.email)", "sql"),
		}},
		{name: "triggers on users that do more", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_set", "app", "f", "BEGIN NEW.email := NEW.name; RETURN NEW; END", "plpgsql"),
		}, refused: map[string]string{"users": "sets NEW.email, a column kmsenc writes"}},
		{name: "a trigger on users writing its own table", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_upd", "app", "t_upd", "UPDATE users SET email = NEW.name WHERE id = NEW.id", "sql"),
		}, refused: map[string]string{"users": "names table users"}},
		{name: "a trigger on users writing another declared table", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_aud", "app", "t_aud", "INSERT INTO audit (detail) VALUES (NEW.name)", "sql"),
		}, refused: map[string]string{"users": "names table audit"}},
		{name: "a trigger on users replacing the row", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_ret", "app", "f", "BEGIN RETURN ROW(NEW.id, 'x'); END", "plpgsql"),
		}, refused: map[string]string{"users": "returns a row other than NEW"}},
		{name: "a trigger on users in plpython", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_py", "app", "f", "return 'OK'", "plpython3u"),
		}, refused: map[string]string{"users": "is written in plpython3u"}},
		{name: "a reviewed trigger on users", extra: "reviewed: [t_set]\n", objs: []catalogObject{
			path,
			obj("trigger", "app", "users", "t_set", "app", "f", "BEGIN NEW.email := NEW.name; RETURN NEW; END", "plpgsql"),
		}},
		{name: "a trigger on a plain table writing into users", objs: []catalogObject{
			path,
			obj("trigger", "app", "orders", "copy_to_users", "app", "tr", "BEGIN INSERT INTO users (id, email) VALUES (NEW.id, NEW.note); RETURN NEW; END", "plpgsql"),
		}, refused: map[string]string{"orders": "trigger copy_to_users on table app.orders runs app.tr, which names table users"}},
		{name: "a trigger on a plain table writing elsewhere", objs: []catalogObject{
			path,
			obj("trigger", "app", "orders", "stamp", "app", "stamp", "BEGIN NEW.updated := now(); RETURN NEW; END", "plpgsql"),
			obj("trigger", "app", "orders", "ts", "pg_catalog", "tsvector_update_trigger", "tsvector_update_trigger_byid", "internal"),
		}},
		{name: "routines", objs: []catalogObject{
			path,
			obj("routine", "app", "add_user", "procedure", "", "", "INSERT INTO users (id) VALUES (i)", "sql"),
			obj("routine", "app", "count_users", "function", "", "", " BEGIN ATOMIC app.users", "sql"),
			obj("routine", "app", "wrapper", "function", "", "", "BEGIN PERFORM add_user(1); END", "plpgsql"),
			obj("routine", "app", "dyn", "function", "", "", "BEGIN EXECUTE format('SELECT 1'); END", "plpgsql"),
			obj("routine", "app", "py", "function", "", "", "plpy.execute('...')", "plpython3u"),
			obj("routine", "app", "crypt", "function", "", "", "pg_crypt", "c"),
			obj("routine", "app", "add", "function", "", "", "SELECT a + b", "sql"),
			obj("routine", "other", "add_user2", "procedure", "", "", "INSERT INTO users (id) VALUES (i)", "sql"),
			obj("routine", "other", "add_user3", "procedure", "", "", "INSERT INTO app.users (id) VALUES (i)", "sql"),
		}, refused: map[string]string{
			"add_user":    "procedure app.add_user names table users: calling it runs SQL kmsenc can't see",
			"count_users": "names table users",
			"wrapper":     "names procedure app.add_user",
			"dyn":         "runs SQL text (execute)",
			"py":          "is written in plpython3u",
			"add_user3":   "procedure other.add_user3 names table users",
		}},
		{name: "a reviewed routine", extra: "reviewed: [add_user]\n", objs: []catalogObject{
			path,
			obj("routine", "app", "add_user", "procedure", "", "", "INSERT INTO users (id) VALUES (i)", "sql"),
		}},
		{name: "MySQL views and unreadable routines", objs: []catalogObject{
			path,
			obj("view", "app", "user_emails", "view", "", "", "select `app`.`users`.`id` AS `id` from `app`.`users`", "sql"),
			obj("view", "app", "v2", "view", "", "", "select `app`.`user_emails`.`id` AS `id` from `app`.`user_emails`", "sql"),
			obj("view", "app", "products_v", "view", "", "", "select `app`.`products`.`id` AS `id` from `app`.`products`", "sql"),
			obj("routine", "app", "secret", "procedure", "", "", "", "sql"),
		}, refused: map[string]string{
			"user_emails": "view app.user_emails names table users",
			"v2":          "names view app.user_emails",
			"secret":      "has a definition kmsenc can't read",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := refusedObjects(catalogConfig(t, tt.extra), tt.objs)
			for name, want := range tt.refused {
				if !strings.Contains(got[name], want) {
					t.Errorf("%s: reason %q; want it to contain %q", name, got[name], want)
				}
				if !strings.Contains(got[name], "reopen the kmsenc connector") {
					t.Errorf("%s: reason %q doesn't say to reopen", name, got[name])
				}
			}
			for name, why := range got {
				if _, ok := tt.refused[name]; !ok {
					t.Errorf("%s refused (%s); want it allowed", name, why)
				}
			}
		})
	}
}

func TestCodeWords(t *testing.T) {
	got := strings.Join(codeWords(`NEW."Email" := 'x';-- users`+"\n`t`.a"), " ")
	if want := `new . email : = ' x ' ; - - users t . a`; got != want {
		t.Errorf("codeWords = %q; want %q", got, want)
	}
}

// cfgRewriter refuses the statements whose text is a name its schema
// refuses, as the dialects' rewriters do for identifiers.
type cfgRewriter struct{ cfg *schema.Config }

func (r cfgRewriter) Rewrite(sql string) (*rewrite.Plan, error) {
	if why := r.cfg.Refused(sql); why != "" {
		return nil, rewrite.Refuse(sql, "%s", why)
	}
	return &rewrite.Plan{Kind: rewrite.PassThrough, SQL: sql, NumInput: -1}, nil
}

// TestReadCatalog: the catalog is read once per connector, on its first
// connection and before any statement is planned; what it finds is refused;
// a failure fails that connection, and the next one reads it again.
func TestReadCatalog(t *testing.T) {
	master := make([]byte, local.KeySize)
	rand.Read(master)
	cfg, err := schema.Parse(fmt.Appendf(nil, testSchema, base64.StdEncoding.EncodeToString(master)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prov, err := local.New(master)
	if err != nil {
		t.Fatal(err)
	}
	base := newFakeBase()
	var fail atomic.Bool
	fail.Store(true)
	base.on("CATALOG", func([]driver.NamedValue) (*fakeResult, error) {
		if fail.Load() {
			return nil, errors.New("permission denied for pg_proc")
		}
		return &fakeResult{
			cols: []string{"kind", "schema", "name", "detail", "on_schema", "on_table", "body", "lang"},
			rows: [][]driver.Value{
				{"path", "app", "", "", "", "", "", ""},
				{"depends", "app", "user_emails", "view", "app", "users", nil, nil},
			},
		}, nil
	})
	base.on("products", func([]driver.NamedValue) (*fakeResult, error) { return &fakeResult{}, nil })
	d := testDialect(nil)
	d.DependentsQuery = "CATALOG"
	var built []*schema.Config
	d.NewRewriter = func(c *schema.Config) rewrite.Rewriter {
		built = append(built, c)
		return cfgRewriter{c}
	}
	c, err := NewConnector(base, d, cfg, WithProvider(cfg.Key.URL, prov))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()

	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "reading the catalog") {
		t.Fatalf("Ping with a failing catalog query: %v; want the catalog's error", err)
	}
	fail.Store(false)
	// Two connections at once: the catalog is read by the first only.
	ctx := context.Background()
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n := len(base.callsTo("CATALOG", "query")); n != 2 {
		t.Errorf("the catalog query ran %d times; want 2 (the failed connection, then the first good one)", n)
	}
	if len(built) != 2 || !built[1].HasRefused() || built[0].HasRefused() {
		t.Fatalf("rewriters built: %d; want the first without refused names, then one with them", len(built))
	}
	if built[1].Table("users") != cfg.Table("users") {
		t.Error("the new rewriter's schema doesn't share the connector's tables")
	}
	for _, cn := range []*sql.Conn{c1, c2} {
		if _, err := cn.ExecContext(ctx, "user_emails"); !errors.Is(err, ErrUnsupportedStatement) || !strings.Contains(err.Error(), "view app.user_emails reads table users") {
			t.Errorf("a statement naming the view: %v; want it refused with the reason", err)
		}
		if _, err := cn.ExecContext(ctx, "products"); err != nil {
			t.Errorf("an unrelated statement: %v", err)
		}
	}
	if cfg.HasRefused() {
		t.Error("the connector changed the Config it was given")
	}
}
