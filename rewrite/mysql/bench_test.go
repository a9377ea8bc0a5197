package mysql

import "testing"

// The benchmarks plan each statement from scratch, without the plan cache
// the wrapper puts in front (rewrite.NewCache): they measure a cache miss.

func benchmarkRewrite(b *testing.B, sql string) {
	r := New(testConfig(b))
	if _, err := r.Rewrite(sql); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Rewrite(sql); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassThrough: a statement on plain tables, decided by one pass of
// the lexer.
func BenchmarkPassThrough(b *testing.B) {
	benchmarkRewrite(b, "SELECT `orders`.`id`, `orders`.`total` FROM `orders` WHERE `orders`.`customer_id` = ? AND `orders`.`deleted_at` IS NULL ORDER BY `orders`.`id` LIMIT 10")
}

// BenchmarkGORMInsert: GORM's batch INSERT of two rows with RETURNING.
func BenchmarkGORMInsert(b *testing.B) {
	benchmarkRewrite(b, "INSERT INTO `users` (`name`,`email`,`ssn`,`id`) VALUES (?,?,?,?),(?,?,?,?) RETURNING `id`")
}

// BenchmarkSelectJoin: a join of two declared tables and a plain one.
func BenchmarkSelectJoin(b *testing.B) {
	benchmarkRewrite(b, "SELECT u.id, u.email, n.body, p.* FROM users u JOIN notes n ON n.user_id = u.id LEFT JOIN plain p ON p.uid = u.id WHERE u.id = ? ORDER BY n.id LIMIT 20")
}
