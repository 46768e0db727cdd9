// Package recoverytest checks that the projector recovers from what befalls
// it in production without losing or doubling an effect: stopped and started
// again mid-stream, left far behind, its change feed failing (for DynamoDB,
// DynamoDB Local stopped and started again), batches delivered twice, saves of
// its read models failing. After each ordeal its read models must equal what a
// fresh projector makes by replaying the whole log, on every store.
package recoverytest
