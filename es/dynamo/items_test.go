package dynamo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func TestVersionKeyIsZeroPadded(t *testing.T) {
	for _, v := range []int64{0, 1, 42, 1_000_000, 9_999_999_999, 12_345_678_901} {
		if got, want := versionKey(v), fmt.Sprintf("%010d", v); got != want {
			t.Errorf("versionKey(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestEventItemRoundTripsThroughAStreamImage(t *testing.T) {
	e := es.Envelope{
		ID: es.NewULID(time.Now()), Stream: es.StreamRef{Type: "match", ID: "m-1"}, Version: 7, Type: "InningsCompleted",
		SchemaVersion: 2, Time: time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.UTC), Actor: "ana",
		CorrelationID: "corr", CausationID: "cause", CommandID: "cmd", Data: json.RawMessage(`{"runs":250}`),
	}
	for name, decode := range map[string]func() (es.Envelope, error){
		"item":         func() (es.Envelope, error) { return decodeEvent(eventItem(e)) },
		"stream image": func() (es.Envelope, error) { return decodeStreamEvent(toStreams(eventItem(e))) },
	} {
		got, err := decode()
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, e)
		}
	}
}
