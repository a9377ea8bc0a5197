package integration_test

import (
	"bytes"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kmsenc/kmsenc"
)

// sqlx over kmsenc: sqlx.NewDb on the env's *sql.DB and sqlx.Open by
// driver name, with named statements (single and slice), Get, Select,
// StructScan, In + Rebind, prepared named statements and transactions.

const sqlxSchema = `
tables:
  sqlx_people:
    context:
      table: sqlx_people
      id: $id
    columns:
      email: text
      birthday: date
      score: int
  sqlx_cards:
    columns:
      pan: bytes
      credit_limit: float
`

func sqlxDDL(d *dialect) []string {
	binary, serial := "bytea", "bigserial PRIMARY KEY"
	if d.name == "mysql" {
		binary, serial = "blob", "bigint AUTO_INCREMENT PRIMARY KEY"
	}
	return []string{
		`DROP TABLE IF EXISTS sqlx_cards`,
		`DROP TABLE IF EXISTS sqlx_people`,
		`CREATE TABLE sqlx_people (id bigint PRIMARY KEY, name varchar(100) NOT NULL, email text, birthday text, score text, encrypted_kms_key text)`,
		`CREATE TABLE sqlx_cards (id ` + serial + `, person_id bigint NOT NULL, label varchar(100), pan ` + binary + `, credit_limit text, encrypted_kms_key text)`,
	}
}

var (
	sqlxPeopleEncrypted = []string{"email", "birthday", "score"}
	sqlxCardsEncrypted  = []string{"pan", "credit_limit"}
)

// sqlxPerson has no field for the key column: SELECT * must not return it,
// or StructScan fails ("missing destination name encrypted_kms_key").
type sqlxPerson struct {
	ID       int64          `db:"id"`
	Name     string         `db:"name"`
	Email    sql.NullString `db:"email"`
	Birthday sql.NullTime   `db:"birthday"`
	Score    int64          `db:"score"`
}

type sqlxCard struct {
	ID          int64   `db:"id"`
	PersonID    int64   `db:"person_id"`
	Label       string  `db:"label"`
	PAN         []byte  `db:"pan"`
	CreditLimit float64 `db:"credit_limit"`
}

