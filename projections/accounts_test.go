package projections

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/es"
)

// accountFold is the guide's projection of one account, folded here from the
// stored payloads alone, with exact rationals: nothing of bank's Money or
// Evolve.
type accountFold struct {
	balance      *big.Rat
	transactions int
	last         time.Time
}

func (f *accountFold) apply(t *testing.T, env es.Envelope) {
	t.Helper()
	var p struct {
		InitialDeposit, Amount string
		At                     time.Time
	}
	if err := json.Unmarshal(env.Data, &p); err != nil {
		t.Fatal(err)
	}
	amount := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("%s: amount %q is not a decimal", env.Type, s)
		}
		return r
	}
	switch env.Type {
	case "AccountOpened":
		f.balance = amount(p.InitialDeposit)
	case "MoneyDeposited":
		f.balance.Add(f.balance, amount(p.Amount))
		f.transactions++
	case "MoneyWithdrawn":
		f.balance.Sub(f.balance, amount(p.Amount))
		f.transactions++
	}
	f.last = p.At
}

// randomAccountCommand is a command the owner might send next: mostly ones
// the account takes, some it refuses (and that append nothing).
func randomAccountCommand(r *rand.Rand, s bank.State, at time.Time) bank.Command {
	amount := bank.Money(r.Int64N(int64(bank.MaxAmount)) + 1)
	if r.IntN(2) == 0 {
		amount = bank.Money(r.IntN(10_000) + 1)
	}
	switch r.IntN(12) {
	case 0:
		return bank.OpenAccount{InitialDeposit: amount - 1, Actor: "ana", At: at}
	case 1:
		return bank.CloseAccount{Actor: "ana", At: at}
	case 2:
		return bank.Withdraw{Amount: s.Balance, Actor: "ana", At: at}
	case 3, 4, 5, 6:
		return bank.Withdraw{Amount: amount, Actor: "ana", At: at}
	default:
		return bank.Deposit{Amount: amount, Actor: "ana", At: at}
	}
}

func TestAccountsReadModelAgreesWithAnExactFoldOfThePayloads(t *testing.T) {
	d := bank.Decider()
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 16))
		m := NewAccounts()
		folds := map[string]*accountFold{}
		states := map[string]bank.State{}
		versions := map[string]int64{}
		at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		for range 400 {
			id := fmt.Sprintf("acc-%d", rng.IntN(6))
			at = at.Add(time.Duration(1+rng.IntN(3600)) * time.Second)
			events, err := d.Decide(randomAccountCommand(rng, states[id], at), states[id])
			if err != nil {
				continue
			}
			for _, e := range events {
				name, schema, data, err := d.Events.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				versions[id]++
				env := es.Envelope{Stream: es.StreamRef{Type: bank.StreamType, ID: id}, Version: versions[id], Type: name, SchemaVersion: schema, Data: data, Time: at, Actor: "ana"}
				if err := m.Apply(env, newChanges()); err != nil {
					t.Fatal(err)
				}
				states[id] = d.Evolve(states[id], e)
				if folds[id] == nil {
					folds[id] = &accountFold{}
				}
				folds[id].apply(t, env)
			}
		}
		if _, total, _ := m.Newest(t.Context(), ListLimit); total != len(folds) {
			t.Errorf("seed %d: the list holds %d accounts, the log %d", seed, total, len(folds))
		}
		for id, want := range folds {
			got, ok, err := m.Get(t.Context(), id)
			if err != nil || !ok {
				t.Fatalf("seed %d: no view of %s", seed, id)
			}
			if got.State.Balance.String() != want.balance.FloatString(2) || got.State.Transactions != want.transactions ||
				!got.State.LastActivity.Equal(want.last) || got.Version != versions[id] {
				t.Errorf("seed %d, %s: view %+v at version %d; the fold says balance %s, %d transactions, last %v at version %d",
					seed, id, got.State, got.Version, want.balance.FloatString(2), want.transactions, want.last, versions[id])
			}
			if want.balance.Sign() < 0 {
				t.Errorf("seed %d, %s: a negative balance %s", seed, id, want.balance.FloatString(2))
			}
		}
	}
}
