package schema

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// yml joins lines into a file, so that a test's line numbers can be counted
// from its arguments: the first argument is line 1.
func yml(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// minimalTail is a valid tables: section, for cases about other sections.
var minimalTail = []string{
	"tables:",
	"  users:",
	"    columns:",
	"      email: text",
}

func withTail(lines ...string) string { return yml(append(lines, minimalTail...)...) }

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), "kmsenc.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseFullFile(t *testing.T) {
	c := mustParse(t, yml(
		"key:",
		"  url: awskms://alias/app?region=us-east-1",
		"  version: 3",
		"  previous_versions:",
		"    1: hashivault://app",
		"    2: gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k",
		"cache:",
		"  ttl: 5m",
		"  max_keys: 20",
		"tables:",
		"  Users:",
		"    key_column: wrapped_key",
		"    primary_key: [tenant_id, id]",
		"    context:",
		"      table: users",
		"      id: $id",
		"      Zone: 7",
		"      active: true",
		"    columns:",
		"      Email: text",
		"      avatar: bytes",
		"      age: int",
		"      score: float",
		"      verified: bool",
		"      birthday: date",
		"      seen_at: timestamp",
		"      settings: { type: json }",
		"  orders:",
		"    primary_key: order_no",
		"    key:",
		"      url: base64key://c2VjcmV0",
		"    columns:",
		"      note: text",
	))

	if c.File != "kmsenc.yaml" {
		t.Errorf("File = %q", c.File)
	}
	wantKey := Key{URL: "awskms://alias/app?region=us-east-1", Version: 3, Previous: map[int]string{
		1: "hashivault://app",
		2: "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k",
	}}
	if !reflect.DeepEqual(c.Key, wantKey) {
		t.Errorf("Key = %+v, want %+v", c.Key, wantKey)
	}
	if want := (Cache{TTL: 5 * time.Minute, MaxKeys: 20}); c.Cache != want {
		t.Errorf("Cache = %+v, want %+v", c.Cache, want)
	}
	if got := c.TableNames(); !reflect.DeepEqual(got, []string{"Users", "orders"}) {
		t.Errorf("TableNames = %q", got)
	}

	users := c.Tables["users"]
	if users == nil {
		t.Fatalf("Tables has no key %q: %v", "users", c.Tables)
	}
	if users.Name != "Users" || users.KeyColumn != "wrapped_key" || users.Key != nil {
		t.Errorf("users = {Name %q, KeyColumn %q, Key %v}", users.Name, users.KeyColumn, users.Key)
	}
	if !reflect.DeepEqual(users.PrimaryKey, []string{"tenant_id", "id"}) {
		t.Errorf("users.PrimaryKey = %q", users.PrimaryKey)
	}
	// Sorted bytewise: upper case before lower case. Scalars as written.
	wantCtx := []ContextEntry{
		{Name: "Zone", Value: "7"},
		{Name: "active", Value: "true"},
		{Name: "id", Column: "id"},
		{Name: "table", Value: "users"},
	}
	if !reflect.DeepEqual(users.Context, wantCtx) {
		t.Errorf("users.Context = %+v, want %+v", users.Context, wantCtx)
	}
	wantCols := map[string]*Column{
		"email":    {Table: "Users", Name: "Email", Type: Text},
		"avatar":   {Table: "Users", Name: "avatar", Type: Bytes},
		"age":      {Table: "Users", Name: "age", Type: Int},
		"score":    {Table: "Users", Name: "score", Type: Float},
		"verified": {Table: "Users", Name: "verified", Type: Bool},
		"birthday": {Table: "Users", Name: "birthday", Type: Date},
		"seen_at":  {Table: "Users", Name: "seen_at", Type: Timestamp},
		"settings": {Table: "Users", Name: "settings", Type: JSON},
	}
	if !reflect.DeepEqual(users.Columns, wantCols) {
		for k, v := range users.Columns {
			t.Logf("got column %q: %+v", k, *v)
		}
		t.Errorf("users.Columns differ from %d expected columns", len(wantCols))
	}

	orders := c.Tables["orders"]
	if orders == nil {
		t.Fatal("no table orders")
	}
	if orders.KeyColumn != DefaultKeyColumn {
		t.Errorf("orders.KeyColumn = %q, want the default", orders.KeyColumn)
	}
	if !reflect.DeepEqual(orders.PrimaryKey, []string{"order_no"}) {
		t.Errorf("orders.PrimaryKey = %q, want [order_no] from a plain string", orders.PrimaryKey)
	}
	if want := []ContextEntry{{Name: "table", Value: "orders"}}; !reflect.DeepEqual(orders.Context, want) {
		t.Errorf("orders.Context = %+v, want the default %+v", orders.Context, want)
	}
	wantOrdersKey := &Key{URL: "base64key://c2VjcmV0", Version: 1}
	if !reflect.DeepEqual(orders.Key, wantOrdersKey) {
		t.Errorf("orders.Key = %+v, want %+v", orders.Key, wantOrdersKey)
	}
	if got := c.KeyFor(orders); !reflect.DeepEqual(got, *wantOrdersKey) {
		t.Errorf("KeyFor(orders) = %+v, want the table's own key", got)
	}
	if got := c.KeyFor(users); !reflect.DeepEqual(got, wantKey) {
		t.Errorf("KeyFor(users) = %+v, want the top-level key", got)
	}
}

