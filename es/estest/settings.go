package estest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// RunSettings is the definition of es.Settings: every store's settings must
// pass it. newSettings returns settings on a fresh, empty store.
func RunSettings(t *testing.T, newSettings func(t *testing.T) es.Settings) {
	t.Run("ASettingIsCreatedOnceWhoeverComesFirst", func(t *testing.T) {
		s := newSettings(t)
		ctx := t.Context()
		if _, ok, err := s.Setting(ctx, "k"); ok || err != nil {
			t.Fatalf("a setting never made: ok %v, %v", ok, err)
		}
		if got, err := s.CreateSetting(ctx, "k", json.RawMessage(`"a"`)); err != nil || string(got) != `"a"` {
			t.Fatalf("first create: %s, %v", got, err)
		}
		if got, err := s.CreateSetting(ctx, "k", json.RawMessage(`"b"`)); err != nil || string(got) != `"a"` {
			t.Fatalf("second create: %s, %v; want the first value", got, err)
		}
		// Many at once: all agree on one of theirs, the one stored.
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() {
				v, err := s.CreateSetting(ctx, "together", json.RawMessage(fmt.Sprintf(`"v%d"`, i)))
				if err != nil {
					t.Errorf("create %d: %v", i, err)
				}
				got[i] = string(v)
			})
		}
		wg.Wait()
		stored, ok, err := s.Setting(ctx, "together")
		if !ok || err != nil {
			t.Fatalf("after the creates: ok %v, %v", ok, err)
		}
		for i, v := range got {
			if v != string(stored) {
				t.Fatalf("creator %d got %s, the store holds %s", i, v, stored)
			}
		}
	})
	t.Run("ASwapNeedsTheValueItSaw", func(t *testing.T) {
		s := newSettings(t)
		ctx := t.Context()
		if err := s.SwapSetting(ctx, "k", json.RawMessage(`"x"`), json.RawMessage(`"y"`)); !errors.Is(err, es.ErrSettingChanged) {
			t.Fatalf("swap from a value a missing setting never had: %v", err)
		}
		if err := s.SwapSetting(ctx, "k", nil, json.RawMessage(`"a"`)); err != nil {
			t.Fatalf("swap from none: %v", err)
		}
		if err := s.SwapSetting(ctx, "k", nil, json.RawMessage(`"b"`)); !errors.Is(err, es.ErrSettingChanged) {
			t.Fatalf("swap from none of a setting that has a value: %v", err)
		}
		// Two swaps from the same value: one wins.
		var wg sync.WaitGroup
		won := make([]bool, 6)
		for i := range won {
			wg.Go(func() {
				err := s.SwapSetting(ctx, "k", json.RawMessage(`"a"`), json.RawMessage(fmt.Sprintf(`"w%d"`, i)))
				if err != nil && !errors.Is(err, es.ErrSettingChanged) {
					t.Errorf("swap %d: %v", i, err)
				}
				won[i] = err == nil
			})
		}
		wg.Wait()
		winners := 0
		want := ""
		for i, w := range won {
			if w {
				winners++
				want = fmt.Sprintf(`"w%d"`, i)
			}
		}
		if v, _, _ := s.Setting(ctx, "k"); winners != 1 || string(v) != want {
			t.Fatalf("%d swaps from the same value won; the setting holds %s, want %s", winners, v, want)
		}
	})
}
