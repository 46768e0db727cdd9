package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// unitCounter is a DynamoDB client that asks every TransactWriteItems for
// its consumed capacity, and adds up what DynamoDB Local reports and what
// DynamoDB's pricing makes of the items' sizes.
type unitCounter struct {
	dynamo.Client
	mu             sync.Mutex
	local, priced  float64
	calls, noTotal int
}

func (c *unitCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.TransactWriteItems(ctx, in, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if err == nil {
		c.priced += float64(dynamo.TransactWriteUnits(in))
		if len(out.ConsumedCapacity) == 0 {
			c.noTotal++
		}
		for _, cc := range out.ConsumedCapacity {
			c.local += aws.ToFloat64(cc.CapacityUnits)
		}
	}
	return out, err
}

func (c *unitCounter) totals() (local, priced float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local, c.priced
}

// BenchmarkWriteUnits is the write units of a command on DynamoDB: a cart's
// AddItem with a command id, as the pages' forms send, through es.Handler
// (its head remembered, as the server's is), beside a two-item
// TransactWriteItems of the very same event and state (the head without its
// recent command ids), the floor 19.1 sets. Units as DynamoDB Local reports
// them (ReturnConsumedCapacity) and as DynamoDB prices the items' sizes (2 a
// KB begun, per item, in a transaction). Carts grow to 12 items, then a new
// cart begins, so the state's size varies as it does in use:
//
//	go test -run '^$' -bench WriteUnits -benchtime 400x ./internal/bench/
func BenchmarkWriteUnits(b *testing.B) {
	store := &unitCounter{Client: dynamotest.Client(b)}
	raw := &unitCounter{Client: dynamotest.Client(b)}
	s, err := dynamo.Open(b.Context(), dynamo.Config{Client: store, TablePrefix: dynamotest.TablePrefix(b), CreateTables: true})
	if err != nil {
		b.Fatal(err)
	}
	rawTables, err := dynamo.Open(b.Context(), dynamo.Config{Client: raw.Client, TablePrefix: dynamotest.TablePrefix(b), CreateTables: true})
	if err != nil {
		b.Fatal(err)
	}
	events, state, _ := rawTables.Tables()
	h := &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: s, Heads: es.NewHeads(8 << 20), SnapshotEvery: 100}
	price, _ := cart.ParseMoney("4.25")
	b.ResetTimer()
	for i := range b.N {
		cartID := "wu-" + strconv.Itoa(i/12)
		meta := es.Meta{StreamID: cartID, Expected: es.AnyVersion, CommandID: es.NewULID(time.Now()), Actor: "ana"}
		meta.CorrelationID, meta.CausationID = meta.CommandID, meta.CommandID
		res, err := h.Handle(b.Context(), meta, cart.AddItem{SKU: fmt.Sprintf("sku-%02d", i%12), Qty: 1 + i%3, Price: price})
		if err != nil {
			b.Fatal(err)
		}
		// The floor: the same event and the same state, in two items.
		req := es.AppendRequest{Stream: res.Stream, Expected: res.Version - 1, Events: res.Events, State: es.StateRecord{Version: res.Version, Schema: cart.StateSchema, Data: res.StateJSON}}
		if _, err := raw.TransactWriteItems(b.Context(), rawAppend(events, state, req)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	storeLocal, storePriced := store.totals()
	rawLocal, rawPriced := raw.totals()
	n := float64(b.N)
	b.ReportMetric(storePriced/n, "store-wu/cmd")
	b.ReportMetric(rawPriced/n, "raw-wu/cmd")
	b.ReportMetric(storePriced/rawPriced, "store/raw-wu")
	if store.noTotal == 0 && raw.noTotal == 0 {
		b.ReportMetric(storeLocal/n, "local-store-cu/cmd")
		b.ReportMetric(rawLocal/n, "local-raw-cu/cmd")
	}
	b.ReportMetric(float64(store.calls)/n, "transactions/cmd")
}

// rawAppend is the floor's transaction for req's one event: the event item
// (every envelope field, as the store writes it) and the head (version,
// schema, state), each conditioned as the store's are.
func rawAppend(events, state string, req es.AppendRequest) *dynamodb.TransactWriteItemsInput {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	pk := req.Stream.Type + "#" + req.Stream.ID
	e := req.Events[0]
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(events),
			Item: map[string]types.AttributeValue{
				"pk": s(pk), "sk": s(fmt.Sprintf("%010d", e.Version)), "eventId": s(e.ID), "eventType": s(e.Type),
				"schemaVersion": n(int64(e.SchemaVersion)), "version": n(e.Version), "time": s(e.Time.UTC().Format(time.RFC3339Nano)),
				"actor": s(e.Actor), "correlationId": s(e.CorrelationID), "causationId": s(e.CausationID),
				"commandId": s(e.CommandID), "data": s(string(e.Data)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": "pk"},
		}},
		{Put: &types.Put{
			TableName: aws.String(state),
			Item: map[string]types.AttributeValue{
				"pk": s(pk), "sk": s("head"), "version": n(e.Version), "schema": n(int64(req.State.Schema)), "data": s(string(req.State.Data)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": "pk"},
		}},
	}}
	if req.Expected > 0 {
		head := in.TransactItems[1].Put
		head.ConditionExpression = aws.String("#v = :v")
		head.ExpressionAttributeNames = map[string]string{"#v": "version"}
		head.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(req.Expected)}
	}
	return in
}