func TestParseDefaults(t *testing.T) {
	c := mustParse(t, withTail("key: {url: 'awskms://alias/app'}"))
	if want := (Key{URL: "awskms://alias/app", Version: 1}); !reflect.DeepEqual(c.Key, want) {
		t.Errorf("Key = %+v, want %+v", c.Key, want)
	}
	if want := (Cache{TTL: DefaultCacheTTL, MaxKeys: DefaultMaxKeys}); c.Cache != want {
		t.Errorf("Cache = %+v, want the defaults %+v", c.Cache, want)
	}
	u := c.Table("users")
	if u.KeyColumn != "encrypted_kms_key" || !reflect.DeepEqual(u.PrimaryKey, []string{"id"}) {
		t.Errorf("users: KeyColumn %q, PrimaryKey %q; want encrypted_kms_key and [id]", u.KeyColumn, u.PrimaryKey)
	}
	if want := []ContextEntry{{Name: "table", Value: "users"}}; !reflect.DeepEqual(u.Context, want) {
		t.Errorf("Context = %+v, want %+v", u.Context, want)
	}
}

func TestParseCacheOff(t *testing.T) {
	for _, ttl := range []string{"0", "0s", `"0"`} {
		c := mustParse(t, withTail("key: {url: 'awskms://alias/app'}", "cache: {ttl: "+ttl+"}"))
		if c.Cache.TTL != 0 || c.Cache.MaxKeys != DefaultMaxKeys {
			t.Errorf("ttl: %s: Cache = %+v, want TTL 0 and the default max_keys", ttl, c.Cache)
		}
	}
}

func TestParseWithoutTopLevelKey(t *testing.T) {
	// Every table has its own key, so the top-level one may be left out.
	c := mustParse(t, yml(
		"tables:",
		"  users:",
		"    key: {url: 'awskms://alias/users', version: 2, previous_versions: {1: 'awskms://alias/old'}}",
		"    columns: {email: text}",
	))
	if c.Key.URL != "" {
		t.Errorf("Key.URL = %q, want none", c.Key.URL)
	}
	k := c.KeyFor(c.Table("users"))
	if k.URL != "awskms://alias/users" || k.Version != 2 || k.Previous[1] != "awskms://alias/old" {
		t.Errorf("KeyFor(users) = %+v", k)
	}
}

func TestParseAlias(t *testing.T) {
	c := mustParse(t, yml(
		"key: &main {url: 'awskms://alias/app'}",
		"tables:",
		"  users:",
		"    key: *main",
		"    columns: {email: text}",
	))
	if k := c.KeyFor(c.Table("users")); k.URL != "awskms://alias/app" {
		t.Errorf("KeyFor(users).URL = %q, want the aliased key", k.URL)
	}
}

