//go:build adversarial_pending

package integration_test

// The adversarial cases that fail today: each leaks, returns a wrong
// result, leaves a row that can't be read back, or runs statements on a
// session kmsenc would refuse. They run with
//
//	go test -tags adversarial_pending -run TestAdversarial .
//
// and move to adversarial_test.go once the product stops them; each says
// in pendingReasons what fails.

import (
	"fmt"
	"strings"
)

func init() {
	for _, c := range pendingCases() {
		c.pending = pendingReasons[c.name]
		if c.pending == "" {
			panic("adversarial case " + c.name + " has no pending reason")
		}
		adversarialCases = append(adversarialCases, c)
	}
}

// pendingReasons says, for each pending case, what goes wrong today.
var pendingReasons = map[string]string{
	"pg-scs-set-config-computed":             "set_config with a computed name turns standard_conforming_strings off unseen; the payload then stores the email in plaintext",
	"pg-scs-set-config-chr":                  "set_config(chr(115) || ...) turns standard_conforming_strings off unseen; plaintext email stored",
	"pg-scs-set-config-from-pg-settings":     "set_config(name, ...) FROM pg_settings turns standard_conforming_strings off; plaintext email stored",
	"pg-scs-update-pg-settings-computed":     "UPDATE pg_settings with a computed name turns standard_conforming_strings off; plaintext email stored",
	"pg-scs-do-block":                        "a DO block calling set_config (no declared name, no EXECUTE) passes and turns standard_conforming_strings off; plaintext email stored",
	"pg-client-encoding-set":                 "SET client_encoding = 'SJIS' is accepted and never checked; E'Á\\' then ends early for the server: plaintext email stored",
	"pg-client-encoding-set-names":           "SET NAMES 'SJIS' is accepted; plaintext email stored by the multibyte payload",
	"pg-client-encoding-set-config":          "set_config('client_' || 'encoding', 'SJIS') is accepted; plaintext email stored",
	"pg-client-encoding-big5":                "SET client_encoding = 'BIG5' is accepted; plaintext email stored",
	"pg-client-encoding-gbk":                 "SET client_encoding = 'GBK' is accepted; plaintext email stored",
	"pg-scs-set-config-param":                "set_config($1, 'off', false) with the name as a parameter turns standard_conforming_strings off; plaintext email stored",
	"pg-scs-update-pg-settings-param":        "UPDATE pg_settings ... WHERE name = $1 turns standard_conforming_strings off; plaintext email stored",
	"pg-scs-oob-function":                    "SELECT of a function made out of band that turns standard_conforming_strings off passes; plaintext email stored",
	"pg-client-encoding-dsn":                 "a DSN with client_encoding=SJIS (what PGCLIENTENCODING sets) passes the session check; plaintext email stored",
	"pg-client-encoding-dsn-options":         "a DSN with options=-cclient_encoding=SJIS passes the session check; plaintext email stored",
	"my-nbe-concat":                          "SET sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES') is accepted; plaintext email stored",
	"my-nbe-replace":                         "SET @@SESSION.sql_mode = REPLACE(...) is accepted; plaintext email stored",
	"my-nbe-user-variable":                   "SET sql_mode = @m (set by CONCAT) is accepted; plaintext email stored",
	"my-nbe-select-into-variable":            "SELECT CONCAT(...) INTO @m, then SET sql_mode = @m, is accepted; plaintext email stored",
	"my-nbe-session-dot":                     "SET @@session.sql_mode = CONCAT(@@sql_mode, ...) is accepted; plaintext email stored",
	"my-ansi-quotes-set":                     "SET sql_mode = 'ANSI_QUOTES' is accepted; \"\\\" is an identifier to the server and a string to kmsenc: plaintext email stored",
	"my-ansi-set":                            "SET sql_mode = 'ANSI' (which holds ANSI_QUOTES) is accepted; plaintext email stored",
	"my-ansi-quotes-concat":                  "SET sql_mode = CONCAT('ANSI', '_QUOTES') is accepted; plaintext email stored",
	"my-set-names-gbk":                       "SET NAMES gbk is accepted; a valid UTF-8 character whose last byte is 0x81 makes \\' one character to the server: plaintext email stored",
	"my-set-character-set-gbk":               "SET CHARACTER SET gbk is accepted; plaintext email stored",
	"my-character-set-client-gbk":            "SET character_set_client = gbk is accepted; plaintext email stored",
	"my-character-set-client-concat":         "SET @@character_set_client = CONCAT('g', 'bk') is accepted; plaintext email stored",
	"my-set-names-big5":                      "SET NAMES big5 is accepted; plaintext email stored",
	"my-set-names-sjis":                      "SET NAMES sjis is accepted; plaintext email stored",
	"my-set-names-cp932":                     "SET NAMES cp932 is accepted; plaintext email stored",
	"my-nbe-param":                           "SET sql_mode = ? with the mode as a parameter is accepted; plaintext email stored",
	"my-ansi-quotes-dsn":                     "a DSN with sql_mode='ANSI_QUOTES' passes the session check; plaintext email stored",
	"my-charset-dsn-gbk":                     "a DSN with charset=gbk passes the session check; plaintext email stored",
	"my-collation-dsn-gbk":                   "a DSN with collation=gbk_chinese_ci passes the session check; plaintext email stored (with interpolateParams=true the driver refuses the DSN)",
	"my-gbk-interpolated-argument":           "after SET NAMES gbk, go-sql-driver's interpolation (interpolateParams=true) lets a plain column's argument end its string: CHAR(...) lands in email in plaintext; with false, the gbk session runs unchecked",
	"my-literal-introducer-latin1-multibyte": "_latin1'...\\xc3\\xa9' is encrypted as 'é'; the server reads the latin1 bytes as 'Ã©': the value written isn't the one the statement says",
	"pg-oob-view-insert":                     "INSERT into a view over users made out of band passes through: plaintext email stored",
	"pg-oob-rule":                            "INSERT into notes, whose rule (made out of band) writes users, passes: plaintext email stored",
	"pg-oob-trigger":                         "INSERT into notes, whose trigger (made out of band) writes users, passes: plaintext email stored",
	"pg-oob-function":                        "SELECT of a function made out of band that writes users passes: plaintext email stored",
	"pg-oob-function-in-do":                  "a DO block calling a function made out of band passes: plaintext email stored",
	"pg-oob-inherits":                        "INSERT into a child table of users (INHERITS, made out of band) passes: plaintext email stored, and read through users",
	"pg-oob-partition":                       "INSERT into a partition of users (made out of band) passes: plaintext email stored",
	"pg-read-oob-view":                       "SELECT email from a view over users made out of band returns the ciphertext as plaintext",
	"pg-read-oob-function":                   "SELECT of a function made out of band that returns users.email returns the ciphertext as plaintext",
	"pg-read-oob-inherits-parent":            "SELECT email from a parent table of users (ALTER TABLE users INHERIT, out of band) returns the ciphertext as plaintext",
	"my-read-oob-view":                       "SELECT email from a view over users made out of band returns the ciphertext as plaintext",
	"my-read-oob-function":                   "SELECT of a function made out of band that returns users.email returns the ciphertext as plaintext",
	"my-prepare-from-variable":               "SET @q = CONCAT(...) touches nothing and passes, and so does PREPARE s FROM @q then EXECUTE s: plaintext email stored",
	"my-begin-not-atomic-prepare":            "BEGIN NOT ATOMIC PREPARE s FROM CONCAT(...); EXECUTE s; END names nothing declared and passes: plaintext email stored",
	"my-oob-view-insert":                     "INSERT into a view over users made out of band passes through: plaintext email stored",
	"my-oob-trigger":                         "INSERT into notes, whose trigger (made out of band) writes users, passes: plaintext email stored",
	"my-oob-function":                        "SELECT of a function made out of band that writes users passes: plaintext email stored",
	"my-oob-function-in-insert":              "INSERT into notes calling a function made out of band that writes users passes: plaintext email stored",
	"my-multi-statements-dsn":                "with multiStatements=true, 'SELECT 1; SET sql_mode = CONCAT(...)' touches nothing and passes; plaintext email stored",
	"both-context-id-form-leading-space":     "id given as ' 7': the key is wrapped for context id ' 7', the database stores 7: the row can't be read back",
	"both-context-id-form-trailing-space":    "id given as '7 ': the key is wrapped for context id '7 ', the database stores 7: the row can't be read back",
	"both-context-id-leading-zeros-arg":      "id given as the argument \"000100035\": the key is wrapped for that text, the database stores 100035: the row can't be read back",
	"both-context-id-leading-zeros-literal":  "id given as the literal '000100149': the key is wrapped for that text, the database stores 100149: the row can't be read back",
	"both-context-uuid-upper-case":           "a uuid id given in upper case (or in braces): the key is wrapped for that text, the database returns it in lower case: the row can't be read back",
	"pg-context-upsert-id":                   "ON CONFLICT (id) DO UPDATE SET id = 8 is accepted: the row moves to id 8 under a key wrapped for id 7 and can't be read back",
	"both-schema-table-typo":                 "a schema file whose table name has a typo (usres) opens without error, and INSERT INTO users stores the email in plaintext",
}

