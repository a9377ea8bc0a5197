package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/kmsenc/kmsenc/providers"
)

// isolate makes the Vault client see only what a test sets: no address,
// token, namespace or agent from the developer's shell.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"VAULT_ADDR", "VAULT_AGENT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_MAX_RETRIES",
		"VAULT_CACERT", "VAULT_CAPATH", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_SKIP_VERIFY",
		"VAULT_CLIENT_TIMEOUT", "VAULT_RATE_LIMIT", "VAULT_HTTP_PROXY", "VAULT_PROXY_ADDR",
		"VAULT_HEADERS", "VAULT_SRV_LOOKUP", "VAULT_DISABLE_REDIRECTS",
	} {
		t.Setenv(k, "")
	}
}

func TestOpenURL(t *testing.T) {
	tests := []struct {
		name, url        string
		wantURL, wantKey string
		wantMount        string
		wantErr          []string
	}{
		{name: "default mount", url: "hashivault://app", wantURL: "hashivault://app?mount=transit", wantKey: "app", wantMount: "transit"},
		{name: "mount", url: "hashivault://app?mount=transit", wantURL: "hashivault://app?mount=transit", wantKey: "app", wantMount: "transit"},
		{name: "nested mount", url: "hashivault://app?mount=/secrets/transit/", wantURL: "hashivault://app?mount=secrets/transit", wantKey: "app", wantMount: "secrets/transit"},
		{name: "key in the path", url: "hashivault:///app", wantURL: "hashivault://app?mount=transit", wantKey: "app", wantMount: "transit"},
		{name: "name characters", url: "hashivault://my_app-key.v2", wantURL: "hashivault://my_app-key.v2?mount=transit", wantKey: "my_app-key.v2", wantMount: "transit"},

		{name: "no key", url: "hashivault://?mount=transit", wantErr: []string{"names no Transit key", "hashivault://app?mount=transit"}},
		{name: "mount in the key", url: "hashivault://transit/app", wantErr: []string{"has no '/'", "mount=secrets/transit"}},
		{name: "bad name", url: "hashivault://-app", wantErr: []string{`"-app" is not a Transit key name`}},
		{name: "unknown parameter", url: "hashivault://app?mnt=transit", wantErr: []string{`"mnt"`, "the one parameter is mount", "VAULT_ADDR"}},
		{name: "address is not a parameter", url: "hashivault://app?address=http://127.0.0.1:8200", wantErr: []string{`"address"`}},
		{name: "repeated mount", url: "hashivault://app?mount=a&mount=b", wantErr: []string{"mount parameter takes one path"}},
		{name: "empty mount", url: "hashivault://app?mount=/", wantErr: []string{"mount parameter takes one path"}},
		{name: "dot-dot mount", url: "hashivault://app?mount=a/../b", wantErr: []string{"not a Vault mount path"}},
		{name: "token in the URL", url: "hashivault://s.SECRETTOKEN@app", wantErr: []string{"holds no token", "VAULT_TOKEN"}},
		{name: "opaque", url: "hashivault:app", wantErr: []string{"<scheme>://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("VAULT_TOKEN", "s.SECRETTOKEN")
			p, err := providers.Open(context.Background(), tt.url)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Open(%q) succeeded, want an error", tt.url)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "SECRETTOKEN") {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			defer p.Close()
			vp := p.(*Provider)
			if got := p.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
			if vp.key != tt.wantKey || vp.mount != tt.wantMount {
				t.Errorf("key, mount = %q, %q, want %q, %q", vp.key, vp.mount, tt.wantKey, tt.wantMount)
			}
			if vp.client.Token() != "s.SECRETTOKEN" {
				t.Errorf("the client did not read VAULT_TOKEN")
			}
			if vp.client.MaxRetries() != 0 {
				t.Errorf("client MaxRetries = %d, want 0", vp.client.MaxRetries())
			}
		})
	}
}

// fakeTransit is a FAKE of Transit's HTTP API for unit tests, not Vault:
// its "ciphertext" is vault:v1: + base64 of the context and the plaintext,
// and a decrypt with another context fails as Vault does
// ("cipher: message authentication failed"). integration_test runs the
// real Transit engine. It records every request.
type fakeTransit struct {
	mu       sync.Mutex
	requests []fakeRequest
	// fail, if set, answers a request instead: HTTP status and body.
	fail func(r fakeRequest) (status int, body string)
}

type fakeRequest struct {
	Method, Path, Token string
	Body                map[string]any
}

