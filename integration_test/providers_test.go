package integration_test

// The suite's core cases once per key management service, on PostgreSQL and
// on MariaDB/MySQL: the local base64key:// provider, AWS KMS (local-kms,
// in-process), Google Cloud KMS (gcpkmstest, an in-process gRPC fake) and
// Vault Transit (Vault's own engine, in-process). Each service is driven
// through the real provider package and, where the service allows, switched
// the way an operator would: keys created, disabled and refused through the
// service itself. Run them with go test -run Provider.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"google.golang.org/grpc/codes"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/awskms"
	_ "github.com/kmsenc/kmsenc/providers/gcpkms"
	"github.com/kmsenc/kmsenc/providers/gcpkms/gcpkmstest"
	"github.com/kmsenc/kmsenc/providers/vault"
)

// kmsService is a key management service started for one test, with the
// switches an operator has.
type kmsService struct {
	// v1 and v2 are the URLs of two master keys, for key versions 1 and 2.
	v1, v2 string
	// with, when set, gives providers that kmsenc uses for some URLs
	// instead of opening them; every connector of the test gets them.
	with func() map[string]providers.Provider
	// encryptOnly returns the key URL of an identity that may encrypt with
	// v1 but not decrypt, with the providers kmsenc uses instead of opening
	// URLs (nil: kmsenc opens the URL itself).
	encryptOnly func(t *testing.T) (string, map[string]providers.Provider)
	// revoke revokes Decrypt on v1, for every identity.
	revoke func(t *testing.T)
	// down makes the service unavailable.
	down func(t *testing.T)
	// encrypts returns the number of encrypt requests that reached the
	// service so far, failed ones included.
	encrypts func() int
	// decrypts is encrypts for decrypt requests (a batch is one).
	decrypts func() int
	// attempts is how many encrypt requests one wrap makes while the
	// service is down: the provider's bounded retries.
	attempts int
	// deniedSays, revokedSays and downSays are in the errors of an
	// encrypt-only read, of a read after revoke and of a write after down:
	// the service's own words, which show that the error came from there.
	deniedSays, revokedSays, downSays string
	// tamper returns a copy of a wrapped key's KMS ciphertext with one bit
	// flipped where the service authenticates it.
	tamper func(ct []byte) []byte
}

// The Provider tests don't run in parallel: the AWS and Vault services are
// reached through the environment (awsTestEnv, vaultTestEnv: t.Setenv).

// kmsProvider is one entry of the table: a provider and how to start its
// service.
type kmsProvider struct {
	name   string
	scheme string // of the key URLs, and of the KeyURL of its errors
	start  func(t *testing.T) *kmsService
}

var kmsProviders = []kmsProvider{
	{"local", "base64key", startLocalService},
	{"awskms", "awskms", startAWSService},
	{"gcpkms", "gcpkms", startGCPService},
	{"vault", "hashivault", startVaultService},
}

// flipLast flips the last bit of an AES-GCM ciphertext: its tag.
func flipLast(ct []byte) []byte {
	out := bytes.Clone(ct)
	out[len(out)-1] ^= 1
	return out
}

// switchedProvider is the local provider with the switches of a service:
// base64key:// has no service to refuse or fail, so the switches wrap the
// provider and answer as a provider does (a *providers.Error matching
// ErrAccessDenied, or ErrUnavailable as after a provider's retries).
type switchedProvider struct {
	providers.Provider
	revoked, down      atomic.Bool
	encrypts, decrypts atomic.Int64
}

func (p *switchedProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	p.encrypts.Add(1)
	if p.down.Load() {
		return nil, &providers.Error{Op: "encrypt", KeyURL: p.URL(), Err: fmt.Errorf("%w: the key service is down", providers.ErrUnavailable)}
	}
	return p.Provider.Encrypt(ctx, pt, ec)
}

func (p *switchedProvider) Decrypt(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	p.decrypts.Add(1)
	switch {
	case p.down.Load():
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(), Err: fmt.Errorf("%w: the key service is down", providers.ErrUnavailable)}
	case p.revoked.Load():
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(), Err: fmt.Errorf("%w: decrypt permission revoked", providers.ErrAccessDenied)}
	}
	return p.Provider.Decrypt(ctx, ct, ec)
}

