package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/foldboard/foldboard/es"
)

// settingsPK keys the settings in the readmodels table, as documents of a
// projector named "settings", where foldboard kept them before they had an
// interface of their own (a store saved then reads the same).
const settingsPK = "settings"

// Backend is the store with its feed, read models and settings.
func (s *Store) Backend() es.Backend {
	return es.Backend{Store: s, Feed: s.Feed(), ReadModels: s, Settings: s}
}

// Setting implements es.Settings, with a strongly consistent read.
func (s *Store) Setting(ctx context.Context, name string) (json.RawMessage, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.readModels), Key: key(settingsPK, docPrefix+name), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("dynamo: setting %s: %w", name, err)
	}
	if out.Item == nil {
		return nil, false, nil
	}
	r := itemReader{item: out.Item}
	doc := r.str(attrData)
	if r.err != nil {
		return nil, false, fmt.Errorf("dynamo: setting %s: %w", name, r.err)
	}
	return json.RawMessage(doc), true, nil
}

// CreateSetting implements es.Settings: a Put conditioned on the item's
// absence; when another writer came first, its value is read back.
func (s *Store) CreateSetting(ctx context.Context, name string, value json.RawMessage) (json.RawMessage, error) {
	err := s.putSetting(ctx, name, nil, value)
	if errors.Is(err, es.ErrSettingChanged) {
		doc, ok, err := s.Setting(ctx, name)
		if err == nil && !ok {
			err = fmt.Errorf("dynamo: setting %s: exists for the write, missing for the read", name)
		}
		return doc, err
	}
	if err != nil {
		return nil, err
	}
	return value, nil
}

// SwapSetting implements es.Settings.
func (s *Store) SwapSetting(ctx context.Context, name string, old, value json.RawMessage) error {
	return s.putSetting(ctx, name, old, value)
}

// putSetting writes the setting if it holds old (nil: if it is absent), as
// a one-item transaction so that a failed condition is told apart from any
// other failure by its cancellation reason.
func (s *Store) putSetting(ctx context.Context, name string, old, value json.RawMessage) error {
	if !json.Valid(value) {
		return fmt.Errorf("dynamo: setting %s: the value is not JSON", name)
	}
	item := key(settingsPK, docPrefix+name)
	item[attrData] = str(string(value))
	cond := mustNotExist
	if old != nil {
		var err error
		if cond, err = expression.NewBuilder().WithCondition(
			expression.Name(attrData).Equal(expression.Value(string(old)))).Build(); err != nil {
			return fmt.Errorf("dynamo: setting %s: %w", name, err)
		}
	}
	put := &types.Put{
		TableName: aws.String(s.readModels), Item: item, ConditionExpression: cond.Condition(),
		ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(),
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: put}}}
	uncertain := false // an earlier attempt may have written
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) && conditionFailed(cancelled, 0) {
			// After an attempt that may have written, the condition fails
			// on our own value: that is a success.
			if doc, ok, rerr := s.Setting(ctx, name); uncertain && rerr == nil && ok && string(doc) == string(value) {
				return nil
			}
			return fmt.Errorf("dynamo: setting %s from %s: %w", name, old, es.ErrSettingChanged)
		}
		kind := classify(ctx, err)
		uncertain = uncertain || kind == mayHaveApplied
		if kind == permanent || attempt >= saveAttempts {
			return fmt.Errorf("dynamo: setting %s (%d attempts): %w", name, attempt, err)
		}
		if err := pause(ctx, attempt, 5*time.Millisecond, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// conditionFailed reports whether the transaction's item i failed its
// condition.
func conditionFailed(tce *types.TransactionCanceledException, i int) bool {
	return i < len(tce.CancellationReasons) && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}
