package kmsenc

import (
	"strings"
	"testing"

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
