package handlers

import (
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
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
