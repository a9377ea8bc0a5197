package integration_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/kmsenc/kmsenc"
)

// bun over kmsenc. bun interpolates every argument into the SQL text
// (quoted strings, '\x..' or X'..' bytes, quoted times, bare ints), so these
// tests prove kmsenc's reading of literals: what lands in an encrypted column
// must decrypt to exactly what the application wrote.

const bunSchema = `
tables:
  bun_accounts:
    context:
      table: bun_accounts
      id: $id
    columns:
      email: text
      avatar: bytes
      birthday: date
      balance: int
  bun_notes:
    columns:
      body: text
      amount: int
  bun_profiles:
    columns:
      phone: text
      since: date
      points: int
`

func bunDDL(d *dialect) []string {
	binary, serial := "bytea", "bigserial PRIMARY KEY"
	if d.name == "mysql" {
		binary, serial = "blob", "bigint AUTO_INCREMENT PRIMARY KEY"
	}
	return []string{
		`DROP TABLE IF EXISTS bun_notes, bun_accounts`,
		`CREATE TABLE bun_accounts (id bigint PRIMARY KEY, handle varchar(64) NOT NULL, email text, avatar ` + binary + `,
		  birthday text, balance text, encrypted_kms_key text)`,
		`CREATE TABLE bun_notes (id ` + serial + `, account_id bigint, body text, amount text, encrypted_kms_key text)`,
	}
}

var bunAccountEncrypted = []string{"email", "avatar", "birthday", "balance"}

// bunAccount's id is the application's (it is in the encryption context).
// Nullable encrypted fields are sql.Null* types, not pointers or nullzero:
// bun writes DEFAULT for a nil pointer or a nullzero zero value, which
// kmsenc refuses for encrypted columns (TestBunNilPointers).
type bunAccount struct {
	bun.BaseModel `bun:"table:bun_accounts,alias:a"`

	ID       int64        `bun:"id,pk"`
	Handle   string       `bun:"handle,notnull"`
	Email    string       `bun:"email"`
	Avatar   []byte       `bun:"avatar"` // nil is NULL
	Birthday sql.NullTime `bun:"birthday"`
	Balance  int64        `bun:"balance"`
}

// bunNote's id is the database's.
type bunNote struct {
	bun.BaseModel `bun:"table:bun_notes,alias:n"`

	ID        int64          `bun:"id,pk,autoincrement"`
	AccountID int64          `bun:"account_id"`
	Body      sql.NullString `bun:"body"`
	Amount    int64          `bun:"amount"`
}

// bunLog records the SQL bun sends (bun's query hook).
type bunLog struct {
	mu   sync.Mutex
	sent []string
}

func (l *bunLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (l *bunLog) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	l.mu.Lock()
	l.sent = append(l.sent, ev.Query)
	l.mu.Unlock()
}

func (l *bunLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) == 0 {
		return ""
	}
	return l.sent[len(l.sent)-1]
}

// openBun opens bun on e's kmsenc database with the dialect's bun dialect.
func openBun(e *env) (*bun.DB, *bunLog) {
	var db *bun.DB
	if e.d.name == "mysql" {
		db = bun.NewDB(e.db, mysqldialect.New())
	} else {
		db = bun.NewDB(e.db, pgdialect.New())
	}
	l := &bunLog{}
	return db.WithQueryHook(l), l
}

// assertBunAccount compares an account read back with what was written,
// byte for byte.
func assertBunAccount(t *testing.T, what string, got, want bunAccount) {
	t.Helper()
	if got.ID != want.ID || got.Handle != want.Handle || got.Email != want.Email || got.Balance != want.Balance ||
		!bytes.Equal(got.Avatar, want.Avatar) || (got.Avatar == nil) != (want.Avatar == nil) ||
		got.Birthday.Valid != want.Birthday.Valid || !got.Birthday.Time.Equal(want.Birthday.Time) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// tricky is text that a literal must carry exactly: quotes, backslashes,
// a dollar quote, comment starters, placeholder look-alikes, non-ASCII.
// (A backslash before a quote is TestBunBackslashQuote's.)
const tricky = `O'Brien \ "x" \\ C:\dir\ $$ $1 ? :name -- /* é ☃ 'end\\`

// trickyBytes holds every byte value, quotes and backslashes among them.
func trickyBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return append(b, `'\x00''\\`...)
}

