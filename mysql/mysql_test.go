package mysql

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/testenv"
	_ "github.com/kmsenc/kmsenc/providers/local" // base64key:// in the schema files
)

func TestDriverRegistered(t *testing.T) {
	if DriverName != "kmsenc+mysql" {
		t.Errorf("DriverName = %q, want kmsenc+mysql", DriverName)
	}
	if !slices.Contains(sql.Drivers(), "kmsenc+mysql") {
		t.Errorf("sql.Drivers() = %v, without kmsenc+mysql", sql.Drivers())
	}
}

func TestSplitDSN(t *testing.T) {
	cases := []struct {
		name       string
		dsn        string
		wantClean  string
		wantConfig string
		wantPasswd string
	}{
		{"escaped path first", "root@tcp(127.0.0.1:3306)/test?kmsenc_config=%2Fk.yaml&parseTime=true", "root@tcp(127.0.0.1:3306)/test?parseTime=true", "/k.yaml", ""},
		{"only param", "root@tcp(127.0.0.1:3306)/test?kmsenc_config=k.yaml", "root@tcp(127.0.0.1:3306)/test", "k.yaml", ""},
		{"none", "root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test", "", ""},
		{"none with params", "root@tcp(127.0.0.1:3306)/test?parseTime=true", "root@tcp(127.0.0.1:3306)/test?parseTime=true", "", ""},
		// The documented form: the path unescaped, among other parameters.
		{"unescaped path", "app@tcp(db:3306)/app?parseTime=true&kmsenc_config=/etc/app/kmsenc.yaml&interpolateParams=true",
			"app@tcp(db:3306)/app?parseTime=true&interpolateParams=true", "/etc/app/kmsenc.yaml", ""},
		{"unescaped path last", "app@tcp(db:3306)/app?loc=Europe%2FParis&kmsenc_config=/etc/app/kmsenc.yaml",
			"app@tcp(db:3306)/app?loc=Europe%2FParis", "/etc/app/kmsenc.yaml", ""},
		{"plus is a space", "u@/db?kmsenc_config=/etc/my+dir/k.yaml", "u@/db", "/etc/my dir/k.yaml", ""},
		{"empty dbname", "u@tcp(h)/?kmsenc_config=/k.yaml", "u@tcp(h)/", "/k.yaml", ""},
		{"unix socket", "u@unix(/run/mysqld/mysqld.sock)/db?kmsenc_config=/k.yaml&charset=utf8mb4", "u@unix(/run/mysqld/mysqld.sock)/db?charset=utf8mb4", "/k.yaml", ""},
		{"system variable", "u@tcp(h)/db?sql_mode=%27ANSI%27&kmsenc_config=k.yaml", "u@tcp(h)/db?sql_mode=%27ANSI%27", "k.yaml", ""},
		// go-sql-driver allows '?', '/', '@' and '&' in a password.
		{"password with ?", "u:p?ss@tcp(h)/db?kmsenc_config=/k.yaml&parseTime=true", "u:p?ss@tcp(h)/db?parseTime=true", "/k.yaml", "p?ss"},
		{"password with /?@&", "u:a/b?c@d&e@tcp(h)/db?kmsenc_config=k.yaml", "u:a/b?c@d&e@tcp(h)/db", "k.yaml", "a/b?c@d&e"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean, cfg, err := splitDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if clean != c.wantClean || cfg != c.wantConfig {
				t.Errorf("got (%q, %q), want (%q, %q)", clean, cfg, c.wantClean, c.wantConfig)
			}
			// What go-sql-driver makes of the rest: kmsenc_config would be a
			// system variable, which the server refuses.
			mc, err := gomysql.ParseDSN(clean)
			if err != nil {
				t.Fatalf("go-sql-driver refuses the cleaned DSN: %v", err)
			}
			if _, ok := mc.Params[kmsenc.ConfigParam]; ok {
				t.Errorf("go-sql-driver still sees %s in %q", kmsenc.ConfigParam, clean)
			}
			if mc.Passwd != c.wantPasswd {
				t.Errorf("password %q, want %q", mc.Passwd, c.wantPasswd)
			}
		})
	}
	if _, _, err := splitDSN("u@tcp(h)/db?kmsenc_config=%zz"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a bad escape: err = %v, want ErrConfig", err)
	}
}

