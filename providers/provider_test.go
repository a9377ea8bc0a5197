package providers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

type nopProvider struct{ url string }

func (p nopProvider) Encrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, nil
}
func (p nopProvider) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, nil
}
func (p nopProvider) URL() string  { return p.url }
func (p nopProvider) Close() error { return nil }

func init() {
	Register("test-nop", func(_ context.Context, u *url.URL) (Provider, error) {
		if u.Query().Get("fail") != "" {
			return nil, errors.New("opener failed")
		}
		return nopProvider{url: "test-nop://" + u.Host}, nil
	})
}

func TestOpen(t *testing.T) {
	p, err := Open(context.Background(), "  TEST-NOP://host  ")
	if err != nil {
		t.Fatal(err)
	}
	if p.URL() != "test-nop://host" {
		t.Errorf("URL() = %q", p.URL())
	}
	_, err = Open(context.Background(), "test-nop://host?fail=1")
	if err == nil || !strings.Contains(err.Error(), "opener failed") || !strings.Contains(err.Error(), "test-nop://") {
		t.Errorf("opener error = %v, want it wrapped with the scheme", err)
	}
}

func TestOpenErrors(t *testing.T) {
	const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ"
	tests := []struct {
		name    string
		url     string
		want    []string
		notWant []string
	}{
		{"unknown scheme of kmsenc", "awskms://alias/app", []string{`"awskms"`, "test-nop", `import _ "github.com/kmsenc/kmsenc/providers/awskms"`}, nil},
		{"vault package", "hashivault://app", []string{`import _ "github.com/kmsenc/kmsenc/providers/vault"`}, nil},
		{"unknown scheme", "nosuch://x", []string{`"nosuch"`, "registered schemes: ", "test-nop", "providers/awskms"}, nil},
		{"no scheme", secret, []string{"<scheme>://"}, []string{secret}},
		{"bad scheme", "1" + secret + "://x", []string{"<scheme>://"}, []string{secret}},
		{"unparsable", "test-nop://" + secret + "%zz", []string{"test-nop://", "percent-escape"}, []string{secret, "%zz"}},
		{"control character", "test-nop://" + secret + "\x7f", []string{"test-nop://", "control character"}, []string{secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.url)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}

func TestRegisterPanics(t *testing.T) {
	open := func(context.Context, *url.URL) (Provider, error) { return nil, nil }
	tests := []struct {
		name   string
		scheme string
		open   Opener
	}{
		{"duplicate", "test-nop", open},
		{"nil opener", "test-nil", nil},
		{"empty scheme", "", open},
		{"upper case", "Test-Upper", open},
		{"with separator", "test://", open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", tt.scheme)
				}
			}()
			Register(tt.scheme, tt.open)
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		is   error
		want []string
	}{
		{&Error{"decrypt", "awskms://alias/app", fmt.Errorf("%w: AccessDeniedException", ErrAccessDenied)}, ErrAccessDenied,
			[]string{"kmsenc: decrypt with master key awskms://alias/app failed: KMS access denied: AccessDeniedException", "may decrypt", "encrypt-only"}},
		{&Error{"encrypt", "awskms://alias/app", ErrAccessDenied}, ErrAccessDenied, []string{"may encrypt"}},
		{&Error{"encrypt", "gcpkms://projects/p", fmt.Errorf("%w: timeout", ErrUnavailable)}, ErrUnavailable, []string{"encrypt with master key gcpkms://projects/p", "retry"}},
		{&Error{"decrypt", "hashivault://app", ErrDecrypt}, ErrDecrypt, []string{"decryption failed", "previous_versions"}},
		{&Error{"decrypt", "hashivault://app", context.Canceled}, context.Canceled, []string{"context canceled"}},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
			}
			var pe *Error
			if !errors.As(fmt.Errorf("wrapped: %w", tt.err), &pe) || pe != tt.err {
				t.Error("errors.As does not find *Error")
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.err.Error(), w) {
					t.Errorf("%q does not contain %q", tt.err, w)
				}
			}
		})
	}
}

func TestScheme(t *testing.T) {
	for in, want := range map[string]string{
		"awskms://alias/app":     "awskms",
		"BASE64KEY://(redacted)": "base64key",
		"no scheme":              "",
		"://x":                   "",
	} {
		if got := Scheme(in); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCallError: a provider's error matches its kind and its cause, and
// only the transient kind is retried.
func TestCallError(t *testing.T) {
	cause := errors.New("sdk: 503")
	err := error(&CallError{Kind: ErrUnavailable, Msg: "the KMS did not answer", Cause: cause})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) || errors.Is(err, ErrDecrypt) {
		t.Errorf("errors.Is on %v", err)
	}
	if err.Error() != ErrUnavailable.Error()+": the KMS did not answer" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !Transient(err) || Transient(&CallError{Kind: ErrAccessDenied, Msg: "no"}) || Transient(&CallError{Msg: "other"}) {
		t.Error("Transient must hold for ErrUnavailable only")
	}
	if got := (&CallError{Msg: "plain"}).Error(); got != "plain" {
		t.Errorf("Error() without a kind = %q", got)
	}
}
