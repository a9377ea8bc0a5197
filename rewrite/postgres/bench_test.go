package postgres

import (
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

// The costs of planning, uncached and cached. A statement that touches no
// declared name must stay nearly free (ARCHITECTURE.md §2): one pass of the lexer.

const (
	benchPassThrough = `SELECT "orders"."id", "orders"."total", "orders"."created_at" FROM "orders" WHERE "orders"."customer_id" = $1 AND "orders"."deleted_at" IS NULL ORDER BY "orders"."id" LIMIT $2`
	benchInsert      = `INSERT INTO "users" ("created_at","updated_at","deleted_at","name","email","ssn","id") VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING "id"`
	benchJoin        = `SELECT "users"."id","users"."email","Company"."id" AS "Company__id","Company"."name" AS "Company__name","Company"."tax_id" AS "Company__tax_id" FROM "users" LEFT JOIN "companies" "Company" ON "users"."company_id" = "Company"."id" WHERE "users"."deleted_at" IS NULL`
)

func benchRewrite(b *testing.B, r rewrite.Rewriter, sql string) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := r.Rewrite(sql); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRewritePassThrough(b *testing.B) { benchRewrite(b, New(testConfig()), benchPassThrough) }
func BenchmarkRewriteGORMInsert(b *testing.B)  { benchRewrite(b, New(testConfig()), benchInsert) }
func BenchmarkRewriteJoinSelect(b *testing.B)  { benchRewrite(b, New(testConfig()), benchJoin) }

func BenchmarkRewriteCached(b *testing.B) {
	r := rewrite.NewCache(New(testConfig()), 1024)
	for _, sql := range []string{benchPassThrough, benchInsert, benchJoin} {
		b.Run(sqlKind(sql), func(b *testing.B) { benchRewrite(b, r, sql) })
	}
}

func sqlKind(sql string) string {
	switch sql {
	case benchPassThrough:
		return "pass-through"
	case benchInsert:
		return "insert"
	}
	return "join"
}
