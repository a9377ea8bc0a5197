package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/testenv"
	_ "github.com/kmsenc/kmsenc/providers/local" // base64key:// in the schema files
)

func TestDriverRegistered(t *testing.T) {
	if DriverName != "kmsenc+postgres" {
		t.Errorf("DriverName = %q, want kmsenc+postgres", DriverName)
	}
	if !slices.Contains(sql.Drivers(), "kmsenc+postgres") {
		t.Errorf("sql.Drivers() = %v, without kmsenc+postgres", sql.Drivers())
	}
}

func TestSplitDSN(t *testing.T) {
	cases := []struct {
		name       string
		dsn        string
		wantClean  string
		wantConfig string
	}{
		{"url", "postgres://u@h:5432/db?sslmode=disable&kmsenc_config=%2Fetc%2Fk.yaml", "postgres://u@h:5432/db?sslmode=disable", "/etc/k.yaml"},
		{"url without param", "postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", ""},
		{"url only param", "postgres://u@h/db?kmsenc_config=k.yaml", "postgres://u@h/db", "k.yaml"},
		{"url postgresql scheme", "postgresql://u@h/db?kmsenc_config=k.yaml&application_name=app", "postgresql://u@h/db?application_name=app", "k.yaml"},
		{"url unescaped path", "postgres://u@h/db?kmsenc_config=/etc/app/kmsenc.yaml", "postgres://u@h/db", "/etc/app/kmsenc.yaml"},
		{"url password", "postgres://u:p%3Fss@h/db?kmsenc_config=k.yaml", "postgres://u:p%3Fss@h/db", "k.yaml"},
		// Other parameters stay as written: pgx, like libpq, reads '+' as '+'
		// and %20 as a space, so re-encoding would change them.
		{"url others as written", "postgres://u@h/db?options=-c%20search_path%3Dapp&kmsenc_config=k.yaml&application_name=a+b", "postgres://u@h/db?options=-c%20search_path%3Dapp&application_name=a+b", "k.yaml"},
		{"url plus in path", "postgres://u@h/db?kmsenc_config=/etc/a+b.yaml", "postgres://u@h/db", "/etc/a+b.yaml"},
		{"url repeated", "postgres://u@h/db?kmsenc_config=a.yaml&kmsenc_config=b.yaml", "postgres://u@h/db", "b.yaml"},
		{"keyword", "host=h user=u kmsenc_config=/etc/k.yaml dbname=db", "host=h user=u dbname=db", "/etc/k.yaml"},
		{"keyword quoted", "host=h kmsenc_config='/etc/my dir/k.yaml' password='a b'", "host=h password='a b'", "/etc/my dir/k.yaml"},
		{"keyword escaped quote", `kmsenc_config='/etc/it\'s.yaml' host=h`, "host=h", "/etc/it's.yaml"},
		{"keyword spaces around =", "host = h kmsenc_config = k.yaml", "host = h", "k.yaml"},
		{"keyword last", "host=h dbname=db kmsenc_config=k.yaml", "host=h dbname=db", "k.yaml"},
		{"keyword without param", "host=h dbname=db", "host=h dbname=db", ""},
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
			// What pgx makes of the rest: kmsenc_config would be a runtime
			// parameter, which the server refuses.
			pc, err := pgx.ParseConfig(clean)
			if err != nil {
				t.Fatalf("pgx refuses the cleaned DSN: %v", err)
			}
			if _, ok := pc.RuntimeParams[kmsenc.ConfigParam]; ok {
				t.Errorf("pgx still sees %s in %q", kmsenc.ConfigParam, clean)
			}
		})
	}
}

