package awskms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsenc/kmsenc/providers"
)

// isolate makes the SDK's default chain see only what a test sets: static
// credentials, no region, no shared files, no instance metadata.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_ACCESS_KEY_ID":                      "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":                  "test-secret-access-key",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_PROFILE":                            "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_KMS":                   "",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_MAX_ATTEMPTS":                       "",
		"AWS_RETRY_MODE":                         "",
	} {
		t.Setenv(k, v)
	}
}

func TestOpenURL(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name, url, env   string // env: AWS_REGION
		wantURL, wantKey string
		wantErr          []string
	}{
		{name: "alias", url: "awskms://alias/app?region=us-east-1", wantURL: "awskms://alias/app?region=us-east-1", wantKey: "alias/app"},
		{name: "key id", url: "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-2", wantURL: "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-2", wantKey: "1234abcd-12ab-34cd-56ef-1234567890ab"},
		{name: "ARN in the path gives the region", url: "awskms:///" + arn, wantURL: "awskms:///" + arn + "?region=us-east-1", wantKey: arn},
		{name: "ARN and its region", url: "awskms:///" + arn + "?region=us-east-1", wantURL: "awskms:///" + arn + "?region=us-east-1", wantKey: arn},
		{name: "alias ARN", url: "awskms:///arn:aws:kms:eu-central-1:111122223333:alias/app", wantURL: "awskms:///arn:aws:kms:eu-central-1:111122223333:alias/app?region=eu-central-1", wantKey: "arn:aws:kms:eu-central-1:111122223333:alias/app"},
		{name: "region from the environment", url: "awskms://alias/app", env: "ap-south-1", wantURL: "awskms://alias/app?region=ap-south-1", wantKey: "alias/app"},
		{name: "endpoint not shown", url: "awskms://alias/app?region=us-east-1&endpoint=http://127.0.0.1:4566", wantURL: "awskms://alias/app?region=us-east-1", wantKey: "alias/app"},
		{name: "trailing slash", url: "awskms://alias/app/?region=us-east-1", wantURL: "awskms://alias/app?region=us-east-1", wantKey: "alias/app"},

		{name: "no region", url: "awskms://alias/app", wantErr: []string{"no AWS region", "region=", "AWS_REGION"}},
		{name: "ARN in another region", url: "awskms:///" + arn + "?region=eu-west-1", wantErr: []string{"us-east-1", "region=eu-west-1"}},
		{name: "unknown parameter", url: "awskms://alias/app?region=us-east-1&regoin=x", wantErr: []string{`"regoin"`, "region, profile, endpoint"}},
		{name: "repeated parameter", url: "awskms://alias/app?region=us-east-1&region=us-west-2", wantErr: []string{"region parameter takes one value"}},
		{name: "bad endpoint", url: "awskms://alias/app?region=us-east-1&endpoint=127.0.0.1:4566", wantErr: []string{"http://"}},
		{name: "no key", url: "awskms://?region=us-east-1", wantErr: []string{"names no key"}},
		{name: "credentials in the URL", url: "awskms://AKIDSECRET:hunter2@alias/app?region=us-east-1", wantErr: []string{"holds no credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			if tt.env != "" {
				t.Setenv("AWS_REGION", tt.env)
			}
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
				for _, secret := range []string{"hunter2", "AKIDSECRET"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows a credential", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			defer p.Close()
			if got := p.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
			if got := p.(*Provider).keyID; got != tt.wantKey {
				t.Errorf("key id = %q, want %q", got, tt.wantKey)
			}
		})
	}
}

// fakeKMS answers the KMS JSON protocol: Encrypt returns the plaintext
// reversed as the ciphertext, Decrypt reverses it back, unless fail says
// otherwise. It records every request.
type fakeKMS struct {
	mu       sync.Mutex
	requests []fakeRequest
	// fail, if set, answers a request instead: HTTP status and body.
	fail func(r fakeRequest) (status int, body string)
}

