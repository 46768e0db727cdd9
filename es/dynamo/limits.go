package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/foldboard/foldboard/es"
)

// PartitionWriteUnits is the most write units a second DynamoDB gives one
// partition key, whatever the table's capacity: adaptive capacity isolates a
// hot key on a partition of its own but never gives it more.
const PartitionWriteUnits = 1000

var _ es.StreamWriteLimit = (*Store)(nil)

// StreamWriteUnits is what one stream's events take a second: they are all
// items under its one partition key of the events table. (Its head item, in
// the state table, has a partition key of its own, written once per append at
// 2 units per KB of state, which the events do not tell.)
func (s *Store) StreamWriteUnits() float64 { return PartitionWriteUnits }

// EventWriteUnits is what writing e's item costs in a transaction.
func (s *Store) EventWriteUnits(e es.Envelope) float64 {
	return float64(transactWriteUnits(itemSize(eventItem(e))))
}

// transactWriteUnits is what writing an item of size bytes in a transaction
// costs: 2 write units per KB begun.
func transactWriteUnits(size int) int { return 2 * max((size+1023)/1024, 1) }

// TransactWriteUnits is what DynamoDB prices a TransactWriteItems at: 2
// write units per KB begun of each item put (its attribute names and values,
// as itemSize counts them).
func TransactWriteUnits(in *dynamodb.TransactWriteItemsInput) int {
	units := 0
	for _, it := range in.TransactItems {
		if it.Put != nil {
			units += transactWriteUnits(itemSize(it.Put.Item))
		}
	}
	return units
}
