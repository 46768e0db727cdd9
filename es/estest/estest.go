// Package estest is the definition of an event store: the conformance suite that
// every es.Store, with its es.Feed and es.ReadModelStore, must pass. A store's
// own tests call Run with a function that makes a fresh, empty store.
package estest

import (
	"context"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// Harness is one fresh, empty store as the suite sees it: the store, its change
// feed and where its read models live (often all the same value).
type Harness struct {
	Store      es.Store
	Feed       es.Feed
	ReadModels es.ReadModelStore
	// Wake, when set, is called after every append the suite makes, as
	// es.Handler.OnAppend would be: for a store whose feed the writer wakes,
	// rather than the store itself.
	Wake func(es.AppendResult)
}

// Run runs every conformance test as a subtest, each against its own store
// from newStore, which should register its clean-up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Harness) {
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"PingAnswers", testPing},
		{"AppendKeepsEveryEnvelopeField", testAppendKeepsEveryField},
		{"ReadStreamForwardsFromVersion", testReadForwards},
		{"ReadStreamInReverseWithLimit", testReadReverse},
		{"HeadReturnsCurrentState", testHead},
		{"AppendRefusesStaleExpectedVersion", testStaleExpected},
		{"AppendRefusesExpectedZeroOnExistingStream", testExpectedZeroOnExisting},
		{"AppendRefusesMisnumberedEvents", testMisnumbered},
		{"ConcurrentAppendersLeaveNoGaps", testConcurrentAppenders},
		{"RepeatedCommandIDIsRefusedWithFirstResult", testRepeatedCommand},
		{"CommandReturnsRecordedResult", testCommandLookup},
		{"ReusedCommandIDWithAnotherRequestIsRefused", testReusedCommandID},
		{"HeadKeepsRecentCommandIDsForTheirWindow", testHeadKeepsRecentCommandIDs},
		{"CommandIDsExpireWhenReadNotOnlyWhenWritten", testCommandIDsExpireWhenRead},
		{"SnapshotReturnsNewestAtOrBelow", testSnapshot},
		{"ReadLogPagesThroughEveryEvent", testReadLog},
		{"ReadLogPagesByTypeAndEnds", testReadLogByType},
		{"FeedDeliversEveryEventOnceAndResumesFromCheckpoint", testFeedFromCheckpoint},
		{"FeedDeliversEventsAppendedWhileFollowing", testFeedTail},
		{"FeedReturnsApplyError", testFeedApplyError},
		{"ReadModelsRoundTrip", testReadModelsRoundTrip},
		{"ReadModelsAreIsolatedByProjector", testReadModelsIsolated},
		{"SaveReadModelsTakesMaxDocsAndRefusesMore", testReadModelsMaxDocs},
		{"SaveReadModelsOfMaxDocsIsAtomic", testReadModelsFullSaveIsAtomic},
		{"ReadModelReadsOneDocument", testReadModelOne},
		{"ReadModelRangeReadsTheNewestOfAList", testReadModelRange},
		{"LoadReadModelsExceptLeavesOutPrefixes", testLoadReadModelsExcept},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newStore(t)
			if h.Store == nil || h.Feed == nil || h.ReadModels == nil {
				t.Fatal("estest: the harness needs a Store, a Feed and a ReadModelStore")
			}
			tc.run(t, h)
		})
	}
}

func testPing(t *testing.T, h Harness) {
	if err := h.Store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// ctx is the test's context: ended when the test is over.
func ctx(t *testing.T) context.Context { return t.Context() }
