package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/foldboard/foldboard/es"
)

// DefaultFailover is how long a taker watches a lease's counter stand still
// before it takes the lease (the Kinesis Client Library's default).
const DefaultFailover = 10 * time.Second

// ErrDeposed says this instance does not hold the lease (any more): another
// took it, or it was never taken. A save refused so has written nothing. It
// matches es.ErrFenced: a reactor whose fenced save it refuses stops.
var ErrDeposed = fmt.Errorf("dynamo: the projector lease is not held by this instance: %w", es.ErrFenced)

// The lease item, in the readmodels table.
const (
	leasePK       = "lease"
	leaseSK       = "projector"
	attrOwner     = "owner"
	attrCounter   = "counter"
	attrEpoch     = "epoch"
	attrExpires   = "expires" // Unix ms, for people: takers trust no clock but their own
	leaseAttempts = 4
)

// Lease is the cluster's one projector lease, after the Kinesis Client
// Library's: an item with an owner, a counter the owner bumps at every
// renewal, and an epoch that grows with every new holder, written only
// with conditional writes and read strongly consistent. A taker takes a
// held lease only after seeing its counter stand still for the whole
// failover time, measured on its own clock; a released one (a graceful
// stop), at once. The epoch fences: every save of the holder's read models
// checks it in the same transaction (ReadModels), so a deposed or paused
// holder cannot write.
type Lease struct {
	s        *Store
	owner    string
	failover time.Duration

	mu        sync.Mutex
	epoch     int64     // held; 0 when not
	watched   leaseItem // as last seen while not held
	watchedAt time.Time // when watched's counter was first seen
	onLost    func(epoch int64)
}

type leaseItem struct {
	exists         bool
	owner          string // "" when released
	counter, epoch int64
}

// Lease is the projector lease as the instance named owner sees it;
// failover 0 is DefaultFailover. onLost, when set, is called (once per
// epoch, in its own goroutine) when a renewal or a save finds the lease
// taken by another.
func (s *Store) Lease(owner string, failover time.Duration, onLost func(epoch int64)) *Lease {
	if failover <= 0 {
		failover = DefaultFailover
	}
	if onLost == nil {
		onLost = func(int64) {}
	}
	return &Lease{s: s, owner: owner, failover: failover, onLost: onLost}
}

// Failover is how long a held lease's counter must stand still before
// another instance takes it; renew well within it (a third).
func (l *Lease) Failover() time.Duration { return l.failover }

// Epoch is the epoch held, 0 when the lease is not.
func (l *Lease) Epoch() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

// Acquire tries once to take the lease and reports whether this instance
// holds it after the call: when there is none yet, when it was released,
// or when its counter has stood still since this instance first saw it a
// failover time ago. Call it every so often (a third of the failover).
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	if l.Epoch() != 0 {
		return true, nil
	}
	it, err := l.read(ctx)
	if err != nil {
		return false, err
	}
	now := time.Now()
	l.mu.Lock()
	if it.owner != "" && (it != l.watched || l.watchedAt.IsZero()) {
		l.watched, l.watchedAt = it, now // moved (or first seen): watch again
	}
	standing := now.Sub(l.watchedAt)
	l.mu.Unlock()
	if it.owner != "" && standing < l.failover {
		return false, nil
	}
	epoch := it.epoch + 1
	item := key(leasePK, leaseSK)
	item[attrOwner] = str(l.owner)
	item[attrCounter] = num(it.counter + 1)
	item[attrEpoch] = num(epoch)
	item[attrExpires] = num(now.Add(l.failover).UnixMilli())
	cond := mustNotExist
	if it.exists {
		cond = mustBuild(expression.NewBuilder().WithCondition(
			expression.Name(attrEpoch).Equal(expression.Value(it.epoch)).
				And(expression.Name(attrCounter).Equal(expression.Value(it.counter)))))
	}
	put := &types.Put{
		TableName: aws.String(l.s.readModels), Item: item, ConditionExpression: cond.Condition(),
		ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(),
	}
	won, err := l.write(ctx, types.TransactWriteItem{Put: put})
	if err != nil || !won {
		return false, err
	}
	l.mu.Lock()
	l.epoch, l.watched, l.watchedAt = epoch, leaseItem{}, time.Time{}
	l.mu.Unlock()
	l.s.log.Info("dynamo lease: taken", "owner", l.owner, "epoch", epoch, "from", it.owner)
	return true, nil
}

// Renew bumps the held lease's counter, conditioned on its owner and epoch.
// It fails with ErrDeposed when another instance holds the lease, which is
// then lost here.
func (l *Lease) Renew(ctx context.Context) error {
	return l.update(ctx, expression.Set(expression.Name(attrCounter), expression.Name(attrCounter).Plus(expression.Value(1))).
		Set(expression.Name(attrExpires), expression.Value(time.Now().Add(l.failover).UnixMilli())))
}

// Release gives the lease up (a graceful stop), so that another instance
// takes it at once instead of after the failover time.
func (l *Lease) Release(ctx context.Context) error {
	err := l.update(ctx, expression.Remove(expression.Name(attrOwner)).
		Set(expression.Name(attrCounter), expression.Name(attrCounter).Plus(expression.Value(1))))
	epoch := l.Epoch()
	l.mu.Lock()
	l.epoch = 0
	l.mu.Unlock()
	if err == nil {
		l.s.log.Info("dynamo lease: released", "owner", l.owner, "epoch", epoch)
	}
	return err
}

