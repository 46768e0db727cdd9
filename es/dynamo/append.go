package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/foldboard/foldboard/es"
)

// appendAttempts bounds the tries of one append through throttling and
// transient errors (the SDK's own retries happen inside each).
const appendAttempts = 8

// mustNotExist is the condition of every item an append creates.
var mustNotExist = mustBuild(expression.NewBuilder().
	WithCondition(expression.AttributeNotExists(expression.Name(attrPK))))

func mustBuild(b expression.Builder) expression.Expression {
	e, err := b.Build()
	if err != nil {
		panic(err)
	}
	return e
}

// where an append's items sit in its transaction, to read the cancellation
// reasons by index.
type appendLayout struct {
	events int // items 0 … events-1
	head   int
}

// Append writes the events, the head (with the stream's recent command ids)
// and the snapshot in one TransactWriteItems. See the package comment.
func (s *Store) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	if err := validateAppend(req); err != nil {
		return es.AppendResult{}, err
	}
	// req.Recent is the head at Expected as the caller read it: a command id
	// it holds was appended, and is answered without a write.
	if res, err, ok := s.repeat(ctx, req, req.Recent); ok {
		return res, err
	}
	items, layout, next, err := s.appendItems(req)
	if err != nil {
		return es.AppendResult{}, err
	}
	base := requestToken(req)
	generation := 0
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(base)}
	result := es.AppendResult{Version: req.Expected + int64(len(req.Events)), Events: append([]es.Envelope(nil), req.Events...), Commands: next}
	// uncertain: an earlier attempt may have committed, unseen. Retries then
	// keep its ClientRequestToken, which DynamoDB answers for 10 minutes with
	// the first outcome; and a refusal is checked against the events table,
	// where our own first event would be.
	uncertain := false
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, in)
		var kind transience
		var cancelled *types.TransactionCanceledException
		switch {
		case err == nil:
			s.appended(req.Stream, result.Version)
			return result, nil
		case errors.As(err, &cancelled):
			transient, mend, refusal := s.refusal(ctx, req, layout, cancelled)
			if mend != nil && !uncertain {
				// The head is at Expected with other recent ids than the
				// caller said: write it again with the ones it holds.
				req.Recent = *mend
				if items, layout, next, err = s.appendItems(req); err != nil {
					return es.AppendResult{}, err
				}
				in.TransactItems, result.Commands = items, next
				transient = true
			}
			if !transient {
				if uncertain && s.committed(ctx, req) {
					s.appended(req.Stream, result.Version)
					return result, nil
				}
				if refusal == nil {
					refusal = fmt.Errorf("dynamo: append to %s at version %d: %w", req.Stream, req.Expected, err)
				}
				return es.AppendResult{}, refusal
			}
			kind = notApplied
		default:
			kind = classify(ctx, err)
		}
		if kind == mayHaveApplied {
			uncertain = true
		}
		if kind == permanent || attempt >= appendAttempts {
			if uncertain && s.committed(ctx, req) {
				s.appended(req.Stream, result.Version)
				return result, nil
			}
			return es.AppendResult{}, fmt.Errorf("dynamo: append to %s at version %d (%d attempts): %w", req.Stream, req.Expected, attempt, err)
		}
		if !uncertain {
			// Nothing was written: a fresh token, so that DynamoDB does not
			// answer the retry with the refused attempt's outcome.
			generation++
			in.ClientRequestToken = aws.String(base + "-" + strconv.Itoa(generation))
		}
		if err := pause(ctx, attempt, 5*time.Millisecond, 500*time.Millisecond); err != nil {
			return es.AppendResult{}, err
		}
	}
}

// repeat answers req when its command id is among recent: ok, with a
// *es.DuplicateCommandError (its first result read again) or a
// *es.CommandReusedError.
func (s *Store) repeat(ctx context.Context, req es.AppendRequest, recent []es.CommandRecord) (_ es.AppendResult, _ error, ok bool) {
	first, err := es.RepeatOf(recent, req, es.AppendTime(req))
	if err != nil {
		return es.AppendResult{}, err, true
	}
	if first == nil {
		return es.AppendResult{}, nil, false
	}
	res, err := s.commandEvents(ctx, req.Stream, *first)
	if err != nil {
		return es.AppendResult{}, err, true
	}
	res.Commands = recent
	return es.AppendResult{}, &es.DuplicateCommandError{Stream: req.Stream, CommandID: req.CommandID, First: res}, true
}

