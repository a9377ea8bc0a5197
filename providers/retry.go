package providers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a provider retries a KMS call that failed for a
// transient reason: the KMS could not be reached, throttled the call, or
// reported an internal error. Waits grow exponentially with full jitter
// (before attempt n+1 a provider waits a random duration in
// [0, min(MaxDelay, BaseDelay·2^(n-1))]), so that many clients throttled at
// once don't retry in step and throttle each other again.
//
// The zero value makes one attempt. Providers use [DefaultRetryPolicy] unless
// told otherwise; tests shorten the delays.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; 0 or 1 means no retry
	BaseDelay   time.Duration // bound of the first wait
	MaxDelay    time.Duration // bound of every wait
}

// DefaultRetryPolicy returns the policy of kmsenc's providers: at most 5
// attempts, waits bounded by 50ms, 100ms, 200ms and 400ms (2s at most), so
// that a KMS outage fails a query within about a second instead of hanging.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: 50 * time.Millisecond, MaxDelay: 2 * time.Second}
}

// bound returns the longest wait after the given failed attempt (1-based).
func (p RetryPolicy) bound(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	return max(min(d, p.MaxDelay), 0)
}

// Retry calls call until it succeeds, fails with an error that retryable
// rejects, or policy.MaxAttempts calls have failed, waiting between attempts
// as the policy says. It never waits past ctx's deadline: when the next wait
// would end after it, Retry gives up at once.
//
// Retry returns nil on success; a non-retryable error as call returned it;
// after the last attempt, call's last error, annotated with the number of
// attempts and still matching it with errors.Is and errors.As. When ctx ends
// during a call that failed with a retryable error (a transport that reports
// the end of ctx in its own terms) or during a wait, the error matches
// ctx.Err() with errors.Is and tells call's last error.
//
// retryable classifies call's errors. It must not sleep or call the KMS.
func Retry(ctx context.Context, policy RetryPolicy, retryable func(error) bool, call func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return err
		case !retryable(err):
			return err
		case ctx.Err() != nil:
			return contextEnded(ctx, err, attempt)
		case attempt >= policy.MaxAttempts:
			return gaveUp(err, attempt, "")
		}
		wait := rand.N(policy.bound(attempt) + 1)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return gaveUp(err, attempt, "; the context's deadline leaves no time for another")
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return contextEnded(ctx, err, attempt)
		case <-timer.C:
		}
	}
}

func gaveUp(err error, attempts int, why string) error {
	if attempts == 1 && why == "" {
		return err
	}
	return fmt.Errorf("%w (gave up after %s%s)", err, attemptCount(attempts), why)
}

func attemptCount(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func contextEnded(ctx context.Context, err error, attempts int) error {
	return &stoppedError{ctxErr: ctx.Err(), last: err, attempts: attempts}
}

// stoppedError is the result of a Retry that ctx ended: it matches the
// context's error, and names the last failure, which it doesn't match: the
// call did not fail for that reason in the end.
type stoppedError struct {
	ctxErr   error
	last     error
	attempts int
}

func (e *stoppedError) Error() string {
	return fmt.Sprintf("%v after %s; the last one failed with: %v", e.ctxErr, attemptCount(e.attempts), e.last)
}

func (e *stoppedError) Unwrap() error { return e.ctxErr }