// TestBunCRUD: Insert (one, many), Select, Update by primary key (WherePK)
// and Delete, with every value interpolated into the SQL text by bun.
func TestBunCRUD(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		fail := func(what string, err error) {
			t.Helper()
			t.Fatalf("%s: %v\nsent: %s", what, err, log.last())
		}

		avatarCanary := canary("bun-avatar")
		ann := bunAccount{ID: 1, Handle: "ann", Email: canary("bun-email") + tricky, Avatar: append([]byte(avatarCanary), trickyBytes()...),
			Birthday: bunDay(1975, 12, 31), Balance: -1 << 40}
		if _, err := db.NewInsert().Model(&ann).Exec(ctx); err != nil {
			fail("Insert", err)
		}
		many := []bunAccount{
			{ID: 2, Handle: "bob", Email: canary("bun-email"), Avatar: []byte{}, Birthday: bunDay(2000, 2, 29), Balance: 0},
			{ID: 3, Handle: "cy", Email: "", Avatar: nil, Balance: 9_223_372_036_854_775_807},
			{ID: 4, Handle: "dee", Email: canary("bun-email") + `\\`, Avatar: []byte(canary("bun-avatar")), Birthday: bunDay(1, 1, 2), Balance: -9_223_372_036_854_775_808},
		}
		if _, err := db.NewInsert().Model(&many).Exec(ctx); err != nil {
			fail("bulk Insert", err)
		}
		e.assertStored("bun_accounts", bunAccountEncrypted, ann.Email, avatarCanary, many[0].Email, many[2].Email, string(many[2].Avatar))

		// Every value reads back exactly, by primary key and in lists.
		var got bunAccount
		if err := db.NewSelect().Model(&got).Where("a.id = ?", 1).Scan(ctx); err != nil {
			fail("Select", err)
		}
		assertBunAccount(t, "Select by id", got, ann)
		var all []bunAccount
		if err := db.NewSelect().Model(&all).Order("handle").Scan(ctx); err != nil {
			fail("Select all", err)
		}
		if len(all) != 4 {
			t.Fatalf("Select all: %d rows", len(all))
		}
		for i, want := range append([]bunAccount{ann}, many...) {
			assertBunAccount(t, fmt.Sprintf("Select all, row %d", i), all[i], want)
		}
		var some []bunAccount
		if err := db.NewSelect().Model(&some).Column("id", "email", "birthday").
			Where("handle IN (?)", bun.List([]string{"bob", "dee"})).Where("birthday IS NOT NULL").OrderExpr("id DESC").Limit(5).Scan(ctx); err != nil {
			fail("Select some columns", err)
		}
		if len(some) != 2 || some[0].ID != 4 || some[0].Email != many[2].Email || !some[1].Birthday.Time.Equal(many[0].Birthday.Time) || some[1].Handle != "" {
			t.Errorf("Select some columns = %+v", some)
		}
		if n, err := db.NewSelect().Model((*bunAccount)(nil)).Where("email IS NULL").Count(ctx); err != nil || n != 0 {
			t.Errorf("Count(email IS NULL) = %d, %v", n, err)
		}
		if ok, err := db.NewSelect().Model((*bunAccount)(nil)).Where("handle = ?", "cy").Exists(ctx); err != nil || !ok {
			t.Errorf("Exists = %v, %v", ok, err)
		}

		// Update by primary key: every column (bun's default), and a few.
		keyBefore := e.rawText("bun_accounts", "encrypted_kms_key", 1)
		ann.Email, ann.Avatar, ann.Birthday, ann.Balance, ann.Handle = canary("bun-update")+`'\\`, []byte("\x00'\\"+canary("bun-update")), bunDay(1976, 1, 1), 77, "ann2"
		if _, err := db.NewUpdate().Model(&ann).WherePK().Exec(ctx); err != nil {
			fail("Update WherePK", err)
		}
		got = bunAccount{ID: 1}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			fail("Select WherePK", err)
		}
		assertBunAccount(t, "after Update WherePK", got, ann)
		if k := e.rawText("bun_accounts", "encrypted_kms_key", 1); k != keyBefore {
			t.Errorf("Update changed the row's key: %q, then %q", keyBefore, k)
		}
		cy := many[1]
		cy.Email, cy.Birthday = canary("bun-update"), bunDay(2024, 4, 1)
		if _, err := db.NewUpdate().Model(&cy).Column("email", "birthday").WherePK().Exec(ctx); err != nil {
			fail("Update Column WherePK", err)
		}
		got = bunAccount{ID: 3}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			fail("Select WherePK", err)
		}
		assertBunAccount(t, "after Update Column WherePK", got, cy)
		// A Set expression update by key, and one that sets no encrypted column.
		if _, err := db.NewUpdate().Table("bun_accounts").Set("balance = ?", 5).Set("avatar = NULL").Where("id = ?", 2).Exec(ctx); err != nil {
			fail("Update Set by id", err)
		}
		if _, err := db.NewUpdate().Model((*bunAccount)(nil)).Set("handle = ?", "bobby").Where("handle = ?", "bob").Exec(ctx); err != nil {
			fail("Update of a plain column", err)
		}
		got = bunAccount{ID: 2}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			fail("Select WherePK", err)
		}
		bob := many[0]
		bob.Handle, bob.Balance, bob.Avatar = "bobby", 5, nil
		assertBunAccount(t, "after Update Set", got, bob)
		e.assertStored("bun_accounts", bunAccountEncrypted, ann.Email, string(ann.Avatar), cy.Email)

		// Delete by primary key, and by a plain column.
		if _, err := db.NewDelete().Model(&ann).WherePK().Exec(ctx); err != nil {
			fail("Delete WherePK", err)
		}
		if res, err := db.NewDelete().Model((*bunAccount)(nil)).Where("handle IN (?)", bun.List([]string{"cy", "dee"})).Exec(ctx); err != nil {
			fail("Delete Where", err)
		} else if n, _ := res.RowsAffected(); n != 2 {
			t.Errorf("Delete Where: %d rows", n)
		}
		if n := e.count("bun_accounts"); n != 1 {
			t.Errorf("%d rows left, want 1", n)
		}
	})
}

