package postgres

import (
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// The golden cases follow DESIGN §5, rule by rule.

func TestPassThrough(t *testing.T) { runGolden(t, passThroughCases) }

var passThroughCases = []golden{
	{name: "no declared name", sql: `SELECT id, name FROM orders WHERE id = $2`},
	{name: "declared names only in strings and comments", sql: `SELECT 'users', $$email$$, E'ssn' /* users.email */ FROM t -- encrypted_kms_key`},
	{name: "plain column of a plain table named like an encrypted one", sql: `SELECT email FROM contacts WHERE email = $1`},
	{name: "insert into a plain table", sql: `INSERT INTO contacts (email) VALUES ($1)`},
	{name: "plain columns of a declared table", sql: `SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."id" = $1`},
	{name: "count and IS NULL on encrypted columns", sql: `SELECT count(email), count(*) FROM users WHERE ssn IS NULL AND email IS NOT NULL`},
	{name: "update of plain columns", sql: `UPDATE "users" SET "name"=$1,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3`},
	{name: "delete", sql: `DELETE FROM "users" WHERE "users"."id" = $1`},
	{name: "subquery on a declared table in WHERE", sql: `SELECT id FROM orders WHERE user_id IN (SELECT id FROM users WHERE name = $1)`},
	{name: "EXISTS over *", sql: `SELECT id FROM orders o WHERE EXISTS (SELECT * FROM users u WHERE u.id = o.user_id)`},
	{name: "set operation of plain columns", sql: `SELECT id FROM users UNION SELECT id FROM companies`},
	{name: "DDL", sql: `ALTER TABLE users ADD COLUMN encrypted_kms_key text`},
	{name: "CREATE INDEX", sql: `CREATE INDEX users_email ON users (email)`},
	{name: "TRUNCATE", sql: `TRUNCATE users`},
	{name: "transaction control", sql: `BEGIN`},
	{name: "the key column tested by rotation tools", sql: `SELECT id FROM users WHERE encrypted_kms_key NOT LIKE 'v2:%' LIMIT 100`},
}

func TestInsert(t *testing.T) { runGolden(t, insertCases) }

var insertCases = []golden{
	{
		name:   `GORM insert, many rows, RETURNING a plain column`,
		sql:    `INSERT INTO "users" ("name","email","id") VALUES ($1,$2,$3),($4,$5,$6) RETURNING "id"`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO "users" ("name","email","id", encrypted_kms_key) VALUES ($1,$5,$2, $6),($3,$7,$4, $8) RETURNING "id"`,
		params: []string{`$1`, `$3`, `$4`, `$6`, `enc(email, row 0, $2)`, `key(row 0)`, `enc(email, row 1, $5)`, `key(row 1)`},
		rows:   []string{`id=$3 table=users`, `id=$6 table=users`},
	},
	{
		name:   `bun literals become parameters`,
		sql:    `INSERT INTO "users" ("id", "email") VALUES (1, 'a@b.c'), (2, 'x''y')`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO "users" ("id", "email", encrypted_kms_key) VALUES (1, $1, $2), (2, $3, $4)`,
		params: []string{`enc(email, row 0, 'a@b.c')`, `key(row 0)`, `enc(email, row 1, 'x'y')`, `key(row 1)`},
		rows:   []string{`id=1 table=users`, `id=2 table=users`},
	},
	{
		name:   `literal forms`,
		sql:    "INSERT INTO users (id, email, ssn) VALUES (-1, E'a\\nb', $$it's$$), (2, 'a'\n'b', 'n'), (3, 42, 1.5e3), (4, TRUE, NULL)",
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, ssn, encrypted_kms_key) VALUES (-1, $1, $2, $3), (2, $4, $5, $6), (3, $7, $8, $9), (4, $10, NULL, $11)`,
		params: []string{"enc(email, row 0, 'a\nb')", `enc(ssn, row 0, 'it's')`, `key(row 0)`, `enc(email, row 1, 'ab')`, `enc(ssn, row 1, 'n')`, `key(row 1)`, `enc(email, row 2, 42)`, `enc(ssn, row 2, 1500)`, `key(row 2)`, `enc(email, row 3, true)`, `key(row 3)`},
		rows:   []string{`id=-1 table=users`, `id=2 table=users`, `id=3 table=users`, `id=4 table=users`},
	},
	{
		name:   `NULL stays NULL`,
		sql:    `INSERT INTO users (id, email) VALUES ($1, NULL)`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, encrypted_kms_key) VALUES ($1, NULL, $2)`,
		params: []string{`$1`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `a caller argument used twice`,
		sql:    `INSERT INTO users (id, email, ssn, name) VALUES ($1, $2, $2, $2)`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, ssn, name, encrypted_kms_key) VALUES ($1, $3, $4, $2, $5)`,
		params: []string{`$1`, `$2`, `enc(email, row 0, $2)`, `enc(ssn, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `sqlx named parameters, rebound`,
		sql:    `INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, name, email, encrypted_kms_key) VALUES ($1, $2, $3, $4)`,
		params: []string{`$1`, `$2`, `enc(email, row 0, $3)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `RETURNING an encrypted column`,
		sql:    `INSERT INTO users AS u (id, email) VALUES ($1, $2) RETURNING u.id, u.email`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users AS u (id, email, encrypted_kms_key) VALUES ($1, $2, $3) RETURNING u.id, u.email, u.encrypted_kms_key AS __kmsenc_1, u.id AS __kmsenc_2`,
		params: []string{`$1`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
		cols:   []string{`plain`, `enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=2 ctx=[3]`},
	},
	{
		name:   `RETURNING *`,
		sql:    `INSERT INTO users (id, email) VALUES ($1, $2) RETURNING *`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, encrypted_kms_key) VALUES ($1, $2, $3) RETURNING users.*, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2`,
		params: []string{`$1`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
		cols:   []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name:   `composite context and custom key column`,
		sql:    `INSERT INTO accounts (org_id, id, secret) VALUES ($1, $2, $3)`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO accounts (org_id, id, secret, kms_key) VALUES ($1, $2, $3, $4)`,
		params: []string{`$1`, `$2`, `enc(secret, row 0, $3)`, `key(row 0)`},
		rows:   []string{`org=$1 table=accounts`},
	},
	{
		name:   `comments and a trailing semicolon`,
		sql:    "INSERT INTO users ( id , email ) -- users\n VALUES ( $1 , $2 ) ;",
		kind:   rewrite.Insert,
		want:   "INSERT INTO users ( id , email, encrypted_kms_key ) -- users\n VALUES ( $1 , $2, $3 ) ;",
		params: []string{`$1`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `plain columns may be expressions`,
		sql:    `INSERT INTO users (id, email, created_at) VALUES ($1, $2, now())`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, created_at, encrypted_kms_key) VALUES ($1, $2, now(), $3)`,
		params: []string{`$1`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `ON CONFLICT DO NOTHING`,
		sql:    `INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, encrypted_kms_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		params: []string{`$1`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
}

func TestUpsert(t *testing.T) { runGolden(t, upsertCases) }

var upsertCases = []golden{
	{
		name:   `GORM upsert sets every encrypted column from EXCLUDED`,
		sql:    `INSERT INTO "users" ("id","email","ssn","name") VALUES ($1,$2,$3,$4) ON CONFLICT ("id") DO UPDATE SET "email"="excluded"."email","ssn"="excluded"."ssn","name"="excluded"."name"`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO "users" ("id","email","ssn","name", encrypted_kms_key) VALUES ($1,$3,$4,$2, $5) ON CONFLICT ("id") DO UPDATE SET "email"="excluded"."email","ssn"="excluded"."ssn","name"="excluded"."name", encrypted_kms_key = EXCLUDED.encrypted_kms_key`,
		params: []string{`$1`, `$4`, `enc(email, row 0, $2)`, `enc(ssn, row 0, $3)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `upsert of plain columns only`,
		sql:    `INSERT INTO users (id, email, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, name, encrypted_kms_key) VALUES ($1, $3, $2, $4) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
		params: []string{`$1`, `$3`, `enc(email, row 0, $2)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
	{
		name:   `upsert with RETURNING`,
		sql:    `INSERT INTO companies (id, tax_id) VALUES ($1, $2) ON CONFLICT ON CONSTRAINT companies_pkey DO UPDATE SET tax_id = EXCLUDED.tax_id RETURNING tax_id`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO companies (id, tax_id, encrypted_kms_key) VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT companies_pkey DO UPDATE SET tax_id = EXCLUDED.tax_id, encrypted_kms_key = EXCLUDED.encrypted_kms_key RETURNING tax_id, companies.encrypted_kms_key AS __kmsenc_1`,
		params: []string{`$1`, `enc(tax_id, row 0, $2)`, `key(row 0)`},
		rows:   []string{`table=companies`},
		cols:   []string{`enc 0 tax_id`, `key 0 hidden`},
		insts:  []string{`companies key=1 ctx=[]`},
	},
	{
		name:   `upsert with a WHERE on plain columns`,
		sql:    `INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, ssn = EXCLUDED.ssn WHERE users.deleted_at IS NULL`,
		kind:   rewrite.Insert,
		want:   `INSERT INTO users (id, email, ssn, encrypted_kms_key) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, ssn = EXCLUDED.ssn, encrypted_kms_key = EXCLUDED.encrypted_kms_key WHERE users.deleted_at IS NULL`,
		params: []string{`$1`, `enc(email, row 0, $2)`, `enc(ssn, row 0, $3)`, `key(row 0)`},
		rows:   []string{`id=$1 table=users`},
	},
}

func TestSelect(t *testing.T) { runGolden(t, selectCases) }

var selectCases = []golden{
	{
		name:   "GORM First: * over one table",
		sql:    `SELECT * FROM "users" WHERE "users"."id" = $1 ORDER BY "users"."id" LIMIT $2`,
		kind:   rewrite.Select,
		want:   `SELECT "users".*, "users".encrypted_kms_key AS __kmsenc_1, "users".id AS __kmsenc_2 FROM "users" WHERE "users"."id" = $1 ORDER BY "users"."id" LIMIT $2`,
		params: []string{`$1`, `$2`},
		cols:   []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name:   "bare, qualified and aliased columns",
		sql:    `SELECT id, email, users.ssn AS s FROM users WHERE id = $1`,
		kind:   rewrite.Select,
		want:   `SELECT id, email, users.ssn AS s, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users WHERE id = $1`,
		params: []string{`$1`},
		cols:   []string{`plain`, `enc 0 email`, `enc 0 ssn`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=3 ctx=[4]`},
	},
	{
		name:  "the key column named explicitly is returned",
		sql:   `SELECT id, email, encrypted_kms_key FROM users`,
		kind:  rewrite.Select,
		want:  `SELECT id, email, encrypted_kms_key, users.id AS __kmsenc_1 FROM users`,
		cols:  []string{`plain`, `enc 0 email`, `key 0`, `ctx 0 id hidden`},
		insts: []string{`users key=2 ctx=[3]`},
	},
	{
		name:  "the key column alone: rotation tools",
		sql:   `SELECT id, encrypted_kms_key FROM users WHERE encrypted_kms_key NOT LIKE 'v2:%'`,
		kind:  rewrite.Select,
		cols:  []string{`plain`, `key 0`},
		insts: []string{`users key=1 ctx=[]`},
	},
	{
		name:  "t.*",
		sql:   `SELECT u.*, c.name FROM users u JOIN companies c ON c.id = u.company_id`,
		kind:  rewrite.Select,
		want:  `SELECT u.*, u.encrypted_kms_key AS __kmsenc_1, c.name, u.id AS __kmsenc_2 FROM users u JOIN companies c ON c.id = u.company_id`,
		cols:  []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `plain`, `ctx 0 id hidden`},
		insts: []string{`users key=1 ctx=[3]`},
	},
	{
		name:   "* over a join of two encrypted tables",
		sql:    `SELECT * FROM users u JOIN companies c ON u.company_id = c.id WHERE u.id = $1`,
		kind:   rewrite.Select,
		want:   `SELECT u.*, u.encrypted_kms_key AS __kmsenc_1, c.*, c.encrypted_kms_key AS __kmsenc_2, u.id AS __kmsenc_3 FROM users u JOIN companies c ON u.company_id = c.id WHERE u.id = $1`,
		params: []string{`$1`},
		cols:   []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `star 1 end=__kmsenc_2`, `key 1 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[4]`, `companies key=3 ctx=[]`},
	},
	{
		name:  "* over a join with a plain table",
		sql:   `SELECT * FROM orders o, users u WHERE o.user_id = u.id`,
		kind:  rewrite.Select,
		want:  `SELECT o.*, NULL AS __kmsenc_1, u.*, u.encrypted_kms_key AS __kmsenc_2, u.id AS __kmsenc_3 FROM orders o, users u WHERE o.user_id = u.id`,
		cols:  []string{`star -1 end=__kmsenc_1`, `plain hidden`, `star 0 end=__kmsenc_2`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=3 ctx=[4]`},
	},
	{
		name:  "GORM Joins",
		sql:   `SELECT "users"."id","users"."email","Company"."id" AS "Company__id","Company"."name" AS "Company__name" FROM "users" LEFT JOIN "companies" "Company" ON "users"."company_id" = "Company"."id"`,
		kind:  rewrite.Select,
		want:  `SELECT "users"."id","users"."email","Company"."id" AS "Company__id","Company"."name" AS "Company__name", "users".encrypted_kms_key AS __kmsenc_1, "users".id AS __kmsenc_2 FROM "users" LEFT JOIN "companies" "Company" ON "users"."company_id" = "Company"."id"`,
		cols:  []string{`plain`, `enc 0 email`, `plain`, `plain`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=4 ctx=[5]`},
	},
	{
		name:  "a table joined to itself is two instances",
		sql:   `SELECT x.email, y.email AS manager_email FROM users x JOIN users y ON x.manager_id = y.id`,
		kind:  rewrite.Select,
		want:  `SELECT x.email, y.email AS manager_email, x.encrypted_kms_key AS __kmsenc_1, x.id AS __kmsenc_2, y.encrypted_kms_key AS __kmsenc_3, y.id AS __kmsenc_4 FROM users x JOIN users y ON x.manager_id = y.id`,
		cols:  []string{`enc 0 email`, `enc 1 email`, `key 0 hidden`, `ctx 0 id hidden`, `key 1 hidden`, `ctx 1 id hidden`},
		insts: []string{`users key=2 ctx=[3]`, `users key=4 ctx=[5]`},
	},
	{
		name:   "schema-qualified table",
		sql:    `SELECT * FROM public.users WHERE public.users.id = $1`,
		kind:   rewrite.Select,
		want:   `SELECT public.users.*, public.users.encrypted_kms_key AS __kmsenc_1, public.users.id AS __kmsenc_2 FROM public.users WHERE public.users.id = $1`,
		params: []string{`$1`},
		cols:   []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name:  "unqualified column of the one table that declares it",
		sql:   `SELECT email, total FROM users u JOIN orders o ON o.user_id = u.id`,
		kind:  rewrite.Select,
		want:  `SELECT email, total, u.encrypted_kms_key AS __kmsenc_1, u.id AS __kmsenc_2 FROM users u JOIN orders o ON o.user_id = u.id`,
		cols:  []string{`enc 0 email`, `plain`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=2 ctx=[3]`},
	},
	{
		name:   "FOR UPDATE and plain ORDER BY",
		sql:    `SELECT email FROM users WHERE id = ANY($1) ORDER BY created_at DESC LIMIT 10 FOR UPDATE`,
		kind:   rewrite.Select,
		want:   `SELECT email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users WHERE id = ANY($1) ORDER BY created_at DESC LIMIT 10 FOR UPDATE`,
		params: []string{`$1`},
		cols:   []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name:   "composite key instance",
		sql:    `SELECT secret FROM accounts WHERE org_id = $1`,
		kind:   rewrite.Select,
		want:   `SELECT secret, accounts.kms_key AS __kmsenc_1, accounts.org_id AS __kmsenc_2 FROM accounts WHERE org_id = $1`,
		params: []string{`$1`},
		cols:   []string{`enc 0 secret`, `key 0 hidden`, `ctx 0 org_id hidden`},
		insts:  []string{`accounts key=1 ctx=[2]`},
	},
	{
		name:   "placeholders renumbered when the caller skips one",
		sql:    `SELECT email FROM users WHERE id = $2`,
		kind:   rewrite.Select,
		want:   `SELECT email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users WHERE id = $1`,
		params: []string{`$2`},
		cols:   []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
}

func TestDerivedTablesAndCTEs(t *testing.T) { runGolden(t, derivedCases) }

var derivedCases = []golden{
	{
		name:   "CTE",
		sql:    `WITH s AS (SELECT id, email FROM users WHERE id > $1) SELECT s.email FROM s`,
		kind:   rewrite.Select,
		want:   `WITH s AS (SELECT id, email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users WHERE id > $1) SELECT s.email, s.__kmsenc_1 AS __kmsenc_3, s.__kmsenc_2 AS __kmsenc_4 FROM s`,
		params: []string{`$1`},
		cols:   []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name:  "derived table with an alias",
		sql:   `SELECT s.e FROM (SELECT email AS e, id FROM users) s WHERE s.id > 3`,
		kind:  rewrite.Select,
		want:  `SELECT s.e, s.__kmsenc_1 AS __kmsenc_3, s.__kmsenc_2 AS __kmsenc_4 FROM (SELECT email AS e, id, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users) s WHERE s.id > 3`,
		cols:  []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=1 ctx=[2]`},
	},
	{
		name:  "* over a derived table of *",
		sql:   `SELECT * FROM (SELECT * FROM users) s`,
		kind:  rewrite.Select,
		want:  `SELECT s.* FROM (SELECT users.*, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users) s`,
		cols:  []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=1 ctx=[2]`},
	},
	{
		name:  "CTE of a CTE",
		sql:   `WITH a AS (SELECT * FROM users), b AS (SELECT email FROM a) SELECT * FROM b`,
		kind:  rewrite.Select,
		want:  `WITH a AS (SELECT users.*, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users), b AS (SELECT email, a.__kmsenc_1 AS __kmsenc_3, a.__kmsenc_2 AS __kmsenc_4 FROM a) SELECT b.* FROM b`,
		cols:  []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=1 ctx=[2]`},
	},
	{
		name:  "derived table joined to an encrypted table",
		sql:   `SELECT * FROM (SELECT email FROM users) AS s JOIN companies c ON true`,
		kind:  rewrite.Select,
		want:  `SELECT s.*, c.*, c.encrypted_kms_key AS __kmsenc_3 FROM (SELECT email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users) AS s JOIN companies c ON true`,
		cols:  []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`, `star 1 end=__kmsenc_3`, `key 1 hidden`},
		insts: []string{`users key=1 ctx=[2]`, `companies key=4 ctx=[]`},
	},
	{
		name:  "CTE read twice is two instances",
		sql:   `WITH s AS (SELECT id, email FROM users) SELECT a.email, b.email FROM s a JOIN s b ON a.id = b.id`,
		kind:  rewrite.Select,
		want:  `WITH s AS (SELECT id, email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2 FROM users) SELECT a.email, b.email, a.__kmsenc_1 AS __kmsenc_3, a.__kmsenc_2 AS __kmsenc_4, b.__kmsenc_1 AS __kmsenc_5, b.__kmsenc_2 AS __kmsenc_6 FROM s a JOIN s b ON a.id = b.id`,
		cols:  []string{`enc 0 email`, `enc 1 email`, `key 0 hidden`, `ctx 0 id hidden`, `key 1 hidden`, `ctx 1 id hidden`},
		insts: []string{`users key=2 ctx=[3]`, `users key=4 ctx=[5]`},
	},
	{
		name:  "derived table without declared output",
		sql:   `SELECT s.n, u.email FROM (SELECT count(*) AS n FROM orders) s, users u`,
		kind:  rewrite.Select,
		want:  `SELECT s.n, u.email, u.encrypted_kms_key AS __kmsenc_1, u.id AS __kmsenc_2 FROM (SELECT count(*) AS n FROM orders) s, users u`,
		cols:  []string{`plain`, `enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts: []string{`users key=2 ctx=[3]`},
	},
}

func TestUpdate(t *testing.T) { runGolden(t, updateCases) }

var updateCases = []golden{
	{
		name:         "GORM update pinned by primary key",
		sql:          `UPDATE "users" SET "email"=$1,"name"=$2 WHERE "id" = $3`,
		kind:         rewrite.Update,
		want:         `UPDATE "users" SET "email"=$3,"name"=$1 WHERE "id" = $2 AND encrypted_kms_key = $4`,
		params:       []string{`$2`, `$3`, `enc(email, row 0, $1)`, `guard`},
		lookup:       `SELECT "encrypted_kms_key", "id" FROM "users" WHERE "id" = $1 FOR UPDATE`,
		lookupParams: []string{`$3`},
		setKey:       `UPDATE "users" SET "encrypted_kms_key" = $1 WHERE "id" = $2 AND "encrypted_kms_key" IS NULL`,
	},
	{
		name:         "GORM Save with soft delete",
		sql:          `UPDATE "users" SET "name"=$1,"email"=$2,"ssn"=$3,"updated_at"=$4 WHERE "users"."deleted_at" IS NULL AND "id" = $5`,
		kind:         rewrite.Update,
		want:         `UPDATE "users" SET "name"=$1,"email"=$4,"ssn"=$5,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3 AND encrypted_kms_key = $6`,
		params:       []string{`$1`, `$4`, `$5`, `enc(email, row 0, $2)`, `enc(ssn, row 0, $3)`, `guard`},
		lookup:       `SELECT "encrypted_kms_key", "id" FROM "users" WHERE "id" = $1 FOR UPDATE`,
		lookupParams: []string{`$5`},
		setKey:       `UPDATE "users" SET "encrypted_kms_key" = $1 WHERE "id" = $2 AND "encrypted_kms_key" IS NULL`,
	},
	{
		name:         "bun literals, alias, parenthesized WHERE",
		sql:          `UPDATE "users" AS "user" SET "email" = 'a@b.c', "ssn" = NULL WHERE ("user"."id" = 42)`,
		kind:         rewrite.Update,
		want:         `UPDATE "users" AS "user" SET "email" = $1, "ssn" = NULL WHERE ("user"."id" = 42) AND encrypted_kms_key = $2`,
		params:       []string{`enc(email, row 0, 'a@b.c')`, `guard`},
		lookup:       `SELECT "encrypted_kms_key", "id" FROM "users" WHERE "id" = $1 FOR UPDATE`,
		lookupParams: []string{`42`},
		setKey:       `UPDATE "users" SET "encrypted_kms_key" = $1 WHERE "id" = $2 AND "encrypted_kms_key" IS NULL`,
	},
	{
		name:         "value on the left of the pin",
		sql:          `UPDATE users SET email = $1 WHERE $2 = id AND name <> $3`,
		kind:         rewrite.Update,
		want:         `UPDATE users SET email = $3 WHERE $1 = id AND name <> $2 AND encrypted_kms_key = $4`,
		params:       []string{`$2`, `$3`, `enc(email, row 0, $1)`, `guard`},
		lookup:       `SELECT "encrypted_kms_key", "id" FROM users WHERE "id" = $1 FOR UPDATE`,
		lookupParams: []string{`$2`},
		setKey:       `UPDATE users SET "encrypted_kms_key" = $1 WHERE "id" = $2 AND "encrypted_kms_key" IS NULL`,
	},
	{
		name:         "composite primary key",
		sql:          `UPDATE accounts SET secret = $1 WHERE org_id = $2 AND id = $3`,
		kind:         rewrite.Update,
		want:         `UPDATE accounts SET secret = $3 WHERE org_id = $1 AND id = $2 AND kms_key = $4`,
		params:       []string{`$2`, `$3`, `enc(secret, row 0, $1)`, `guard`},
		lookup:       `SELECT "kms_key", "org_id" FROM accounts WHERE "org_id" = $1 AND "id" = $2 FOR UPDATE`,
		lookupParams: []string{`$2`, `$3`},
		setKey:       `UPDATE accounts SET "kms_key" = $1 WHERE "org_id" = $2 AND "id" = $3 AND "kms_key" IS NULL`,
	},
	{
		name:         "RETURNING encrypted columns",
		sql:          `UPDATE users SET email = $1 WHERE id = $2 RETURNING id, email`,
		kind:         rewrite.Update,
		want:         `UPDATE users SET email = $2 WHERE id = $1 AND encrypted_kms_key = $3 RETURNING id, email, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2`,
		params:       []string{`$2`, `enc(email, row 0, $1)`, `guard`},
		cols:         []string{`plain`, `enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:        []string{`users key=2 ctx=[3]`},
		lookup:       `SELECT "encrypted_kms_key", "id" FROM users WHERE "id" = $1 FOR UPDATE`,
		lookupParams: []string{`$2`},
		setKey:       `UPDATE users SET "encrypted_kms_key" = $1 WHERE "id" = $2 AND "encrypted_kms_key" IS NULL`,
	},
	{
		name: "plain columns only: passes through",
		sql:  `UPDATE users SET name = $1 WHERE name = $2`,
		kind: rewrite.PassThrough,
	},
	{
		name:   "plain columns with RETURNING *",
		sql:    `UPDATE users SET name = $1 WHERE id = $2 RETURNING *`,
		kind:   rewrite.Select,
		want:   `UPDATE users SET name = $1 WHERE id = $2 RETURNING users.*, users.encrypted_kms_key AS __kmsenc_1, users.id AS __kmsenc_2`,
		params: []string{`$1`, `$2`},
		cols:   []string{`star 0 end=__kmsenc_1`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
}

func TestDelete(t *testing.T) { runGolden(t, deleteCases) }

var deleteCases = []golden{
	{
		name: "passes through",
		sql:  `DELETE FROM users WHERE id = $1 AND ssn IS NULL`,
		kind: rewrite.PassThrough,
	},
	{
		name:   "RETURNING is decrypted",
		sql:    `DELETE FROM users u WHERE u.id = $1 RETURNING u.email`,
		kind:   rewrite.Delete,
		want:   `DELETE FROM users u WHERE u.id = $1 RETURNING u.email, u.encrypted_kms_key AS __kmsenc_1, u.id AS __kmsenc_2`,
		params: []string{`$1`},
		cols:   []string{`enc 0 email`, `key 0 hidden`, `ctx 0 id hidden`},
		insts:  []string{`users key=1 ctx=[2]`},
	},
	{
		name: "RETURNING plain columns",
		sql:  `DELETE FROM users WHERE id = $1 RETURNING id`,
		kind: rewrite.PassThrough,
	},
}