// startLocalService: two base64key:// keys. Encrypt-only: the provider's own
// ?decrypt=deny URL. Revocation and outage: switchedProvider, wrapping the
// keys of every connector of the test.
func startLocalService(t *testing.T) *kmsService {
	v1, v2 := newKey(t), newKey(t)
	open := func(u string) *switchedProvider {
		p, err := providers.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return &switchedProvider{Provider: p}
	}
	p1, p2 := open(v1), open(v2)
	return &kmsService{
		v1: v1, v2: v2,
		// Shared by every connector: a local provider's Close does nothing.
		with: func() map[string]providers.Provider { return map[string]providers.Provider{v1: p1, v2: p2} },
		encryptOnly: func(t *testing.T) (string, map[string]providers.Provider) {
			return v1 + "?decrypt=deny", nil
		},
		revoke:   func(t *testing.T) { p1.revoked.Store(true) },
		down:     func(t *testing.T) { p1.down.Store(true); p2.down.Store(true) },
		encrypts: func() int { return int(p1.encrypts.Load() + p2.encrypts.Load()) },
		decrypts: func() int { return int(p1.decrypts.Load() + p2.decrypts.Load()) },
		attempts: 1, // a wrapper has no retries; it answers as a provider does after its own
		tamper:   flipLast,

		deniedSays:  "decrypt=deny",
		revokedSays: "decrypt permission revoked",
		downSays:    "the key service is down",
	}
}

const awsWriterAccessKey = "AKIDKMSENCWRITER"

// awsAccessKey returns the access key id that signed a request.
func awsAccessKey(r *http.Request) string {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// writeAWSError answers as AWS KMS does.
func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
}

// startAWSService: local-kms in-process, two keys made with CreateKey
// through the SDK and named by ARN. Encrypt-only: local-kms enforces no key
// policy, so its HTTP handler does, for the writer's access key (the
// request's SigV4 credential): Decrypt gets AWS's AccessDeniedException,
// which reaches kmsenc through the real SDK and providers/awskms; the writer
// is awskms.New with those static credentials, given with WithProvider.
// Revocation: DisableKey through the SDK. Outage: the handler answers every
// request with HTTP 503 ServiceUnavailableException.
func startAWSService(t *testing.T) *kmsService {
	awsTestEnv(t)
	k := startLocalKMS(t)
	arn1, arn2 := k.createKey(t, ""), k.createKey(t, "")
	var down atomic.Bool
	k.setIntercept(func(w http.ResponseWriter, r *http.Request, op string) bool {
		switch {
		case down.Load():
			writeAWSError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", "Service Unavailable")
			return true
		case op == "Decrypt" && awsAccessKey(r) == awsWriterAccessKey:
			writeAWSError(w, http.StatusBadRequest, "AccessDeniedException",
				"User: arn:aws:iam::"+localKMSAccount+":user/writer is not authorized to perform: kms:Decrypt on resource: "+arn1+" because no identity-based policy allows the kms:Decrypt action")
			return true
		}
		return false
	})
	url := func(arn string) string { return "awskms:///" + arn + "?endpoint=" + k.URL }
	v1 := url(arn1)
	return &kmsService{
		v1: v1, v2: url(arn2),
		encryptOnly: func(t *testing.T) (string, map[string]providers.Provider) {
			client := kms.New(kms.Options{
				Region:       localKMSRegion,
				BaseEndpoint: aws.String(k.URL),
				Credentials:  credentials.NewStaticCredentialsProvider(awsWriterAccessKey, "writer-secret", ""),
			})
			return v1, map[string]providers.Provider{v1: awskms.New(client, arn1)}
		},
		revoke: func(t *testing.T) {
			if _, err := k.admin.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(arn1)}); err != nil {
				t.Fatal(err)
			}
		},
		down:     func(t *testing.T) { down.Store(true) },
		encrypts: func() int { return k.count("Encrypt") },
		decrypts: func() int { return k.count("Decrypt") },
		attempts: providers.DefaultRetryPolicy().MaxAttempts,
		tamper:   flipLast,

		deniedSays:  "AccessDeniedException: User: arn:aws:iam::" + localKMSAccount + ":user/writer is not authorized",
		revokedSays: "DisabledException",
		downSays:    "HTTP 503, ServiceUnavailableException",
	}
}

const gcpKey2 = "projects/p/locations/global/keyRings/r/cryptoKeys/k2"