// update changes the held lease item, conditioned on owner and epoch.
func (l *Lease) update(ctx context.Context, change expression.UpdateBuilder) error {
	epoch := l.Epoch()
	if epoch == 0 {
		return ErrDeposed
	}
	expr, err := expression.NewBuilder().WithUpdate(change).WithCondition(
		expression.Name(attrOwner).Equal(expression.Value(l.owner)).
			And(expression.Name(attrEpoch).Equal(expression.Value(epoch)))).Build()
	if err != nil {
		return fmt.Errorf("dynamo lease: %w", err)
	}
	ok, err := l.write(ctx, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(l.s.readModels), Key: key(leasePK, leaseSK), UpdateExpression: expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}})
	if err != nil {
		return err
	}
	if !ok {
		l.lose(epoch)
		return fmt.Errorf("lease epoch %d: %w", epoch, ErrDeposed)
	}
	return nil
}

// lose records that epoch is no longer held, and says so once.
func (l *Lease) lose(epoch int64) {
	l.mu.Lock()
	lost := l.epoch == epoch && epoch != 0
	if lost {
		l.epoch = 0
	}
	l.mu.Unlock()
	if lost {
		l.s.log.Warn("dynamo lease: lost to another instance", "owner", l.owner, "epoch", epoch)
		go l.onLost(epoch)
	}
}

// write makes a one-item transaction: true when written, false when its
// condition failed. Transient failures are retried a few times; a retry
// after a write that may have applied and then fails its condition is
// taken for a failure (the next renewal or acquire finds out).
func (l *Lease) write(ctx context.Context, item types.TransactWriteItem) (bool, error) {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{item}}
	for attempt := 1; ; attempt++ {
		_, err := l.s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return true, nil
		}
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) && conditionFailed(cancelled, 0) {
			return false, nil
		}
		if classify(ctx, err) == permanent || attempt >= leaseAttempts {
			return false, fmt.Errorf("dynamo lease (%d attempts): %w", attempt, err)
		}
		if err := pause(ctx, attempt, 10*time.Millisecond, 200*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// read reads the lease item, strongly consistent.
func (l *Lease) read(ctx context.Context) (leaseItem, error) {
	out, err := l.s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(l.s.readModels), Key: key(leasePK, leaseSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return leaseItem{}, fmt.Errorf("dynamo lease: read: %w", err)
	}
	if out.Item == nil {
		return leaseItem{}, nil
	}
	it := leaseItem{exists: true}
	if v, ok := out.Item[attrOwner].(*types.AttributeValueMemberS); ok {
		it.owner = v.Value
	}
	for name, dst := range map[string]*int64{attrCounter: &it.counter, attrEpoch: &it.epoch} {
		v, ok := out.Item[name].(*types.AttributeValueMemberN)
		if !ok {
			return leaseItem{}, fmt.Errorf("dynamo lease: item without %s", name)
		}
		if *dst, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return leaseItem{}, fmt.Errorf("dynamo lease: %s: %w", name, err)
		}
	}
	return it, nil
}

// Holder is the lease's owner and epoch as stored now, strongly consistent
// ("" when none holds it).
func (l *Lease) Holder(ctx context.Context) (owner string, epoch int64, err error) {
	it, err := l.read(ctx)
	return it.owner, it.epoch, err
}

// Check returns nil while the lease, as stored now (a strongly consistent
// read), is at the epoch held here, and an error matching ErrDeposed once
// it is not (the lease is then lost here, as a refused save loses it): what
// a reactor asks before it issues a command, so that a holder paused past
// the failover and woken issues nothing.
func (l *Lease) Check(ctx context.Context) error {
	epoch := l.Epoch()
	if epoch == 0 {
		return ErrDeposed
	}
	it, err := l.read(ctx)
	if err != nil {
		return err
	}
	if it.owner != l.owner || it.epoch != epoch {
		l.lose(epoch)
		return fmt.Errorf("dynamo: the lease is at epoch %d (owner %q), held here at %d: %w", it.epoch, it.owner, epoch, ErrDeposed)
	}
	return nil
}

// ReadModels is the store of read models for the lease's holder: each save
// carries, in its transaction, a ConditionCheck that the lease's epoch is
// still the one held here, so that a deposed or paused holder writes
// nothing (ErrDeposed; the lease is then lost here at once). Without the
// lease held, every save fails so. Loads are the store's.
func (l *Lease) ReadModels() es.ReadModelStore { return fencedReadModels{l} }

type fencedReadModels struct{ l *Lease }

func (f fencedReadModels) LoadReadModels(ctx context.Context, projector string) (string, map[string]json.RawMessage, error) {
	return f.l.s.LoadReadModels(ctx, projector)
}

// ReadModel and ReadModelRange are the store's: reads need no fence.
func (f fencedReadModels) ReadModel(ctx context.Context, projector, key string) (json.RawMessage, error) {
	return f.l.s.ReadModel(ctx, projector, key)
}

func (f fencedReadModels) ReadModelRange(ctx context.Context, projector string, q es.DocRange) ([]es.Doc, error) {
	return f.l.s.ReadModelRange(ctx, projector, q)
}

func (f fencedReadModels) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (string, map[string]json.RawMessage, error) {
	return f.l.s.LoadReadModelsExcept(ctx, projector, skip)
}

func (f fencedReadModels) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	l := f.l
	epoch := l.Epoch()
	if epoch == 0 {
		return fmt.Errorf("dynamo: save read models of %s: %w", projector, ErrDeposed)
	}
	cond := mustBuild(expression.NewBuilder().WithCondition(expression.Name(attrEpoch).Equal(expression.Value(epoch))))
	check := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(l.s.readModels), Key: key(leasePK, leaseSK),
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	}}
	err := l.s.saveReadModels(ctx, projector, checkpoint, docs, &check)
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled, len(cancelled.CancellationReasons)-1) {
		l.lose(epoch)
		return fmt.Errorf("dynamo: save read models of %s at lease epoch %d: %w", projector, epoch, ErrDeposed)
	}
	return err
}
