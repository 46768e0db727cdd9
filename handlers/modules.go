package handlers

import "github.com/foldboard/foldboard/projections"

// Modules are the domains foldboard serves, in the order of the navigation.
// Adding a domain adds one line here (see Module).
func Modules() []Module {
	return []Module{
		Matches(),
		Carts(),
		Posts(),
		Accounts(),
	}
}

// ReadModels are the read models of the modules, for a read side.
func ReadModels(modules []Module) []projections.ReadModel {
	var out []projections.ReadModel
	for _, m := range modules {
		out = append(out, m.ReadModels...)
	}
	return append(out, chainsReadModel(modules))
}

// NewReadSide makes empty read models of every module in Modules.
func NewReadSide() *projections.ReadSide { return projections.NewReadSide(ReadModels(Modules())) }
