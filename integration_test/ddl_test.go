package integration_test

import (
	"errors"
	"testing"

	"github.com/kmsenc/kmsenc"
)

// The tests of ARCHITECTURE.md §5's DDL and code refusals against real
// servers: what would install server-side code over an encrypted table,
// link another table to one, run SQL text, or change one behind the
// connector's back is refused through kmsenc, and nothing of it is made.

const ddlSchema = `
tables:
  patients:
    context: {table: patients, id: $id}
    columns: {email: text}
`

func ddlTables(d *dialect) []string {
	if d.name == "mysql" {
		return []string{
			`DROP VIEW IF EXISTS plain_notes`,
			`DROP TABLE IF EXISTS patients, plain`,
			`CREATE TABLE patients (id bigint PRIMARY KEY, name text, email text, encrypted_kms_key text)`,
			`CREATE TABLE plain (id bigint, note text)`,
		}
	}
	return []string{
		`DROP VIEW IF EXISTS plain_notes`,
		`DROP TABLE IF EXISTS patients, plain, plain_parted CASCADE`,
		`CREATE TABLE patients (id bigint PRIMARY KEY, name text, email text, encrypted_kms_key text)`,
		`CREATE TABLE plain (id bigint, note text)`,
		`CREATE TABLE plain_parted (id bigint, name text, email text, encrypted_kms_key text) PARTITION BY RANGE (id)`,
	}
}

// ddlRefused lists, per dialect, the statements that must be refused.
// Every object they would create is named ddl_*.
var ddlRefused = map[string][]string{
	"postgres": {
		`CREATE VIEW ddl_v AS SELECT id, email FROM patients`,
		`CREATE OR REPLACE VIEW ddl_v AS SELECT id, name FROM patients`,
		`CREATE MATERIALIZED VIEW ddl_mv AS SELECT * FROM patients`,
		`CREATE RULE ddl_r AS ON INSERT TO plain DO ALSO INSERT INTO patients (id, email) VALUES (NEW.id, NEW.note)`,
		`CREATE TRIGGER ddl_t BEFORE UPDATE ON patients FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`,
		`CREATE FUNCTION ddl_f() RETURNS void LANGUAGE sql AS 'INSERT INTO patients (id) VALUES (1)'`,
		`CREATE FUNCTION ddl_f2() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO patients (id, email) VALUES (NEW.id, NEW.note); RETURN NEW; END$$`,
		`CREATE PROCEDURE ddl_p() LANGUAGE plpgsql AS $$BEGIN EXECUTE 'SELECT 1'; END$$`,
		`CREATE FUNCTION ddl_f3() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM patients; END`,
		`ALTER TABLE plain INHERIT patients`,
		`ALTER TABLE plain_parted ATTACH PARTITION patients FOR VALUES FROM (0) TO (10)`,
		`CREATE TABLE ddl_c () INHERITS (patients)`,
		`CREATE TABLE ddl_p1 PARTITION OF patients FOR VALUES FROM (0) TO (10)`,
		`CREATE TABLE ddl_l (LIKE patients INCLUDING ALL)`,
		`CREATE TABLE ddl_s AS SELECT * FROM patients`,
		`ALTER TABLE patients RENAME TO ddl_renamed`,
		`ALTER TABLE patients RENAME COLUMN email TO ddl_mail`,
		`ALTER TABLE patients DROP COLUMN email`,
		`ALTER TABLE patients ALTER COLUMN email SET DEFAULT 'x'`,
		`ALTER TABLE patients ADD COLUMN ddl_copy text GENERATED ALWAYS AS (email) STORED`,
		`ALTER TABLE patients SET SCHEMA public`,
		`SELECT query_to_xml('SELECT email FROM patients', true, false, '')`,
		`SELECT table_to_xml('patients', true, false, '')`,
		`SELECT cursor_to_xml('c', 10, true, false, '')`,
		`SELECT * FROM dblink('dbname=test', 'SELECT email FROM patients') AS t(e text)`,
		`DO $$BEGIN EXECUTE format('INSERT INTO %I (id, email) VALUES (1, %L)', 'patients', 'x'); END$$`,
		`CALL ddl_p()`,
	},
	"mysql": {
		`CREATE VIEW ddl_v AS SELECT id, email FROM patients`,
		`CREATE OR REPLACE ALGORITHM = MERGE VIEW ddl_v AS SELECT id, name FROM patients`,
		`CREATE TRIGGER ddl_t AFTER INSERT ON plain FOR EACH ROW INSERT INTO patients (id, email) VALUES (NEW.id, NEW.note)`,
		`CREATE TRIGGER ddl_t2 BEFORE INSERT ON patients FOR EACH ROW SET NEW.email = NEW.name`,
		`CREATE PROCEDURE ddl_p() INSERT INTO patients (id) VALUES (1)`,
		`CREATE FUNCTION ddl_f() RETURNS int READS SQL DATA RETURN (SELECT count(*) FROM patients)`,
		`CREATE PROCEDURE ddl_p2() BEGIN PREPARE s FROM 'SELECT 1'; EXECUTE s; END`,
		`CREATE EVENT ddl_e ON SCHEDULE EVERY 1 DAY DO INSERT INTO patients (id) VALUES (1)`,
		`CREATE TABLE ddl_l LIKE patients`,
		`CREATE TABLE ddl_s AS SELECT * FROM patients`,
		`RENAME TABLE patients TO ddl_renamed`,
		`ALTER TABLE patients RENAME TO ddl_renamed`,
		`ALTER TABLE patients RENAME COLUMN email TO ddl_mail`,
		`ALTER TABLE patients CHANGE email ddl_mail text`,
		`ALTER TABLE patients DROP COLUMN email`,
		`ALTER TABLE patients ALTER COLUMN email SET DEFAULT 'x'`,
		`ALTER TABLE patients ADD COLUMN ddl_copy text AS (email)`,
		`ALTER TABLE plain EXCHANGE PARTITION p0 WITH TABLE patients`,
		`CALL ddl_p()`,
	},
}