type fakeRequest struct {
	Target string // "Encrypt", "Decrypt"
	Body   struct {
		KeyId             *string
		Plaintext         []byte
		CiphertextBlob    []byte
		EncryptionContext map[string]string
	}
	RawBody map[string]json.RawMessage
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req fakeRequest
	_, req.Target, _ = strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	dec := json.NewDecoder(r.Body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	_ = json.Unmarshal(raw, &req.Body)
	_ = json.Unmarshal(raw, &req.RawBody)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	fail := f.fail
	f.mu.Unlock()

	if fail != nil {
		status, body := fail(req)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	var resp any
	switch req.Target {
	case "Encrypt":
		resp = map[string]any{"KeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "CiphertextBlob": reversed(req.Body.Plaintext)}
	case "Decrypt":
		resp = map[string]any{"KeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "Plaintext": reversed(req.Body.CiphertextBlob)}
	default:
		http.Error(w, "unexpected target "+req.Target, 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeKMS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeKMS) last() fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

var fastRetry = providers.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// newTestClient is a client as an application would build it: with the
// SDK's standard retries on, which the provider must turn off.
func newTestClient(endpoint string) *kms.Client {
	return kms.New(kms.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		RetryMode:    aws.RetryModeStandard,
	})
}

func newFake(t *testing.T) (*fakeKMS, *Provider) {
	t.Helper()
	f := &fakeKMS{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, New(newTestClient(srv.URL), "alias/app", WithRetryPolicy(fastRetry))
}

func TestRequests(t *testing.T) {
	f, p := newFake(t)
	ctx := context.Background()
	ec := map[string]string{"model_name": "User", "model_id": "123"}
	ct, err := p.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	enc := f.last()
	if enc.Target != "Encrypt" || aws.ToString(enc.Body.KeyId) != "alias/app" || string(enc.Body.Plaintext) != "data key" {
		t.Errorf("Encrypt request = %s %+v", enc.Target, enc.Body)
	}
	if fmt.Sprint(enc.Body.EncryptionContext) != fmt.Sprint(ec) {
		t.Errorf("EncryptionContext = %v, want %v", enc.Body.EncryptionContext, ec)
	}
	pt, err := p.Decrypt(ctx, ct, ec)
	if err != nil || string(pt) != "data key" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	dec := f.last()
	if dec.Target != "Decrypt" || aws.ToString(dec.Body.KeyId) != "alias/app" || string(dec.Body.CiphertextBlob) != "yek atad" {
		t.Errorf("Decrypt request = %s %+v", dec.Target, dec.Body)
	}
	if fmt.Sprint(dec.Body.EncryptionContext) != fmt.Sprint(ec) {
		t.Errorf("EncryptionContext = %v, want %v", dec.Body.EncryptionContext, ec)
	}

	// An empty context is no EncryptionContext at all, as the gem sends it.
	for _, empty := range []map[string]string{nil, {}} {
		if _, err := p.Encrypt(ctx, []byte("k"), empty); err != nil {
			t.Fatal(err)
		}
		if raw, ok := f.last().RawBody["EncryptionContext"]; ok {
			t.Errorf("context %v sent as EncryptionContext %s, want none", empty, raw)
		}
	}
	if n := f.count(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func apiError(status int, code, msg string) func(fakeRequest) (int, string) {
	return func(fakeRequest) (int, string) {
		b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
		return status, string(b)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		fail      func(fakeRequest) (int, string)
		kind      error // nil: no kind
		wantCalls int
		want      []string
	}{
		{"access denied", opDecrypt, apiError(400, "AccessDeniedException", "User: arn:aws:iam::1:user/app is not authorized to perform: kms:Decrypt"), providers.ErrAccessDenied, 1,
			[]string{"decrypt with master key awskms://alias/app?region=us-east-1", "denied kms:Decrypt on key alias/app", "grant kms:Decrypt", "encrypt-only"}},
		{"access denied on encrypt", opEncrypt, apiError(400, "AccessDeniedException", "not authorized"), providers.ErrAccessDenied, 1,
			[]string{"denied kms:Encrypt on key alias/app", "grant kms:Encrypt"}},
		{"disabled", opDecrypt, apiError(400, "DisabledException", "arn:aws:kms:us-east-1:1:key/k is disabled."), providers.ErrAccessDenied, 1,
			[]string{"refused kms:Decrypt: key alias/app is disabled", "DisabledException"}},
		{"pending deletion", opDecrypt, apiError(400, "KMSInvalidStateException", "arn:aws:kms:us-east-1:1:key/k is pending deletion."), providers.ErrAccessDenied, 1,
			[]string{"refused kms:Decrypt: key alias/app is not usable", "pending deletion"}},
		{"not found", opEncrypt, apiError(400, "NotFoundException", "Alias arn:aws:kms:us-east-1:1:alias/app is not found."), providers.ErrAccessDenied, 1,
			[]string{"no key alias/app in region us-east-1"}},
		{"bad credentials", opEncrypt, apiError(400, "UnrecognizedClientException", "The security token included in the request is invalid."), providers.ErrAccessDenied, 1,
			[]string{"rejected this service's credentials for kms:Encrypt"}},
		{"signing key usage", opEncrypt, apiError(400, "InvalidKeyUsageException", "not ENCRYPT_DECRYPT"), providers.ErrAccessDenied, 1,
			[]string{"not a symmetric ENCRYPT_DECRYPT key"}},
		{"wrong context", opDecrypt, apiError(400, "InvalidCiphertextException", ""), providers.ErrDecrypt, 1,
			[]string{"could not decrypt the wrapped key with key alias/app and this encryption context (InvalidCiphertextException)"}},
		{"other key", opDecrypt, apiError(400, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation."), providers.ErrDecrypt, 1,
			[]string{"encrypted under another KMS key than alias/app"}},
		{"throttled", opDecrypt, apiError(400, "ThrottlingException", "Rate exceeded"), providers.ErrUnavailable, 4,
			[]string{"did not complete kms:Decrypt on key alias/app (HTTP 400, ThrottlingException: Rate exceeded) (gave up after 4 attempts)", "retry"}},
		{"request quota", opEncrypt, apiError(400, "LimitExceededException", "too many requests"), providers.ErrUnavailable, 4, nil},
		{"internal", opEncrypt, apiError(500, "KMSInternalException", "internal"), providers.ErrUnavailable, 4, nil},
		{"dependency timeout", opDecrypt, apiError(503, "DependencyTimeoutException", "timeout"), providers.ErrUnavailable, 4, nil},
		{"key store unavailable", opDecrypt, apiError(400, "KeyUnavailableException", "unavailable"), providers.ErrUnavailable, 4, nil},
		{"503 from a proxy", opDecrypt, func(fakeRequest) (int, string) { return 503, "<html>Service Unavailable</html>" }, providers.ErrUnavailable, 4,
			[]string{"AWS KMS answered kms:Decrypt on key alias/app with HTTP 503 (gave up after 4 attempts)"}},
		{"validation", opEncrypt, apiError(400, "ValidationException", "1 validation error detected"), nil, 1,
			[]string{"kms:Encrypt on key alias/app failed (HTTP 400, ValidationException: 1 validation error detected)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newFake(t)
			f.fail = tt.fail
			var err error
			if tt.op == opEncrypt {
				_, err = p.Encrypt(context.Background(), []byte("PLAINTEXT-CANARY"), map[string]string{"table": "users"})
			} else {
				_, err = p.Decrypt(context.Background(), []byte("ciphertext"), map[string]string{"table": "users"})
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != tt.op || pe.KeyURL != "awskms://alias/app?region=us-east-1" {
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
			if strings.Contains(err.Error(), "PLAINTEXT-CANARY") {
				t.Errorf("error %q shows the plaintext", err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	p := New(newTestClient("http://"+addr), "alias/app", WithRetryPolicy(fastRetry))
	_, err = p.Decrypt(context.Background(), []byte("ciphertext"), nil)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Decrypt = %v, want ErrUnavailable", err)
	}
	for _, w := range []string{"could not reach AWS KMS for kms:Decrypt on key alias/app", "connection refused", "gave up after 4 attempts"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestNoCredentials(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	f := &fakeKMS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p, err := providers.Open(context.Background(), "awskms://alias/app?region=us-east-1&endpoint="+srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Encrypt(context.Background(), []byte("data key"), nil)
	if !errors.Is(err, providers.ErrAccessDenied) || !strings.Contains(err.Error(), "no AWS credentials for kms:Encrypt on key alias/app") {
		t.Errorf("Encrypt = %v, want ErrAccessDenied saying that there are no credentials", err)
	}
	if n := f.count(); n != 0 {
		t.Errorf("%d requests reached KMS without credentials", n)
	}
}

func TestContextEnded(t *testing.T) {
	f, p := newFake(t)
	f.fail = apiError(400, "ThrottlingException", "Rate exceeded")
	p.retry = providers.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := p.Decrypt(ctx, []byte("ciphertext"), nil)
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
	if f.count() != n {
		t.Error("a request was sent with an ended context")
	}
}

// TestURLOpenedProvider: a provider from a key URL sends to the endpoint
// with the URL's region and the environment's credentials, and makes one
// request per attempt.
func TestURLOpenedProvider(t *testing.T) {
	isolate(t)
	f := &fakeKMS{}
	var authz string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz = r.Header.Get("Authorization")
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	p, err := providers.Open(context.Background(), "awskms://alias/app?region=eu-west-3&endpoint="+srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := p.Encrypt(context.Background(), []byte("data key"), map[string]string{"table": "users"})
	if err != nil || base64.StdEncoding.EncodeToString(ct) != base64.StdEncoding.EncodeToString(reversed([]byte("data key"))) {
		t.Fatalf("Encrypt = %q, %v", ct, err)
	}
	if !strings.Contains(authz, "Credential=AKIDTEST/") || !strings.Contains(authz, "/eu-west-3/kms/aws4_request") {
		t.Errorf("Authorization = %q, want the environment's key id and the URL's region", authz)
	}
	f.fail = apiError(400, "ThrottlingException", "Rate exceeded")
	p.(*Provider).retry = providers.RetryPolicy{MaxAttempts: 2}
	n := f.count()
	if _, err := p.Decrypt(context.Background(), ct, nil); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Decrypt = %v, want ErrUnavailable", err)
	}
	if got := f.count() - n; got != 2 {
		t.Errorf("%d requests for 2 attempts: the SDK's own retries are on", got)
	}
}