func TestCheckSession(t *testing.T) {
	errServer := errors.New("server gone")
	cases := []struct {
		answer  string
		err     error
		wantErr error // nil: accepted
	}{
		{answer: "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"},
		{answer: ""},
		{answer: "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES", wantErr: kmsenc.ErrConfig},
		{answer: "no_backslash_escapes", wantErr: kmsenc.ErrConfig},
		{err: errServer, wantErr: errServer},
	}
	for _, c := range cases {
		var asked []string
		err := checkSession(context.Background(), func(q string) (string, error) {
			asked = append(asked, q)
			return c.answer, c.err
		})
		if !slices.Equal(asked, []string{"SELECT @@SESSION.sql_mode"}) {
			t.Errorf("asked %q", asked)
		}
		if c.wantErr == nil && err != nil || !errors.Is(err, c.wantErr) {
			t.Errorf("answer %q, %v: err = %v, want %v", c.answer, c.err, err, c.wantErr)
		}
	}
}

// withParams appends raw parameters to a go-sql-driver DSN.
func withParams(dsn string, params ...string) string {
	if len(params) == 0 {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn[strings.LastIndexByte(dsn, '/'):], "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// ping opens db with driver and dsn and pings it.
func ping(driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Ping()
}

// go-sql-driver sets unknown parameters as system variables, which the
// server refuses, so a connection through kmsenc shows that go-sql-driver
// never saw kmsenc_config; the other parameters still reach it.
func TestOpenRemovesConfigParam(t *testing.T) {
	base := testenv.MySQLDSN(t)
	path := testenv.SchemaFile(t, t.TempDir())
	for _, interpolate := range []string{"false", "true"} {
		t.Run("interpolateParams="+interpolate, func(t *testing.T) {
			dsn := withParams(base, "kmsenc_config="+path, "interpolateParams="+interpolate, "sql_mode=%27ANSI_QUOTES%27")
			if err := ping("mysql", dsn); err == nil {
				t.Fatalf("plain go-sql-driver connected with %s in the DSN; this test shows nothing", kmsenc.ConfigParam)
			}
			db, err := sql.Open(DriverName, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode string
			if err := db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "ANSI_QUOTES" {
				t.Errorf("sql_mode = %q: the DSN's other parameters did not reach go-sql-driver", mode)
			}
		})
	}
}

// Without kmsenc_config, KMSENC_CONFIG names the schema file; with neither,
// opening fails: there is no plaintext mode.
func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv(kmsenc.ConfigEnv, "")
	if _, err := sql.Open(DriverName, "u@tcp(h)/db"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("no parameter and no %s: err = %v, want ErrConfig", kmsenc.ConfigEnv, err)
	}
	dsn := testenv.MySQLDSN(t)
	t.Setenv(kmsenc.ConfigEnv, testenv.SchemaFile(t, t.TempDir()))
	if err := ping(DriverName, dsn); err != nil {
		t.Errorf("with %s: %v", kmsenc.ConfigEnv, err)
	}
}

// A connection whose sql_mode holds NO_BACKSLASH_ESCAPES, here from the DSN,
// is refused before any statement runs on it.
func TestConnectionRefusesNoBackslashEscapes(t *testing.T) {
	base := testenv.MySQLDSN(t)
	path := testenv.SchemaFile(t, t.TempDir())
	for _, c := range []struct {
		name   string
		params []string
		ok     bool
	}{
		{"default", nil, true},
		{"other modes", []string{"sql_mode=%27STRICT_ALL_TABLES,ANSI_QUOTES%27"}, true},
		{"NO_BACKSLASH_ESCAPES", []string{"sql_mode=%27NO_BACKSLASH_ESCAPES%27"}, false},
		{"added to the modes", []string{"sql_mode=CONCAT(@@sql_mode,%27,NO_BACKSLASH_ESCAPES%27)"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := ping("mysql", withParams(base, c.params...)); err != nil {
				t.Fatalf("plain go-sql-driver: %v", err)
			}
			err := ping(DriverName, withParams(base, append(c.params, "kmsenc_config="+path)...))
			switch {
			case c.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !c.ok && !errors.Is(err, kmsenc.ErrConfig):
				t.Errorf("err = %v, want ErrConfig", err)
			case !c.ok && !strings.Contains(err.Error(), "NO_BACKSLASH_ESCAPES"):
				t.Errorf("the error doesn't name the mode: %v", err)
			}
		})
	}
}