func TestSplitDSNErrorsHideSecrets(t *testing.T) {
	_, _, err := splitDSN("postgres://u:s3cret@h:bad port/db")
	if !errors.Is(err, kmsenc.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, _, err := splitDSN("host=h password='unterminated"); !errors.Is(err, kmsenc.ErrConfig) || strings.Contains(err.Error(), "unterminated'") {
		t.Errorf("unterminated quote: %v", err)
	}
	if _, _, err := splitDSN("postgres://u@h/db?kmsenc_config=%zz"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a bad escape: %v", err)
	}
	if _, _, err := splitDSN("host=h dbname"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a word without a value: %v", err)
	}
}

func TestCheckSession(t *testing.T) {
	errServer := errors.New("server gone")
	cases := []struct {
		answer  string
		err     error
		wantErr error // nil: accepted
	}{
		{answer: "on"},
		{answer: "off", wantErr: kmsenc.ErrConfig},
		{err: errServer, wantErr: errServer},
	}
	for _, c := range cases {
		var asked []string
		err := checkSession(context.Background(), func(q string) (string, error) {
			asked = append(asked, q)
			return c.answer, c.err
		})
		if !slices.Equal(asked, []string{"SHOW standard_conforming_strings"}) {
			t.Errorf("asked %q", asked)
		}
		if c.wantErr == nil && err != nil || !errors.Is(err, c.wantErr) {
			t.Errorf("answer %q, %v: err = %v, want %v", c.answer, c.err, err, c.wantErr)
		}
	}
}

// keywordDSN returns the keyword/value form of a URL DSN.
func keywordDSN(t *testing.T, dsn string) string {
	t.Helper()
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	kw := fmt.Sprintf("host=%s port=%d user=%s dbname=%s", pc.Host, pc.Port, pc.User, pc.Database)
	if pc.Password != "" {
		kw += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pc.Password) + "'"
	}
	if pc.TLSConfig == nil {
		kw += " sslmode=disable"
	}
	return kw
}

// withParams adds query parameters to a URL DSN, with spaces as %20: pgx
// reads a '+' as itself.
func withParams(t *testing.T, dsn string, params url.Values) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
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

// The server refuses a startup parameter it doesn't know, so a connection
// through kmsenc shows that pgx never saw kmsenc_config, in either DSN form.
func TestOpenRemovesConfigParam(t *testing.T) {
	base := testenv.PostgresDSN(t)
	dir := filepath.Join(t.TempDir(), "my dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := testenv.SchemaFile(t, dir)
	for name, dsn := range map[string]string{
		"url":     withParams(t, base, url.Values{kmsenc.ConfigParam: {path}}),
		"keyword": keywordDSN(t, base) + " kmsenc_config='" + path + "'",
	} {
		t.Run(name, func(t *testing.T) {
			if err := ping("pgx", dsn); err == nil {
				t.Fatalf("plain pgx connected with %s in the DSN; this test shows nothing", kmsenc.ConfigParam)
			}
			db, err := sql.Open(DriverName, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var one int
			if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("SELECT 1 through kmsenc: %v, %v", one, err)
			}
		})
	}
}

// Without kmsenc_config, KMSENC_CONFIG names the schema file; with neither,
// opening fails: there is no plaintext mode.
func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv(kmsenc.ConfigEnv, "")
	if _, err := sql.Open(DriverName, "postgres://u@h/db"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("no parameter and no %s: err = %v, want ErrConfig", kmsenc.ConfigEnv, err)
	}
	dsn := testenv.PostgresDSN(t)
	t.Setenv(kmsenc.ConfigEnv, testenv.SchemaFile(t, t.TempDir()))
	if err := ping(DriverName, dsn); err != nil {
		t.Errorf("with %s: %v", kmsenc.ConfigEnv, err)
	}
}

// A connection whose standard_conforming_strings is off, here from the
// DSN, is refused before any statement runs on it.
func TestConnectionNeedsStandardConformingStrings(t *testing.T) {
	base := testenv.PostgresDSN(t)
	path := testenv.SchemaFile(t, t.TempDir())
	for _, c := range []struct {
		name   string
		params url.Values
		ok     bool
	}{
		{"default", nil, true},
		{"on", url.Values{"standard_conforming_strings": {"on"}}, true},
		{"off", url.Values{"standard_conforming_strings": {"off"}}, false},
		{"off in options", url.Values{"options": {"-c standard_conforming_strings=off"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			params := url.Values{kmsenc.ConfigParam: {path}}
			for k, v := range c.params {
				params[k] = v
			}
			dsn := withParams(t, base, params)
			if err := ping("pgx", withParams(t, base, c.params)); err != nil {
				t.Fatalf("plain pgx: %v", err)
			}
			err := ping(DriverName, dsn)
			switch {
			case c.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !c.ok && !errors.Is(err, kmsenc.ErrConfig):
				t.Errorf("err = %v, want ErrConfig", err)
			case !c.ok && !strings.Contains(err.Error(), "standard_conforming_strings"):
				t.Errorf("the error doesn't name the setting: %v", err)
			}
		})
	}
}
