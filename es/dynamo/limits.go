package dynamo

import "github.com/foldboard/foldboard/es"

// PartitionWriteUnits is the most write units a second DynamoDB gives one
// partition key, whatever the table's capacity: adaptive capacity isolates a
// hot key on a partition of its own but never gives it more.
const PartitionWriteUnits = 1000

// eventItemOverhead is an event item's size without its data: its keys, ids,
// type, time and actor with their attribute names, as itemSize counts them
// for an event with every id set (a test keeps it honest).
const eventItemOverhead = 330

var _ es.StreamWriteLimit = (*Store)(nil)

// StreamEventLimit is the most events a second one stream can take: all of a
// stream's events are items under its one partition key of the events table,
// each written in a transaction, at 2 write units per KB begun. (Its head
// item, in the state table, has a partition key of its own, written as often
// at 2 units per KB of state.)
func (s *Store) StreamEventLimit(dataBytes int) float64 {
	return PartitionWriteUnits / float64(transactWriteUnits(eventItemOverhead+max(dataBytes, 0)))
}

// transactWriteUnits is what writing an item of size bytes in a transaction
// costs: 2 write units per KB begun.
func transactWriteUnits(size int) int { return 2 * max((size+1023)/1024, 1) }
