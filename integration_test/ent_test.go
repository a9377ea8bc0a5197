package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	entdialect "entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/integration_test/ent"
	"github.com/kmsenc/kmsenc/integration_test/ent/patient"
	"github.com/kmsenc/kmsenc/integration_test/ent/visit"
)

// ent over kmsenc: the generated client of ./ent (schema in ./ent/schema),
// opened on the env's *sql.DB with entsql.OpenDB, as an application would.

const entSchema = `
tables:
  ent_patients:
    columns:
      email: text
      birthday: date
      risk: int
  ent_visits:
    columns:
      note: text
      fee: int
`

func entDDL(d *dialect) []string {
	serial, key := "bigserial PRIMARY KEY", "text"
	if d.name == "mysql" {
		serial, key = "bigint AUTO_INCREMENT PRIMARY KEY", "varchar(64)"
	}
	return []string{
		`DROP TABLE IF EXISTS ent_visits, ent_patients`,
		`CREATE TABLE ent_patients (id ` + serial + `, mrn ` + key + ` NOT NULL UNIQUE, name text NOT NULL,
		  email text, birthday text, risk text, encrypted_kms_key text)`,
		`CREATE TABLE ent_visits (id ` + serial + `, kind text NOT NULL, patient_id bigint REFERENCES ent_patients (id) ON DELETE SET NULL,
		  note text NOT NULL, fee text, encrypted_kms_key text)`,
	}
}

var entEncrypted = []string{"email", "birthday", "risk"}

// entLog collects the SQL ent sends (ent's Debug driver), so that a failure
// can show it.
type entLog struct {
	mu   sync.Mutex
	sent []string
}

func (l *entLog) log(args ...any) {
	l.mu.Lock()
	l.sent = append(l.sent, fmt.Sprint(args...))
	l.mu.Unlock()
}

func (l *entLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) == 0 {
		return ""
	}
	return l.sent[len(l.sent)-1]
}

// entClient opens ent on e's kmsenc database.
func entClient(e *env) (*ent.Client, *entLog) {
	name := entdialect.Postgres
	if e.d.name == "mysql" {
		name = entdialect.MySQL
	}
	drv := entsql.OpenDB(name, e.db)
	l := &entLog{}
	return ent.NewClient(ent.Driver(drv), ent.Log(l.log), ent.Debug()), l
}

// assertEntPatient checks a patient as ent read it.
func assertEntPatient(t *testing.T, got *ent.Patient, mrn, name string, email *string, birthday *time.Time, risk *int64) {
	t.Helper()
	if got.Mrn != mrn || got.Name != name {
		t.Errorf("patient %d: mrn %q name %q, want %q %q", got.ID, got.Mrn, got.Name, mrn, name)
	}
	if (got.Email == nil) != (email == nil) || email != nil && *got.Email != *email {
		t.Errorf("patient %s: email %v, want %v", mrn, derefAny(got.Email), derefAny(email))
	}
	if (got.Birthday == nil) != (birthday == nil) || birthday != nil && !got.Birthday.Equal(*birthday) {
		t.Errorf("patient %s: birthday %v, want %v", mrn, derefAny(got.Birthday), derefAny(birthday))
	}
	if (got.Risk == nil) != (risk == nil) || risk != nil && *got.Risk != *risk {
		t.Errorf("patient %s: risk %v, want %v", mrn, derefAny(got.Risk), derefAny(risk))
	}
}

