package integration_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc"
)

// The tests of ARCHITECTURE.md §5, "Found at open": objects created with the
// plain driver (a migration tool, psql) over an encrypted table are found
// when kmsenc opens, and statements naming them are refused.

const catalogSchema = `
tables:
  patients:
    context: {table: patients, id: $id}
    columns: {email: text}
  patient_view:
    view_of: patients
    context: {table: patients, id: $id}
    columns: {email: text}
  events:
    columns: {detail: text}
  staff:
    columns: {badge: text}
reviewed: [count_patients]
`

// catalogDDL creates, with the plain driver, one object of each kind over
// patients, and unrelated ones.
func catalogDDL(d *dialect) []string {
	if d.name == "mysql" {
		return []string{
			`DROP VIEW IF EXISTS patient_emails, patient_view, product_names`,
			`DROP TABLE IF EXISTS patients, patients_audit, visits, products`,
			`DROP PROCEDURE IF EXISTS add_patient`,
			`DROP FUNCTION IF EXISTS count_patients`,
			`DROP FUNCTION IF EXISTS add_numbers`,
			`CREATE TABLE patients (id bigint PRIMARY KEY, name text, email text, encrypted_kms_key text)`,
			`CREATE TABLE patients_audit (id bigint, email text, encrypted_kms_key text)`,
			`CREATE TRIGGER patients_audit_copy AFTER INSERT ON patients FOR EACH ROW
			  INSERT INTO patients_audit (id, email, encrypted_kms_key) VALUES (NEW.id, NEW.email, NEW.encrypted_kms_key)`,
			`CREATE VIEW patient_emails AS SELECT id, email FROM patients`,
			`CREATE VIEW patient_view AS SELECT id, name, email, encrypted_kms_key FROM patients`,
			`CREATE TABLE visits (id bigint, note text)`,
			`CREATE TRIGGER visits_copy AFTER INSERT ON visits FOR EACH ROW INSERT INTO patients (id, email) VALUES (NEW.id, NEW.note)`,
			`CREATE PROCEDURE add_patient(i bigint, e text) INSERT INTO patients (id, email) VALUES (i, e)`,
			`CREATE FUNCTION count_patients() RETURNS bigint READS SQL DATA RETURN (SELECT count(*) FROM patients)`,
			`CREATE TABLE products (id bigint, name text)`,
			`CREATE VIEW product_names AS SELECT name FROM products`,
			`CREATE FUNCTION add_numbers(a int, b int) RETURNS int DETERMINISTIC RETURN a + b`,
		}
	}
	return []string{
		`DROP TABLE IF EXISTS patients, patients_audit, visits, notes, products, events, staff, people CASCADE`,
		`DROP FUNCTION IF EXISTS audit_copy, visit_to_patient, add_patient, count_patients, add_numbers CASCADE`,
		`CREATE TABLE patients (id bigint PRIMARY KEY, name text, email text, encrypted_kms_key text)`,
		`CREATE TABLE patients_audit (id bigint, email text, encrypted_kms_key text)`,
		`CREATE FUNCTION audit_copy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN
		   INSERT INTO patients_audit (id, email, encrypted_kms_key) VALUES (NEW.id, NEW.email, NEW.encrypted_kms_key);
		   RETURN NEW;
		 END$$`,
		`CREATE TRIGGER patients_audit_copy AFTER INSERT ON patients FOR EACH ROW EXECUTE FUNCTION audit_copy()`,
		`CREATE VIEW patient_emails AS SELECT id, email FROM patients`,
		`CREATE VIEW patient_view AS SELECT id, name, email, encrypted_kms_key FROM patients`,
		`CREATE MATERIALIZED VIEW patient_counts AS SELECT count(*) AS n FROM patients`,
		`CREATE TABLE visits (id bigint, note text)`,
		`CREATE FUNCTION visit_to_patient() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN
		   INSERT INTO patients (id, email) VALUES (NEW.id, NEW.note);
		   RETURN NEW;
		 END$$`,
		`CREATE TRIGGER visits_copy AFTER INSERT ON visits FOR EACH ROW EXECUTE FUNCTION visit_to_patient()`,
		`CREATE TABLE notes (id bigint, body text)`,
		`CREATE RULE notes_to_patients AS ON INSERT TO notes DO ALSO INSERT INTO patients (id, email) VALUES (NEW.id, NEW.body)`,
		`CREATE FUNCTION add_patient(i bigint, e text) RETURNS void LANGUAGE sql BEGIN ATOMIC INSERT INTO patients (id, email) VALUES (i, e); END`,
		`CREATE FUNCTION count_patients() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM patients'`,
		`CREATE TABLE patients_child (extra text) INHERITS (patients)`,
		`CREATE TABLE events (id bigint, detail text, encrypted_kms_key text) PARTITION BY RANGE (id)`,
		`CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (1000)`,
		`CREATE TABLE people (id bigint PRIMARY KEY, name text)`,
		`CREATE TABLE staff (badge text, encrypted_kms_key text) INHERITS (people)`,
		`CREATE TABLE products (id bigint, name text)`,
		`CREATE VIEW product_names AS SELECT name FROM products`,
		`CREATE FUNCTION add_numbers(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b'`,
	}
}