// startGCPService: gcpkmstest's server, with its key and a second one made
// with CreateKey. Encrypt-only: a principal "writer" at an endpoint of its
// own (Listen), denied cloudkms.cryptoKeyVersions.useToDecrypt (Deny), as
// IAM would: kmsenc opens its key URL (endpoint=<the writer's>) itself.
// Revocation: Deny(Everyone, useToDecrypt), PERMISSION_DENIED. Outage:
// Fail(UNAVAILABLE).
func startGCPService(t *testing.T) *kmsService {
	s := gcpkmstest.NewServer(t)
	s.CreateKey(t, gcpKey2)
	url := func(key, addr string) string { return "gcpkms://" + key + "?endpoint=" + addr }
	return &kmsService{
		v1: url(gcpkmstest.Key, s.Addr), v2: url(gcpKey2, s.Addr),
		encryptOnly: func(t *testing.T) (string, map[string]providers.Provider) {
			addr := s.Listen(t, "writer")
			s.Deny("writer", gcpkmstest.PermDecrypt)
			return url(gcpkmstest.Key, addr), nil
		},
		revoke:   func(t *testing.T) { s.Deny(gcpkmstest.Everyone, gcpkmstest.PermDecrypt) },
		down:     func(t *testing.T) { s.Fail(codes.Unavailable) },
		encrypts: func() int { n, _ := s.Calls(); return n },
		decrypts: func() int { _, n := s.Calls(); return n },
		attempts: providers.DefaultRetryPolicy().MaxAttempts,
		tamper:   flipLast,

		deniedSays:  "PermissionDenied: Permission '" + gcpkmstest.PermDecrypt + "' denied",
		revokedSays: "PermissionDenied: Permission '" + gcpkmstest.PermDecrypt + "' denied",
		downSays:    "Unavailable",
	}
}

// startVaultService: Vault's Transit engine in-process, with the derived
// keys app and app2; kmsenc opens the URLs from VAULT_ADDR and VAULT_TOKEN.
// Encrypt-only: a second token whose policy grants update on
// transit/encrypt/app alone (the engine answers anything else with Vault's
// 403), given to vault.New and passed with WithProvider. Revocation: the key
// is rotated and its min_decryption_version raised to 2, so the rows under
// vault:v1 can no longer be decrypted. Outage: the engine answers every
// request with 503 (a sealed Vault).
func startVaultService(t *testing.T) *kmsService {
	v := startVaultEngine(t)
	v.createKey(t, "app", true)
	v.createKey(t, "app2", true)
	vaultTestEnv(t, v.URL)
	const writer = "hvs.kmsenc-encrypt-only"
	v.addToken(writer, vaultTestMount+"/encrypt/app")
	v1 := "hashivault://app?mount=" + vaultTestMount
	return &kmsService{
		v1: v1, v2: "hashivault://app2?mount=" + vaultTestMount,
		encryptOnly: func(t *testing.T) (string, map[string]providers.Provider) {
			return v1, map[string]providers.Provider{v1: vault.New(v.client(t, writer), "app", vault.WithMount(vaultTestMount))}
		},
		revoke: func(t *testing.T) {
			v.write(t, "keys/app/rotate", nil)
			v.write(t, "keys/app/config", map[string]any{"min_decryption_version": 2})
		},
		down:     func(t *testing.T) { v.fail(http.StatusServiceUnavailable) },
		encrypts: func() int { return v.count(vaultTestMount + "/encrypt/app") },
		decrypts: func() int { return v.count(vaultTestMount + "/decrypt/app") },
		attempts: providers.DefaultRetryPolicy().MaxAttempts,
		tamper:   tamper,

		deniedSays:  "HTTP 403: permission denied",
		revokedSays: "min_decryption_version",
		downSays:    "HTTP 503: Vault is sealed",
	}
}

// keyYAML is a schema file's key section for url as version 1.
func keyYAML(url string) string { return fmt.Sprintf("key:\n  url: %q", url) }

// keyV2YAML is a schema file's key section for url as version 2, with v1
// (when given) as version 1.
func keyV2YAML(url string, v1 ...string) string {
	s := fmt.Sprintf("key:\n  url: %q\n  version: 2", url)
	if len(v1) > 0 {
		s += fmt.Sprintf("\n  previous_versions:\n    1: %q", v1[0])
	}
	return s
}