// TestEntCRUD: Create, CreateBulk, queries with predicates on plain
// columns, UpdateOne, an update pinned by id, and deletes, through ent's
// generated client.
func TestEntCRUD(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, entSchema, entDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, log := entClient(e)

		email, bday := canary("ent-email"), utcDay(1984, 2, 29)
		ada, err := client.Patient.Create().
			SetMrn("A-1").SetName("Ada").SetEmail(email).SetBirthday(bday).SetRisk(-7).
			Save(ctx)
		if err != nil {
			t.Fatalf("Create: %v (sent %s)", err, log.last())
		}
		assertEntPatient(t, ada, "A-1", "Ada", &email, &bday, ptrTo[int64](-7))

		// CreateBulk: one multi-row INSERT. On MySQL ent computes the ids as
		// LastInsertId + i: they must name the right rows.
		bulkEmails := []string{canary("ent-bulk"), canary("ent-bulk")}
		created, err := client.Patient.CreateBulk(
			client.Patient.Create().SetMrn("B-1").SetName("Bob").SetEmail(bulkEmails[0]).SetRisk(1),
			client.Patient.Create().SetMrn("B-2").SetName("Bea").SetBirthday(utcDay(2001, 12, 31)),
			client.Patient.Create().SetMrn("B-3").SetName("Ben").SetEmail(bulkEmails[1]).SetBirthday(utcDay(1970, 1, 1)).SetRisk(1<<40),
		).Save(ctx)
		if err != nil {
			t.Fatalf("CreateBulk: %v (sent %s)", err, log.last())
		}
		want := map[string]struct {
			name     string
			email    *string
			birthday *time.Time
			risk     *int64
		}{
			"A-1": {"Ada", &email, &bday, ptrTo[int64](-7)},
			"B-1": {"Bob", &bulkEmails[0], nil, ptrTo[int64](1)},
			"B-2": {"Bea", nil, ptrTo(utcDay(2001, 12, 31)), nil},
			"B-3": {"Ben", &bulkEmails[1], ptrTo(utcDay(1970, 1, 1)), ptrTo[int64](1 << 40)},
		}
		for _, p := range created {
			got, err := client.Patient.Get(ctx, p.ID)
			if err != nil {
				t.Fatalf("Get(%d): %v", p.ID, err)
			}
			if got.Mrn != p.Mrn {
				t.Errorf("CreateBulk returned id %d for %s, but that row is %s", p.ID, p.Mrn, got.Mrn)
			}
			w := want[got.Mrn]
			assertEntPatient(t, got, got.Mrn, w.name, w.email, w.birthday, w.risk)
		}
		e.assertStored("ent_patients", entEncrypted, email, bulkEmails[0], bulkEmails[1])

		// Predicates, order, limits, counts and projections on plain columns;
		// encrypted columns are decrypted in every result.
		bs, err := client.Patient.Query().
			Where(patient.NameHasPrefix("B"), patient.MrnNEQ("B-2")).
			Order(ent.Desc(patient.FieldMrn)).
			All(ctx)
		if err != nil {
			t.Fatalf("Query: %v (sent %s)", err, log.last())
		}
		if len(bs) != 2 || bs[0].Mrn != "B-3" || bs[1].Mrn != "B-1" {
			t.Fatalf("Query = %v", bs)
		}
		assertEntPatient(t, bs[0], "B-3", "Ben", &bulkEmails[1], ptrTo(utcDay(1970, 1, 1)), ptrTo[int64](1<<40))
		if n, err := client.Patient.Query().Where(patient.Or(patient.MrnEQ("A-1"), patient.NameEQ("Bea"))).Count(ctx); err != nil || n != 2 {
			t.Errorf("Count = %d, %v", n, err)
		}
		if n, err := client.Patient.Query().Where(patient.EmailIsNil()).Count(ctx); err != nil || n != 1 {
			t.Errorf("Count(email IS NULL) = %d, %v", n, err)
		}
		first, err := client.Patient.Query().Where(patient.BirthdayNotNil()).Order(ent.Asc(patient.FieldName)).Offset(1).First(ctx)
		if err != nil || first.Mrn != "B-2" {
			t.Errorf("First = %v, %v", first, err)
		}
		if ok, err := client.Patient.Query().Where(patient.MrnHasPrefix("B-")).Exist(ctx); err != nil || !ok {
			t.Errorf("Exist = %v, %v", ok, err)
		}
		emails, err := client.Patient.Query().Where(patient.MrnIn("A-1", "B-1")).Order(ent.Asc(patient.FieldID)).Select(patient.FieldEmail).Strings(ctx)
		if err != nil || !slices.Equal(emails, []string{email, bulkEmails[0]}) {
			t.Errorf("Select(email).Strings = %q, %v", emails, err)
		}

		// UpdateOne: the new values are encrypted under the row's own key.
		keyBefore := e.rawText("ent_patients", "encrypted_kms_key", ada.ID)
		email2 := canary("ent-update")
		ada, err = ada.Update().SetEmail(email2).SetName("Ada L.").SetRisk(-5).ClearBirthday().Save(ctx)
		if err != nil {
			t.Fatalf("UpdateOne: %v (sent %s)", err, log.last())
		}
		assertEntPatient(t, ada, "A-1", "Ada L.", &email2, nil, ptrTo[int64](-5))
		if got := client.Patient.GetX(ctx, ada.ID); *got.Email != email2 || *got.Risk != -5 || got.Birthday != nil {
			t.Errorf("after UpdateOne: %v", got)
		}
		if k := e.rawText("ent_patients", "encrypted_kms_key", ada.ID); k != keyBefore {
			t.Errorf("UpdateOne changed the row's key: %q, then %q", keyBefore, k)
		}
		// An update that sets no encrypted column passes through.
		if err := client.Patient.UpdateOneID(created[0].ID).SetName("Robert").Exec(ctx); err != nil {
			t.Errorf("UpdateOneID(name): %v", err)
		}
		// A bulk Update whose predicate pins the row by id is accepted.
		email3 := canary("ent-update")
		if n, err := client.Patient.Update().Where(patient.ID(created[1].ID)).SetEmail(email3).SetRisk(3).Save(ctx); err != nil || n != 1 {
			t.Errorf("Update().Where(ID).SetEmail = %d, %v (sent %s)", n, err, log.last())
		}
		assertEntPatient(t, client.Patient.GetX(ctx, created[1].ID), "B-2", "Bea", &email3, ptrTo(utcDay(2001, 12, 31)), ptrTo[int64](3))
		e.assertStored("ent_patients", entEncrypted, email, email2, email3)

		// Delete by entity, and by a predicate on plain columns.
		if err := client.Patient.DeleteOne(ada).Exec(ctx); err != nil {
			t.Errorf("DeleteOne: %v", err)
		}
		if n, err := client.Patient.Delete().Where(patient.NameIn("Robert", "Bea")).Exec(ctx); err != nil || n != 2 {
			t.Errorf("Delete().Where = %d, %v", n, err)
		}
		if left := client.Patient.Query().AllX(ctx); len(left) != 1 || left[0].Mrn != "B-3" {
			t.Errorf("after deletes: %v", left)
		}
	})
}