// refusedNaming runs query through kmsenc and checks that it is refused
// with an error that names object and shows none of args.
func refusedNaming(t *testing.T, e *env, object, query string, args ...any) {
	t.Helper()
	_, err := e.execErr(query, args...)
	if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
		t.Errorf("%s: err = %v; want ErrUnsupportedStatement", query, err)
		return
	}
	if !strings.Contains(err.Error(), object) {
		t.Errorf("%s: the error doesn't name %s: %v", query, object, err)
	}
	for _, a := range args {
		if s, ok := a.(string); ok && strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error shows the value %q", query, s)
		}
	}
}

// TestCatalogFoundAtOpen: views, materialized views, rules, triggers,
// routines, children, partitions and parents over an encrypted table,
// created with the plain driver, are refused by name through kmsenc; a
// declared view is read through, a reviewed routine runs, an audit trigger
// that copies ciphertext stays allowed, and unrelated objects work. Nothing
// reaches the database in plaintext.
func TestCatalogFoundAtOpen(t *testing.T) {
	t.Parallel()
	forEachDialect(t, catalogSchema, catalogDDL, func(t *testing.T, e *env) {
		leak := canary("catalog")
		refusedNaming(t, e, "patient_emails", `SELECT id, email FROM patient_emails`)
		refusedNaming(t, e, "patient_emails", `INSERT INTO patient_emails (id, email) VALUES ($1, $2)`, 7, leak)
		refusedNaming(t, e, "visits_copy", `INSERT INTO visits (id, note) VALUES ($1, $2)`, 8, leak)
		if e.d.name == "mysql" {
			refusedNaming(t, e, "add_patient", `CALL add_patient($1, $2)`, 9, leak)
		} else {
			refusedNaming(t, e, "add_patient", `SELECT add_patient($1, $2)`, 9, leak)
			refusedNaming(t, e, "add_patient", `DO $$BEGIN PERFORM add_patient(10, 'x'); END$$`)
			refusedNaming(t, e, "patient_counts", `SELECT n FROM patient_counts`)
			refusedNaming(t, e, "notes_to_patients", `INSERT INTO notes (id, body) VALUES ($1, $2)`, 11, leak)
			refusedNaming(t, e, "patients_child", `INSERT INTO patients_child (id, email) VALUES ($1, $2)`, 12, leak)
			refusedNaming(t, e, "patients_child", `SELECT * FROM patients_child`)
			refusedNaming(t, e, "events_1", `INSERT INTO events_1 (id, detail) VALUES ($1, $2)`, 13, leak)
			refusedNaming(t, e, "people", `SELECT * FROM people`)
		}

		// Allowed: the encrypted table, with its audit trigger.
		email := canary("catalog")
		e.exec(`INSERT INTO patients (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", email)
		var got string
		if err := e.queryRow(`SELECT email FROM patients WHERE id = $1`, 1).Scan(&got); err != nil || got != email {
			t.Errorf("patients: %q, %v; want the email", got, err)
		}
		// The declared view reads the table's rows.
		if err := e.queryRow(`SELECT email FROM patient_view WHERE id = $1`, 1).Scan(&got); err != nil || got != email {
			t.Errorf("patient_view: %q, %v; want the email", got, err)
		}
		// The reviewed routine and unrelated objects run.
		var n int
		if err := e.queryRow(`SELECT count_patients()`).Scan(&n); err != nil || n != 1 {
			t.Errorf("count_patients(): %d, %v", n, err)
		}
		if err := e.queryRow(`SELECT add_numbers(1, 2)`).Scan(&n); err != nil || n != 3 {
			t.Errorf("add_numbers(1, 2): %d, %v", n, err)
		}
		e.rawExec(`INSERT INTO products (id, name) VALUES (1, 'soap')`)
		if err := e.queryRow(`SELECT name FROM product_names`).Scan(&got); err != nil || got != "soap" {
			t.Errorf("product_names: %q, %v", got, err)
		}

		// What lies in the database: one patient, sealed; the audit copy
		// holds the same ciphertext; nothing else was written.
		e.assertStored("patients", []string{"email"}, leak, email)
		e.assertStored("patients_audit", []string{"email"}, leak, email)
		var stored, copied string
		if err := e.raw.QueryRow(`SELECT email FROM patients WHERE id = 1`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if err := e.raw.QueryRow(`SELECT email FROM patients_audit WHERE id = 1`).Scan(&copied); err != nil || copied != stored {
			t.Errorf("the audit copy %q (%v) is not the stored ciphertext %q", copied, err, stored)
		}
		if n := e.count("patients"); n != 1 {
			t.Errorf("patients holds %d rows; refused statements wrote some", n)
		}
		for _, table := range []string{"visits", "notes", "patients_child", "events"} {
			if e.d.name == "mysql" && table != "visits" {
				continue
			}
			if n := e.count(table); n != 0 {
				t.Errorf("%s holds %d rows; want none", table, n)
			}
		}
	})
}

// TestCatalogNothingFound: a database with only unrelated views, triggers
// and routines refuses nothing more than before.
func TestCatalogNothingFound(t *testing.T) {
	t.Parallel()
	ddl := func(d *dialect) []string {
		if d.name == "mysql" {
			return append(suiteDDL(d),
				`DROP VIEW IF EXISTS contact_names`,
				`DROP TABLE IF EXISTS contacts, contacts_log`,
				`CREATE TABLE contacts (id bigint, name text)`,
				`CREATE TABLE contacts_log (id bigint)`,
				`CREATE VIEW contact_names AS SELECT name FROM contacts`,
				`CREATE TRIGGER contacts_logged AFTER INSERT ON contacts FOR EACH ROW INSERT INTO contacts_log (id) VALUES (NEW.id)`)
		}
		return append(suiteDDL(d),
			`DROP TABLE IF EXISTS contacts, contacts_log CASCADE`,
			`DROP FUNCTION IF EXISTS log_contact CASCADE`,
			`CREATE TABLE contacts (id bigint, name text)`,
			`CREATE TABLE contacts_log (id bigint)`,
			`CREATE VIEW contact_names AS SELECT name FROM contacts`,
			`CREATE FUNCTION log_contact() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO contacts_log (id) VALUES (NEW.id); RETURN NEW; END$$`,
			`CREATE TRIGGER contacts_logged AFTER INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION log_contact()`)
	}
	forEachDialect(t, suiteSchema, ddl, func(t *testing.T, e *env) {
		e.exec(`INSERT INTO contacts (id, name) VALUES ($1, $2)`, 1, "Ann")
		var name string
		if err := e.queryRow(`SELECT name FROM contact_names`).Scan(&name); err != nil || name != "Ann" {
			t.Errorf("contact_names: %q, %v", name, err)
		}
		if n := e.count("contacts_log"); n != 1 {
			t.Errorf("contacts_log holds %d rows; want the trigger's 1", n)
		}
		e.exec(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", canary("nothing"))
	})
}