// openKMS opens kmsenc over e's tables with a schema file of the suite's
// tables and the given key section (and extra sections, such as cache:),
// as e.open does, but with kmsenc opening the key URLs itself except those
// of svc.with and with. What it sends is recorded and checked for canaries.
func openKMS(t *testing.T, e *env, svc *kmsService, keySection, extra string, with map[string]providers.Provider, opts ...kmsenc.Option) *env {
	t.Helper()
	path := writeSchema(t, keySection, extra)
	cfg, err := kmsenc.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.d.base(t, e.mode)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{base: plain}
	t.Cleanup(func() { rec.assertNoCanary(t) })
	events := &eventLog{}
	all := []kmsenc.Option{kmsenc.WithHook(events)}
	if svc.with != nil {
		for u, p := range svc.with() {
			all = append(all, kmsenc.WithProvider(u, p))
		}
	}
	for u, p := range with {
		all = append(all, kmsenc.WithProvider(u, p))
	}
	conn, err := e.d.connector(rec, cfg, append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return &env{t: t, d: e.d, mode: e.mode, db: db, connector: conn, raw: e.raw, cfg: path, events: events}
}

// forEachProvider runs fn for each provider on each dialect, with a fresh
// service and fresh tables. Each provider runs under one of the dialect's
// connection modes, a different one per provider, so that together they
// cover several modes without running every mode for every provider.
func forEachProvider(t *testing.T, fn func(t *testing.T, p kmsProvider, svc *kmsService, e *env)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			for i, p := range kmsProviders {
				mode := d.modes[i%len(d.modes)]
				t.Run(p.name, func(t *testing.T) {
					e := setupDialect(t, d, mode, suiteSchema, nil, suiteDDL(d)...)
					fn(t, p, p.start(t), e)
				})
			}
		})
	}
}

// readUser reads one user through kmsenc, returning the first error of the
// query, the scan or the rows.
func (e *env) readUser(id int64) (user, error) {
	rows, err := e.query(`SELECT id, name, email, ssn FROM users WHERE id = $1`, id)
	if err != nil {
		return user{}, err
	}
	defer rows.Close()
	var u user
	for rows.Next() {
		if err := rows.Scan(&u.id, &u.name, &u.email, &u.ssn); err != nil {
			return u, err
		}
	}
	return u, rows.Err()
}

// rawKeyColumn reads a row's key column through the plain driver.
func (e *env) rawKeyColumn(id int64) string {
	e.t.Helper()
	var k string
	if err := e.raw.QueryRow(e.q(`SELECT encrypted_kms_key FROM users WHERE id = $1`), id).Scan(&k); err != nil {
		e.t.Fatal(err)
	}
	return k
}

// wantFromKMS checks that err matches kind and comes from the provider of
// scheme: a *providers.Error naming one of its keys.
// When says is not empty, the error must contain it.
func wantFromKMS(t *testing.T, what string, err, kind error, scheme, says string) {
	t.Helper()
	var pe *providers.Error
	switch {
	case !errors.Is(err, kind):
		t.Errorf("%s: err = %v, want %v", what, err, kind)
	case !errors.As(err, &pe) || providers.Scheme(pe.KeyURL) != scheme:
		t.Errorf("%s: err = %v, want a *providers.Error of a %s:// key", what, err, scheme)
	case !strings.Contains(err.Error(), says):
		t.Errorf("%s: err = %v, want it to say %q", what, err, says)
	}
}