func validateAppend(req es.AppendRequest) error {
	if err := req.Stream.Validate(); err != nil {
		return fmt.Errorf("dynamo: append: %w", err)
	}
	if req.Expected < 0 {
		return fmt.Errorf("dynamo: append to %s: expected version %d is negative", req.Stream, req.Expected)
	}
	if len(req.Events) == 0 {
		return fmt.Errorf("dynamo: append to %s: no events", req.Stream)
	}
	for i, e := range req.Events {
		want := req.Expected + int64(i) + 1
		if e.Stream != req.Stream || e.Version != want {
			return fmt.Errorf("dynamo: append to %s at version %d: event %d is %s version %d, want %s version %d",
				req.Stream, req.Expected, i, e.Stream, e.Version, req.Stream, want)
		}
	}
	last := req.Expected + int64(len(req.Events))
	if req.State.Version != last {
		return fmt.Errorf("dynamo: append to %s: state version %d, want the last event's %d", req.Stream, req.State.Version, last)
	}
	if snap := req.Snapshot; snap != nil && (snap.Version <= req.Expected || snap.Version > last) {
		return fmt.Errorf("dynamo: append to %s: snapshot at version %d, outside the append's %d-%d", req.Stream, snap.Version, req.Expected+1, last)
	}
	if req.CommandID != "" && !es.ValidID(req.CommandID) {
		return fmt.Errorf("dynamo: append to %s: command id %q: want 1-64 characters of A-Z a-z 0-9 - _ .", req.Stream, req.CommandID)
	}
	return nil
}

// appendItems is the transaction of req: its events, and the head with the
// recent command ids it will hold (next), conditioned on the version and on
// the ids req.Recent says it holds now.
func (s *Store) appendItems(req es.AppendRequest) (_ []types.TransactWriteItem, _ appendLayout, next []es.CommandRecord, _ error) {
	pk := streamKey(req.Stream)
	last := req.Expected + int64(len(req.Events))
	items := make([]types.TransactWriteItem, 0, len(req.Events)+2)
	sizes := make([]int, 0, cap(items))
	put := func(table string, item map[string]types.AttributeValue, cond expression.Expression) *types.Put {
		p := &types.Put{
			TableName:                 aws.String(table),
			Item:                      item,
			ConditionExpression:       cond.Condition(),
			ExpressionAttributeNames:  cond.Names(),
			ExpressionAttributeValues: cond.Values(),
		}
		items = append(items, types.TransactWriteItem{Put: p})
		sizes = append(sizes, itemSize(item))
		return p
	}
	for _, e := range req.Events {
		put(s.events, eventItem(e), mustNotExist)
	}
	layout := appendLayout{events: len(req.Events), head: len(items)}
	headCond, err := headCondition(req)
	if err != nil {
		return nil, layout, nil, fmt.Errorf("dynamo: append to %s: %w", req.Stream, err)
	}
	state := req.State
	state.Version = last
	state.Commands = es.NextCommands(req.Recent, req)
	put(s.state, stateItem(pk, skHead, state), headCond).ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	if req.Snapshot != nil {
		snap := *req.Snapshot
		snap.Commands = nil
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.state),
			Item:      stateItem(pk, snapKey(snap.Version), snap),
		}})
		sizes = append(sizes, itemSize(items[len(items)-1].Put.Item))
	}
	if err := checkSize(sizes); err != nil {
		return nil, layout, nil, fmt.Errorf("dynamo: append to %s: %d events: %w", req.Stream, len(req.Events), err)
	}
	return items, layout, state.Commands, nil
}