func checkSQLXPerson(t *testing.T, what string, got, want sqlxPerson) {
	t.Helper()
	ok := got.ID == want.ID && got.Name == want.Name && got.Email == want.Email && got.Score == want.Score &&
		got.Birthday.Valid == want.Birthday.Valid && (!got.Birthday.Valid || gormSameDay(got.Birthday.Time, want.Birthday.Time))
	if !ok {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

func sqlxNullString(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

func sqlxDay(y int, m time.Month, d int) sql.NullTime {
	return sql.NullTime{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}
}

// sqlxNewDb wraps the env's kmsenc database the way sqlx's docs do for an
// existing *sql.DB: with the base driver's name, which picks the bindvars.
func sqlxNewDb(e *env) *sqlx.DB {
	if e.d.name == "mysql" {
		return sqlx.NewDb(e.db, "mysql")
	}
	return sqlx.NewDb(e.db, "postgres")
}

func TestSQLX(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, sqlxSchema, sqlxDDL, func(t *testing.T, e *env) {
		db := sqlxNewDb(e)
		runSQLXSuite(t, e, db)
	})
}

// runSQLXSuite runs the library's patterns on db, over e's tables.
func runSQLXSuite(t *testing.T, e *env, db *sqlx.DB) {
	t.Helper()
	// NamedExec, a single struct.
	ann := sqlxPerson{ID: 1, Name: "Ann", Email: sqlxNullString(canary("sqlx-email")), Birthday: sqlxDay(1990, 5, 17), Score: 10}
	if _, err := db.NamedExec(`INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)`, ann); err != nil {
		t.Fatalf("NamedExec: %v", err)
	}
	// NamedExec, a slice: one multi-row INSERT.
	batch := []sqlxPerson{
		{ID: 2, Name: "Bob", Email: sqlxNullString(canary("sqlx-email")), Birthday: sqlxDay(1985, 1, 2), Score: -20},
		{ID: 3, Name: "Cid", Score: 1 << 50}, // NULL email and birthday
		{ID: 4, Name: "Dee", Email: sqlxNullString(canary("sqlx-email")), Score: 40},
	}
	res, err := db.NamedExec(`INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)`, batch)
	if err != nil {
		t.Fatalf("NamedExec slice: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("NamedExec slice: %d rows affected, want 3", n)
	}
	// A map argument.
	eve := sqlxPerson{ID: 5, Name: "Eve", Email: sqlxNullString(canary("sqlx-email")), Birthday: sqlxDay(2000, 2, 29), Score: 50}
	if _, err := db.NamedExec(`INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)`,
		map[string]any{"id": eve.ID, "name": eve.Name, "email": eve.Email.String, "birthday": eve.Birthday.Time, "score": eve.Score}); err != nil {
		t.Fatalf("NamedExec map: %v", err)
	}
	all := append(append([]sqlxPerson{ann}, batch...), eve)
	e.assertStored("sqlx_people", sqlxPeopleEncrypted, ann.Email.String, batch[0].Email.String, batch[2].Email.String, eve.Email.String)

	// Get and Select with SELECT * into a struct without the key column.
	var p sqlxPerson
	if err := db.Get(&p, db.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`), 1); err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkSQLXPerson(t, "Get", p, ann)
	var people []sqlxPerson
	if err := db.Select(&people, `SELECT * FROM sqlx_people ORDER BY id`); err != nil {
		t.Fatalf("Select: %v", err)
	}
	if len(people) != len(all) {
		t.Fatalf("Select: %d people, want %d", len(people), len(all))
	}
	for i := range all {
		checkSQLXPerson(t, "Select", people[i], all[i])
	}
	// Queryx + StructScan, and a qualified p.*.
	rows, err := db.Queryx(db.Rebind(`SELECT p.* FROM sqlx_people p WHERE p.name <> ? ORDER BY p.id`), "Ann")
	if err != nil {
		t.Fatalf("Queryx: %v", err)
	}
	var scanned []sqlxPerson
	for rows.Next() {
		var p sqlxPerson
		if err := rows.StructScan(&p); err != nil {
			t.Fatalf("StructScan: %v", err)
		}
		scanned = append(scanned, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(scanned) != 4 {
		t.Fatalf("StructScan: %d people, want 4", len(scanned))
	}
	checkSQLXPerson(t, "StructScan", scanned[3], eve)

	// MapScan and SliceScan see the decrypted Go types.
	m := map[string]any{}
	if err := db.QueryRowx(db.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`), 1).MapScan(m); err != nil {
		t.Fatalf("MapScan: %v", err)
	}
	if _, ok := m["encrypted_kms_key"]; ok {
		t.Errorf("MapScan shows the key column: %v", m)
	}
	if s, ok := m["email"].(string); !ok || s != ann.Email.String {
		t.Errorf("MapScan email: %T %v, want string", m["email"], m["email"])
	}
	if d, ok := m["birthday"].(time.Time); !ok || !gormSameDay(d, ann.Birthday.Time) {
		t.Errorf("MapScan birthday: %T %v, want time.Time", m["birthday"], m["birthday"])
	}
	if i, ok := m["score"].(int64); !ok || i != 10 {
		t.Errorf("MapScan score: %T %v, want int64", m["score"], m["score"])
	}
	cols, err := db.QueryRowx(db.Rebind(`SELECT email, score FROM sqlx_people WHERE id = ?`), 2).SliceScan()
	if err != nil || len(cols) != 2 || cols[0] != batch[0].Email.String || cols[1] != int64(-20) {
		t.Errorf("SliceScan: %v, %v", cols, err)
	}

	// In + Rebind.
	query, args, err := sqlx.In(`SELECT * FROM sqlx_people WHERE id IN (?) AND name <> ? ORDER BY id`, []int64{2, 4, 5}, "Eve")
	if err != nil {
		t.Fatal(err)
	}
	people = nil
	if err := db.Select(&people, db.Rebind(query), args...); err != nil {
		t.Fatalf("In: %v", err)
	}
	if len(people) != 2 {
		t.Fatalf("In: %d people, want 2", len(people))
	}
	checkSQLXPerson(t, "In", people[0], batch[0])
	checkSQLXPerson(t, "In", people[1], batch[2])

	// Prepared named statements: an UPDATE pinned by id, run twice, and
	// a SELECT.
	upd, err := db.PrepareNamed(`UPDATE sqlx_people SET email = :email, score = :score WHERE id = :id`)
	if err != nil {
		t.Fatalf("PrepareNamed: %v", err)
	}
	defer upd.Close()
	for _, id := range []int64{1, 3} {
		all[id-1].Email, all[id-1].Score = sqlxNullString(canary("sqlx-prepared")), id*100
		if _, err := upd.Exec(all[id-1]); err != nil {
			t.Fatalf("NamedStmt Exec: %v", err)
		}
	}
	sel, err := db.PrepareNamed(`SELECT * FROM sqlx_people WHERE id = :id`)
	if err != nil {
		t.Fatalf("PrepareNamed select: %v", err)
	}
	defer sel.Close()
	for _, id := range []int64{1, 3} {
		var got sqlxPerson
		if err := sel.Get(&got, map[string]any{"id": id}); err != nil {
			t.Fatalf("NamedStmt Get: %v", err)
		}
		checkSQLXPerson(t, "NamedStmt", got, all[id-1])
	}
	// Preparex with positional arguments.
	st, err := db.Preparex(db.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`))
	if err != nil {
		t.Fatal(err)
	}
	var got sqlxPerson
	if err := st.Get(&got, 5); err != nil {
		t.Fatalf("Stmt Get: %v", err)
	}
	st.Close()
	checkSQLXPerson(t, "Preparex", got, eve)

	// NamedQuery with RETURNING (PostgreSQL, MariaDB >= 10.5): the
	// server-generated id, and the encrypted values decrypted.
	cards := []sqlxCard{
		{PersonID: 1, Label: "main", PAN: []byte(canary("sqlx-pan")), CreditLimit: 1500.5},
		{PersonID: 2, Label: "spare", PAN: []byte(canary("sqlx-pan")), CreditLimit: -0.25},
	}
	for i := range cards {
		rows, err := db.NamedQuery(`INSERT INTO sqlx_cards (person_id, label, pan, credit_limit) VALUES (:person_id, :label, :pan, :credit_limit) RETURNING id, pan, credit_limit`, cards[i])
		if err != nil {
			t.Fatalf("NamedQuery RETURNING: %v", err)
		}
		var r sqlxCard
		if !rows.Next() {
			t.Fatalf("NamedQuery RETURNING: no row (%v)", rows.Err())
		}
		if err := rows.StructScan(&r); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if r.ID == 0 || !bytes.Equal(r.PAN, cards[i].PAN) || r.CreditLimit != cards[i].CreditLimit {
			t.Errorf("RETURNING: %+v, want %+v", r, cards[i])
		}
		cards[i].ID = r.ID
	}
	e.assertStored("sqlx_cards", sqlxCardsEncrypted, string(cards[0].PAN), string(cards[1].PAN))

	// A join into a struct of both tables' columns.
	type holder struct {
		Name        string         `db:"name"`
		Email       sql.NullString `db:"email"`
		PAN         []byte         `db:"pan"`
		CreditLimit float64        `db:"credit_limit"`
	}
	var holders []holder
	if err := db.Select(&holders, `SELECT p.name, p.email, c.pan, c.credit_limit FROM sqlx_people p JOIN sqlx_cards c ON c.person_id = p.id ORDER BY c.id`); err != nil {
		t.Fatalf("join: %v", err)
	}
	if len(holders) != 2 || holders[0].Email != all[0].Email || !bytes.Equal(holders[1].PAN, cards[1].PAN) || holders[1].CreditLimit != -0.25 {
		t.Errorf("join: %+v", holders)
	}

	// A transaction: Beginx, NamedExec, MustExec, Get, Commit; and one
	// rolled back.
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	fay := sqlxPerson{ID: 6, Name: "Fay", Email: sqlxNullString(canary("sqlx-tx")), Birthday: sqlxDay(1970, 1, 1), Score: 6}
	if _, err := tx.NamedExec(`INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)`, fay); err != nil {
		t.Fatalf("tx NamedExec: %v", err)
	}
	fay.Score = 66
	tx.MustExec(tx.Rebind(`UPDATE sqlx_people SET score = ? WHERE id = ?`), fay.Score, fay.ID)
	if err := tx.Get(&got, tx.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`), fay.ID); err != nil {
		t.Fatalf("tx Get: %v", err)
	}
	checkSQLXPerson(t, "in tx", got, fay)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	tx.MustExec(tx.Rebind(`UPDATE sqlx_people SET email = ? WHERE id = ?`), canary("sqlx-rolledback"), fay.ID)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	got = sqlxPerson{}
	if err := db.Get(&got, db.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`), fay.ID); err != nil {
		t.Fatal(err)
	}
	checkSQLXPerson(t, "after tx", got, fay)

	// Delete, pinned or not: DELETE passes through.
	if _, err := db.Exec(db.Rebind(`DELETE FROM sqlx_people WHERE name = ?`), "Dee"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM sqlx_people`); err != nil || n != 5 {
		t.Errorf("count after delete: %d, %v", n, err)
	}
	// An upsert of a slice (one multi-row statement) that sets every
	// encrypted column from the inserted row.
	upsert := `INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, birthday = EXCLUDED.birthday, score = EXCLUDED.score`
	if e.d.name == "mysql" {
		upsert = `INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)
		ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), birthday = VALUES(birthday), score = VALUES(score)`
	}
	ups := []sqlxPerson{
		{ID: 1, Name: "Ann2", Email: sqlxNullString(canary("sqlx-upsert")), Birthday: sqlxDay(1991, 6, 7), Score: 111},
		{ID: 7, Name: "Gil", Email: sqlxNullString(canary("sqlx-upsert")), Score: 7},
	}
	if _, err := db.NamedExec(upsert, ups); err != nil {
		t.Fatalf("NamedExec upsert: %v", err)
	}
	// A named query turned positional with BindNamed, then In.
	q, qargs, err := db.BindNamed(`SELECT * FROM sqlx_people WHERE id IN (:a, :b) ORDER BY id`, map[string]any{"a": 1, "b": 7})
	if err != nil {
		t.Fatal(err)
	}
	people = nil
	if err := db.Select(&people, q, qargs...); err != nil {
		t.Fatalf("BindNamed select: %v", err)
	}
	if len(people) != 2 {
		t.Fatalf("after upsert: %d people", len(people))
	}
	checkSQLXPerson(t, "upsert (update)", people[0], ups[0])
	checkSQLXPerson(t, "upsert (insert)", people[1], ups[1])
	e.assertStored("sqlx_people", sqlxPeopleEncrypted, all[0].Email.String, all[2].Email.String, fay.Email.String, ups[0].Email.String, ups[1].Email.String)
}