// TestBunAutoIncrement: a model whose id the database assigns, read back by
// bun (RETURNING on PostgreSQL, LastInsertId on MySQL), one and many.
func TestBunAutoIncrement(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		one := bunNote{AccountID: 7, Body: sql.NullString{String: canary("bun-note") + tricky, Valid: true}, Amount: 12}
		if _, err := db.NewInsert().Model(&one).Exec(ctx); err != nil {
			t.Fatalf("Insert: %v\nsent: %s", err, log.last())
		}
		if one.ID == 0 {
			t.Fatal("Insert: no id")
		}
		notes := []bunNote{
			{AccountID: 7, Body: sql.NullString{String: canary("bun-note"), Valid: true}, Amount: -3},
			{AccountID: 8, Body: sql.NullString{}, Amount: 0},
		}
		if _, err := db.NewInsert().Model(&notes).Exec(ctx); err != nil {
			t.Fatalf("bulk Insert: %v\nsent: %s", err, log.last())
		}
		e.assertStored("bun_notes", []string{"body", "amount"}, one.Body.String, notes[0].Body.String)
		for _, want := range append([]bunNote{one}, notes...) {
			got := bunNote{ID: want.ID}
			if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
				t.Fatalf("Select %d: %v\nsent: %s", want.ID, err, log.last())
			}
			if got.AccountID != want.AccountID || got.Amount != want.Amount || got.Body != want.Body {
				t.Errorf("note %d = %+v, want %+v", want.ID, got, want)
			}
		}
		var byAccount []bunNote
		if err := db.NewSelect().Model(&byAccount).Where("account_id = ?", 7).Order("id").Scan(ctx); err != nil || len(byAccount) != 2 {
			t.Errorf("Select by account: %v, %v", byAccount, err)
		}
	})
}

