package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/foldboard/foldboard/es"
)

// queryPage is the most items one Query asks for; DynamoDB also stops a page at
// 1 MB.
const queryPage = 1000

// Head reads the stream's head item, strongly consistent.
func (s *Store) Head(ctx context.Context, stream es.StreamRef) (es.StateRecord, error) {
	if err := stream.Validate(); err != nil {
		return es.StateRecord{}, fmt.Errorf("dynamo: head: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.state),
		Key:            key(streamKey(stream), skHead),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return es.StateRecord{}, fmt.Errorf("dynamo: head of %s: %w", stream, err)
	}
	if out.Item == nil {
		return es.StateRecord{}, nil
	}
	return decodeState(out.Item)
}

// ReadStream queries the events table: forwards from a version (sk >= from) or
// in reverse from one (sk <= from, ScanIndexForward false), page by page until
// the limit.
func (s *Store) ReadStream(ctx context.Context, stream es.StreamRef, opts es.ReadOptions) ([]es.Envelope, error) {
	if err := stream.Validate(); err != nil {
		return nil, fmt.Errorf("dynamo: read: %w", err)
	}
	pk := expression.Key(attrPK).Equal(expression.Value(streamKey(stream)))
	cond := pk
	switch {
	case !opts.Reverse:
		cond = pk.And(expression.Key(attrSK).GreaterThanEqual(expression.Value(versionKey(max(opts.From, 1)))))
	case opts.From > 0:
		cond = pk.And(expression.Key(attrSK).LessThanEqual(expression.Value(versionKey(opts.From))))
	}
	envs, err := s.queryEvents(ctx, cond, !opts.Reverse, max(opts.Limit, 0))
	if err != nil {
		return nil, fmt.Errorf("dynamo: read %s %+v: %w", stream, opts, err)
	}
	return envs, nil
}

// queryEvents runs a key condition on the events table, following
// LastEvaluatedKey until limit events (0: all).
func (s *Store) queryEvents(ctx context.Context, cond expression.KeyConditionBuilder, forward bool, limit int) ([]es.Envelope, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.events),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(forward),
		ConsistentRead:            aws.Bool(true),
	}
	var envs []es.Envelope
	for {
		page := queryPage
		if limit > 0 {
			page = min(page, limit-len(envs))
		}
		in.Limit = aws.Int32(int32(page))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return envs, err
		}
		for _, item := range out.Items {
			e, err := decodeEvent(item)
			if err != nil {
				return envs, err
			}
			envs = append(envs, e)
		}
		if out.LastEvaluatedKey == nil || limit > 0 && len(envs) >= limit {
			return envs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Command finds a command id among the stream's recent ones, in its head, and
// reads the events it appended.
func (s *Store) Command(ctx context.Context, stream es.StreamRef, commandID string) (es.AppendResult, bool, error) {
	head, err := s.Head(ctx, stream)
	if err != nil {
		return es.AppendResult{}, false, fmt.Errorf("dynamo: command %s: %w", commandID, err)
	}
	c, ok := es.FindCommand(head.Commands, commandID)
	if !ok {
		return es.AppendResult{}, false, nil
	}
	first, err := s.commandEvents(ctx, stream, c)
	return first, err == nil, err
}

// commandEvents reads the first result of a recent command: the events it
// appended.
func (s *Store) commandEvents(ctx context.Context, stream es.StreamRef, c es.CommandRecord) (es.AppendResult, error) {
	envs, err := s.queryEvents(ctx, expression.Key(attrPK).Equal(expression.Value(streamKey(stream))).
		And(expression.Key(attrSK).Between(expression.Value(versionKey(c.From)), expression.Value(versionKey(c.To)))), true, 0)
	if err != nil {
		return es.AppendResult{}, fmt.Errorf("dynamo: command %s on %s: events %d-%d: %w", c.ID, stream, c.From, c.To, err)
	}
	return es.AppendResult{Version: c.To, Events: envs}, nil
}

// Snapshot queries the stream's snapshot items between snap#0 and
// snap#{atOrBelow}, newest first, one item.
func (s *Store) Snapshot(ctx context.Context, stream es.StreamRef, atOrBelow int64) (es.StateRecord, bool, error) {
	if err := stream.Validate(); err != nil {
		return es.StateRecord{}, false, fmt.Errorf("dynamo: snapshot: %w", err)
	}
	if atOrBelow <= 0 {
		return es.StateRecord{}, false, nil
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(streamKey(stream))).
			And(expression.Key(attrSK).Between(expression.Value(snapKey(0)), expression.Value(snapKey(atOrBelow))))).Build()
	if err != nil {
		return es.StateRecord{}, false, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.state),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return es.StateRecord{}, false, fmt.Errorf("dynamo: snapshot of %s at or below %d: %w", stream, atOrBelow, err)
	}
	if len(out.Items) == 0 {
		return es.StateRecord{}, false, nil
	}
	rec, err := decodeState(out.Items[0])
	return rec, err == nil, err
}

// defaultLogLimit is a ReadLog page's size when the query names none.
const defaultLogLimit = 1000

