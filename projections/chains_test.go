package projections

import (
	"reflect"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func chainEnv(id, stream string, v int64, typ, actor, corr, cause string) es.Envelope {
	ref, _ := es.ParseStreamRef(stream)
	return es.Envelope{ID: id, Stream: ref, Version: v, Type: typ, Actor: actor, CorrelationID: corr, CausationID: cause}
}

func TestChainsLinkCausesAndEffectsInAnyOrder(t *testing.T) {
	ended := chainEnv("e1", "match/m1", 3, "MatchEnded", "ana", "k1", "cmd-1")
	created := chainEnv("e2", "post/report-m1", 1, "PostCreated", "system/match-report", "k1", "e1")
	published := chainEnv("e3", "post/report-m1", 2, "PostPublished", "system/match-report", "k1", "e1")
	other := chainEnv("e4", "match/m1", 2, "InningsCompleted", "ana", "k0", "cmd-0")
	// An effect may come before its cause (DynamoDB Streams orders each
	// stream, not the log): the links hold either way.
	for _, order := range [][]es.Envelope{{ended, created, published, other}, {created, published, other, ended}} {
		c := NewChains("MatchEnded")
		ch := newChanges()
		for _, env := range order {
			if err := c.Apply(env, ch); err != nil {
				t.Fatal(err)
			}
		}
		if _, kept := c.Event("e4"); kept {
			t.Error("a person's innings, which no reaction answers, was kept")
		}
		if got := ids(c.Effects("e1")); !reflect.DeepEqual(got, []string{"e2", "e3"}) {
			t.Errorf("effects of the match's end = %v, want [e2 e3]", got)
		}
		if cause, ok := c.Event(created.CausationID); !ok || cause.Stream != "match/m1" || cause.Version != 3 {
			t.Errorf("cause of the post = %+v %v, want match/m1 v3", cause, ok)
		}
		if got := ids(c.Correlated("k1")); !reflect.DeepEqual(got, []string{"e1", "e2", "e3"}) {
			t.Errorf("correlation k1 = %v, want the cause first, then its effects", got)
		}
		// Saved and loaded, the same links.
		loaded := NewChains("MatchEnded")
		doc, err := c.Doc("chains/k1")
		if err != nil {
			t.Fatal(err)
		}
		if err := loaded.Load("chains/k1", doc); err != nil {
			t.Fatal(err)
		}
		if got := ids(loaded.Effects("e1")); !reflect.DeepEqual(got, []string{"e2", "e3"}) {
			t.Errorf("loaded effects = %v", got)
		}
		if _, ok := ch.docs["chains/k1"]; !ok || len(ch.docs) != 1 {
			t.Errorf("changed documents %v, want chains/k1 alone", ch.docs)
		}
	}
}

func TestChainsBoundOneCorrelation(t *testing.T) {
	c := NewChains("CheckedOut")
	for i := range maxChain + 10 {
		env := chainEnv(es.NewULID(time.Now()), "cart/c", int64(i+1), "CheckedOut", "ana", "same", "")
		if err := c.Apply(env, newChanges()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.Correlated("same")); n != maxChain {
		t.Fatalf("one correlation holds %d events, want at most %d", n, maxChain)
	}
}

func ids(events []ChainEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}