// headCondition is what the head must be for req: absent for a new stream,
// else at the expected version; and holding the recent command ids req says
// (the list written is those and req's, so a stale list must not overwrite
// a fresher one).
func headCondition(req es.AppendRequest) (expression.Expression, error) {
	if req.Expected == 0 {
		return mustNotExist, nil
	}
	cond := expression.Name(attrVersion).Equal(expression.Value(req.Expected))
	if cmds := es.EncodeCommands(req.Recent); cmds == "" {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrCommands)))
	} else {
		cond = cond.And(expression.Name(attrCommands).Equal(expression.Value(cmds)))
	}
	return expression.NewBuilder().WithCondition(cond).Build()
}

// checkSize refuses a transaction DynamoDB would refuse for its size.
func checkSize(sizes []int) error {
	if len(sizes) > MaxTransactItems {
		return fmt.Errorf("%d items, DynamoDB takes at most %d in one transaction: %w", len(sizes), MaxTransactItems, ErrTooLarge)
	}
	total := 0
	for i, n := range sizes {
		if n > MaxItemBytes {
			return fmt.Errorf("item %d is %d bytes, DynamoDB takes at most %d: %w", i, n, MaxItemBytes, ErrTooLarge)
		}
		total += n
	}
	if total > MaxTransactBytes {
		return fmt.Errorf("%d bytes, DynamoDB takes at most %d in one transaction: %w", total, MaxTransactBytes, ErrTooLarge)
	}
	return nil
}

// requestToken is the append's ClientRequestToken (at most 36 characters): a
// hash of the stream, the expected version, the command id and the event ids,
// which are new ULIDs for every decision, so two different appends never share
// one while a retry of the same append does.
func requestToken(req es.AppendRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s", streamKey(req.Stream), req.Expected, req.CommandID)
	for _, e := range req.Events {
		fmt.Fprintf(h, "\x00%s", e.ID)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// refusal reads a cancelled transaction's reasons, by index. Head's
// condition: the old head (ALL_OLD) holds the command id (a repeat: its first
// result, or a reused id), or is at another version (a conflict), or is at
// the expected one with other recent command ids than req.Recent (mend: the
// ones it holds, to write again with). An event's: an event already there.
// transient says the transaction lost a race or was throttled and may simply
// be tried again.
func (s *Store) refusal(ctx context.Context, req es.AppendRequest, layout appendLayout, tce *types.TransactionCanceledException) (transient bool, mend *[]es.CommandRecord, err error) {
	reasons := tce.CancellationReasons
	code := func(i int) string {
		if i < 0 || i >= len(reasons) {
			return ""
		}
		return aws.ToString(reasons[i].Code)
	}
	const failed = "ConditionalCheckFailed"
	if code(layout.head) == failed {
		// ALL_OLD returns the head as it was; none means there was none: a
		// new stream, at version 0.
		var old es.StateRecord
		if item := reasons[layout.head].Item; item != nil {
			if old, err = decodeState(item); err != nil {
				return false, nil, &es.ConflictError{Stream: req.Stream, Expected: req.Expected, Actual: -1}
			}
		}
		if _, err, ok := s.repeat(ctx, req, old.Commands); ok {
			return false, nil, err
		}
		if old.Version == req.Expected && req.Expected > 0 {
			return false, &old.Commands, nil
		}
		return false, nil, &es.ConflictError{Stream: req.Stream, Expected: req.Expected, Actual: old.Version}
	}
	for i := range layout.events {
		if code(i) == failed {
			// An event item exists where head said none would: a duplicate.
			return false, nil, &es.ConflictError{Stream: req.Stream, Expected: req.Expected, Actual: -1}
		}
	}
	for i := range reasons {
		switch c := code(i); c {
		case "", "None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
		default:
			return false, nil, fmt.Errorf("dynamo: append to %s at version %d: item %d: %s: %s: %w",
				req.Stream, req.Expected, i, c, aws.ToString(reasons[i].Message), tce)
		}
	}
	return true, nil, nil
}

// committed reports whether this very append is in the store: its first event
// is there under its own id. Used after a retry whose first try may have
// committed unseen.
func (s *Store) committed(ctx context.Context, req es.AppendRequest) bool {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.events),
		Key:            key(streamKey(req.Stream), versionKey(req.Expected+1)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return false
	}
	r := itemReader{item: out.Item}
	return r.str(attrEventID) == req.Events[0].ID
}