// TestBunUpsert: an upsert that sets every encrypted column from the
// inserted row (ON CONFLICT ... DO UPDATE SET c = EXCLUDED.c; MySQL's
// ON DUPLICATE KEY UPDATE c = VALUES(c)).
func TestBunUpsert(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		upsert := func(a *bunAccount) error {
			q := db.NewInsert().Model(a)
			if e.d.name == "mysql" {
				q = q.On("DUPLICATE KEY UPDATE")
				for _, c := range []string{"handle", "email", "avatar", "birthday", "balance"} {
					q = q.Set(c + " = VALUES(" + c + ")")
				}
			} else {
				q = q.On("CONFLICT (id) DO UPDATE")
				for _, c := range []string{"handle", "email", "avatar", "birthday", "balance"} {
					q = q.Set(c + " = EXCLUDED." + c)
				}
			}
			_, err := q.Exec(ctx)
			return err
		}
		a := bunAccount{ID: 10, Handle: "up", Email: canary("bun-upsert"), Avatar: []byte(canary("bun-upsert")), Birthday: bunDay(1990, 1, 1), Balance: 1}
		if err := upsert(&a); err != nil {
			t.Fatalf("upsert (insert): %v\nsent: %s", err, log.last())
		}
		a.Handle, a.Email, a.Avatar, a.Birthday, a.Balance = "up2", canary("bun-upsert")+tricky, trickyBytes(), bunDay(1991, 2, 3), 2
		if err := upsert(&a); err != nil {
			t.Fatalf("upsert (update): %v\nsent: %s", err, log.last())
		}
		got := bunAccount{ID: 10}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			t.Fatal(err)
		}
		assertBunAccount(t, "after upsert", got, a)
		if n := e.count("bun_accounts"); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
		e.assertStored("bun_accounts", bunAccountEncrypted, a.Email)
	})
}

// TestBunTx: bun's RunInTx, with an update by key inside.
func TestBunTx(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		a := bunAccount{ID: 20, Handle: "tx", Email: canary("bun-tx"), Birthday: bunDay(1999, 12, 31), Balance: 3}
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&a).Exec(ctx); err != nil {
				return err
			}
			a.Email = canary("bun-tx")
			_, err := tx.NewUpdate().Model(&a).Column("email").WherePK().Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatalf("RunInTx: %v\nsent: %s", err, log.last())
		}
		got := bunAccount{ID: 20}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			t.Fatal(err)
		}
		assertBunAccount(t, "after RunInTx", got, a)
		// A refusal inside a transaction: the error comes back matchable, and
		// the rollback leaves nothing.
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&bunAccount{ID: 21, Handle: "gone", Email: canary("bun-tx")}).Exec(ctx); err != nil {
				return err
			}
			_, err := tx.NewUpdate().Model((*bunAccount)(nil)).Set("email = ?", canary("bun-tx")).Where("handle = ?", "gone").Exec(ctx)
			return err
		})
		if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
			t.Errorf("RunInTx with a refused update: err = %v, want ErrUnsupportedStatement", err)
		}
		if n := e.count("bun_accounts"); n != 1 {
			t.Errorf("%d rows after the rollback, want 1", n)
		}
		e.assertStored("bun_accounts", bunAccountEncrypted, a.Email)
	})
}

// bunAccountPtr is bunAccount as bun models are often written: nullable
// fields as pointers, zero times as NULL (nullzero). For a nil pointer or a
// nullzero zero value bun writes DEFAULT (and adds the column to RETURNING).
type bunAccountPtr struct {
	bun.BaseModel `bun:"table:bun_accounts,alias:a"`

	ID       int64      `bun:"id,pk"`
	Handle   string     `bun:"handle,notnull"`
	Email    *string    `bun:"email"`
	Avatar   []byte     `bun:"avatar"`
	Birthday *time.Time `bun:"birthday"`
	Balance  int64      `bun:"balance,nullzero"`
}

