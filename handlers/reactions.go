package handlers

import (
	"context"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
	"github.com/foldboard/foldboard/views"
)

// ChainsModel names the read model of chains of causes (projections.Chains)
// in every read side.
const ChainsModel = "chains"

// Reactions are the reactions of the modules, in their order.
func Reactions(modules []Module) []es.Reaction {
	var out []es.Reaction
	for _, m := range modules {
		out = append(out, m.Reactions...)
	}
	return out
}

// chainsReadModel keeps the causes the modules' reactions answer and their
// effects.
func chainsReadModel(modules []Module) projections.ReadModel {
	types := reactions.CauseTypes(Reactions(modules))
	return projections.ReadModel{Name: ChainsModel, New: func() projections.Model { return projections.NewChains(types...) }}
}

func (a *App) chains() *projections.Chains {
	return projections.ModelOf[*projections.Chains](a.read(), ChainsModel)
}

// causeOf is what caused env: the event a reaction answered (from the
// chains, or, for a cause in env's own stream, from the events around it),
// else the command a person sent.
func (a *App) causeOf(ctx context.Context, env es.Envelope, around []es.Envelope) views.CauseOf {
	if env.CausationID == "" {
		return views.CauseOf{Command: !es.IsSystemActor(env.Actor)}
	}
	// A reaction's event carries its cause's correlation id: the cause is
	// in that correlation's chain. (A failed read is said as the events
	// around it say.)
	if e, ok, _ := a.chains().Event(ctx, env.CorrelationID, env.CausationID); ok {
		return views.CauseOf{Event: &e}
	}
	for _, c := range around {
		if c.ID == env.CausationID {
			return views.CauseOf{Event: &projections.ChainEvent{ID: c.ID, Stream: c.Stream.String(), Version: c.Version, Type: c.Type, Actor: c.Actor}}
		}
	}
	if es.IsSystemActor(env.Actor) {
		return views.CauseOf{} // an event not kept (nor in the window): said as nothing recorded
	}
	return views.CauseOf{Command: true, CommandID: env.CausationID}
}