// TestEntUpsert: OnConflict().UpdateNewValues() (the sql/upsert feature)
// sets every column the create set from the inserted row; when that covers
// every encrypted column, kmsenc keeps the row's values under one key.
func TestEntUpsert(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, entSchema, entDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, log := entClient(e)

		upsert := func(mrn, name, email string, birthday time.Time, risk int64) (int, error) {
			return client.Patient.Create().
				SetMrn(mrn).SetName(name).SetEmail(email).SetBirthday(birthday).SetRisk(risk).
				OnConflictColumns(patient.FieldMrn).
				UpdateNewValues().
				ID(ctx)
		}
		e1 := canary("ent-upsert")
		id, err := upsert("U-1", "Una", e1, utcDay(1999, 9, 9), 9)
		if err != nil {
			t.Fatalf("upsert (insert): %v (sent %s)", err, log.last())
		}
		e2 := canary("ent-upsert")
		id2, err := upsert("U-1", "Una B.", e2, utcDay(2000, 1, 2), 10)
		if err != nil {
			t.Fatalf("upsert (update): %v (sent %s)", err, log.last())
		}
		if id2 != id {
			t.Errorf("upsert of an existing row returned id %d, want %d", id2, id)
		}
		assertEntPatient(t, client.Patient.GetX(ctx, id), "U-1", "Una B.", &e2, ptrTo(utcDay(2000, 1, 2)), ptrTo[int64](10))
		if n := e.count("ent_patients"); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}

		// Bulk upsert: one new row, one existing.
		e3, e4 := canary("ent-upsert"), canary("ent-upsert")
		err = client.Patient.CreateBulk(
			client.Patient.Create().SetMrn("U-1").SetName("Una C.").SetEmail(e3).SetBirthday(utcDay(2001, 1, 1)).SetRisk(11),
			client.Patient.Create().SetMrn("U-2").SetName("Uli").SetEmail(e4).SetBirthday(utcDay(2002, 2, 2)).SetRisk(12),
		).OnConflictColumns(patient.FieldMrn).UpdateNewValues().Exec(ctx)
		if err != nil {
			t.Fatalf("bulk upsert: %v (sent %s)", err, log.last())
		}
		assertEntPatient(t, client.Patient.GetX(ctx, id), "U-1", "Una C.", &e3, ptrTo(utcDay(2001, 1, 1)), ptrTo[int64](11))
		u2 := client.Patient.Query().Where(patient.Mrn("U-2")).OnlyX(ctx)
		assertEntPatient(t, u2, "U-2", "Uli", &e4, ptrTo(utcDay(2002, 2, 2)), ptrTo[int64](12))

		// DoNothing on a conflict keeps the row as it was.
		err = client.Patient.Create().SetMrn("U-2").SetName("x").SetEmail(canary("ent-upsert")).
			OnConflictColumns(patient.FieldMrn).DoNothing().Exec(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("DoNothing: %v (sent %s)", err, log.last())
		}
		assertEntPatient(t, client.Patient.GetX(ctx, u2.ID), "U-2", "Uli", &e4, ptrTo(utcDay(2002, 2, 2)), ptrTo[int64](12))
		e.assertStored("ent_patients", entEncrypted, e1, e2, e3, e4)
	})
}

