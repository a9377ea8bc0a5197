package integration_test

// Tests of providers/awskms against local-kms (github.com/nsmithuk/local-kms),
// an AWS KMS emulator, served in-process. Run them with go test -run AWS.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"

	"github.com/kmsenc/kmsenc/providers"
	_ "github.com/kmsenc/kmsenc/providers/awskms"
)

const (
	localKMSRegion  = "us-east-1"
	localKMSAccount = "111122223333"
)

// localKMS is a local-kms server for one test, with the requests it got.
type localKMS struct {
	URL   string
	admin *kms.Client // for CreateKey, DisableKey and the like

	mu       sync.Mutex
	requests []kmsRequest
	// intercept, when set, may answer a request in local-kms's stead (a
	// key policy, which local-kms does not enforce, or an outage): it
	// returns true when it answered.
	intercept func(w http.ResponseWriter, r *http.Request, op string) bool
}

// kmsRequest is a request as it reached the server.
type kmsRequest struct {
	Op   string                     // "Encrypt", "Decrypt", ...
	Body map[string]json.RawMessage // the JSON body
}

var localKMSConfig sync.Once

func startLocalKMS(t *testing.T) *localKMS {
	t.Helper()
	localKMSConfig.Do(func() {
		// local-kms keeps these in package variables; every test uses the same.
		config.AWSRegion = localKMSRegion
		config.AWSAccountId = localKMSAccount
		logrus.SetOutput(io.Discard)
	})
	db := data.NewDatabase(filepath.Join(t.TempDir(), "local-kms"))
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)

	k := &localKMS{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := kmsRequest{Body: map[string]json.RawMessage{}}
		_, req.Op, _ = strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		_ = json.Unmarshal(body, &req.Body)
		k.mu.Lock()
		k.requests = append(k.requests, req)
		intercept := k.intercept
		k.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if intercept != nil && intercept(w, r, req.Op) {
			return
		}
		serveLocalKMS(w, r, db, quiet)
	}))
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	k.URL = srv.URL
	k.admin = kms.New(kms.Options{
		Region:       localKMSRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCALKMS", "local-kms-secret", ""),
	})
	return k
}

// serveLocalKMS is local-kms's src.HandleRequest with a logger of our own:
// HandleRequest logs every call through a package logger of local-kms that
// logrus.SetOutput does not reach. The dispatch is the same: the method of
// handler.RequestHandler named by X-Amz-Target.
func serveLocalKMS(w http.ResponseWriter, r *http.Request, db *data.Database, logger *logrus.Logger) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	method := reflect.ValueOf(handler.NewRequestHandler(r, logger, db)).MethodByName(op)
	if op == "" || !method.IsValid() {
		http.Error(w, "not implemented: "+op, http.StatusNotImplemented)
		return
	}
	resp := method.Call(nil)[0].Interface().(handler.Response)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(resp.Code)
	io.WriteString(w, resp.Body)
}

// lastRequest returns the body of the last request of operation op.
func (k *localKMS) lastRequest(t *testing.T, op string) map[string]json.RawMessage {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := len(k.requests) - 1; i >= 0; i-- {
		if k.requests[i].Op == op {
			return k.requests[i].Body
		}
	}
	t.Fatalf("no %s request reached local-kms", op)
	return nil
}

// createKey makes a symmetric key, with an alias when alias isn't empty,
// and returns its ARN.
func (k *localKMS) createKey(t *testing.T, alias string) string {
	t.Helper()
	ctx := context.Background()
	out, err := k.admin.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("kmsenc test key")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	if alias != "" {
		if _, err := k.admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(arn)}); err != nil {
			t.Fatalf("CreateAlias: %v", err)
		}
	}
	return arn
}

// awsTestEnv gives the SDK's default chain static test credentials and
// nothing else: no shared files, no instance metadata, no region. It sets
// them with t.Setenv, for the process: tests that call it (these, and the
// Provider tests) don't run in parallel, and Go runs them before the
// parallel ones.
func awsTestEnv(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      "AKIDKMSENCTEST",
		"AWS_SECRET_ACCESS_KEY":                  "kmsenc-test-secret",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                            "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_KMS":                   "",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_MAX_ATTEMPTS":                       "",
	} {
		t.Setenv(k, v)
	}
}