func pendingCases() []advCase {
	var cs []advCase
	add := func(c ...advCase) { cs = append(cs, c...) }

	// §1 PostgreSQL session state.
	add(
		stateCase("pg-scs-set-config-computed", "pg", scsOff, `SELECT set_config('standard_conforming' || '_strings', 'off', false)`),
		stateCase("pg-scs-set-config-chr", "pg", scsOff, `SELECT set_config(chr(115) || 'tandard_conforming_strings', 'off', false)`),
		stateCase("pg-scs-set-config-from-pg-settings", "pg", scsOff, `SELECT set_config(name, 'off', false) FROM pg_settings WHERE name LIKE 'standard%strings'`),
		stateCase("pg-scs-update-pg-settings-computed", "pg", scsOff, `UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_' || 'conforming_strings'`),
		stateCase("pg-scs-do-block", "pg", scsOff, `DO $$BEGIN PERFORM set_config('standard_conforming' || '_strings', 'off', false); END$$`),
		stateCase("pg-client-encoding-set", "pg", multibyte(sjisChars, true), `SET client_encoding = 'SJIS'`),
		stateCase("pg-client-encoding-set-names", "pg", multibyte(sjisChars, true), `SET NAMES 'SJIS'`),
		stateCase("pg-client-encoding-set-config", "pg", multibyte(sjisChars, true), `SELECT set_config('client_' || 'encoding', 'SJIS', false)`),
		stateCase("pg-client-encoding-big5", "pg", multibyte(big5Chars, true), `SET client_encoding = 'BIG5'`),
		stateCase("pg-client-encoding-gbk", "pg", multibyte(gbkChars, true), `SET client_encoding = 'GBK'`),
	)
	add(advCase{name: "pg-scs-set-config-param", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.exec(`SELECT set_config($1, 'off', false)`, "standard_conforming_strings")
		a.tryPayload(payloadCloses(c))
	}})
	add(advCase{name: "pg-scs-update-pg-settings-param", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.exec(`UPDATE pg_settings SET setting = 'off' WHERE name = $1`, "standard_conforming_strings")
		a.tryPayload(payloadCloses(c))
	}})
	add(advCase{name: "pg-scs-oob-function", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE FUNCTION adv_scs() RETURNS void LANGUAGE plpgsql AS $$BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END$$`)
		a.exec(`SELECT adv_scs()`)
		a.tryPayload(payloadCloses(c))
	}})
	add(advCase{name: "pg-client-encoding-dsn", on: "pg", dsn: map[string]string{"client_encoding": "SJIS"}, run: func(a *attack) {
		a.tryPayload(multibyte(sjisChars, true)(a, a.canary()))
	}})
	add(advCase{name: "pg-client-encoding-dsn-options", on: "pg", dsn: map[string]string{"options": "-cclient_encoding=SJIS"}, run: func(a *attack) {
		a.tryPayload(multibyte(sjisChars, true)(a, a.canary()))
	}})

	// §1 MySQL session state.
	add(
		stateCase("my-nbe-concat", "my", noBackslashEscapes, `SET SESSION sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES')`),
		stateCase("my-nbe-replace", "my", noBackslashEscapes, `SET @@SESSION.sql_mode = REPLACE('NO_BACKSLASH_XSCAPES', 'X', 'E')`),
		stateCase("my-nbe-user-variable", "my", noBackslashEscapes, `SET @m = CONCAT('NO_BACKSLASH', '_ESCAPES')`, `SET sql_mode = @m`),
		stateCase("my-nbe-select-into-variable", "my", noBackslashEscapes, `SELECT CONCAT('NO_BACKSLASH', '_ESCAPES') INTO @m`, `SET sql_mode = @m`),
		stateCase("my-nbe-session-dot", "my", noBackslashEscapes, `SET @@session.sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH', '_ESCAPES')`),
		withDDL(stateCase("my-ansi-quotes-set", "my", ansiQuotes, `SET sql_mode = 'ANSI_QUOTES'`), ddlBackslashColumn),
		withDDL(stateCase("my-ansi-set", "my", ansiQuotes, `SET sql_mode = 'ANSI'`), ddlBackslashColumn),
		withDDL(stateCase("my-ansi-quotes-concat", "my", ansiQuotes, `SET sql_mode = CONCAT('ANSI', '_QUOTES')`), ddlBackslashColumn),
		stateCase("my-set-names-gbk", "my", multibyte(gbkChars, false), `SET NAMES gbk`),
		stateCase("my-set-character-set-gbk", "my", multibyte(gbkChars, false), `SET CHARACTER SET gbk`),
		stateCase("my-character-set-client-gbk", "my", multibyte(gbkChars, false), `SET character_set_client = gbk`),
		stateCase("my-character-set-client-concat", "my", multibyte(gbkChars, false), `SET @@character_set_client = CONCAT('g', 'bk')`),
		stateCase("my-set-names-big5", "my", multibyte(big5Chars, false), `SET NAMES big5`),
		stateCase("my-set-names-sjis", "my", multibyte(sjisChars, false), `SET NAMES sjis`),
		stateCase("my-set-names-cp932", "my", multibyte(sjisChars, false), `SET NAMES cp932`),
	)
	add(advCase{name: "my-nbe-param", on: "my", run: func(a *attack) {
		c := a.canary()
		a.exec(`SET sql_mode = $1`, "NO_BACKSLASH_ESCAPES")
		a.tryPayload(noBackslashEscapes(a, c))
	}})
	add(advCase{name: "my-ansi-quotes-dsn", on: "my", ddl: ddlBackslashColumn, dsn: map[string]string{"sql_mode": "'ANSI_QUOTES'"}, run: func(a *attack) {
		a.tryPayload(ansiQuotes(a, a.canary()))
	}})
	add(advCase{name: "my-charset-dsn-gbk", on: "my", dsn: map[string]string{"charset": "gbk"}, run: func(a *attack) {
		a.tryPayload(multibyte(gbkChars, false)(a, a.canary()))
	}})
	add(advCase{name: "my-collation-dsn-gbk", on: "my", dsn: map[string]string{"collation": "gbk_chinese_ci"}, run: func(a *attack) {
		a.tryPayload(multibyte(gbkChars, false)(a, a.canary()))
	}})
	// The driver's own interpolation escapes a quote with a backslash,
	// which gbk reads as the second byte of a character: an argument
	// meant for a plain column then writes the email.
	add(advCase{name: "my-gbk-interpolated-argument", on: "my", run: func(a *attack) {
		c := a.canary()
		codes := make([]string, len(c))
		for i := range c {
			codes[i] = fmt.Sprint(int(c[i]))
		}
		a.exec(`SET NAMES gbk`)
		name := "\xbf' , CHAR(" + strings.Join(codes, ",") + "), NULL) -- "
		a.write([]cell{{"users", "email", 7, nil}, {"users", "name", 7, name}}, `INSERT INTO users (id, name, email) VALUES ($1, $2, NULL)`, 7, name)
	}})

	// §1 literal forms where an encrypted value goes.
	add(
		literalCase("my-literal-introducer-latin1-multibyte", "my", func(c string) string { return `_latin1'` + c + "\xc3\xa9'" }),
	)

	// §2 Objects made out of band, used through kmsenc: the product is to find
	// them in the catalogs and refuse statements that use them.
	add(
		oobCase("pg-oob-view-insert", "pg", []string{`CREATE VIEW adv_v AS SELECT * FROM users`}, `INSERT INTO adv_v (id, email) VALUES (7, '%[1]s')`),
		oobCase("pg-oob-rule", "pg", []string{`CREATE RULE adv_r AS ON INSERT TO notes DO INSTEAD INSERT INTO users (id, email) VALUES (NEW.id, NEW.body)`}, `INSERT INTO notes (id, body) VALUES (7, '%[1]s')`),
		oobCase("pg-oob-trigger", "pg", []string{
			`CREATE FUNCTION adv_tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO users (id, email) VALUES (NEW.id, NEW.body); RETURN NULL; END$$`,
			`CREATE TRIGGER adv_t BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION adv_tf()`}, `INSERT INTO notes (id, body) VALUES (7, '%[1]s')`),
		oobCase("pg-oob-function", "pg", []string{`CREATE FUNCTION adv_put(i bigint, e text) RETURNS void LANGUAGE sql AS 'INSERT INTO users (id, email) VALUES (i, e)'`}, `SELECT adv_put(7, '%[1]s')`),
		oobCase("pg-oob-function-in-do", "pg", []string{`CREATE FUNCTION adv_put(i bigint, e text) RETURNS void LANGUAGE sql AS 'INSERT INTO users (id, email) VALUES (i, e)'`}, `DO $$BEGIN PERFORM adv_put(7, '%[1]s'); END$$`),
		oobCase("pg-oob-inherits", "pg", []string{`CREATE TABLE adv_kid () INHERITS (users)`}, `INSERT INTO adv_kid (id, email) VALUES (7, '%[1]s')`),
	)
	add(advCase{name: "pg-oob-partition", on: "pg", ddl: func(*dialect) []string {
		return []string{
			`CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text) PARTITION BY RANGE (id)`,
			`CREATE TABLE notes (id bigint PRIMARY KEY, body text)`,
		}
	}, run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE TABLE adv_p1 PARTITION OF users FOR VALUES FROM (0) TO (1000)`)
		a.exec(`INSERT INTO adv_p1 (id, email) VALUES (7, '` + c + `')`)
		a.exec(`CREATE TABLE adv_p2 PARTITION OF users FOR VALUES FROM (1000) TO (2000)`)
		a.exec(`INSERT INTO adv_p2 (id, email) VALUES (1007, '` + c + `')`)
	}})
	// Reads that would return ciphertext as plaintext.
	add(
		readCase("pg-read-oob-view", "pg", []string{`CREATE VIEW adv_v AS SELECT * FROM users`}, `SELECT email FROM adv_v WHERE id = 7`),
		readCase("pg-read-oob-function", "pg", []string{`CREATE FUNCTION adv_get(i bigint) RETURNS text LANGUAGE sql AS 'SELECT email FROM users WHERE id = i'`}, `SELECT adv_get(7)`),
		readCase("pg-read-oob-inherits-parent", "pg", []string{`CREATE TABLE adv_parent (id bigint, name text, email text, ssn text, encrypted_kms_key text)`, `ALTER TABLE users INHERIT adv_parent`}, `SELECT email FROM adv_parent WHERE id = 7`),
		readCase("my-read-oob-view", "my", []string{`CREATE VIEW adv_v AS SELECT * FROM users`}, `SELECT email FROM adv_v WHERE id = 7`),
		readCase("my-read-oob-function", "my", []string{`CREATE FUNCTION adv_get(i bigint) RETURNS text READS SQL DATA RETURN (SELECT email FROM users WHERE id = i)`}, `SELECT adv_get(7)`),
	)

	// §2 MySQL.
	add(
		refusedCase("my-prepare-from-variable", "my", nil, `SET @q = CONCAT('INSERT INTO us', 'ers (id, email) VALUES (7, ''%[1]s'')')`, `PREPARE s FROM @q`, `EXECUTE s`),
		refusedCase("my-begin-not-atomic-prepare", "my", nil, `BEGIN NOT ATOMIC PREPARE s FROM CONCAT('INSERT INTO us', 'ers (id, email) VALUES (7, ''%[1]s'')'); EXECUTE s; END`),
	)
	add(
		oobCase("my-oob-view-insert", "my", []string{`CREATE VIEW adv_v AS SELECT * FROM users`}, `INSERT INTO adv_v (id, email) VALUES (7, '%[1]s')`),
		oobCase("my-oob-trigger", "my", []string{`CREATE TRIGGER adv_t AFTER INSERT ON notes FOR EACH ROW INSERT INTO users (id, email) VALUES (NEW.id, REVERSE(NEW.body))`},
			`INSERT INTO notes (id, body) VALUES (7, REVERSE('%[1]s'))`),
		oobCase("my-oob-function", "my", []string{`CREATE FUNCTION adv_put(i bigint, e text) RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO users (id, email) VALUES (i, e); RETURN 1; END`}, `SELECT adv_put(7, '%[1]s')`),
		oobCase("my-oob-function-in-insert", "my", []string{`CREATE FUNCTION adv_put(i bigint, e text) RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO users (id, email) VALUES (i, e); RETURN 1; END`}, `INSERT INTO notes (id, body) VALUES (1, adv_put(7, '%[1]s'))`),
	)
	add(advCase{name: "my-multi-statements-dsn", on: "my", dsn: map[string]string{"multiStatements": "true"}, run: func(a *attack) {
		c := a.canary()
		a.exec(`INSERT INTO notes (id, body) VALUES (1, 'x'); INSERT INTO users (id, email) VALUES (7, '` + c + `')`)
		a.exec(`SELECT 1; SET sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES')`)
		a.tryPayload(noBackslashEscapes(a, c))
	}})

	// §3 context values.
	for name, lit := range map[string]string{"trailing-space": `'7 '`, "leading-space": `' 7'`} {
		add(advCase{name: "both-context-id-form-" + name, run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (`+lit+`, '`+c+`')`)
		}})
	}
	add(advCase{name: "both-context-id-leading-zeros-arg", run: func(a *attack) {
		c := a.canary()
		a.write([]cell{{"users", "email", 100035, c}}, `INSERT INTO users (id, email) VALUES ($1, $2)`, "000100035", c)
	}})
	add(advCase{name: "both-context-id-leading-zeros-literal", run: func(a *attack) {
		c := a.canary()
		a.write([]cell{{"users", "email", 100149, c}}, `INSERT INTO users (id, email) VALUES ('000100149', '`+c+`')`)
	}})
	add(advCase{name: "both-context-uuid-upper-case",
		schema: advSchema + `  tokens:
    context:
      id: $id
    columns:
      secret: text
`,
		ddl: func(d *dialect) []string {
			return append(advDDL(d), `CREATE TABLE tokens (id uuid PRIMARY KEY, secret text, encrypted_kms_key text)`)
		},
		run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"tokens", "secret", "0b5a2f0e-3c1d-4e9a-9f3b-7d2c1e0a4b6c", c}}, `INSERT INTO tokens (id, secret) VALUES ($1, $2)`, "0B5A2F0E-3C1D-4E9A-9F3B-7D2C1E0A4B6C", c)
			a.write([]cell{{"tokens", "secret", "1b5a2f0e-3c1d-4e9a-9f3b-7d2c1e0a4b6c", c}}, `INSERT INTO tokens (id, secret) VALUES ('{1B5A2F0E3C1D4E9A9F3B7D2C1E0A4B6C}', '`+c+`')`)
		}})
	add(advCase{name: "pg-context-upsert-id", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (7, $1)`, c)
		q := a.pick(`INSERT INTO users (id, email) VALUES (7, $1) ON CONFLICT (id) DO UPDATE SET id = 8`,
			`INSERT INTO users (id, email) VALUES (7, $1) ON DUPLICATE KEY UPDATE id = 8`)
		if a.exec(q, "other") == nil {
			a.readsBack("users", "email", 8, c)
		}
		q = a.pick(`INSERT INTO users (id, email) VALUES (7, $1) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, id = EXCLUDED.id + 10`,
			`INSERT INTO users (id, email) VALUES (7, $1) ON DUPLICATE KEY UPDATE email = VALUES(email), id = VALUES(id) + 10`)
		if a.exec(q, c) == nil {
			a.readsBack("users", "email", 17, c)
		}
	}})

	// §4 schema mistakes.
	add(advCase{name: "both-schema-table-typo",
		schema: `
tables:
  usres:
    context:
      table: users
      id: $id
    columns:
      email: text
`,
		run: func(a *attack) {
			c := a.canary()
			a.exec(`INSERT INTO users (id, email) VALUES (7, $1)`, c)
		}})
	return cs
}

// withDDL gives a case its own tables.
func withDDL(c advCase, ddl func(*dialect) []string) advCase {
	c.ddl = ddl
	return c
}
