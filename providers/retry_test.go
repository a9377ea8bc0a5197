package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	errTransient = errors.New("throttled")
	errPermanent = errors.New("access denied")
)

func isTransient(err error) bool { return errors.Is(err, errTransient) }

// fastPolicy retries without noticeable waits.
var fastPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}

// failing returns a call that fails with the given errors in turn, then
// succeeds, and counts its calls.
func failing(calls *int, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return nil
	}
}

func TestRetryAttempts(t *testing.T) {
	tests := []struct {
		name      string
		policy    RetryPolicy
		errs      []error
		wantCalls int
		wantErr   error // nil: success
		wantText  string
	}{
		{"success at once", fastPolicy, nil, 1, nil, ""},
		{"transient then success", fastPolicy, []error{errTransient, errTransient}, 3, nil, ""},
		{"success at the last attempt", fastPolicy, []error{errTransient, errTransient, errTransient}, 4, nil, ""},
		{"always transient", fastPolicy, []error{errTransient, errTransient, errTransient, errTransient, errTransient}, 4, errTransient, "throttled (gave up after 4 attempts)"},
		{"permanent", fastPolicy, []error{errPermanent}, 1, errPermanent, "access denied"},
		{"permanent after transient", fastPolicy, []error{errTransient, errPermanent}, 2, errPermanent, "access denied"},
		{"zero policy: one attempt", RetryPolicy{}, []error{errTransient}, 1, errTransient, "throttled"},
		{"one attempt", RetryPolicy{MaxAttempts: 1}, []error{errTransient}, 1, errTransient, "throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(context.Background(), tt.policy, isTransient, failing(&calls, tt.errs...))
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("Retry = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Retry = %v, want it to match %v", err, tt.wantErr)
			}
			if err == nil || err.Error() != tt.wantText {
				t.Errorf("Retry = %q, want %q", err, tt.wantText)
			}
		})
	}
}

func TestRetryKeepsErrorType(t *testing.T) {
	type apiError struct{ error }
	calls := 0
	err := Retry(context.Background(), fastPolicy, func(error) bool { return true },
		failing(&calls, apiError{errTransient}, apiError{errTransient}, apiError{errTransient}, apiError{errTransient}))
	var ae apiError
	if !errors.As(err, &ae) {
		t.Errorf("errors.As(%v, apiError) = false; callers classify the SDK's error after Retry", err)
	}
}

// TestRetryDeadline: a wait that would end after ctx's deadline is not
// started; Retry gives up with the call's error at once.
func TestRetryDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	slow := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	calls := 0
	start := time.Now()
	err := Retry(ctx, slow, isTransient, failing(&calls, errTransient, errTransient, errTransient, errTransient, errTransient))
	if elapsed := time.Since(start); elapsed > 150*time.Millisecond {
		t.Errorf("Retry took %v; it must not wait when the deadline is nearer than the wait", elapsed)
	}
	if !errors.Is(err, errTransient) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Retry = %v, want the call's error (the context had not ended)", err)
	}
	if !strings.Contains(fmt.Sprint(err), "deadline leaves no time") {
		t.Errorf("Retry = %v, want it to say why it stopped", err)
	}
	if calls > 2 {
		t.Errorf("%d calls", calls)
	}
}

// TestRetryCanceledDuringWait: the end of ctx interrupts a wait, and the
// error matches the context's error and tells the last failure.
func TestRetryCanceledDuringWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	slow := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	calls := 0
	start := time.Now()
	err := Retry(ctx, slow, isTransient, failing(&calls, errTransient, errTransient, errTransient, errTransient, errTransient))
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Retry took %v after the context ended", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Retry = %v, want it to match context.Canceled", err)
	}
	if errors.Is(err, errTransient) {
		t.Errorf("Retry = %v matches the last failure; the call stopped because of the context", err)
	}
	if !strings.Contains(fmt.Sprint(err), "throttled") {
		t.Errorf("Retry = %v, want it to tell the last failure", err)
	}
}

func TestRetryContextErrorOfCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	always := func(error) bool { return true }

	// The call reports the end of ctx as ctx's error: returned as it is.
	err := Retry(ctx, fastPolicy, always, func(ctx context.Context) error {
		calls++
		cancel()
		return fmt.Errorf("request canceled: %w", ctx.Err())
	})
	if calls != 1 || !errors.Is(err, context.Canceled) || err.Error() != "request canceled: context canceled" {
		t.Errorf("Retry = %v after %d calls, want the call's error after 1", err, calls)
	}

	// The call reports the end of ctx in its own terms (gRPC's
	// DEADLINE_EXCEEDED status): no retry, and the error matches ctx's.
	calls = 0
	ctx, cancel = context.WithCancel(context.Background())
	err = Retry(ctx, fastPolicy, isTransient, func(context.Context) error {
		calls++
		cancel()
		return errTransient
	})
	if calls != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Retry = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func TestRetryPolicyBound(t *testing.T) {
	p := DefaultRetryPolicy()
	if p.MaxAttempts != 5 || p.BaseDelay != 50*time.Millisecond || p.MaxDelay != 2*time.Second {
		t.Errorf("DefaultRetryPolicy() = %+v", p)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		if got := p.bound(i + 1); got != w*time.Millisecond {
			t.Errorf("bound(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := p.bound(1000); got != p.MaxDelay {
		t.Errorf("bound(1000) = %v, want the cap (no overflow)", got)
	}
	if got := (RetryPolicy{MaxAttempts: 3}).bound(2); got != 0 {
		t.Errorf("zero delays: bound = %v", got)
	}
}