func TestParseEnv(t *testing.T) {
	t.Setenv("KMSENC_TEST_DEV_KEY", "c2VjcmV0")
	t.Setenv("KMSENC_TEST_VERSION", "4")
	t.Setenv("KMSENC_TEST_TTL", "90s")
	t.Setenv("KMSENC_TEST_TENANT", "acme")
	t.Setenv("KMSENC_TEST_TYPE", "json")
	t.Setenv("KMSENC_TEST_EMPTY", "")
	c := mustParse(t, yml(
		"key:",
		"  url: base64key://${KMSENC_TEST_DEV_KEY}",
		"  version: ${KMSENC_TEST_VERSION}",
		"cache: {ttl: '${KMSENC_TEST_TTL}'}",
		"tables:",
		"  users:",
		"    context:",
		"      tenant: ${KMSENC_TEST_TENANT}-${KMSENC_TEST_TENANT}${KMSENC_TEST_EMPTY}",
		"      id: $id",
		"    columns:",
		"      settings: ${KMSENC_TEST_TYPE}",
	))
	if c.Key.URL != "base64key://c2VjcmV0" || c.Key.Version != 4 || c.Cache.TTL != 90*time.Second {
		t.Errorf("Key = %+v, Cache = %+v", c.Key, c.Cache)
	}
	u := c.Table("users")
	want := []ContextEntry{{Name: "id", Column: "id"}, {Name: "tenant", Value: "acme-acme"}}
	if !reflect.DeepEqual(u.Context, want) {
		t.Errorf("Context = %+v, want %+v ($id must not be expanded)", u.Context, want)
	}
	if col := u.Column("settings"); col == nil || col.Type != JSON {
		t.Errorf("settings = %+v, want type json", col)
	}
}

func TestParseEnvUnset(t *testing.T) {
	os.Unsetenv("KMSENC_TEST_UNSET") // t.Setenv can't unset; the name is ours alone
	_, err := Parse([]byte(withTail(
		"key:",
		"  url: base64key://${KMSENC_TEST_UNSET}",
	)), "kmsenc.yaml")
	fe := checkFieldError(t, err, 2, "key.url")
	if !strings.Contains(fe.Msg, "KMSENC_TEST_UNSET") || !strings.Contains(fe.Msg, "not set") {
		t.Errorf("message %q doesn't name the unset variable", fe.Msg)
	}
}

// checkFieldError asserts that err is a *FieldError matching ErrConfig, for
// kmsenc.yaml, at line and field, with the standard prefix in its text.
func checkFieldError(t *testing.T, err error, line int, field string) *FieldError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one at line %d, field %q", line, field)
	}
	if !errors.Is(err, ErrConfig) {
		t.Errorf("errors.Is(%v, ErrConfig) = false", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if fe.File != "kmsenc.yaml" || fe.Line != line || fe.Field != field {
		t.Errorf("error at %s:%d field %q, want kmsenc.yaml:%d field %q\n%v", fe.File, fe.Line, fe.Field, line, field, err)
	}
	prefix := "kmsenc.yaml:"
	if line > 0 {
		prefix += strconv.Itoa(line) + ":"
	}
	if field != "" {
		prefix += " " + field + ":"
	}
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q doesn't start with %q", err, prefix)
	}
	return fe
}

const okKey = "key: {url: 'awskms://alias/app'}"

