package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/foldboard/foldboard/es"
)

// saveAttempts bounds the tries of one SaveReadModels through throttling and
// transient errors. A save is a set of Puts and Deletes: repeating it is
// harmless, so every transient error is retried.
const saveAttempts = 8

// LoadReadModels queries the projector's partition of the readmodels table.
func (s *Store) LoadReadModels(ctx context.Context, projector string) (string, map[string]json.RawMessage, error) {
	if projector == "" {
		return "", nil, errors.New("dynamo: load read models: no projector name")
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(projector))).Build()
	if err != nil {
		return "", nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.readModels),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}
	checkpoint, docs := "", map[string]json.RawMessage{}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return "", nil, fmt.Errorf("dynamo: load read models of %s: %w", projector, err)
		}
		for _, item := range out.Items {
			r := itemReader{item: item}
			sk := r.str(attrSK)
			switch {
			case sk == skCheckpoint:
				checkpoint = r.str(attrCheckpoint)
			case strings.HasPrefix(sk, docPrefix):
				docs[strings.TrimPrefix(sk, docPrefix)] = json.RawMessage(r.str(attrData))
			}
			if r.err != nil {
				return "", nil, fmt.Errorf("dynamo: load read models of %s: %s: %w", projector, sk, r.err)
			}
		}
		if out.LastEvaluatedKey == nil {
			return checkpoint, docs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// SaveReadModels writes the documents and the checkpoint in one
// TransactWriteItems: a Put for each document, a Delete for each nil one, and
// a Put of the checkpoint item.
func (s *Store) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	return s.saveReadModels(ctx, projector, checkpoint, docs, nil)
}

// saveReadModels is SaveReadModels with, when check is set, one more item
// last in the transaction: the lease holder's check of its epoch.
func (s *Store) saveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage, check *types.TransactWriteItem) error {
	if projector == "" {
		return errors.New("dynamo: save read models: no projector name")
	}
	if len(docs) > es.MaxDocsPerSave {
		return fmt.Errorf("dynamo: save read models of %s: %d documents, at most %d in one save: %w", projector, len(docs), es.MaxDocsPerSave, ErrTooLarge)
	}
	items := make([]types.TransactWriteItem, 0, len(docs)+1)
	sizes := make([]int, 0, len(docs)+1)
	for k, doc := range docs {
		if k == "" {
			return fmt.Errorf("dynamo: save read models of %s: a document with an empty key", projector)
		}
		if doc == nil {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(s.readModels),
				Key:       key(projector, docPrefix+k),
			}})
			sizes = append(sizes, len(projector)+len(docPrefix)+len(k)+4)
			continue
		}
		item := key(projector, docPrefix+k)
		item[attrData] = str(string(doc))
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.readModels), Item: item}})
		sizes = append(sizes, itemSize(item))
	}
	cp := key(projector, skCheckpoint)
	cp[attrCheckpoint] = str(checkpoint)
	cp[attrSaveMark] = str(es.NewULID(time.Now())) // SaveMark: every save's own
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.readModels), Item: cp}})
	sizes = append(sizes, itemSize(cp))
	if check != nil {
		items = append(items, *check)
	}
	if err := checkSize(sizes); err != nil {
		return fmt.Errorf("dynamo: save read models of %s: %w", projector, err)
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		kind := classify(ctx, err)
		var cancelled *types.TransactionCanceledException
		if errors.As(err, &cancelled) && onlyContention(cancelled) {
			kind = notApplied
		}
		if kind == permanent || attempt >= saveAttempts {
			return fmt.Errorf("dynamo: save read models of %s (%d attempts): %w", projector, attempt, err)
		}
		if err := pause(ctx, attempt, 5*time.Millisecond, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// onlyContention reports whether a transaction was cancelled for nothing but
// contention or throttling, so that trying again may succeed.
func onlyContention(tce *types.TransactionCanceledException) bool {
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
		default:
			return false
		}
	}
	return true
}

var _ es.ReadModelReader = (*Store)(nil)

// ReadModel reads one document's item, strongly consistent.
func (s *Store) ReadModel(ctx context.Context, projector, name string) (json.RawMessage, error) {
	if projector == "" || name == "" {
		return nil, errors.New("dynamo: read model: no projector name or key")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.readModels), Key: key(projector, docPrefix+name), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo: read model %s of %s: %w", name, projector, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	r := itemReader{item: out.Item}
	doc := r.str(attrData)
	if r.err != nil {
		return nil, fmt.Errorf("dynamo: read model %s of %s: %w", name, projector, r.err)
	}
	return json.RawMessage(doc), nil
}