// TestSQLXRefusals: the patterns kmsenc refuses, through sqlx's calls, fail
// with ErrUnsupportedStatement and write nothing.
func TestSQLXRefusals(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, sqlxSchema, sqlxDDL, func(t *testing.T, e *env) {
		db := sqlxNewDb(e)
		kept := sqlxPerson{ID: 1, Name: "Ann", Email: sqlxNullString(canary("sqlx-kept")), Birthday: sqlxDay(1990, 5, 17), Score: 1}
		if _, err := db.NamedExec(`INSERT INTO sqlx_people (id, name, email, birthday, score) VALUES (:id, :name, :email, :birthday, :score)`, kept); err != nil {
			t.Fatal(err)
		}
		leak := canary("sqlx-refused")
		var people []sqlxPerson
		in, inArgs, err := sqlx.In(`SELECT * FROM sqlx_people WHERE email IN (?)`, []string{leak, "x"})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			run  func() error
		}{
			{"Select where encrypted", func() error {
				return db.Select(&people, db.Rebind(`SELECT * FROM sqlx_people WHERE email = ?`), leak)
			}},
			{"Select order by encrypted", func() error { return db.Select(&people, `SELECT * FROM sqlx_people ORDER BY birthday`) }},
			{"In on an encrypted column", func() error { return db.Select(&people, db.Rebind(in), inArgs...) }},
			{"NamedExec update not pinned by id", func() error {
				_, err := db.NamedExec(`UPDATE sqlx_people SET email = :email WHERE name = :name`, map[string]any{"email": leak, "name": "Ann"})
				return err
			}},
			{"PrepareNamed update with an expression", func() error {
				_, err := db.PrepareNamed(`UPDATE sqlx_people SET email = lower(:email) WHERE id = :id`)
				return err
			}},
			{"NamedExec insert naming the key column", func() error {
				_, err := db.NamedExec(`INSERT INTO sqlx_people (id, name, email, encrypted_kms_key) VALUES (:id, :name, :email, :key)`,
					map[string]any{"id": 2, "name": "X", "email": leak, "key": "v1:AAAA"})
				return err
			}},
		}
		for _, c := range cases {
			err := c.run()
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement", c.name, err)
			} else if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: the error shows the plaintext: %v", c.name, err)
			}
		}
		var got sqlxPerson
		if err := db.Get(&got, db.Rebind(`SELECT * FROM sqlx_people WHERE id = ?`), 1); err != nil {
			t.Fatal(err)
		}
		checkSQLXPerson(t, "after refusals", got, kept)
		if n := e.count("sqlx_people"); n != 1 {
			t.Errorf("refused statements wrote rows: %d", n)
		}
		e.assertStored("sqlx_people", sqlxPeopleEncrypted, kept.Email.String, leak)
	})
}

