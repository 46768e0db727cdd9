package dynamo

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// transience says what a failed call means for a retry.
type transience int

const (
	// permanent: retrying will not help.
	permanent transience = iota
	// notApplied: DynamoDB refused the call before changing anything
	// (throttling, a conflicting transaction); a retry is safe.
	notApplied
	// mayHaveApplied: the call may or may not have taken effect (a server
	// error, a lost connection); a retry must be idempotent.
	mayHaveApplied
)

// Error codes DynamoDB and DynamoDB Streams answer for throttling and
// contention: nothing was written.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"RequestLimitExceeded":                   true,
	"LimitExceededException":                 true,
	"TransactionConflictException":           true,
}

// Error codes for a call whose outcome is unknown.
var serverCodes = map[string]bool{
	"InternalServerError":            true,
	"InternalFailure":                true,
	"ServiceUnavailable":             true,
	"TransactionInProgressException": true, // the same token is still being worked on
	"RequestTimeout":                 true,
	"RequestTimeoutException":        true,
}

// throttled reports whether DynamoDB refused a call for its rate.
func throttled(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && throttleCodes[api.ErrorCode()] && api.ErrorCode() != "TransactionConflictException"
}

func classify(ctx context.Context, err error) transience {
	if err == nil || ctx.Err() != nil {
		return permanent
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case throttleCodes[code]:
			return notApplied
		case serverCodes[code]:
			return mayHaveApplied
		}
		if api.ErrorFault() == smithy.FaultServer {
			return mayHaveApplied
		}
		return permanent
	}
	// Not an answer from DynamoDB: a connection refused, reset or timed out.
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary ||
		errors.Is(err, context.DeadlineExceeded) {
		return mayHaveApplied
	}
	return permanent
}

// pause waits before retry attempt n (1, 2, …): a random delay under a ceiling
// that doubles from base up to max ("full jitter"), so that writers that
// collided do not collide again in step.
func pause(ctx context.Context, attempt int, base, max time.Duration) error {
	ceiling := base << min(attempt-1, 20)
	if ceiling > max || ceiling <= 0 {
		ceiling = max
	}
	d := base/2 + time.Duration(mrand.Int64N(int64(ceiling)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
