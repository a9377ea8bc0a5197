package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc"
	sqlcmysql "github.com/kmsenc/kmsenc/integration_test/sqlc/mysql"
	sqlcpg "github.com/kmsenc/kmsenc/integration_test/sqlc/postgres"
)

// sqlc over kmsenc: the code sqlc v1.31.1 generated from ./sqlc (database/sql
// mode; engine postgresql and mysql), used as an application would: New(db),
// then calls. The tables are made from the very schema.sql files sqlc read.

const sqlcSchema = `
tables:
  sqlc_authors:
    columns:
      bio: text
      born: date
      royalty: int
  sqlc_books:
    columns:
      title: text
      price: int
`

var sqlcAuthorEncrypted = []string{"bio", "born", "royalty"}

// sqlcDDL drops the tables and runs the dialect's sqlc schema.sql.
func sqlcDDL(d *dialect) []string {
	dir := "postgres"
	if d.name == "mysql" {
		dir = "mysql"
	}
	b, err := os.ReadFile(filepath.Join("sqlc", dir, "schema.sql"))
	if err != nil {
		panic(err)
	}
	stmts := []string{`DROP TABLE IF EXISTS sqlc_books, sqlc_authors`}
	for _, s := range strings.Split(string(b), ";\n") {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
func nullInt(n int64) sql.NullInt64      { return sql.NullInt64{Int64: n, Valid: true} }

// sqlcAuthor is an author row of either generated package.
type sqlcAuthor struct {
	ID      int64
	Name    string
	Bio     sql.NullString
	Born    sql.NullTime
	Royalty sql.NullInt64
}

func checkSQLCAuthor(t *testing.T, what string, got, want sqlcAuthor) {
	t.Helper()
	if got.Born.Valid && want.Born.Valid && got.Born.Time.Equal(want.Born.Time) {
		got.Born.Time = want.Born.Time // same instant, maybe another *Location
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// TestSQLC: every generated query that kmsenc supports, on both dialects.
func TestSQLC(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, sqlcSchema, sqlcDDL, func(t *testing.T, e *env) {
		if e.d.name == "mysql" {
			sqlcMySQLSuite(t, e)
		} else {
			sqlcPostgresSuite(t, e)
		}
	})
}

func sqlcPostgresSuite(t *testing.T, e *env) {
	ctx := context.Background()
	q := sqlcpg.New(e.db)

	ann := sqlcAuthor{Name: "Ann", Bio: nullString(canary("sqlc-bio") + tricky), Born: bunDay(1950, 5, 6), Royalty: nullInt(1200)}
	row, err := q.CreateAuthor(ctx, sqlcpg.CreateAuthorParams{Name: ann.Name, Bio: ann.Bio, Born: ann.Born, Royalty: ann.Royalty})
	if err != nil {
		t.Fatalf("CreateAuthor: %v", err)
	}
	ann.ID = row.ID
	checkSQLCAuthor(t, "CreateAuthor RETURNING", sqlcAuthor(row), ann)
	ben := sqlcAuthor{Name: "Ben"} // every encrypted column NULL: a row without a data key
	row, err = q.CreateAuthor(ctx, sqlcpg.CreateAuthorParams{Name: ben.Name})
	if err != nil {
		t.Fatalf("CreateAuthor (NULLs): %v", err)
	}
	ben.ID = row.ID
	e.assertStored("sqlc_authors", sqlcAuthorEncrypted, ann.Bio.String)

	got, err := q.GetAuthor(ctx, ann.ID)
	if err != nil {
		t.Fatalf("GetAuthor: %v", err)
	}
	checkSQLCAuthor(t, "GetAuthor", sqlcAuthor(got), ann)
	list, err := q.ListAuthors(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAuthors = %v, %v", list, err)
	}
	checkSQLCAuthor(t, "ListAuthors[0]", sqlcAuthor(list[0]), ann)
	checkSQLCAuthor(t, "ListAuthors[1]", sqlcAuthor(list[1]), ben)
	byName, err := q.ListAuthorsByName(ctx, "A%")
	if err != nil || len(byName) != 1 {
		t.Fatalf("ListAuthorsByName = %v, %v", byName, err)
	}
	checkSQLCAuthor(t, "ListAuthorsByName", sqlcAuthor(byName[0]), ann)
	if n, err := q.CountAuthorsWithBio(ctx); err != nil || n != 1 {
		t.Errorf("CountAuthorsWithBio = %d, %v", n, err)
	}

	// Updates pinned by id: under the row's key, or a new key for a row
	// that had none.
	key := e.rawText("sqlc_authors", "encrypted_kms_key", ann.ID)
	ann.Bio, ann.Royalty = nullString(canary("sqlc-bio")), nullInt(-1)
	if err := q.UpdateAuthorBio(ctx, sqlcpg.UpdateAuthorBioParams{ID: ann.ID, Bio: ann.Bio, Royalty: ann.Royalty}); err != nil {
		t.Fatalf("UpdateAuthorBio: %v", err)
	}
	got, _ = q.GetAuthor(ctx, ann.ID)
	checkSQLCAuthor(t, "after UpdateAuthorBio", sqlcAuthor(got), ann)
	if k := e.rawText("sqlc_authors", "encrypted_kms_key", ann.ID); k != key {
		t.Errorf("UpdateAuthorBio changed the row's key: %q, then %q", key, k)
	}
	ben = sqlcAuthor{ID: ben.ID, Name: "Ben B.", Bio: nullString(canary("sqlc-bio")), Born: bunDay(1960, 1, 31), Royalty: nullInt(7)}
	updated, err := q.UpdateAuthor(ctx, sqlcpg.UpdateAuthorParams{ID: ben.ID, Name: ben.Name, Bio: ben.Bio, Born: ben.Born, Royalty: ben.Royalty})
	if err != nil {
		t.Fatalf("UpdateAuthor: %v", err)
	}
	checkSQLCAuthor(t, "UpdateAuthor RETURNING", sqlcAuthor(updated), ben)
	if n, err := q.RenameAuthors(ctx, sqlcpg.RenameAuthorsParams{Name: "Ben B.", Name_2: "Benedict"}); err != nil || n != 1 {
		t.Errorf("RenameAuthors = %d, %v", n, err)
	}
	ben.Name = "Benedict"

	// Upsert: insert, then update every encrypted column from EXCLUDED.
	cy := sqlcAuthor{ID: 1000, Name: "Cy", Bio: nullString(canary("sqlc-upsert")), Born: bunDay(1999, 3, 4), Royalty: nullInt(1)}
	for i := range 2 {
		up, err := q.UpsertAuthor(ctx, sqlcpg.UpsertAuthorParams{ID: cy.ID, Name: cy.Name, Bio: cy.Bio, Born: cy.Born, Royalty: cy.Royalty})
		if err != nil {
			t.Fatalf("UpsertAuthor %d: %v", i, err)
		}
		checkSQLCAuthor(t, "UpsertAuthor RETURNING", sqlcAuthor(up), cy)
		cy.Name, cy.Bio, cy.Born, cy.Royalty = "Cy 2", nullString(canary("sqlc-upsert")), sql.NullTime{}, nullInt(2)
	}

	// A join decrypts the columns of both tables.
	title1, title2 := canary("sqlc-title"), canary("sqlc-title")
	b1, err := q.CreateBook(ctx, sqlcpg.CreateBookParams{AuthorID: ann.ID, Title: title1, Price: 2599})
	if err != nil {
		t.Fatalf("CreateBook: %v", err)
	}
	b2, err := q.CreateBook(ctx, sqlcpg.CreateBookParams{AuthorID: ann.ID, Title: title2, Price: 0})
	if err != nil {
		t.Fatalf("CreateBook: %v", err)
	}
	books, err := q.ListBooksByAuthor(ctx, ann.ID)
	want := []sqlcpg.ListBooksByAuthorRow{{ID: b1, Title: title1, Price: 2599, Name: "Ann", Bio: ann.Bio}, {ID: b2, Title: title2, Price: 0, Name: "Ann", Bio: ann.Bio}}
	if err != nil || !reflect.DeepEqual(books, want) {
		t.Errorf("ListBooksByAuthor = %+v, %v\nwant %+v", books, err, want)
	}
	e.assertStored("sqlc_books", []string{"title", "price"}, title1, title2)

	// Transactions: WithTx.
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	qtx := q.WithTx(tx)
	dee, err := qtx.CreateAuthor(ctx, sqlcpg.CreateAuthorParams{Name: "Dee", Bio: nullString(canary("sqlc-tx"))})
	if err != nil {
		t.Fatalf("CreateAuthor in tx: %v", err)
	}
	deeBio := nullString(canary("sqlc-tx"))
	if err := qtx.UpdateAuthorBio(ctx, sqlcpg.UpdateAuthorBioParams{ID: dee.ID, Bio: deeBio, Royalty: nullInt(3)}); err != nil {
		t.Fatalf("UpdateAuthorBio in tx: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = q.GetAuthor(ctx, dee.ID)
	checkSQLCAuthor(t, "after the transaction", sqlcAuthor(got), sqlcAuthor{ID: dee.ID, Name: "Dee", Bio: deeBio, Royalty: nullInt(3)})

	// DELETE ... RETURNING decrypts.
	bio, err := q.DeleteAuthor(ctx, ben.ID)
	if err != nil || bio != ben.Bio {
		t.Errorf("DeleteAuthor RETURNING bio = %v, %v; want %v", bio, err, ben.Bio)
	}
	e.assertStored("sqlc_authors", sqlcAuthorEncrypted, ann.Bio.String, cy.Bio.String, deeBio.String)
}

func sqlcMySQLSuite(t *testing.T, e *env) {
	ctx := context.Background()
	q := sqlcmysql.New(e.db)

	ann := sqlcAuthor{Name: "Ann", Bio: nullString(canary("sqlc-bio") + tricky), Born: bunDay(1950, 5, 6), Royalty: nullInt(1200)}
	id, err := q.CreateAuthor(ctx, sqlcmysql.CreateAuthorParams{Name: ann.Name, Bio: ann.Bio, Born: ann.Born, Royalty: ann.Royalty})
	if err != nil {
		t.Fatalf("CreateAuthor: %v", err)
	}
	ann.ID = id
	ben := sqlcAuthor{Name: "Ben"}
	if ben.ID, err = q.CreateAuthor(ctx, sqlcmysql.CreateAuthorParams{Name: ben.Name}); err != nil {
		t.Fatalf("CreateAuthor (NULLs): %v", err)
	}
	if ben.ID != ann.ID+1 {
		t.Errorf("CreateAuthor ids %d, %d", ann.ID, ben.ID)
	}
	e.assertStored("sqlc_authors", sqlcAuthorEncrypted, ann.Bio.String)

	got, err := q.GetAuthor(ctx, ann.ID)
	if err != nil {
		t.Fatalf("GetAuthor: %v", err)
	}
	checkSQLCAuthor(t, "GetAuthor", sqlcAuthor(got), ann)
	list, err := q.ListAuthors(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAuthors = %v, %v", list, err)
	}
	checkSQLCAuthor(t, "ListAuthors[0]", sqlcAuthor(list[0]), ann)
	checkSQLCAuthor(t, "ListAuthors[1]", sqlcAuthor(list[1]), ben)
	byName, err := q.ListAuthorsByName(ctx, "A%")
	if err != nil || len(byName) != 1 {
		t.Fatalf("ListAuthorsByName = %v, %v", byName, err)
	}
	checkSQLCAuthor(t, "ListAuthorsByName", sqlcAuthor(byName[0]), ann)
	if n, err := q.CountAuthorsWithBio(ctx); err != nil || n != 1 {
		t.Errorf("CountAuthorsWithBio = %d, %v", n, err)
	}

	key := e.rawText("sqlc_authors", "encrypted_kms_key", ann.ID)
	ann.Bio, ann.Royalty = nullString(canary("sqlc-bio")), nullInt(-1)
	if err := q.UpdateAuthorBio(ctx, sqlcmysql.UpdateAuthorBioParams{ID: ann.ID, Bio: ann.Bio, Royalty: ann.Royalty}); err != nil {
		t.Fatalf("UpdateAuthorBio: %v", err)
	}
	got, _ = q.GetAuthor(ctx, ann.ID)
	checkSQLCAuthor(t, "after UpdateAuthorBio", sqlcAuthor(got), ann)
	if k := e.rawText("sqlc_authors", "encrypted_kms_key", ann.ID); k != key {
		t.Errorf("UpdateAuthorBio changed the row's key: %q, then %q", key, k)
	}
	ben = sqlcAuthor{ID: ben.ID, Name: "Ben B.", Bio: nullString(canary("sqlc-bio")), Born: bunDay(1960, 1, 31), Royalty: nullInt(7)}
	if err := q.UpdateAuthor(ctx, sqlcmysql.UpdateAuthorParams{ID: ben.ID, Name: ben.Name, Bio: ben.Bio, Born: ben.Born, Royalty: ben.Royalty}); err != nil {
		t.Fatalf("UpdateAuthor: %v", err)
	}
	got, _ = q.GetAuthor(ctx, ben.ID)
	checkSQLCAuthor(t, "after UpdateAuthor", sqlcAuthor(got), ben)
	if n, err := q.RenameAuthors(ctx, sqlcmysql.RenameAuthorsParams{Name: "Benedict", Name_2: "Ben B."}); err != nil || n != 1 {
		t.Errorf("RenameAuthors = %d, %v", n, err)
	}
	ben.Name = "Benedict"

	cy := sqlcAuthor{ID: 1000, Name: "Cy", Bio: nullString(canary("sqlc-upsert")), Born: bunDay(1999, 3, 4), Royalty: nullInt(1)}
	for i := range 2 {
		if err := q.UpsertAuthor(ctx, sqlcmysql.UpsertAuthorParams{ID: cy.ID, Name: cy.Name, Bio: cy.Bio, Born: cy.Born, Royalty: cy.Royalty}); err != nil {
			t.Fatalf("UpsertAuthor %d: %v", i, err)
		}
		got, _ = q.GetAuthor(ctx, cy.ID)
		checkSQLCAuthor(t, "after UpsertAuthor", sqlcAuthor(got), cy)
		cy.Name, cy.Bio, cy.Born, cy.Royalty = "Cy 2", nullString(canary("sqlc-upsert")), sql.NullTime{}, nullInt(2)
	}

	title1, title2 := canary("sqlc-title"), canary("sqlc-title")
	b1, err := q.CreateBook(ctx, sqlcmysql.CreateBookParams{AuthorID: ann.ID, Title: title1, Price: 2599})
	if err != nil {
		t.Fatalf("CreateBook: %v", err)
	}
	b2, err := q.CreateBook(ctx, sqlcmysql.CreateBookParams{AuthorID: ann.ID, Title: title2, Price: 0})
	if err != nil {
		t.Fatalf("CreateBook: %v", err)
	}
	books, err := q.ListBooksByAuthor(ctx, ann.ID)
	want := []sqlcmysql.ListBooksByAuthorRow{{ID: b1, Title: title1, Price: 2599, Name: "Ann", Bio: ann.Bio}, {ID: b2, Title: title2, Price: 0, Name: "Ann", Bio: ann.Bio}}
	if err != nil || !reflect.DeepEqual(books, want) {
		t.Errorf("ListBooksByAuthor = %+v, %v\nwant %+v", books, err, want)
	}
	e.assertStored("sqlc_books", []string{"title", "price"}, title1, title2)

	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	qtx := q.WithTx(tx)
	deeID, err := qtx.CreateAuthor(ctx, sqlcmysql.CreateAuthorParams{Name: "Dee", Bio: nullString(canary("sqlc-tx"))})
	if err != nil {
		t.Fatalf("CreateAuthor in tx: %v", err)
	}
	deeBio := nullString(canary("sqlc-tx"))
	if err := qtx.UpdateAuthorBio(ctx, sqlcmysql.UpdateAuthorBioParams{ID: deeID, Bio: deeBio, Royalty: nullInt(3)}); err != nil {
		t.Fatalf("UpdateAuthorBio in tx: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ = q.GetAuthor(ctx, deeID)
	checkSQLCAuthor(t, "after the transaction", sqlcAuthor(got), sqlcAuthor{ID: deeID, Name: "Dee", Bio: deeBio, Royalty: nullInt(3)})

	if n, err := q.DeleteAuthor(ctx, ben.ID); err != nil || n != 1 {
		t.Errorf("DeleteAuthor = %d, %v", n, err)
	}
	e.assertStored("sqlc_authors", sqlcAuthorEncrypted, ann.Bio.String, cy.Bio.String, deeBio.String)
}

// TestSQLCRefused: the generated queries kmsenc refuses fail with an error
// that matches ErrUnsupportedStatement (sqlc returns database/sql's error as
// it is), and write nothing.
func TestSQLCRefused(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, sqlcSchema, sqlcDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		bio := nullString(canary("sqlc-refused"))
		type refusal struct {
			name string
			run  func() error
		}
		var refused []refusal
		if e.d.name == "mysql" {
			q := sqlcmysql.New(e.db)
			id, err := q.CreateAuthor(ctx, sqlcmysql.CreateAuthorParams{Name: "Rae", Bio: bio, Born: bunDay(1970, 7, 7), Royalty: nullInt(5)})
			if err != nil {
				t.Fatal(err)
			}
			refused = []refusal{
				{"FindAuthorsByBio", func() error { _, err := q.FindAuthorsByBio(ctx, bio); return err }},
				{"ListAuthorsByBirthday", func() error { _, err := q.ListAuthorsByBirthday(ctx); return err }},
				{"SetBioByName", func() error {
					_, err := q.SetBioByName(ctx, sqlcmysql.SetBioByNameParams{Bio: nullString(canary("sqlc-refused")), Name: "Rae"})
					return err
				}},
				{"RaiseRoyalty", func() error {
					return q.RaiseRoyalty(ctx, sqlcmysql.RaiseRoyaltyParams{Royalty: nullInt(1), ID: id})
				}},
				{"UpsertAuthorBio", func() error {
					return q.UpsertAuthorBio(ctx, sqlcmysql.UpsertAuthorBioParams{ID: id, Name: "Rae", Bio: nullString(canary("sqlc-refused"))})
				}},
				{"CopyAuthor", func() error { return q.CopyAuthor(ctx, id) }},
			}
		} else {
			q := sqlcpg.New(e.db)
			a, err := q.CreateAuthor(ctx, sqlcpg.CreateAuthorParams{Name: "Rae", Bio: bio, Born: bunDay(1970, 7, 7), Royalty: nullInt(5)})
			if err != nil {
				t.Fatal(err)
			}
			refused = []refusal{
				{"FindAuthorsByBio", func() error { _, err := q.FindAuthorsByBio(ctx, bio); return err }},
				{"ListAuthorsByBirthday", func() error { _, err := q.ListAuthorsByBirthday(ctx); return err }},
				{"SetBioByName", func() error {
					_, err := q.SetBioByName(ctx, sqlcpg.SetBioByNameParams{Bio: nullString(canary("sqlc-refused")), Name: "Rae"})
					return err
				}},
				{"RaiseRoyalty", func() error {
					return q.RaiseRoyalty(ctx, sqlcpg.RaiseRoyaltyParams{ID: a.ID, Royalty: nullInt(1)})
				}},
				{"UpsertAuthorBio", func() error {
					return q.UpsertAuthorBio(ctx, sqlcpg.UpsertAuthorBioParams{ID: a.ID, Name: "Rae", Bio: nullString(canary("sqlc-refused"))})
				}},
				{"CopyAuthor", func() error { return q.CopyAuthor(ctx, a.ID) }},
			}
		}
		before := e.snapshot("sqlc_authors")
		for _, r := range refused {
			err := r.run()
			t.Logf("%s: %v", r.name, err)
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement", r.name, err)
			}
		}
		if after := e.snapshot("sqlc_authors"); after != before {
			t.Errorf("refused statements changed the table:\n%s\nthen\n%s", before, after)
		}
		e.assertStored("sqlc_authors", sqlcAuthorEncrypted, bio.String)
	})
}