// TestSQLXOpenByDriverName: sqlx.Open with kmsenc's driver name. sqlx
// picks bindvars by driver name, and doesn't know kmsenc's: register them
// with sqlx.BindDriver. The recorder doesn't see this path; the table scan
// of forEachORMEnv does.
func TestSQLXOpenByDriverName(t *testing.T) {
	t.Parallel()
	// sqlx knows the base drivers' names, not kmsenc's.
	if bt := sqlx.BindType("kmsenc+postgres"); bt != sqlx.UNKNOWN && bt != sqlx.DOLLAR {
		t.Errorf("BindType(kmsenc+postgres) = %d", bt)
	}
	sqlx.BindDriver("kmsenc+postgres", sqlx.DOLLAR)
	sqlx.BindDriver("kmsenc+mysql", sqlx.QUESTION)
	forEachORMEnv(t, sqlxSchema, sqlxDDL, func(t *testing.T, e *env) {
		params := map[string]string{"kmsenc_config": e.cfg}
		name := "kmsenc+postgres"
		if e.d.name == "mysql" {
			name = "kmsenc+mysql"
			k, v, _ := strings.Cut(e.mode, "=")
			params[k] = v
			params["parseTime"] = "true"
		} else {
			params["default_query_exec_mode"] = e.mode
		}
		db, err := sqlx.Open(name, e.d.dsn(t, params))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if want := map[string]int{"kmsenc+postgres": sqlx.DOLLAR, "kmsenc+mysql": sqlx.QUESTION}[name]; sqlx.BindType(db.DriverName()) != want {
			t.Fatalf("BindType = %d, want %d", sqlx.BindType(db.DriverName()), want)
		}
		runSQLXSuite(t, e, db)
	})
}