// TestEntEdges: visits belong to patients; creating with an edge, eager
// loading (WithVisits) and predicates through the edge work. Traversal
// (QueryVisits) selects DISTINCT by default, which kmsenc refuses over
// encrypted columns: Unique(false) is the way.
func TestEntEdges(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, entSchema, entDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, log := entClient(e)

		p := client.Patient.Create().SetMrn("E-1").SetName("Eve").SetEmail(canary("ent-edge")).SaveX(ctx)
		n1, n2 := canary("ent-note"), canary("ent-note")
		vs, err := client.Visit.CreateBulk(
			client.Visit.Create().SetKind("checkup").SetNote(n1).SetFee(4500).SetPatient(p),
			client.Visit.Create().SetKind("x-ray").SetNote(n2).SetPatientID(p.ID),
		).Save(ctx)
		if err != nil {
			t.Fatalf("Visit CreateBulk: %v (sent %s)", err, log.last())
		}
		e.assertStored("ent_visits", []string{"note", "fee"}, n1, n2)

		withVisits, err := client.Patient.Query().Where(patient.ID(p.ID)).WithVisits(func(q *ent.VisitQuery) {
			q.Order(ent.Asc(visit.FieldID))
		}).Only(ctx)
		if err != nil {
			t.Fatalf("WithVisits: %v (sent %s)", err, log.last())
		}
		if got := withVisits.Edges.Visits; len(got) != 2 || got[0].Note != n1 || got[0].Fee != 4500 || got[1].Note != n2 || got[1].Fee != 0 {
			t.Errorf("WithVisits = %v", got)
		}
		byPatient, err := client.Visit.Query().Where(visit.HasPatientWith(patient.Name("Eve")), visit.Kind("x-ray")).WithPatient().All(ctx)
		if err != nil {
			t.Fatalf("HasPatientWith: %v (sent %s)", err, log.last())
		}
		if len(byPatient) != 1 || byPatient[0].ID != vs[1].ID || byPatient[0].Edges.Patient.Email == nil || *byPatient[0].Edges.Patient.Email != *p.Email {
			t.Errorf("HasPatientWith = %v", byPatient)
		}

		// QueryVisits: ent's traversal selects DISTINCT, and DISTINCT over
		// encrypted columns is refused.
		_, err = p.QueryVisits().All(ctx)
		if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
			t.Errorf("QueryVisits (DISTINCT): err = %v, want ErrUnsupportedStatement (sent %s)", err, log.last())
		}
		got, err := p.QueryVisits().Unique(false).Order(ent.Asc(visit.FieldID)).All(ctx)
		if err != nil || len(got) != 2 || got[0].Note != n1 || got[1].Note != n2 {
			t.Errorf("QueryVisits().Unique(false) = %v, %v (sent %s)", got, err, log.last())
		}
		byFK, err := client.Visit.Query().Where(visit.PatientID(p.ID)).Order(ent.Desc(visit.FieldID)).All(ctx)
		if err != nil || len(byFK) != 2 || byFK[0].Note != n2 || byFK[1].Fee != 4500 {
			t.Errorf("Where(visit.PatientID) = %v, %v (sent %s)", byFK, err, log.last())
		}
		// Counting through the edge only counts ids.
		if n, err := p.QueryVisits().Count(ctx); err != nil || n != 2 {
			t.Errorf("QueryVisits().Count = %d, %v (sent %s)", n, err, log.last())
		}

		// UpdateOne of a visit, and the edge's foreign key.
		n3 := canary("ent-note")
		v := vs[1].Update().SetNote(n3).SetFee(1200).ClearPatient().SaveX(ctx)
		if v.Note != n3 || v.Fee != 1200 || v.PatientID != 0 {
			t.Errorf("visit UpdateOne = %v", v)
		}
		if n := p.QueryVisits().Unique(false).CountX(ctx); n != 1 {
			t.Errorf("%d visits after ClearPatient, want 1", n)
		}
	})
}