// TestProviderCoreCases: insert, select, update by key, tampering, a wrong
// context and refusals, per provider and dialect.
func TestProviderCoreCases(t *testing.T) {
	forEachProvider(t, func(t *testing.T, p kmsProvider, svc *kmsService, base *env) {
		e := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		em1, em2, ssn1 := canary(p.name), canary(p.name), canary(p.name)
		e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)`,
			1, "Ann", em1, ssn1, 2, "Bob", em2, nil)
		if n := e.events.count(kmsenc.EventWrap); n != 2 {
			t.Errorf("%d wraps for two rows, want 2", n)
		}
		e.assertStored("users", []string{"email", "ssn"}, em1, em2, ssn1)
		if k := base.rawKeyColumn(1); !strings.HasPrefix(k, "v1:") {
			t.Errorf("key column %.12q..., want v1:", k)
		}

		// A second connector has a cold cache: it reads through the KMS.
		r := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		want := []user{{1, ns("Ann"), ns(em1), ns(ssn1)}, {2, ns("Bob"), ns(em2), sql.NullString{}}}
		if got := r.users(`SELECT id, name, email, ssn FROM users ORDER BY id`); !reflect.DeepEqual(got, want) {
			t.Errorf("SELECT = %+v, want %+v", got, want)
		}
		if n := r.events.count(kmsenc.EventUnwrap); n < 1 {
			t.Errorf("the cold reader made %d unwraps, want at least 1", n)
		}

		// An UPDATE by key unwraps the row's key (a cold cache again) and
		// encrypts the new value under it.
		u := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		em3 := canary(p.name)
		keyBefore := base.rawKeyColumn(1)
		u.exec(`UPDATE users SET email = $1 WHERE id = $2`, em3, 1)
		if got, err := r.readUser(1); err != nil || got.email.String != em3 || got.ssn.String != ssn1 {
			t.Errorf("after UPDATE: %+v, %v", got, err)
		}
		if k := base.rawKeyColumn(1); k != keyBefore {
			t.Error("UPDATE by key changed the row's wrapped key")
		}
		e.assertStored("users", []string{"email", "ssn"}, em1, em2, ssn1, em3)

		// Refusals: nothing is sent, nothing is written.
		leak := canary("refused")
		for _, c := range []struct {
			query string
			args  []any
		}{
			{`SELECT id FROM users WHERE email = $1`, []any{leak}},
			{`UPDATE users SET email = $1 WHERE name = $2`, []any{leak, "Ann"}},
			{`INSERT INTO users (name, email) VALUES ($1, $2)`, []any{"no id", leak}},
		} {
			if _, err := e.execErr(c.query, c.args...); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement", c.query, err)
			}
		}
		if n := base.count("users"); n != 2 {
			t.Errorf("refused statements left %d rows, want 2", n)
		}

		// Tampering with row 1's wrapped key: the KMS refuses it.
		key1, key2 := base.rawKeyColumn(1), base.rawKeyColumn(2)
		version, ct, err := envelope.ParseWrappedKey(key1)
		if err != nil {
			t.Fatal(err)
		}
		base.rawExec(`UPDATE users SET encrypted_kms_key = $1 WHERE id = $2`, envelope.FormatWrappedKey(version, svc.tamper(ct)), 1)
		_, err = r.readUser(1)
		wantFromKMS(t, "tampered wrapped key", err, kmsenc.ErrDecrypt, p.scheme, "")

		// The wrong context: row 2's key in row 1 is a key wrapped under
		// {"id":"2"} unwrapped under {"id":"1"}, which the KMS refuses.
		base.rawExec(`UPDATE users SET encrypted_kms_key = $1 WHERE id = $2`, key2, 1)
		_, err = r.readUser(1)
		wantFromKMS(t, "key swapped between rows", err, kmsenc.ErrDecrypt, p.scheme, "")

		base.rawExec(`UPDATE users SET encrypted_kms_key = $1 WHERE id = $2`, key1, 1)
		if got, err := r.readUser(1); err != nil || got.email.String != em3 {
			t.Errorf("row 1 with its own key again: %+v, %v", got, err)
		}
	})
}

// TestProviderKeyVersionsAndRotation: rows under master key versions 1 and
// 2 (two keys of the service) are read side by side; Connector.Rotate moves
// the version 1 rows to version 2 without touching their values, after
// which version 2 alone reads everything.
func TestProviderKeyVersionsAndRotation(t *testing.T) {
	forEachProvider(t, func(t *testing.T, p kmsProvider, svc *kmsService, base *env) {
		e1 := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		old := []string{canary(p.name), canary(p.name), canary(p.name)}
		for i, em := range old {
			e1.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, i+1, em)
		}
		both := keyV2YAML(svc.v2, svc.v1)
		e2 := openKMS(t, base, svc, both, "", nil)
		fresh := canary(p.name)
		e2.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, 10, fresh)
		wantAll := map[int64]string{1: old[0], 2: old[1], 3: old[2], 10: fresh}

		readAll := func(e *env) (map[int64]string, error) {
			rows, err := e.query(`SELECT id, email FROM users ORDER BY id`)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			got := map[int64]string{}
			for rows.Next() {
				var id int64
				var em string
				if err := rows.Scan(&id, &em); err != nil {
					return nil, err
				}
				got[id] = em
			}
			return got, rows.Err()
		}
		// A cold reader with both versions unwraps each row with its own.
		if got, err := readAll(openKMS(t, base, svc, both, "", nil)); err != nil || !reflect.DeepEqual(got, wantAll) {
			t.Fatalf("versions 1 and 2 side by side: %v, %v; want %v", got, err, wantAll)
		}
		before := base.rawKeys()
		if !strings.HasPrefix(before[1], "v1:") || !strings.HasPrefix(before[10], "v2:") {
			t.Fatalf("key prefixes: %.12q, %.12q", before[1], before[10])
		}
		onlyV2 := keyV2YAML(svc.v2)
		if _, err := readAll(openKMS(t, base, svc, onlyV2, "", nil)); err == nil || !strings.Contains(err.Error(), "previous_versions") {
			t.Errorf("reading version 1 rows without version 1: %v, want an error naming previous_versions", err)
		}

		n, err := e2.connector.Rotate(context.Background(), "users", 0)
		if err != nil || n != len(old) {
			t.Fatalf("Rotate = %d, %v; want %d", n, err, len(old))
		}
		for id, kv := range base.rawKeys() {
			key, value, _ := strings.Cut(kv, " ")
			beforeKey, beforeValue, _ := strings.Cut(before[id], " ")
			if !strings.HasPrefix(key, "v2:") || value != beforeValue {
				t.Errorf("row %d after rotation: key %.12q..., value changed: %v", id, key, value != beforeValue)
			}
			if id == 10 && key != beforeKey {
				t.Error("Rotate re-wrapped a row already under version 2")
			}
		}
		if n, err := e2.connector.Rotate(context.Background(), "users", 0); n != 0 || err != nil {
			t.Errorf("second Rotate = %d, %v; want 0", n, err)
		}
		if got, err := readAll(openKMS(t, base, svc, onlyV2, "", nil)); err != nil || !reflect.DeepEqual(got, wantAll) {
			t.Errorf("after rotation, version 2 alone reads %v, %v; want %v", got, err, wantAll)
		}
	})
}

// TestProviderEncryptOnly: an identity that may only encrypt inserts, reads
// plain columns, and gets ErrKeyAccessDenied from its KMS when it reads an
// encrypted one; an identity that may decrypt reads what it wrote.
func TestProviderEncryptOnly(t *testing.T) {
	forEachProvider(t, func(t *testing.T, p kmsProvider, svc *kmsService, base *env) {
		url, with := svc.encryptOnly(t)
		w := openKMS(t, base, svc, keyYAML(url), "cache:\n  ttl: 0\n", with)
		em := canary(p.name)
		w.exec(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", em)
		base.assertStored("users", []string{"email"}, em)
		var name string
		if err := w.queryRow(`SELECT name FROM users WHERE id = $1`, 1).Scan(&name); err != nil || name != "Ann" {
			t.Errorf("plain column: %q, %v", name, err)
		}
		var got string
		err := w.queryRow(`SELECT email FROM users WHERE id = $1`, 1).Scan(&got)
		wantFromKMS(t, "encrypt-only read", err, kmsenc.ErrKeyAccessDenied, p.scheme, svc.deniedSays)
		if got != "" {
			t.Errorf("encrypt-only read returned %q", got)
		}
		r := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		if err := r.queryRow(`SELECT email FROM users WHERE id = $1`, 1).Scan(&got); err != nil || got != em {
			t.Errorf("reader: %q, %v", got, err)
		}
	})
}

// TestProviderRevocation revokes Decrypt in the service: a reader without a
// cache fails at once; one with a cache serves its cached keys until
// PurgeKeyCache, then fails. Nothing falls back to ciphertext.
func TestProviderRevocation(t *testing.T) {
	forEachProvider(t, func(t *testing.T, p kmsProvider, svc *kmsService, base *env) {
		e := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		ems := map[int64]string{}
		for id := int64(1); id <= 3; id++ {
			ems[id] = canary(p.name)
			e.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, id, ems[id])
		}
		read := func(r *env) error {
			rows, err := r.query(`SELECT id, email FROM users`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var em string
				if err := rows.Scan(&id, &em); err != nil {
					return err
				}
				if em != ems[id] {
					t.Errorf("row %d: read %q", id, em)
				}
			}
			return rows.Err()
		}
		uncached := openKMS(t, base, svc, keyYAML(svc.v1), "cache:\n  ttl: 0\n", nil)
		cached := openKMS(t, base, svc, keyYAML(svc.v1), "cache:\n  ttl: 1h\n", nil)
		for name, r := range map[string]*env{"ttl 0": uncached, "ttl 1h": cached} {
			if err := read(r); err != nil {
				t.Fatalf("%s, before revocation: %v", name, err)
			}
		}
		svc.revoke(t)
		wantFromKMS(t, "ttl 0, after revocation", read(uncached), kmsenc.ErrKeyAccessDenied, p.scheme, svc.revokedSays)
		if err := read(cached); err != nil {
			t.Errorf("ttl 1h: cached keys should serve until purged: %v", err)
		}
		cached.connector.PurgeKeyCache()
		wantFromKMS(t, "ttl 1h, after revocation and PurgeKeyCache", read(cached), kmsenc.ErrKeyAccessDenied, p.scheme, svc.revokedSays)
	})
}

// TestProviderUnavailable: with the service down, an INSERT fails with
// ErrKeyUnavailable after the provider's bounded retries, and writes
// nothing.
func TestProviderUnavailable(t *testing.T) {
	forEachProvider(t, func(t *testing.T, p kmsProvider, svc *kmsService, base *env) {
		e := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
		e.exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, 1, canary(p.name))
		svc.down(t)
		before := svc.encrypts()
		_, err := e.execErr(`INSERT INTO users (id, email) VALUES ($1, $2)`, 2, canary(p.name))
		wantFromKMS(t, "INSERT with the service down", err, kmsenc.ErrKeyUnavailable, p.scheme, svc.downSays)
		if n := svc.encrypts() - before; n != svc.attempts {
			t.Errorf("%d encrypt requests for one row, want %d (bounded retries)", n, svc.attempts)
		}
		if n := base.count("users"); n != 1 {
			t.Errorf("%d rows after the failed INSERT, want 1: nothing may be written", n)
		}
	})
}

// TestProviderVaultBatchUnwrap reads 600 rows, each under its own data key,
// with a cold cache and a read-ahead window of 256 rows: Vault gets one
// batch decrypt request per window, ceil(600/256) = 3, as the engine's
// request counter shows.
func TestProviderVaultBatchUnwrap(t *testing.T) {
	const rows, window = 600, 256
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			// The last mode (simple_protocol, interpolateParams=true): the
			// other tests of Vault ran under another.
			base := setupDialect(t, d, d.modes[len(d.modes)-1], suiteSchema, nil, suiteDDL(d)...)
			svc := startVaultService(t)
			w := openKMS(t, base, svc, keyYAML(svc.v1), "", nil)
			want := map[int64]string{}
			for first := 0; first < rows; first += 100 {
				var ph []string
				var args []any
				for id := first; id < first+100; id++ {
					n := len(args)
					ph = append(ph, "($"+strconv.Itoa(n+1)+", $"+strconv.Itoa(n+2)+")")
					want[int64(id)] = canary("batch")
					args = append(args, id, want[int64(id)])
				}
				w.exec(`INSERT INTO users (id, email) VALUES `+strings.Join(ph, ", "), args...)
			}

			r := openKMS(t, base, svc, keyYAML(svc.v1), "", nil, kmsenc.WithReadAhead(window))
			before := svc.decrypts()
			got := map[int64]string{}
			res, err := r.query(`SELECT id, email FROM users ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for res.Next() {
				var id int64
				var em string
				if err := res.Scan(&id, &em); err != nil {
					t.Fatal(err)
				}
				got[id] = em
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			res.Close()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read %d rows, want the %d written", len(got), len(want))
			}
			wantCalls := (rows + window - 1) / window
			if n := svc.decrypts() - before; n != wantCalls {
				t.Errorf("%d Transit decrypt requests for %d rows in windows of %d, want %d", n, rows, window, wantCalls)
			}
			var batches []int
			r.events.mu.Lock()
			for _, ev := range r.events.events {
				if ev.Kind == kmsenc.EventUnwrap {
					batches = append(batches, ev.Batch)
				}
			}
			r.events.mu.Unlock()
			if wantBatches := []int{window, window, rows - 2*window}; !reflect.DeepEqual(batches, wantBatches) {
				t.Errorf("unwrap batches %v, want %v", batches, wantBatches)
			}
		})
	}
}