// ReadLog pages through every event, grouped by stream: each stream's events
// together and in version order, the streams in the order a Scan of the state
// table meets their head items (arbitrary, but fixed for a table that does not
// change). A Scan of the events table itself would be cheaper, but DynamoDB
// documents no order for Scan results: only Query promises sort-key order. So
// the log Scans the state table for head items (one per stream) and Queries
// each stream's events, strongly consistent: per-stream version order, from
// version 1, without gaps, by construction.
//
// The cursor is (stream, version): each event's Position is the cursor right
// after it, and Next the one after the page's last event. A stream the log
// has passed gains no events in it; appends made while a reader pages through
// the log reach it only where the log has not yet come. The change feed, not
// the log, is how a reader keeps up.
//
// A page by type examines a bounded stretch of the log (typeBudget events)
// and keeps those of the type: the work of a page is bounded by its limit,
// not by the log, and such a page may hold fewer events than the limit (none
// even) with a Next to go on. An index by type (a GSI on eventType) would
// fill every page, but every event written to it costs its write units
// again: the events table's writes are kept at the floor instead.
func (s *Store) ReadLog(ctx context.Context, q es.LogQuery) (es.LogPage, error) {
	want := q.Limit
	if want <= 0 {
		want = defaultLogLimit
	}
	limit := want
	if q.Type != "" {
		limit = typeBudget(want)
	}
	envs, next, done, err := s.readLog(ctx, q.After, limit)
	if err != nil {
		return es.LogPage{}, err
	}
	if q.Type == "" {
		return es.LogPage{Events: envs, Next: next, End: done}, nil
	}
	kept := envs[:0]
	for _, e := range envs {
		if e.Type != q.Type {
			continue
		}
		if len(kept) == want {
			// Full before the stretch examined ends: go on after its last.
			return es.LogPage{Events: kept, Next: kept[len(kept)-1].Position}, nil
		}
		kept = append(kept, e)
	}
	return es.LogPage{Events: kept, Next: next, End: done}, nil
}

// typeBudget is how many events of the log a page by type of limit examines:
// the limit, but at least a hundred (so that a rare type's pages are not all
// empty) and at most the largest page.
func typeBudget(limit int) int { return min(max(limit, 100), defaultLogLimit) }

type logCursor struct {
	Stream  string `json:"s"`
	Version int64  `json:"v"`
}

func (c logCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseLogCursor(s string) (logCursor, error) {
	var c logCursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil && c.Stream != "" {
		_, err = parseStreamKey(c.Stream)
	}
	if err != nil {
		return c, fmt.Errorf("dynamo: log cursor %q: %w: %w", s, es.ErrBadCursor, err)
	}
	return c, nil
}

// headsOnly is the filter and projection of the log's Scan of the state table.
var headsOnly = mustBuild(expression.NewBuilder().
	WithFilter(expression.Name(attrSK).Equal(expression.Value(skHead))).
	WithProjection(expression.NamesList(expression.Name(attrPK))))

// logScanPage is how many state items one Scan of the log evaluates.
const logScanPage = 100

// readLog is ReadLog that also says when the log has been read to its end
// (done), so that a rebuild knows its last page.
func (s *Store) readLog(ctx context.Context, after string, limit int) (envs []es.Envelope, next string, done bool, err error) {
	cur, err := parseLogCursor(after)
	if err != nil {
		return nil, "", false, err
	}
	if limit <= 0 {
		limit = defaultLogLimit
	}
	// readStream appends the events of stream pk after version, up to the
	// limit; it reports whether the page is full.
	readStream := func(pk string, after int64) (bool, error) {
		got, err := s.queryEvents(ctx, expression.Key(attrPK).Equal(expression.Value(pk)).
			And(expression.Key(attrSK).GreaterThan(expression.Value(versionKey(after)))), true, limit-len(envs))
		if err != nil {
			return false, fmt.Errorf("dynamo: log: reading %s: %w", pk, err)
		}
		for i := range got {
			cur = logCursor{Stream: pk, Version: got[i].Version}
			got[i].Position = cur.String()
		}
		envs = append(envs, got...)
		return len(envs) >= limit, nil
	}
	if cur.Stream != "" {
		if full, err := readStream(cur.Stream, cur.Version); err != nil || full {
			return envs, cur.String(), false, err
		}
	}
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.state),
		FilterExpression:          headsOnly.Filter(),
		ProjectionExpression:      headsOnly.Projection(),
		ExpressionAttributeNames:  headsOnly.Names(),
		ExpressionAttributeValues: headsOnly.Values(),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(logScanPage),
	}
	if cur.Stream != "" {
		in.ExclusiveStartKey = key(cur.Stream, skHead)
	}
	for {
		out, err := s.db.Scan(ctx, in)
		if err != nil {
			return envs, cur.String(), false, fmt.Errorf("dynamo: log: scanning %s: %w", s.state, err)
		}
		for _, item := range out.Items {
			r := itemReader{item: item}
			pk := r.str(attrPK)
			if r.err != nil {
				return envs, cur.String(), false, fmt.Errorf("dynamo: log: %w", r.err)
			}
			// Whatever is read of this stream, the next page starts after it.
			cur = logCursor{Stream: pk}
			if full, err := readStream(pk, 0); err != nil || full {
				return envs, cur.String(), false, err
			}
		}
		if out.LastEvaluatedKey == nil {
			if len(envs) == 0 {
				return nil, "", true, nil
			}
			return envs, cur.String(), true, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