// TestEntTx: ent's transactions run kmsenc's key reads on the transaction.
func TestEntTx(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, entSchema, entDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, _ := entClient(e)
		em := canary("ent-tx")
		tx, err := client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := tx.Patient.Create().SetMrn("T-1").SetName("Tom").SetEmail(canary("ent-tx")).SetRisk(1).SaveX(ctx)
		p = p.Update().SetEmail(em).SetBirthday(utcDay(1990, 6, 1)).SaveX(ctx)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		assertEntPatient(t, client.Patient.GetX(ctx, p.ID), "T-1", "Tom", &em, ptrTo(utcDay(1990, 6, 1)), ptrTo[int64](1))

		tx, err = client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.Patient.Create().SetMrn("T-2").SetName("Tia").SetEmail(canary("ent-tx")).SaveX(ctx)
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n := e.count("ent_patients"); n != 1 {
			t.Errorf("%d rows after a rollback, want 1", n)
		}
		e.assertStored("ent_patients", entEncrypted, em)
	})
}

// TestEntRefused: the ent shapes kmsenc refuses fail with an error that
// still matches ErrUnsupportedStatement through ent, and write nothing.
func TestEntRefused(t *testing.T) {
	t.Parallel()
	forEachORMEnv(t, entSchema, entDDL, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, log := entClient(e)
		email := canary("ent-refused")
		p := client.Patient.Create().SetMrn("R-1").SetName("Rae").SetEmail(email).SetBirthday(utcDay(1980, 3, 3)).SetRisk(5).SaveX(ctx)
		q := client.Patient.Create().SetMrn("R-2").SetName("Rae").SetEmail(canary("ent-refused")).SetBirthday(utcDay(1981, 4, 4)).SetRisk(6).SaveX(ctx)
		before := e.snapshot("ent_patients")

		refused := []struct {
			name string
			run  func() error
		}{
			{"Where(Email(x))", func() error {
				_, err := client.Patient.Query().Where(patient.Email(email)).All(ctx)
				return err
			}},
			{"Where(EmailContains(x))", func() error {
				_, err := client.Patient.Query().Where(patient.EmailContains("canary")).All(ctx)
				return err
			}},
			{"Where(BirthdayGT(t))", func() error {
				_, err := client.Patient.Query().Where(patient.BirthdayGT(utcDay(1980, 1, 1))).Count(ctx)
				return err
			}},
			{"Order(Asc(email))", func() error {
				_, err := client.Patient.Query().Order(ent.Asc(patient.FieldEmail)).All(ctx)
				return err
			}},
			{"Order(ByRisk())", func() error {
				_, err := client.Patient.Query().Order(patient.ByRisk()).All(ctx)
				return err
			}},
			{"Unique(true) Select(email)", func() error {
				_, err := client.Patient.Query().Unique(true).Select(patient.FieldEmail).Strings(ctx)
				return err
			}},
			{"GroupBy(email)", func() error {
				var v []struct {
					Email string `json:"email"`
				}
				return client.Patient.Query().GroupBy(patient.FieldEmail).Scan(ctx, &v)
			}},
			{"Update().Where(Name).SetEmail", func() error {
				_, err := client.Patient.Update().Where(patient.Name("Rae")).SetEmail(canary("ent-refused")).Save(ctx)
				return err
			}},
			{"Update().Where(IDIn).SetRisk", func() error {
				_, err := client.Patient.Update().Where(patient.IDIn(p.ID, q.ID)).SetRisk(1).Save(ctx)
				return err
			}},
			{"Update().Where(Email).SetName", func() error {
				_, err := client.Patient.Update().Where(patient.Email(email)).SetName("x").Save(ctx)
				return err
			}},
			{"Delete().Where(Email)", func() error {
				_, err := client.Patient.Delete().Where(patient.Email(email)).Exec(ctx)
				return err
			}},
			{"upsert setting only some encrypted columns", func() error {
				return client.Patient.Create().SetMrn("R-1").SetName("Rae").SetEmail(canary("ent-refused")).
					OnConflictColumns(patient.FieldMrn).UpdateNewValues().Exec(ctx)
			}},
			{"upsert UpdateEmail only", func() error {
				return client.Patient.Create().SetMrn("R-1").SetName("Rae").SetEmail(canary("ent-refused")).SetBirthday(utcDay(1, 1, 1)).SetRisk(1).
					OnConflictColumns(patient.FieldMrn).Update(func(u *ent.PatientUpsert) { u.UpdateEmail() }).Exec(ctx)
			}},
			{"UpdateOne AddRisk", func() error {
				// risk = COALESCE(risk, 0) + $1: arithmetic on ciphertext.
				return p.Update().AddRisk(1).Exec(ctx)
			}},
		}
		for _, r := range refused {
			err := r.run()
			t.Logf("%s: %v", r.name, err)
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement (sent %s)", r.name, err, log.last())
			}
		}
		if after := e.snapshot("ent_patients"); after != before {
			t.Errorf("refused statements changed the table:\n%s\nthen\n%s", before, after)
		}
		e.assertStored("ent_patients", entEncrypted, email)
	})
}

