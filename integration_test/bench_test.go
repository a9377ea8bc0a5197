package integration_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// The benchmarks insert benchRows rows (one INSERT per row, in one
// transaction) and select them back (one query), for a table with two
// encrypted text columns, through plain pgx and through kmsenc with a
// base64key:// key, and report the microseconds kmsenc adds per row and the
// kmsenc/plain ratio. Run them with `make bench`.
const benchRows = 10000

const benchSchema = `
tables:
  bench_users:
    columns:
      email: text
      ssn: text
`

var benchDDL = []string{
	`DROP TABLE IF EXISTS bench_users`,
	`CREATE TABLE bench_users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`,
}

func benchInsert(b *testing.B, db *sql.DB) time.Duration {
	b.Helper()
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchRows; i++ {
		if _, err := tx.Exec(`INSERT INTO bench_users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`,
			i, "name", fmt.Sprintf("user%d@example.com", i), "123-45-6789"); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func benchSelect(b *testing.B, db *sql.DB) time.Duration {
	b.Helper()
	start := time.Now()
	rows, err := db.Query(`SELECT id, name, email, ssn FROM bench_users`)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var name, email, ssn string
		if err := rows.Scan(&id, &name, &email, &ssn); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()
	if n != benchRows {
		b.Fatalf("read %d rows, want %d", n, benchRows)
	}
	return time.Since(start)
}

// BenchmarkOverhead measures plain pgx and kmsenc in the same run, each
// iteration a full insert and select of benchRows rows.
func BenchmarkOverhead(b *testing.B) {
	e := setup(b, "cache_statement", benchSchema, benchDDL...)
	var plainIns, kmsIns, plainSel, kmsSel time.Duration
	for i := 0; i < b.N; i++ {
		e.rawExec(benchDDL[0])
		e.rawExec(benchDDL[1])
		plainIns += benchInsert(b, e.raw)
		plainSel += benchSelect(b, e.raw)
		e.rawExec(`TRUNCATE bench_users`)
		kmsIns += benchInsert(b, e.db)
		kmsSel += benchSelect(b, e.db)
	}
	perRow := func(d time.Duration) float64 {
		return float64(d.Nanoseconds()) / 1e3 / float64(b.N*benchRows)
	}
	b.ReportMetric(perRow(kmsIns)-perRow(plainIns), "insert_added_µs/row")
	b.ReportMetric(float64(kmsIns)/float64(plainIns), "insert_ratio")
	b.ReportMetric(perRow(kmsSel)-perRow(plainSel), "select_added_µs/row")
	b.ReportMetric(float64(kmsSel)/float64(plainSel), "select_ratio")
	b.Logf("insert: plain %.2f µs/row, kmsenc %.2f µs/row; select: plain %.2f µs/row, kmsenc %.2f µs/row",
		perRow(plainIns), perRow(kmsIns), perRow(plainSel), perRow(kmsSel))
}