// ReadModelRange queries the projector's partition backwards by sort key
// (forwards, ascending): begins_with the prefix, or, with a Before within
// the prefix's keys, BETWEEN the prefix and Before (Before itself left
// out; a filter cannot name the sort key). One Query of at most Limit+1
// items, strongly consistent, paged on only while DynamoDB cuts a page at
// 1 MB.
func (s *Store) ReadModelRange(ctx context.Context, projector string, q es.DocRange) ([]es.Doc, error) {
	if projector == "" {
		return nil, errors.New("dynamo: read model range: no projector name")
	}
	upper := q.RangeUpper()
	if upper != "" && upper <= q.Prefix {
		return nil, nil
	}
	limit := q.RangeLimit()
	sk := expression.Key(attrSK)
	var cond expression.KeyConditionBuilder
	if upper == "" || upper == es.RangeEnd(q.Prefix) {
		cond = sk.BeginsWith(docPrefix + q.Prefix)
	} else {
		cond = sk.Between(expression.Value(docPrefix+q.Prefix), expression.Value(docPrefix+upper))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(projector)).And(cond)).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.readModels),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(q.Ascending),
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	var docs []es.Doc
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: read models %q of %s: %w", q.Prefix, projector, err)
		}
		for _, item := range out.Items {
			r := itemReader{item: item}
			k, doc := strings.TrimPrefix(r.str(attrSK), docPrefix), r.str(attrData)
			if r.err != nil {
				return nil, fmt.Errorf("dynamo: read models %q of %s: %w", q.Prefix, projector, r.err)
			}
			if upper != "" && k >= upper {
				continue // BETWEEN takes its upper end; the range does not
			}
			docs = append(docs, es.Doc{Key: k, Data: json.RawMessage(doc)})
			if len(docs) == limit {
				return docs, nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return docs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

var _ es.ReadModelLoader = (*Store)(nil)

// SaveMark is the mark the last save of projector's read models left on
// their checkpoint (es.SaveMarker), read consistently: a new one each save.
// Read models saved before marks were kept are marked by their checkpoint.
func (s *Store) SaveMark(ctx context.Context, projector string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.readModels), Key: key(projector, skCheckpoint), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("dynamo: the save mark of %s: %w", projector, err)
	}
	if out.Item == nil {
		return "", nil
	}
	r := itemReader{item: out.Item}
	mark := r.str(attrCheckpoint)
	if _, ok := out.Item[attrSaveMark]; ok {
		mark += " " + r.str(attrSaveMark)
	}
	if r.err != nil {
		return "", fmt.Errorf("dynamo: the save mark of %s: %w", projector, r.err)
	}
	return mark, nil
}

var _ es.SaveMarker = (*Store)(nil)

// LoadReadModelsExcept gets the checkpoint item and queries the ranges of
// sort keys between the skipped prefixes, strongly consistent: the skipped
// documents are not read. (Read across several requests, it is consistent
// with the checkpoint only while no save runs: a projector loads before it
// saves; a follower, whose holder saves meanwhile, loads between two equal
// SaveMarks.)
func (s *Store) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (string, map[string]json.RawMessage, error) {
	if projector == "" {
		return "", nil, errors.New("dynamo: load read models: no projector name")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.readModels), Key: key(projector, skCheckpoint), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", nil, fmt.Errorf("dynamo: load checkpoint of %s: %w", projector, err)
	}
	checkpoint := ""
	if out.Item != nil {
		r := itemReader{item: out.Item}
		if checkpoint = r.str(attrCheckpoint); r.err != nil {
			return "", nil, fmt.Errorf("dynamo: load checkpoint of %s: %w", projector, r.err)
		}
	}
	docs := map[string]json.RawMessage{}
	for _, r := range es.RangesExcept(skip) {
		sk := expression.Key(attrSK)
		var cond expression.KeyConditionBuilder
		switch {
		case r.From == "" && r.To == "":
			cond = sk.BeginsWith(docPrefix)
		case r.To == "":
			cond = sk.Between(expression.Value(docPrefix+r.From), expression.Value(es.RangeEnd(docPrefix)))
		default:
			cond = sk.Between(expression.Value(docPrefix+r.From), expression.Value(docPrefix+r.To))
		}
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(projector)).And(cond)).Build()
		if err != nil {
			return "", nil, err
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.readModels),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ConsistentRead:            aws.Bool(true),
		}
		for {
			page, err := s.db.Query(ctx, in)
			if err != nil {
				return "", nil, fmt.Errorf("dynamo: load read models of %s: %w", projector, err)
			}
			for _, item := range page.Items {
				ir := itemReader{item: item}
				k, doc := ir.str(attrSK), ir.str(attrData)
				if ir.err != nil {
					return "", nil, fmt.Errorf("dynamo: load read models of %s: %s: %w", projector, k, ir.err)
				}
				k = strings.TrimPrefix(k, docPrefix)
				if r.To != "" && k >= r.To {
					continue // BETWEEN takes its upper end; the range does not
				}
				docs[k] = json.RawMessage(doc)
			}
			if page.LastEvaluatedKey == nil {
				break
			}
			in.ExclusiveStartKey = page.LastEvaluatedKey
		}
	}
	return checkpoint, docs, nil
}