type fakeItem struct {
	Ciphertext string `json:"ciphertext"`
	Context    string `json:"context"`
}

func (f *fakeTransit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := fakeRequest{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("X-Vault-Token")}
	if err := json.NewDecoder(r.Body).Decode(&req.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	fail := f.fail
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if fail != nil {
		status, body := fail(req)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	op := req.Path[strings.LastIndex(strings.TrimSuffix(req.Path, "/app"), "/")+1:]
	str := func(k string) string { s, _ := req.Body[k].(string); return s }
	var data map[string]any
	switch op {
	case "encrypt/app":
		data = map[string]any{"ciphertext": fakeSeal(str("context"), str("plaintext"), 1)}
	case "rewrap/app":
		if _, err := fakeOpen(str("ciphertext"), str("context")); err != nil {
			writeErrors(w, 400, err.Error())
			return
		}
		data = map[string]any{"ciphertext": "vault:v2:" + strings.TrimPrefix(str("ciphertext"), "vault:v1:")}
	case "decrypt/app":
		if req.Body["batch_input"] == nil {
			pt, err := fakeOpen(str("ciphertext"), str("context"))
			if err != nil {
				writeErrors(w, 400, err.Error())
				return
			}
			data = map[string]any{"plaintext": pt}
			break
		}
		raw, _ := json.Marshal(req.Body["batch_input"])
		var items []fakeItem
		_ = json.Unmarshal(raw, &items)
		results := make([]map[string]string, len(items))
		status := 200
		for i, it := range items {
			pt, err := fakeOpen(it.Ciphertext, it.Context)
			if err != nil {
				results[i] = map[string]string{"error": err.Error()}
				status = 400 // as Transit: a user error in a batch makes it a 400
				continue
			}
			results[i] = map[string]string{"plaintext": pt}
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"batch_results": results}})
		return
	default:
		writeErrors(w, 404, "unsupported path")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func fakeSeal(context, plaintext string, version int) string {
	return fmt.Sprintf("vault:v%d:%s", version, base64.StdEncoding.EncodeToString([]byte(context+"|"+plaintext)))
}

func fakeOpen(ciphertext, context string) (string, error) {
	_, b64, ok := strings.Cut(strings.TrimPrefix(ciphertext, "vault:v"), ":")
	if !ok {
		return "", errors.New("invalid ciphertext: no prefix")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", errors.New("invalid ciphertext: could not decode base64")
	}
	ctx, pt, _ := strings.Cut(string(raw), "|")
	if ctx != context {
		return "", errors.New("cipher: message authentication failed")
	}
	return pt, nil
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": msgs})
}

func vaultErrors(status int, msgs ...string) func(fakeRequest) (int, string) {
	return func(fakeRequest) (int, string) {
		b, _ := json.Marshal(map[string]any{"errors": msgs})
		return status, string(b)
	}
}

func (f *fakeTransit) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeTransit) last() fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

var fastRetry = providers.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// newTestClient is a client as an application would build it: with the
// client's default retries on, which the provider must turn off.
func newTestClient(t *testing.T, addr, token string) *api.Client {
	t.Helper()
	isolate(t)
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MinRetryWait, cfg.MaxRetryWait = time.Millisecond, time.Millisecond
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func newFake(t *testing.T, opts ...Option) (*fakeTransit, *Provider) {
	t.Helper()
	f := &fakeTransit{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithRetryPolicy(fastRetry)}, opts...)
	return f, New(newTestClient(t, srv.URL, "s.TESTTOKEN"), "app", opts...)
}

// gemContext is kms_encrypted's default context, and gemTransitContext what
// the gem sends to Vault for it: base64 of {"model_id":"123","model_name":"User"}
// (the compatibility vector of KMS_ENCRYPTED_FORMATS.md).
var (
	gemContext        = map[string]string{"model_name": "User", "model_id": "123"}
	gemTransitContext = base64.StdEncoding.EncodeToString([]byte(`{"model_id":"123","model_name":"User"}`))
)

func TestRequests(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	ct, err := p.Encrypt(ctx, []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}
	enc := f.last()
	if enc.Path != "/v1/transit/encrypt/app" || enc.Token != "s.TESTTOKEN" {
		t.Errorf("Encrypt request = %s %s with token %q", enc.Method, enc.Path, enc.Token)
	}
	if enc.Body["plaintext"] != base64.StdEncoding.EncodeToString([]byte("data key")) || enc.Body["context"] != gemTransitContext {
		t.Errorf("Encrypt body = %v, want the base64 plaintext and context %s", enc.Body, gemTransitContext)
	}
	if !strings.HasPrefix(string(ct), "vault:v1:") {
		t.Errorf("ciphertext %q, want Vault's string", ct)
	}
	pt, err := p.Decrypt(ctx, ct, map[string]string{"model_id": "123", "model_name": "User"})
	if err != nil || string(pt) != "data key" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	dec := f.last()
	if dec.Path != "/v1/transit/decrypt/app" || dec.Body["ciphertext"] != string(ct) || dec.Body["context"] != gemTransitContext {
		t.Errorf("Decrypt request = %s %v", dec.Path, dec.Body)
	}

	// An empty context is "{}", which a derived key accepts.
	for _, empty := range []map[string]string{nil, {}} {
		if _, err := p.Encrypt(ctx, []byte("k"), empty); err != nil {
			t.Fatal(err)
		}
		if got := f.last().Body["context"]; got != "e30=" {
			t.Errorf("context %v sent as %v, want e30= (base64 of {})", empty, got)
		}
	}

	rw, err := p.Rewrap(ctx, ct, gemContext)
	if err != nil || !strings.HasPrefix(string(rw), "vault:v2:") {
		t.Fatalf("Rewrap = %q, %v", rw, err)
	}
	if r := f.last(); r.Path != "/v1/transit/rewrap/app" || r.Body["context"] != gemTransitContext {
		t.Errorf("Rewrap request = %s %v", r.Path, r.Body)
	}
	if n := f.count(); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestMount(t *testing.T) {
	f, p := newFake(t, WithMount("/secrets/transit/"))
	if _, err := p.Encrypt(context.Background(), []byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	if got := f.last().Path; got != "/v1/secrets/transit/encrypt/app" {
		t.Errorf("path %q", got)
	}
	if p.URL() != "hashivault://app?mount=secrets/transit" {
		t.Errorf("URL() = %q", p.URL())
	}
}

func TestErrorMapping(t *testing.T) {
	const tooOld = "ciphertext or signature version is disallowed by policy (too old)"
	tests := []struct {
		name      string
		op        string
		fail      func(fakeRequest) (int, string)
		kind      error // nil: no kind
		wantCalls int
		want      []string
	}{
		{"permission denied", opDecrypt, vaultErrors(403, "1 error occurred:\n\t* permission denied\n\n"), providers.ErrAccessDenied, 1,
			[]string{"decrypt with master key hashivault://app?mount=transit", "Vault denied decrypt with key app (HTTP 403: permission denied);", `"update" capability on transit/decrypt/app`, "encrypt-only"}},
		{"permission denied on encrypt", opEncrypt, vaultErrors(403, "permission denied"), providers.ErrAccessDenied, 1,
			[]string{`"update" capability on transit/encrypt/app`}},
		{"too old", opDecrypt, vaultErrors(400, tooOld), providers.ErrAccessDenied, 1,
			[]string{"a version of key app below its min_decryption_version", "transit/keys/app/config", "too old"}},
		{"too old on rewrap", opRewrap, vaultErrors(400, tooOld), providers.ErrAccessDenied, 1, []string{"rewrap with master key"}},
		{"no key", opDecrypt, vaultErrors(400, "encryption key not found"), providers.ErrAccessDenied, 1,
			[]string{"the Transit engine at transit has no key app", "derived=true"}},
		{"no mount", opEncrypt, vaultErrors(404, "no handler for route \"transit/encrypt/app\". route entry not found."), providers.ErrAccessDenied, 1,
			[]string{"no Transit engine for transit/encrypt/app", "mount parameter"}},
		{"signing key", opEncrypt, vaultErrors(400, "message encryption not supported for key type ed25519"), providers.ErrAccessDenied, 1,
			[]string{"not an encryption key", "aes256-gcm96"}},
		{"wrong context", opDecrypt, vaultErrors(400, "cipher: message authentication failed"), providers.ErrDecrypt, 1,
			[]string{"Vault could not decrypt the wrapped key with key app and this encryption context (HTTP 400: cipher: message authentication failed)", "altered"}},
		{"not a ciphertext of the key", opDecrypt, vaultErrors(400, "invalid ciphertext: version is too new"), providers.ErrDecrypt, 1, nil},
		{"rate limited", opDecrypt, vaultErrors(429, "request path \"transit/decrypt/app\": rate limit quota exceeded"), providers.ErrUnavailable, 4,
			[]string{"Vault did not complete decrypt with key app (HTTP 429: request path", "(gave up after 4 attempts)", "retry"}},
		{"sealed", opEncrypt, vaultErrors(503, "Vault is sealed"), providers.ErrUnavailable, 4, []string{"HTTP 503: Vault is sealed"}},
		{"internal", opEncrypt, vaultErrors(500, "internal error"), providers.ErrUnavailable, 4, nil},
		{"standby behind", opDecrypt, vaultErrors(412, "required index state not present"), providers.ErrUnavailable, 4, nil},
		{"503 from a proxy", opDecrypt, func(fakeRequest) (int, string) { return 503, "<html>Service Unavailable</html>" }, providers.ErrUnavailable, 4,
			[]string{"Vault did not complete decrypt with key app (HTTP 503) (gave up after 4 attempts)"}},
		{"other", opEncrypt, vaultErrors(400, "invalid key version"), nil, 1,
			[]string{"Vault encrypt with key app failed (HTTP 400: invalid key version)"}},
		{"not implemented", opEncrypt, vaultErrors(501, "unsupported"), nil, 1, nil},
		{"not JSON", opEncrypt, func(fakeRequest) (int, string) { return 200, "<html>" }, nil, 1, []string{"not Vault's JSON"}},
		{"no ciphertext", opEncrypt, func(fakeRequest) (int, string) { return 200, `{"data":{}}` }, nil, 1, []string{"without a vault:v... ciphertext"}},
		{"bad plaintext", opDecrypt, func(fakeRequest) (int, string) { return 200, `{"data":{"plaintext":"%%%"}}` }, nil, 1, []string{"not base64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newFake(t)
			f.fail = tt.fail
			var err error
			ctx, ec := context.Background(), map[string]string{"table": "users"}
			switch tt.op {
			case opEncrypt:
				_, err = p.Encrypt(ctx, []byte("PLAINTEXT-CANARY"), ec)
			case opDecrypt:
				_, err = p.Decrypt(ctx, []byte("vault:v1:Y2lwaGVydGV4dA=="), ec)
			case opRewrap:
				_, err = p.Rewrap(ctx, []byte("vault:v1:Y2lwaGVydGV4dA=="), ec)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != tt.op || pe.KeyURL != "hashivault://app?mount=transit" {
				t.Fatalf("error %#v, want a *providers.Error of %s on the key", err, tt.op)
			}
			for _, kind := range []error{providers.ErrAccessDenied, providers.ErrDecrypt, providers.ErrUnavailable} {
				if got := errors.Is(err, kind); got != (kind == tt.kind) {
					t.Errorf("errors.Is(%v, %v) = %v", err, kind, got)
				}
			}
			if n := f.count(); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range []string{"PLAINTEXT-CANARY", base64.StdEncoding.EncodeToString([]byte("PLAINTEXT-CANARY")), "s.TESTTOKEN"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

func TestNotACiphertext(t *testing.T) {
	f, p := newFake(t)
	for _, ct := range [][]byte{nil, []byte("vault:v1:\x00"), []byte("vault:v1:abc def"), {0xff, 0xfe}} {
		_, err := p.Decrypt(context.Background(), ct, nil)
		if !errors.Is(err, providers.ErrDecrypt) || !strings.Contains(err.Error(), "not a Vault Transit ciphertext") {
			t.Errorf("Decrypt(%q) = %v, want ErrDecrypt", ct, err)
		}
	}
	if n := f.count(); n != 0 {
		t.Errorf("%d requests for values that can't be ciphertexts", n)
	}
}

func TestNoToken(t *testing.T) {
	f, p := newFake(t)
	p.client.ClearToken()
	f.fail = vaultErrors(403, "permission denied")
	_, err := p.Decrypt(context.Background(), []byte("vault:v1:YQ=="), nil)
	if !errors.Is(err, providers.ErrAccessDenied) || !strings.Contains(err.Error(), "has no token: set VAULT_TOKEN") {
		t.Errorf("Decrypt = %v, want ErrAccessDenied saying that there is no token", err)
	}
}

func seal(t *testing.T, p *Provider, ec map[string]string, pt string) []byte {
	t.Helper()
	ct, err := p.Encrypt(context.Background(), []byte(pt), ec)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestDecryptBatch(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	var items []providers.DecryptItem
	for i := range 5 {
		ec := map[string]string{"table": "users", "id": fmt.Sprint(i)}
		items = append(items, providers.DecryptItem{Ciphertext: seal(t, p, ec, fmt.Sprint("key ", i)), Context: ec})
	}
	items[2].Context = map[string]string{"table": "users", "id": "other"} // moved to another row
	items = append(items, providers.DecryptItem{Ciphertext: []byte("not a \x00 ciphertext")})
	before := f.count()

	results := p.DecryptBatch(ctx, items)
	if len(results) != len(items) {
		t.Fatalf("%d results for %d items", len(results), len(items))
	}
	if n := f.count() - before; n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	req := f.last()
	if req.Path != "/v1/transit/decrypt/app" {
		t.Errorf("batch path %q", req.Path)
	}
	if input, _ := req.Body["batch_input"].([]any); len(input) != 5 {
		t.Errorf("batch_input of %d items, want 5 (the malformed one is not sent)", len(input))
	}
	for i, r := range results {
		switch i {
		case 2:
			if !errors.Is(r.Err, providers.ErrDecrypt) || r.Plaintext != nil {
				t.Errorf("item 2 = %q, %v, want ErrDecrypt", r.Plaintext, r.Err)
			}
		case 5:
			if !errors.Is(r.Err, providers.ErrDecrypt) || !strings.Contains(r.Err.Error(), "not a Vault Transit ciphertext") {
				t.Errorf("item 5 = %v, want ErrDecrypt", r.Err)
			}
		default:
			if r.Err != nil || string(r.Plaintext) != fmt.Sprint("key ", i) {
				t.Errorf("item %d = %q, %v", i, r.Plaintext, r.Err)
			}
		}
		var pe *providers.Error
		if r.Err != nil && (!errors.As(r.Err, &pe) || pe.Op != opDecrypt || pe.KeyURL != p.URL()) {
			t.Errorf("item %d error %#v, want a *providers.Error of decrypt", i, r.Err)
		}
	}

	// All items failing is still an answer per item.
	for i := range items {
		items[i].Context = map[string]string{"table": "other"}
	}
	for i, r := range p.DecryptBatch(ctx, items[:5]) {
		if !errors.Is(r.Err, providers.ErrDecrypt) {
			t.Errorf("item %d = %v, want ErrDecrypt", i, r.Err)
		}
	}
}

func TestDecryptBatchWholeFailure(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(fakeRequest) (int, string)
		kind      error
		wantCalls int
	}{
		{"permission denied", vaultErrors(403, "permission denied"), providers.ErrAccessDenied, 1},
		{"sealed", vaultErrors(503, "Vault is sealed"), providers.ErrUnavailable, 4},
		{"results missing", func(fakeRequest) (int, string) { return 200, `{"data":{"batch_results":[{"plaintext":"YQ=="}]}}` }, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newFake(t)
			f.fail = tt.fail
			items := []providers.DecryptItem{{Ciphertext: []byte("vault:v1:YQ==")}, {Ciphertext: []byte("vault:v1:Yg==")}}
			for i, r := range p.DecryptBatch(context.Background(), items) {
				var pe *providers.Error
				if r.Err == nil || !errors.As(r.Err, &pe) || r.Plaintext != nil {
					t.Fatalf("item %d = %q, %v, want an error", i, r.Plaintext, r.Err)
				}
				if tt.kind != nil && !errors.Is(r.Err, tt.kind) {
					t.Errorf("item %d = %v, want %v", i, r.Err, tt.kind)
				}
			}
			if n := f.count(); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestDecryptBatchInternalError: Transit answers 500 when an item failed
// inside Vault. The call is retried; the items that succeeded in the last
// attempt keep their plaintexts and the others are ErrUnavailable.
func TestDecryptBatchInternalError(t *testing.T) {
	f, p := newFake(t)
	f.fail = func(fakeRequest) (int, string) {
		return 500, `{"data":{"batch_results":[{"plaintext":"YQ=="},{"error":"unable to access the key; no key versions found"}]}}`
	}
	items := []providers.DecryptItem{{Ciphertext: []byte("vault:v1:YQ==")}, {Ciphertext: []byte("vault:v1:Yg==")}}
	results := p.DecryptBatch(context.Background(), items)
	if results[0].Err != nil || string(results[0].Plaintext) != "a" {
		t.Errorf("item 0 = %q, %v, want a", results[0].Plaintext, results[0].Err)
	}
	if !errors.Is(results[1].Err, providers.ErrUnavailable) || !strings.Contains(results[1].Err.Error(), "no key versions found") {
		t.Errorf("item 1 = %v, want ErrUnavailable with its error", results[1].Err)
	}
	if n := f.count(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestDecryptBatchSplits(t *testing.T) {
	f, p := newFake(t)
	p.maxBatch = 2
	var items []providers.DecryptItem
	for i := range 5 {
		items = append(items, providers.DecryptItem{Ciphertext: seal(t, p, nil, fmt.Sprint(i))})
	}
	before := f.count()
	for i, r := range p.DecryptBatch(context.Background(), items) {
		if r.Err != nil || string(r.Plaintext) != fmt.Sprint(i) {
			t.Errorf("item %d = %q, %v", i, r.Plaintext, r.Err)
		}
	}
	if n := f.count() - before; n != 3 {
		t.Errorf("%d requests for 5 items in batches of 2, want 3", n)
	}
	if got := p.DecryptBatch(context.Background(), nil); len(got) != 0 || f.count()-before != 3 {
		t.Errorf("an empty batch made a request or results")
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	p := New(newTestClient(t, "http://"+addr, "s.TESTTOKEN"), "app", WithRetryPolicy(fastRetry))
	_, err = p.Decrypt(context.Background(), []byte("vault:v1:YQ=="), nil)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Decrypt = %v, want ErrUnavailable", err)
	}
	for _, w := range []string{"could not reach Vault at http://" + addr + " for decrypt with key app", "connection refused", "gave up after 4 attempts"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	for i, r := range p.DecryptBatch(context.Background(), []providers.DecryptItem{{Ciphertext: []byte("vault:v1:YQ==")}}) {
		if !errors.Is(r.Err, providers.ErrUnavailable) {
			t.Errorf("batch item %d = %v, want ErrUnavailable", i, r.Err)
		}
	}
}

// TestClientRetriesOff: New turns off the client's own retries, so that a
// failing Vault gets exactly the policy's attempts.
func TestClientRetriesOff(t *testing.T) {
	f := &fakeTransit{fail: vaultErrors(503, "Vault is sealed")}
	srv := httptest.NewServer(f)
	defer srv.Close()
	client := newTestClient(t, srv.URL, "s.TESTTOKEN")
	if client.MaxRetries() == 0 {
		t.Fatal("the test client should retry by default")
	}
	p := New(client, "app", WithRetryPolicy(providers.RetryPolicy{MaxAttempts: 2}))
	if _, err := p.Encrypt(context.Background(), []byte("k"), nil); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Encrypt = %v", err)
	}
	if n := f.count(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestContextEnded(t *testing.T) {
	f, p := newFake(t)
	f.fail = vaultErrors(503, "Vault is sealed")
	p.retry = providers.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := p.Decrypt(ctx, []byte("vault:v1:YQ=="), nil)
	var pe *providers.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &pe) {
		t.Errorf("Decrypt = %v, want a *providers.Error matching context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	f.fail = nil
	n := f.count()
	if _, err := p.Encrypt(ctx, []byte("data key"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt with an ended context = %v", err)
	}
	for _, r := range p.DecryptBatch(ctx, []providers.DecryptItem{{Ciphertext: []byte("vault:v1:YQ==")}}) {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("DecryptBatch with an ended context = %v", r.Err)
		}
	}
	if f.count() != n {
		t.Error("a request was sent with an ended context")
	}
}

// TestURLOpenedProvider: a provider from a key URL sends to VAULT_ADDR with
// VAULT_TOKEN and VAULT_NAMESPACE, and makes one request per attempt even
// when VAULT_MAX_RETRIES asks for more.
func TestURLOpenedProvider(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		writeErrors(w, 503, "Vault is sealed")
	}))
	defer srv.Close()
	isolate(t)
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_TOKEN", "s.ENVTOKEN")
	t.Setenv("VAULT_NAMESPACE", "team-a")
	t.Setenv("VAULT_MAX_RETRIES", "3")
	p, err := providers.Open(context.Background(), "hashivault://app?mount=transit")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.(*Provider).retry = providers.RetryPolicy{MaxAttempts: 1}
	_, err = p.Encrypt(context.Background(), []byte("k"), nil)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Encrypt = %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if r.URL.Path != "/v1/transit/encrypt/app" || r.Header.Get("X-Vault-Token") != "s.ENVTOKEN" || r.Header.Get("X-Vault-Namespace") != "team-a" {
		t.Errorf("request %s %s, token %q, namespace %q", r.Method, r.URL.Path, r.Header.Get("X-Vault-Token"), r.Header.Get("X-Vault-Namespace"))
	}
	if strings.Contains(err.Error(), "ENVTOKEN") || strings.Contains(p.URL(), "ENVTOKEN") {
		t.Errorf("the token shows in %q or %q", err, p.URL())
	}
}