// TestBunNilPointers: DEFAULT for an encrypted column. kmsenc checks that
// encrypted columns have no database default (an ErrConfig otherwise), so
// DEFAULT there is NULL, as ARCHITECTURE.md §5 rule 1 says.
func TestBunNilPointers(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		email := canary("bun-ptr")
		accounts := []bunAccountPtr{
			{ID: 1, Handle: "p1", Email: &email, Birthday: ptrTo(utcDay(1970, 1, 2)), Balance: 4},
			{ID: 2, Handle: "p2"}, // email, birthday: nil; balance: 0 (nullzero)
		}
		_, err := db.NewInsert().Model(&accounts).Exec(ctx)
		if err != nil {
			t.Fatalf("Insert: %v\nsent: %s", err, log.last())
		}
		if accounts[1].Email != nil || accounts[1].Birthday != nil {
			t.Errorf("RETURNING of the DEFAULT columns = %v, %v, want NULL", accounts[1].Email, accounts[1].Birthday)
		}
		var got []bunAccountPtr
		if err := db.NewSelect().Model(&got).Order("id").Scan(ctx); err != nil {
			t.Fatalf("Select: %v\nsent: %s", err, log.last())
		}
		if len(got) != 2 || got[0].Email == nil || *got[0].Email != email || !got[0].Birthday.Equal(utcDay(1970, 1, 2)) || got[0].Balance != 4 ||
			got[1].Email != nil || got[1].Birthday != nil || got[1].Balance != 0 {
			t.Errorf("Select = %+v", got)
		}
		if s := e.rawText("bun_accounts", "balance", 2); s != "<NULL>" {
			t.Errorf("balance of row 2 stored as %q, want NULL", s)
		}
		e.assertStored("bun_accounts", bunAccountEncrypted, email)
	})
}