func TestParseErrors(t *testing.T) {
	t.Setenv("KMSENC_TEST_SECRET", "s3cr3t-from-env")
	tests := []struct {
		name  string
		src   string
		line  int
		field string
		want  []string // substrings of the message
		never []string // substrings that must not appear (secrets)
	}{
		{
			name: "empty file",
			src:  "# nothing yet\n",
			want: []string{"empty"},
		},
		{
			name: "not YAML",
			src: yml(
				okKey,
				"tables:",
				"  users:",
				"\tcolumns: {email: text}",
			),
			line: 4,
			want: []string{"not valid YAML", "indent with spaces"},
		},
		{
			name: "not YAML, unclosed bracket on the first line",
			src:  yml("key: [a", "", "# end"),
			line: 1,
			want: []string{"not valid YAML"},
		},
		{
			name: "not YAML, bad indentation",
			// The parser knows only where the mapping that lost its key
			// starts (line 4), not the line at fault (6).
			src:  yml(okKey, "tables:", "  users:", "    columns:", "      email: text", "     ssn: text"),
			line: 4,
			want: []string{"not valid YAML", "check the indentation of the lines below"},
		},
		{
			name: "not a mapping",
			src:  yml("- key", "- tables"),
			line: 1,
			want: []string{"want a mapping", "got a list"},
		},
		{
			name: "two documents",
			src:  withTail(okKey, "---", okKey),
			line: 2,
			want: []string{"second YAML document"},
		},
		{
			name:  "unknown top-level field, misspelled",
			src:   yml(okKey, "tabels:", "  users: {columns: {email: text}}"),
			line:  2,
			field: "tabels",
			want:  []string{`unknown field "tabels"`, `did you mean "tables"?`},
		},
		{
			name:  "unknown table field",
			src:   yml(okKey, "tables:", "  users:", "    colums:", "      email: text"),
			line:  4,
			field: "tables.users.colums",
			want:  []string{`did you mean "columns"?`, "key_column, primary_key, context, key, columns"},
		},
		{
			name:  "unknown field far from any",
			src:   withTail(okKey, "shards: 4"),
			line:  2,
			field: "shards",
			want:  []string{`unknown field "shards"`},
			never: []string{"did you mean"},
		},
		{
			name:  "unknown key field",
			src:   withTail("key:", "  url: awskms://alias/app", "  versoin: 2"),
			line:  3,
			field: "key.versoin",
			want:  []string{`did you mean "version"?`},
		},
		{
			name:  "unknown cache field",
			src:   withTail(okKey, "cache:", "  maxkeys: 5"),
			line:  3,
			field: "cache.maxkeys",
			want:  []string{`did you mean "max_keys"?`},
		},
		{
			name:  "unknown long-form column field",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      settings: {typ: json}"),
			line:  5,
			field: "tables.users.columns.settings.typ",
			want:  []string{`did you mean "type"?`},
		},
		{
			name:  "merge key",
			src:   yml("key: &k {url: 'awskms://alias/app'}", "tables:", "  users:", "    key:", "      <<: *k", "    columns: {email: text}"),
			line:  5,
			field: "tables.users.key",
			want:  []string{"merge keys (<<) are not supported"},
		},
		{
			name:  "duplicate field",
			src:   yml(okKey, okKey, "tables: {users: {columns: {email: text}}}"),
			line:  2,
			field: "key",
			want:  []string{"set twice (first at line 1)"},
		},
		{
			name:  "key.url missing, a table has no key",
			src:   yml("cache: {ttl: 1s}", "tables:", "  orders: {key: {url: 'awskms://alias/o'}, columns: {note: text}}", "  users:", "    columns: {email: text}"),
			line:  1,
			field: "key.url",
			want:  []string{`table "users" (tables.users, line 4) has no key`, "awskms://"},
		},
		{
			name:  "key without url",
			src:   withTail("cache: {ttl: 1s}", "key:", "  version: 2"),
			line:  2,
			field: "key.url",
			want:  []string{"missing"},
		},
		{
			name:  "key.url empty",
			src:   withTail("key:", "  url: ''"),
			line:  2,
			field: "key.url",
			want:  []string{"empty"},
		},
		{
			name:  "key.url not a URL, never echoed",
			src:   withTail("key:", "  url: c2VjcmV0LWtleS1tYXRlcmlhbA=="),
			line:  2,
			field: "key.url",
			want:  []string{"not a key URL"},
			never: []string{"c2VjcmV0LWtleS1tYXRlcmlhbA"},
		},
		{
			name:  "key.url from env not a URL, never echoed",
			src:   withTail("key:", "  url: ${KMSENC_TEST_SECRET}"),
			line:  2,
			field: "key.url",
			never: []string{"s3cr3t"},
		},
		{
			name:  "key is a string, never echoed",
			src:   withTail("key: base64key://c2VjcmV0LWtleS1tYXRlcmlhbA=="),
			line:  1,
			field: "key",
			want:  []string{"want a mapping with url:", "got a string"},
			never: []string{"c2VjcmV0LWtleS1tYXRlcmlhbA"},
		},
		{
			name:  "version not a number",
			src:   withTail("key:", "  url: awskms://alias/app", "  version: two"),
			line:  3,
			field: "key.version",
			want:  []string{`"two" is not a whole number`},
		},
		{
			name:  "version zero",
			src:   withTail("key:", "  url: awskms://alias/app", "  version: 0"),
			line:  3,
			field: "key.version",
			want:  []string{">= 1"},
		},
		{
			name:  "previous version not a number",
			src:   withTail("key:", "  url: awskms://alias/app", "  version: 2", "  previous_versions:", "    one: hashivault://app"),
			line:  5,
			field: "key.previous_versions.one",
			want:  []string{"not a version"},
			never: []string{"hashivault"},
		},
		{
			name: "previous version not older, previous URL never echoed",
			src: withTail(
				"key:",
				"  url: base64key://Y3VycmVudA==",
				"  version: 2",
				"  previous_versions:",
				"    1: base64key://b2xk",
				"    2: base64key://c2FtZQ==",
			),
			line:  6,
			field: "key.previous_versions.2",
			want:  []string{"not older than key.version (2)"},
			never: []string{"Y3VycmVudA", "b2xk", "c2FtZQ"},
		},
		{
			name:  "previous version listed twice",
			src:   withTail("key:", "  url: awskms://a/b", "  version: 3", "  previous_versions:", "    1: awskms://a/c", "    01: awskms://a/d"),
			line:  6,
			field: "key.previous_versions.1",
			want:  []string{"listed twice (first at line 5)"},
		},
		{
			name:  "previous_versions URL not a URL",
			src:   withTail("key:", "  url: awskms://a/b", "  version: 2", "  previous_versions: {1: plain-secret}"),
			line:  4,
			field: "key.previous_versions.1",
			want:  []string{"not a key URL"},
			never: []string{"plain-secret"},
		},
		{
			name:  "ttl without unit",
			src:   withTail(okKey, "cache:", "  ttl: 60"),
			line:  3,
			field: "cache.ttl",
			want:  []string{`"60" is not a duration`, "60s"},
		},
		{
			name:  "ttl negative",
			src:   withTail(okKey, "cache:", "  ttl: -5s"),
			line:  3,
			field: "cache.ttl",
			want:  []string{"negative"},
		},
		{
			name:  "max_keys zero",
			src:   withTail(okKey, "cache:", "  max_keys: 0"),
			line:  3,
			field: "cache.max_keys",
			want:  []string{">= 1"},
		},
		{
			name:  "no tables section",
			src:   yml("# kmsenc", okKey),
			line:  2,
			field: "tables",
			want:  []string{"no tables"},
		},
		{
			name:  "tables empty",
			src:   yml(okKey, "tables: {}"),
			line:  2,
			field: "tables",
			want:  []string{"no tables"},
		},
		{
			name:  "table without columns",
			src:   yml(okKey, "tables:", "  users:", "    key_column: k"),
			line:  3,
			field: "tables.users.columns",
			want:  []string{"no encrypted columns"},
		},
		{
			name:  "table with empty columns",
			src:   yml(okKey, "tables:", "  users:", "    key_column: k", "    columns: {}"),
			line:  5,
			field: "tables.users.columns",
			want:  []string{"no encrypted columns"},
		},
		{
			name:  "unknown type",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      email: txt"),
			line:  5,
			field: "tables.users.columns.email",
			want:  []string{`unknown type "txt" (want one of text, bytes, int, float, bool, date, timestamp, json)`},
		},
		{
			name:  "unknown type, long form",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      settings:", "        type: jsonb"),
			line:  6,
			field: "tables.users.columns.settings.type",
			want:  []string{`unknown type "jsonb"`},
		},
		{
			name:  "long form without type",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      settings: {}"),
			line:  5,
			field: "tables.users.columns.settings.type",
			want:  []string{"missing"},
		},
		{
			name:  "column without type",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      email:"),
			line:  5,
			field: "tables.users.columns.email",
			want:  []string{"got nothing"},
		},
		{
			name:  "encrypted column is the default key column",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      encrypted_kms_key: text"),
			line:  5,
			field: "tables.users.columns.encrypted_kms_key",
			want:  []string{"is also the key column (tables.users.key_column, by default)"},
		},
		{
			name:  "key column named after an encrypted column",
			src:   yml(okKey, "tables:", "  users:", "    columns: {email: text}", "    key_column: EMAIL"),
			line:  5,
			field: "tables.users.key_column",
			want:  []string{`"EMAIL" is also an encrypted column (tables.users.columns.email, line 4)`},
		},
		{
			name:  "encrypted column in the default primary key",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      id: int"),
			line:  5,
			field: "tables.users.columns.id",
			want:  []string{"in primary_key (tables.users.primary_key, by default)", "pin a row"},
		},
		{
			name:  "primary key lists an encrypted column",
			src:   yml(okKey, "tables:", "  users:", "    columns: {email: text, ssn: text}", "    primary_key: [id, ssn]"),
			line:  5,
			field: "tables.users.primary_key[1]",
			want:  []string{`"ssn" is also an encrypted column (tables.users.columns.ssn, line 4)`},
		},
		{
			name:  "context names an encrypted column",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      ssn: text", "    context:", "      subject: $ssn"),
			line:  7,
			field: "tables.users.context.subject",
			want:  []string{"is also an encrypted column (tables.users.columns.ssn, line 5)"},
		},
		{
			name:  "encrypted column is in the context",
			src:   yml(okKey, "tables:", "  users:", "    context: {subject: $SSN}", "    columns:", "      ssn: text"),
			line:  6,
			field: "tables.users.columns.ssn",
			want:  []string{"is also a context column (tables.users.context.subject, line 4)"},
		},
		{
			name:  "key column in the primary key",
			src:   yml(okKey, "tables:", "  users:", "    key_column: id", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.key_column",
			want:  []string{"in primary_key (tables.users.primary_key, by default)"},
		},
		{
			name:  "context names the key column",
			src:   yml(okKey, "tables:", "  users:", "    context: {k: $encrypted_kms_key}", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.context.k",
			want:  []string{"is also the key column"},
		},
		{
			name:  "empty primary key",
			src:   yml(okKey, "tables:", "  users:", "    primary_key: []", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.primary_key",
			want:  []string{"empty", "[id]"},
		},
		{
			name:  "primary key listed twice",
			src:   yml(okKey, "tables:", "  users:", "    primary_key:", "      - id", "      - ID", "    columns: {email: text}"),
			line:  6,
			field: "tables.users.primary_key[1]",
			want:  []string{"listed twice"},
		},
		{
			name:  "empty key column",
			src:   yml(okKey, "tables:", "  users:", "    key_column: ''", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.key_column",
			want:  []string{"empty", "encrypted_kms_key"},
		},
		{
			name:  "empty context",
			src:   yml(okKey, "tables:", "  users:", "    context: {}", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.context",
			want:  []string{"{table: users}"},
		},
		{
			name:  "context $ without a column",
			src:   yml(okKey, "tables:", "  users:", "    context: {id: $}", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.context.id",
			want:  []string{"without a column name"},
		},
		{
			name:  "not YAML, unclosed brace",
			src:   yml(okKey, "tables:", "  users:", "    columns: {email: text"),
			line:  4,
			want:  []string{"not valid YAML"},
			never: []string{"indent"},
		},
		{
			name:  "tables differing only in case",
			src:   yml(okKey, "tables:", "  users: {columns: {email: text}}", "  Users: {columns: {email: text}}"),
			line:  4,
			field: "tables.Users",
			want:  []string{`same table as "users" (line 3)`},
		},
		{
			name:  "columns differing only in case",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      email: text", "      Email: text"),
			line:  6,
			field: "tables.users.columns.Email",
			want:  []string{`same column as "email" (line 5)`},
		},
		{
			name:  "column listed twice",
			src:   yml(okKey, "tables:", "  users:", "    columns:", "      email: text", "      email: bytes"),
			line:  6,
			field: "tables.users.columns.email",
			want:  []string{"set twice (first at line 5)"},
		},
		{
			name:  "per-table key without url",
			src:   yml(okKey, "tables:", "  users:", "    key:", "      version: 2", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.key.url",
			want:  []string{"missing"},
		},
		{
			name:  "unset variable in a context value",
			src:   yml(okKey, "tables:", "  users:", "    context: {tenant: '${KMSENC_TEST_NOT_SET_EITHER}'}", "    columns: {email: text}"),
			line:  4,
			field: "tables.users.context.tenant",
			want:  []string{"KMSENC_TEST_NOT_SET_EITHER is not set"},
		},
		{
			name:  "unterminated variable",
			src:   withTail("key:", "  url: base64key://${KMSENC_TEST_SECRET"),
			line:  2,
			field: "key.url",
			want:  []string{`without a closing "}"`},
		},
		{
			// Rules across fields are sorted by line: the table's conflict
			// (line 4) comes before the cache mistake (line 7), although
			// the cache is checked first.
			name:  "first mistake in file order",
			src:   yml(okKey, "tables:", "  users:", "    key_column: id", "    columns: {email: text}", "cache:", "  max_keys: 0"),
			line:  4,
			field: "tables.users.key_column",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.src), "kmsenc.yaml")
			if c != nil {
				t.Errorf("Parse returned a Config along with error %v", err)
			}
			fe := checkFieldError(t, err, tt.line, tt.field)
			for _, w := range tt.want {
				if !strings.Contains(fe.Msg, w) {
					t.Errorf("message %q doesn't contain %q", fe.Msg, w)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q contains %q", err, n)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kmsenc.yaml")
	if err := os.WriteFile(path, []byte(withTail(okKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.File != path || c.Table("users") == nil {
		t.Errorf("Load: File %q, tables %v", c.File, c.TableNames())
	}

	// A mistake in a loaded file names the file's path.
	if err := os.WriteFile(path, []byte(yml(okKey, "tables: {}")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), path+":2: tables: ") {
		t.Errorf("Load of a bad file: %v; want an ErrConfig at %s:2", err, path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere", "kmsenc.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of a missing file: no error")
	}
	if !errors.Is(err, ErrConfig) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v: want it to match ErrConfig and fs.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), path+": ") || strings.Count(err.Error(), path) != 1 {
		t.Errorf("error %q: want it to name %s once, at the start", err, path)
	}
}

func TestParseNoFileName(t *testing.T) {
	_, err := Parse([]byte(yml(okKey, "tables: {}")), "")
	if err == nil || err.Error() != "line 2: tables: no tables; list each table that has encrypted columns, e.g. tables: {users: {columns: {email: text}}}" {
		t.Errorf("Parse without a file name: %v", err)
	}
}

func TestLookups(t *testing.T) {
	c := mustParse(t, yml(
		okKey,
		"tables:",
		"  Users:",
		"    key_column: Wrapped_Key",
		"    primary_key: [Tenant, ID]",
		"    context: {table: users, tenant: $Tenant, id: $ID}",
		"    columns: {Email: text, ssn: text}",
		"  orders:",
		"    columns: {note: text}",
	))
	u := c.Table("USERS")
	if u == nil || u != c.Table("users") || u.Name != "Users" {
		t.Fatalf("Table(USERS) = %+v", u)
	}
	if c.Table("customers") != nil {
		t.Error("Table(customers) is not nil")
	}
	if col := u.Column("EMAIL"); col == nil || col.Name != "Email" || col.AssociatedData() != "Users.Email" {
		t.Errorf("Column(EMAIL) = %+v", col)
	}
	if u.Column("id") != nil {
		t.Error("Column(id) is not nil: id is not encrypted")
	}
	if got := u.ColumnNames(); !reflect.DeepEqual(got, []string{"Email", "ssn"}) {
		t.Errorf("ColumnNames = %q", got)
	}
	if !u.IsKeyColumn("wrapped_key") || u.IsKeyColumn("encrypted_kms_key") {
		t.Error("IsKeyColumn: want wrapped_key in any case, not the default name")
	}
	if !u.IsPrimaryKey("tenant") || !u.IsPrimaryKey("id") || u.IsPrimaryKey("email") {
		t.Error("IsPrimaryKey: want tenant and id in any case, not email")
	}
	if got := u.ContextColumns(); !reflect.DeepEqual(got, []string{"ID", "Tenant"}) {
		t.Errorf("ContextColumns = %q, want [ID Tenant] (in entry-name order)", got)
	}
	if !u.IsContextColumn("TENANT") || u.IsContextColumn("users") || u.IsContextColumn("table") {
		t.Error("IsContextColumn: want tenant, not a fixed value or an entry name")
	}
	var nilTable *Table
	if nilTable.Column("email") != nil {
		t.Error("(*Table)(nil).Column is not nil")
	}

	for name, want := range map[string]bool{
		"users": true, "USERS": true, "orders": true, // tables
		"email": true, "SSN": true, "note": true, // encrypted columns
		"wrapped_key": true, "encrypted_kms_key": true, // key columns (orders has the default)
		"id": false, "tenant": false, "customers": false, "": false,
	} {
		if got := c.Touches(name); got != want {
			t.Errorf("Touches(%q) = %v, want %v", name, got, want)
		}
	}
	var nilConfig *Config
	if nilConfig.Touches("users") || nilConfig.Table("users") != nil || nilConfig.TableNames() != nil {
		t.Error("a nil Config should touch nothing and have no tables")
	}
}

func TestKeyURLFor(t *testing.T) {
	k := Key{URL: "awskms://alias/new", Version: 3, Previous: map[int]string{1: "awskms://alias/old"}}
	for _, tt := range []struct {
		version int
		url     string
		ok      bool
	}{
		{3, "awskms://alias/new", true},
		{1, "awskms://alias/old", true},
		{2, "", false},
	} {
		if url, ok := k.URLFor(tt.version); url != tt.url || ok != tt.ok {
			t.Errorf("URLFor(%d) = %q, %v; want %q, %v", tt.version, url, ok, tt.url, tt.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	good := func() *Config {
		return &Config{
			Key:   Key{URL: "awskms://alias/app", Version: 1},
			Cache: Cache{TTL: time.Minute, MaxKeys: 10},
			Tables: map[string]*Table{"users": {
				Name: "users", KeyColumn: DefaultKeyColumn, PrimaryKey: []string{"id"},
				Context: []ContextEntry{{Name: "table", Value: "users"}},
				Columns: map[string]*Column{"email": {Table: "users", Name: "email", Type: Text}},
			}},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate of a good Config: %v", err)
	}
	for name, tt := range map[string]struct {
		break_ func(c *Config)
		field  string
	}{
		"encrypted primary key": {func(c *Config) { c.Tables["users"].PrimaryKey = []string{"EMAIL"} }, "tables.users.columns.email"},
		"no url":                {func(c *Config) { c.Key = Key{} }, "key.url"},
		"map key not lower":     {func(c *Config) { c.Tables["Users"] = c.Tables["users"]; delete(c.Tables, "users") }, "tables.users"},
		"bad type":              {func(c *Config) { c.Tables["users"].Columns["email"].Type = "string" }, "tables.users.columns.email"},
		"column table":          {func(c *Config) { c.Tables["users"].Columns["email"].Table = "people" }, "tables.users.columns.email"},
	} {
		c := good()
		tt.break_(c)
		err := c.Validate()
		var fe *FieldError
		if !errors.Is(err, ErrConfig) || !errors.As(err, &fe) || fe.Field != tt.field || fe.Line != 0 {
			t.Errorf("%s: Validate = %v, want an ErrConfig for %s without a line", name, err, tt.field)
		}
	}
}

func TestFieldErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "k.yaml", Line: 3, Field: "cache.ttl", Msg: "bad"}, "k.yaml:3: cache.ttl: bad"},
		{FieldError{File: "k.yaml", Msg: "bad"}, "k.yaml: bad"},
		{FieldError{Line: 3, Field: "f", Msg: "bad"}, "line 3: f: bad"},
		{FieldError{Field: "f", Msg: "bad"}, "f: bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if errors.Is(&FieldError{}, errors.New("other")) {
		t.Error("FieldError matches an unrelated error")
	}
}

// Config.Line gives the line of each field the file sets, for errors found
// outside this package (the check against the database).
func TestConfigLine(t *testing.T) {
	c, err := Parse([]byte(`key:
  url: base64key://AAAA
tables:
  users:
    context:
      id: $id
    columns:
      email: text
`), "k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int{
		"key.url": 2, "tables.users": 4, "tables.users.context.id": 6,
		"tables.users.columns.email": 8, "tables.users.key_column": 0,
	} {
		if got := c.Line(field); got != want {
			t.Errorf("Line(%q) = %d, want %d", field, got, want)
		}
	}
	if (*Config)(nil).Line("tables") != 0 {
		t.Error("a nil Config has lines")
	}
}
