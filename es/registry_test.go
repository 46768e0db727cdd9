package es_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
)

func TestRegistryEncodesAndDecodes(t *testing.T) {
	r := tallyEvents()
	name, schema, data, err := r.Encode(added{N: 3})
	if err != nil || name != "Added" || schema != 1 || string(data) != `{"n":3}` {
		t.Fatalf("Encode = %q %d %s %v, want Added 1 {\"n\":3}", name, schema, data, err)
	}
	e, err := r.Decode(name, schema, data)
	if err != nil || e != (added{N: 3}) {
		t.Errorf("Decode = %#v, %v; want added{3}", e, err)
	}
	e, err = r.DecodeEnvelope(es.Envelope{Type: "Cleared", SchemaVersion: 1})
	if err != nil || e != (cleared{}) {
		t.Errorf("DecodeEnvelope of a payload-less event = %#v, %v; want cleared{}", e, err)
	}
	if got := slices.Sorted(slices.Values(r.Names())); !slices.Equal(got, []string{"Added", "Cleared", "Closed"}) {
		t.Errorf("Names = %v", got)
	}
}

// deposited went through three schemas: v1 {"amount": cents}, v2 renamed it
// to "cents", v3 added a currency.
type deposited struct {
	Cents    int    `json:"cents"`
	Currency string `json:"currency"`
}

func (deposited) EventType() string { return "Deposited" }

var (
	renameAmount = es.Upcaster{From: 1, Up: func(old json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Amount int `json:"amount"`
		}
		if err := json.Unmarshal(old, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"cents": v1.Amount})
	}}
	addCurrency = es.Upcaster{From: 2, Up: func(old json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(old, &m); err != nil {
			return nil, err
		}
		m["currency"] = "NZD"
		return json.Marshal(m)
	}}
)

func TestRegistryUpcastsOldSchemas(t *testing.T) {
	r := es.NewRegistry[es.Event]()
	es.Register[deposited](r, 3, renameAmount, addCurrency)
	for _, tc := range []struct {
		schema int
		data   string
		want   deposited
	}{
		{1, `{"amount":250}`, deposited{Cents: 250, Currency: "NZD"}},
		{2, `{"cents":250}`, deposited{Cents: 250, Currency: "NZD"}},
		{3, `{"cents":250,"currency":"AUD"}`, deposited{Cents: 250, Currency: "AUD"}},
	} {
		e, err := r.Decode("Deposited", tc.schema, json.RawMessage(tc.data))
		if err != nil || !reflect.DeepEqual(e, tc.want) {
			t.Errorf("Decode at schema %d = %#v, %v; want %#v", tc.schema, e, err, tc.want)
		}
	}
	if _, schema, _, _ := r.Encode(deposited{Cents: 1}); schema != 3 {
		t.Errorf("Encode writes schema %d, want the current 3", schema)
	}
}

func TestRegistryRefusesWhatItCannotDecode(t *testing.T) {
	boom := errors.New("boom")
	r := es.NewRegistry[es.Event]()
	// No upcaster from 1: a gap in the chain.
	es.Register[deposited](r, 3, addCurrency)
	es.Register[added](r, 2, es.Upcaster{From: 1, Up: func(json.RawMessage) (json.RawMessage, error) { return nil, boom }})

	for _, tc := range []struct {
		name   string
		schema int
		data   string
		want   string
	}{
		{"Nope", 1, `{}`, `unknown event type "Nope"`},
		{"Deposited", 1, `{"amount":1}`, "no upcaster from schema version 1"},
		{"Deposited", 4, `{}`, "newer than this program's 3"},
		{"Deposited", 3, `{"cents":"many"}`, "decoding Deposited"},
		{"Added", 1, `{"n":1}`, "upcasting Added"},
	} {
		_, err := r.Decode(tc.name, tc.schema, json.RawMessage(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%s, %d, %s): err = %v, want one saying %q", tc.name, tc.schema, tc.data, err, tc.want)
		}
	}
	if _, err := r.Decode("Added", 1, nil); !errors.Is(err, boom) {
		t.Errorf("an upcaster's error is not wrapped: %v", err)
	}
	if _, _, _, err := r.Encode(closed{}); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("Encode of an unregistered type: err = %v", err)
	}
}

func TestRegisterPanicsOnProgrammingErrors(t *testing.T) {
	for name, register := range map[string]func(){
		"a name twice": func() {
			r := es.NewRegistry[es.Event]()
			es.Register[added](r, 1)
			es.Register[added](r, 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("registering %s did not panic", name)
				}
			}()
			register()
		}()
	}
}