// TestDDLRefusals: each statement of ddlRefused is refused through kmsenc on
// its database, and the catalog then holds no ddl_* object and patients
// keeps its name and columns.
func TestDDLRefusals(t *testing.T) {
	t.Parallel()
	forEachDialect(t, ddlSchema, ddlTables, func(t *testing.T, e *env) {
		for _, query := range ddlRefused[e.d.name] {
			if _, err := e.db.Exec(query); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v; want ErrUnsupportedStatement", query, err)
			}
		}
		var objects, columns int
		countQuery := `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'ddl%')
			+ (SELECT count(*) FROM information_schema.routines WHERE routine_schema = DATABASE() AND routine_name LIKE 'ddl%')
			+ (SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND trigger_name LIKE 'ddl%')
			+ (SELECT count(*) FROM information_schema.events WHERE event_schema = DATABASE() AND event_name LIKE 'ddl%')`
		if e.d.name == "postgres" {
			countQuery = `SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname LIKE 'ddl%')
				+ (SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname LIKE 'ddl%')
				+ (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'ddl%')
				+ (SELECT count(*) FROM pg_rewrite WHERE rulename LIKE 'ddl%')
				+ (SELECT count(*) FROM pg_inherits WHERE inhparent = 'patients'::regclass OR inhrelid = 'patients'::regclass)`
		}
		if err := e.raw.QueryRow(countQuery).Scan(&objects); err != nil {
			t.Fatal(err)
		}
		if objects != 0 {
			t.Errorf("%d ddl_* objects or links to patients were made through kmsenc", objects)
		}
		columnsQuery := `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'patients'`
		if e.d.name == "postgres" {
			columnsQuery = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'patients' AND column_default IS NULL`
		}
		if err := e.raw.QueryRow(columnsQuery).Scan(&columns); err != nil || columns != 4 {
			t.Errorf("patients has %d columns (without defaults), %v; want its 4", columns, err)
		}

		// DDL that can't store plaintext or expose ciphertext still passes.
		e.exec(`ALTER TABLE patients ADD COLUMN nickname text`)
		e.exec(`CREATE INDEX patients_name ON patients (name)`)
		e.exec(`CREATE VIEW plain_notes AS SELECT id, note FROM plain`)
		e.exec(`INSERT INTO patients (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", canary("ddl"))
		e.assertStored("patients", []string{"email"})
	})
}
