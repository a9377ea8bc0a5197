package providers

import (
	"errors"
	"strings"
)

// The kinds of provider failure. Match them with errors.Is; a [*Error] from a
// provider wraps one of them (or the context's error).
var (
	// ErrAccessDenied: the KMS refused to use the master key because this
	// service lacks the permission (for example an encrypt-only service asked
	// to decrypt), the permission was revoked, or the key is disabled.
	ErrAccessDenied = errors.New("kmsenc: KMS access denied")

	// ErrUnavailable: the KMS could not be reached, or throttled the call,
	// after the provider's retries.
	ErrUnavailable = errors.New("kmsenc: KMS unavailable")

	// ErrDecrypt: authentication failed. The data was tampered with, moved to
	// another row or column, or is decrypted with the wrong key or context.
	ErrDecrypt = errors.New("kmsenc: decryption failed")
)

// Error is a failed provider call: which operation, on which master key, and
// why. Err matches [ErrAccessDenied], [ErrUnavailable] or [ErrDecrypt] when
// the failure is one of those.
type Error struct {
	Op     string // "encrypt" or "decrypt"
	KeyURL string // the key URL with secrets removed (Provider.URL)
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kmsenc: ")
	b.WriteString(e.Op)
	b.WriteString(" with master key ")
	b.WriteString(e.KeyURL)
	b.WriteString(" failed: ")
	if e.Err == nil {
		b.WriteString("unknown error")
	} else {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "kmsenc: "))
	}
	if advice := e.advice(); advice != "" {
		b.WriteString(". ")
		b.WriteString(advice)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) advice() string {
	switch {
	case errors.Is(e.Err, ErrAccessDenied) && e.Op == "decrypt":
		return "Check that this service may decrypt with the key and that the key is enabled; a service with encrypt-only permission can write encrypted columns but not read them"
	case errors.Is(e.Err, ErrAccessDenied):
		return "Check that this service may encrypt with the key and that the key is enabled"
	case errors.Is(e.Err, ErrUnavailable):
		return "Check the network path to the KMS and its request quota, then retry"
	case errors.Is(e.Err, ErrDecrypt):
		return "The wrapped data key or its encryption context was altered, or it was wrapped under another master key: check the key URL, previous_versions and the table's context settings"
	}
	return ""
}

// CallError is a failed call to a key management service in kmsenc's terms,
// as the provider packages build it: it matches Kind (ErrAccessDenied,
// ErrDecrypt, ErrUnavailable, or nil when none fits) and the SDK's error
// Cause with errors.Is and errors.As, and reads as one sentence.
type CallError struct {
	Kind  error
	Msg   string
	Cause error // may be nil
}

func (e *CallError) Error() string {
	if e.Kind == nil {
		return e.Msg
	}
	return e.Kind.Error() + ": " + e.Msg
}

// Unwrap returns Kind and Cause, those that are set.
func (e *CallError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Transient is the classification a provider gives [Retry]: an error worth
// another attempt is one that matches ErrUnavailable.
func Transient(err error) bool { return errors.Is(err, ErrUnavailable) }