// TestBunBackslashQuote: text with a backslash before a quote, or at the
// end. bun's PostgreSQL dialect writes it as a standard string, exact under
// standard_conforming_strings on, which kmsenc checks on every connection
// (and refuses statements that would change it); bun's MySQL dialect writes
// backslash escapes. Both store the text exactly.
func TestBunBackslashQuote(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		a := bunAccount{ID: 1, Handle: `h\'`, Email: canary("bun-bsq") + `it\'s \`, Avatar: []byte(`\'`), Birthday: bunDay(2020, 2, 2), Balance: 1}
		_, err := db.NewInsert().Model(&a).Exec(ctx)
		if err != nil {
			t.Fatalf("Insert: %v\nsent: %s", err, log.last())
		}
		got := bunAccount{ID: 1}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			t.Fatalf("Select: %v\nsent: %s", err, log.last())
		}
		assertBunAccount(t, "backslash before a quote", got, a)
		a.Email = canary("bun-bsq") + `\`
		if _, err := db.NewUpdate().Model(&a).WherePK().Exec(ctx); err != nil {
			t.Fatalf("Update: %v\nsent: %s", err, log.last())
		}
		got = bunAccount{ID: 1}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			t.Fatal(err)
		}
		assertBunAccount(t, "trailing backslash", got, a)
		e.assertStored("bun_accounts", bunAccountEncrypted, a.Email)
	})
}

// bunProfile declares its encrypted columns' type for bun's CreateTable:
// text, whatever the Go type.
type bunProfile struct {
	bun.BaseModel `bun:"table:bun_profiles,alias:p"`

	ID     int64        `bun:"id,pk,autoincrement"`
	Nick   string       `bun:"nick,notnull"`
	Phone  string       `bun:"phone,type:text"`  // encrypted: text
	Since  sql.NullTime `bun:"since,type:text"`  // encrypted: date
	Points int64        `bun:"points,type:text"` // encrypted: int
}

// TestBunCreateTable: bun's CreateTable runs through kmsenc (DDL passes
// through), with the key column added by an ALTER TABLE.
func TestBunCreateTable(t *testing.T) {
	t.Parallel()
	dropOnly := func(*dialect) []string { return []string{`DROP TABLE IF EXISTS bun_profiles`} }
	forEachORMEnv(t, bunSchema, dropOnly, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		if _, err := db.NewCreateTable().Model((*bunProfile)(nil)).Exec(ctx); err != nil {
			t.Fatalf("CreateTable: %v\nsent: %s", err, log.last())
		}
		if _, err := db.NewAddColumn().Model((*bunProfile)(nil)).ColumnExpr("encrypted_kms_key text").Exec(ctx); err != nil {
			t.Fatalf("AddColumn: %v\nsent: %s", err, log.last())
		}
		p := bunProfile{Nick: "pat", Phone: canary("bun-phone"), Since: bunDay(2011, 11, 11), Points: 1 << 33}
		if _, err := db.NewInsert().Model(&p).Exec(ctx); err != nil {
			t.Fatalf("Insert: %v\nsent: %s", err, log.last())
		}
		got := bunProfile{ID: p.ID}
		if err := db.NewSelect().Model(&got).WherePK().Scan(ctx); err != nil {
			t.Fatalf("Select: %v\nsent: %s", err, log.last())
		}
		if got.Nick != p.Nick || got.Phone != p.Phone || !got.Since.Time.Equal(p.Since.Time) || got.Points != p.Points {
			t.Errorf("Select = %+v, want %+v", got, p)
		}
		e.assertStored("bun_profiles", []string{"phone", "since", "points"}, p.Phone)
	})
}

// TestBunRefused: the bun shapes kmsenc refuses fail with an error that
// still matches ErrUnsupportedStatement through bun, and write nothing.
func TestBunRefused(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, bunSchema, bunDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		db, log := openBun(e)
		accounts := []bunAccount{
			{ID: 1, Handle: "r", Email: canary("bun-refused"), Avatar: []byte("a"), Birthday: bunDay(1980, 1, 1), Balance: 1},
			{ID: 2, Handle: "r", Email: canary("bun-refused"), Avatar: []byte("b"), Birthday: bunDay(1981, 1, 1), Balance: 2},
		}
		if _, err := db.NewInsert().Model(&accounts).Exec(ctx); err != nil {
			t.Fatalf("Insert: %v\nsent: %s", err, log.last())
		}
		before := e.snapshot("bun_accounts")

		refused := []struct {
			name string
			run  func() error
		}{
			{"Where email = ?", func() error {
				var out []bunAccount
				return db.NewSelect().Model(&out).Where("email = ?", accounts[0].Email).Scan(ctx)
			}},
			{"Order email", func() error {
				var out []bunAccount
				return db.NewSelect().Model(&out).Order("email").Scan(ctx)
			}},
			{"Where birthday > ?", func() error {
				_, err := db.NewSelect().Model((*bunAccount)(nil)).Where("birthday > ?", utcDay(1980, 6, 1)).Count(ctx)
				return err
			}},
			{"Update Column Where handle", func() error {
				a := bunAccount{Email: canary("bun-refused")}
				_, err := db.NewUpdate().Model(&a).Column("email").Where("handle = ?", "r").Exec(ctx)
				return err
			}},
			{"Update Set balance = balance + ?", func() error {
				_, err := db.NewUpdate().Model(&accounts[0]).Set("balance = balance + ?", 1).WherePK().Exec(ctx)
				return err
			}},
			{"Update Bulk", func() error {
				changed := []bunAccount{accounts[0], accounts[1]}
				changed[0].Email, changed[1].Email = canary("bun-refused"), canary("bun-refused")
				_, err := db.NewUpdate().Model(&changed).Column("email").Bulk().Exec(ctx)
				return err
			}},
			{"Upsert setting only some encrypted columns", func() error {
				a := bunAccount{ID: 1, Handle: "r", Email: canary("bun-refused"), Birthday: bunDay(1, 1, 1), Balance: 9}
				q := db.NewInsert().Model(&a)
				if e.d.name == "mysql" {
					q = q.On("DUPLICATE KEY UPDATE").Set("email = VALUES(email)")
				} else {
					q = q.On("CONFLICT (id) DO UPDATE").Set("email = EXCLUDED.email")
				}
				_, err := q.Exec(ctx)
				return err
			}},
			{"Insert without the context's id", func() error {
				_, err := db.NewInsert().Model(&bunAccount{Handle: "x", Email: canary("bun-refused")}).ExcludeColumn("id").Exec(ctx)
				return err
			}},
		}
		for _, r := range refused {
			err := r.run()
			t.Logf("%s: %v", r.name, err)
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement\nsent: %s", r.name, err, log.last())
			}
		}
		if after := e.snapshot("bun_accounts"); after != before {
			t.Errorf("refused statements changed the table:\n%s\nthen\n%s", before, after)
		}
		e.assertStored("bun_accounts", bunAccountEncrypted, accounts[0].Email)
	})
}

// bunDay is a valid sql.NullTime at UTC midnight.
func bunDay(y int, m time.Month, d int) sql.NullTime {
	return sql.NullTime{Time: utcDay(y, m, d), Valid: true}
}

// snapshot renders every row of table as stored, ordered by id.
func (e *env) snapshot(table string) string {
	e.t.Helper()
	rows, err := e.raw.Query(`SELECT * FROM ` + table + ` ORDER BY id`) //nolint:gosec // test tables
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return b.String()
}