// entKeyColumn is a migrate hook that adds kmsenc's key column to every
// table ent creates that has encrypted fields: the ent schema doesn't
// declare it (no entity needs it), so ent's migrate learns of it here.
func entKeyColumn(tables ...string) schema.Hook {
	return func(next schema.Creator) schema.Creator {
		return schema.CreateFunc(func(ctx context.Context, ts ...*schema.Table) error {
			for _, t := range ts {
				// ent's tables are package variables: add the column once.
				if slices.Contains(tables, t.Name) && !t.HasColumn("encrypted_kms_key") {
					t.AddColumn(&schema.Column{Name: "encrypted_kms_key", Type: field.TypeString, Size: 2048, Nullable: true,
						SchemaType: map[string]string{entdialect.Postgres: "text", entdialect.MySQL: "text"}})
				}
			}
			return next.Create(ctx, ts...)
		})
	}
}

// TestEntMigrate: ent's own migrate (client.Schema.Create) runs through
// kmsenc: its inspection queries and DDL touch no encrypted value, and a
// hook adds the key column. Running it again changes nothing.
func TestEntMigrate(t *testing.T) {
	t.Parallel()
	dropOnly := func(*dialect) []string { return []string{`DROP TABLE IF EXISTS ent_visits, ent_patients`} }
	forEachORMEnv(t, entSchema, dropOnly, func(t *testing.T, e *env) {
		ctx := context.Background()
		client, log := entClient(e)
		for i := range 2 {
			if err := client.Schema.Create(ctx, schema.WithHooks(entKeyColumn("ent_patients", "ent_visits"))); err != nil {
				t.Fatalf("Schema.Create (run %d): %v (sent %s)", i+1, err, log.last())
			}
		}
		email := canary("ent-migrate")
		p, err := client.Patient.Create().SetMrn("M-1").SetName("Mo").SetEmail(email).SetBirthday(utcDay(1960, 7, 20)).SetRisk(3).Save(ctx)
		if err != nil {
			t.Fatalf("Create after migrate: %v (sent %s)", err, log.last())
		}
		note := canary("ent-migrate")
		client.Visit.Create().SetKind("k").SetNote(note).SetFee(5).SetPatient(p).ExecX(ctx)
		assertEntPatient(t, client.Patient.GetX(ctx, p.ID), "M-1", "Mo", &email, ptrTo(utcDay(1960, 7, 20)), ptrTo[int64](3))
		if v := client.Visit.Query().OnlyX(ctx); v.Note != note || v.Fee != 5 {
			t.Errorf("visit = %v", v)
		}
		e.assertStored("ent_patients", entEncrypted, email)
		e.assertStored("ent_visits", []string{"note", "fee"}, note)
	})
}