func openAWSKMS(t *testing.T, keyURL string) providers.Provider {
	t.Helper()
	p, err := providers.Open(context.Background(), keyURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// gemContext is kms_encrypted's default context, the compatibility vector of
// KMS_ENCRYPTED_FORMATS.md.
var gemContext = map[string]string{"model_name": "User", "model_id": "123"}

func TestAWSKMSRoundTrip(t *testing.T) {
	awsTestEnv(t)
	k := startLocalKMS(t)
	arn := k.createKey(t, "alias/app")
	keyID := arn[strings.LastIndex(arn, "/")+1:]
	dataKey := bytes.Repeat([]byte{0x5a}, 32)

	for _, form := range []struct{ name, url string }{
		{"alias", "awskms://alias/app?region=us-east-1&endpoint=" + k.URL},
		{"ARN", "awskms:///" + arn + "?endpoint=" + k.URL}, // the region comes from the ARN
		{"key id", "awskms://" + keyID + "?region=us-east-1&endpoint=" + k.URL},
	} {
		t.Run(form.name, func(t *testing.T) {
			p := openAWSKMS(t, form.url)
			ctx := context.Background()
			ct, err := p.Encrypt(ctx, dataKey, gemContext)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := p.Decrypt(ctx, ct, map[string]string{"model_id": "123", "model_name": "User"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, dataKey) {
				t.Errorf("Decrypt = %x, want %x", pt, dataKey)
			}
			if strings.Contains(p.URL(), "endpoint") || !strings.Contains(p.URL(), "region=us-east-1") {
				t.Errorf("URL() = %q, want the key and region only", p.URL())
			}

			// kms_encrypted decrypts with CiphertextBlob and EncryptionContext
			// alone: the ciphertext must need nothing else.
			out, err := k.admin.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: gemContext})
			if err != nil || !bytes.Equal(out.Plaintext, dataKey) {
				t.Errorf("Decrypt as kms_encrypted calls it = %v", err)
			}
		})
	}
}

// TestAWSKMSRequests: the EncryptionContext that reaches KMS is the context
// as a map of strings (kms_encrypted's form), and both calls name the key.
func TestAWSKMSRequests(t *testing.T) {
	awsTestEnv(t)
	k := startLocalKMS(t)
	k.createKey(t, "alias/app")
	p := openAWSKMS(t, "awskms://alias/app?region=us-east-1&endpoint="+k.URL)
	ct, err := p.Encrypt(context.Background(), []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decrypt(context.Background(), ct, gemContext); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"Encrypt", "Decrypt"} {
		body := k.lastRequest(t, op)
		var ec map[string]any
		if err := json.Unmarshal(body["EncryptionContext"], &ec); err != nil {
			t.Fatalf("%s EncryptionContext %s: %v", op, body["EncryptionContext"], err)
		}
		if want := map[string]any{"model_id": "123", "model_name": "User"}; !reflect.DeepEqual(ec, want) {
			t.Errorf("%s EncryptionContext = %v, want %v", op, ec, want)
		}
		if got := string(body["KeyId"]); got != `"alias/app"` {
			t.Errorf("%s KeyId = %s, want \"alias/app\"", op, got)
		}
	}
}

func TestAWSKMSDecryptFailures(t *testing.T) {
	awsTestEnv(t)
	k := startLocalKMS(t)
	k.createKey(t, "alias/app")
	otherARN := k.createKey(t, "alias/other")
	p := openAWSKMS(t, "awskms://alias/app?region=us-east-1&endpoint="+k.URL)
	other := openAWSKMS(t, "awskms:///"+otherARN+"?endpoint="+k.URL)
	ctx := context.Background()
	ec := map[string]string{"table": "users", "id": "1"}
	ct, err := p.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	otherCT, err := other.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name       string
		ciphertext []byte
		ec         map[string]string
	}{
		{"wrong context", ct, map[string]string{"table": "users", "id": "2"}},
		{"no context", ct, nil},
		{"tampered", tampered, ec},
		{"another key's ciphertext", otherCT, ec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Decrypt(ctx, tt.ciphertext, tt.ec)
			if !errors.Is(err, providers.ErrDecrypt) {
				t.Errorf("Decrypt = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestAWSKMSAccessDenied(t *testing.T) {
	awsTestEnv(t)
	k := startLocalKMS(t)
	arn := k.createKey(t, "alias/app")
	p := openAWSKMS(t, "awskms://alias/app?region=us-east-1&endpoint="+k.URL)
	ctx := context.Background()
	ct, err := p.Encrypt(ctx, []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := k.admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Decrypt(ctx, ct, gemContext)
	wantDenied(t, err, "decrypt", "refused kms:Decrypt: key alias/app is disabled")
	_, err = p.Encrypt(ctx, []byte("data key"), gemContext)
	wantDenied(t, err, "encrypt", "refused kms:Encrypt: key alias/app is disabled")

	// Enabled again, the same row decrypts: a revocation is reversible.
	if _, err := k.admin.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decrypt(ctx, ct, gemContext); err != nil {
		t.Fatalf("Decrypt after EnableKey: %v", err)
	}

	if _, err := k.admin.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Decrypt(ctx, ct, gemContext)
	wantDenied(t, err, "decrypt", "refused kms:Decrypt: key alias/app is not usable", "pending deletion")

	missing := openAWSKMS(t, "awskms://alias/missing?region=us-east-1&endpoint="+k.URL)
	_, err = missing.Encrypt(ctx, []byte("data key"), gemContext)
	wantDenied(t, err, "encrypt", "no key alias/missing in region us-east-1")
}

func wantDenied(t *testing.T, err error, op string, want ...string) {
	t.Helper()
	var pe *providers.Error
	if !errors.Is(err, providers.ErrAccessDenied) || !errors.As(err, &pe) || pe.Op != op {
		t.Fatalf("%s = %v, want a *providers.Error of %s matching ErrAccessDenied", op, err, op)
	}
	if pe.KeyURL != "awskms://alias/app?region=us-east-1" && !strings.Contains(pe.KeyURL, "alias/missing") {
		t.Errorf("KeyURL = %q", pe.KeyURL)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestAWSKMSUnavailable: a throttling or failing KMS is retried as many
// times as providers.DefaultRetryPolicy allows, then reported as
// ErrUnavailable.
func TestAWSKMSUnavailable(t *testing.T) {
	awsTestEnv(t)
	attempts := providers.DefaultRetryPolicy().MaxAttempts
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"throttled", 400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`, "ThrottlingException: Rate exceeded"},
		{"503", 503, `{"__type":"ServiceUnavailableException","message":"Service Unavailable"}`, "HTTP 503"},
		{"503 without a body", 503, ``, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			p := openAWSKMS(t, "awskms://alias/app?region=us-east-1&endpoint="+srv.URL)
			_, err := p.Decrypt(context.Background(), []byte("ciphertext"), gemContext)
			if !errors.Is(err, providers.ErrUnavailable) {
				t.Fatalf("Decrypt = %v, want ErrUnavailable", err)
			}
			if n := requests.Load(); n != int64(attempts) {
				t.Errorf("%d requests, want %d (the SDK's retries must be off)", n, attempts)
			}
			for _, w := range []string{tt.want, fmt.Sprintf("gave up after %d attempts", attempts), "kms:Decrypt on key alias/app"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("closed port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		p := openAWSKMS(t, "awskms://alias/app?region=us-east-1&endpoint=http://"+addr)
		_, err = p.Encrypt(context.Background(), []byte("data key"), gemContext)
		if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Encrypt = %v, want ErrUnavailable saying the connection was refused", err)
		}
	})
}

// setIntercept sets (nil: clears) the function that may answer requests in
// local-kms's stead.
func (k *localKMS) setIntercept(f func(w http.ResponseWriter, r *http.Request, op string) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.intercept = f
}

// count returns the number of requests of operation op so far.
func (k *localKMS) count(op string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, r := range k.requests {
		if r.Op == op {
			n++
		}
	}
	return n
}
