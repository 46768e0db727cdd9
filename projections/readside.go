package projections

import "fmt"

// ReadModel names one read model of a module and makes it empty: every read
// side (the one served, and each rebuild's) gets a fresh one.
type ReadModel struct {
	// Name finds the model in a ReadSide ("carts").
	Name string
	New  func() Model
	// Across says the model's documents gather the events of many streams
	// (a day's sales): a replay of one stream's events alone cannot show
	// one of them as it was, the log up to the event can.
	Across bool
}

// ReadSide is every read model foldboard keeps: the event index, which every
// event goes to, and the read models the modules declare, by name.
type ReadSide struct {
	// Events is the global event browser's index.
	Events *EventIndex
	models []Model
	named  map[string]Model
}

// NewReadSide makes empty read models: the event index and one of each
// model given. It panics on a name given twice (a programming error found at
// start).
func NewReadSide(models []ReadModel) *ReadSide {
	rs := &ReadSide{Events: NewEventIndex(), named: make(map[string]Model, len(models))}
	for _, m := range models {
		if _, dup := rs.named[m.Name]; dup {
			panic(fmt.Sprintf("projections: read model %q declared twice", m.Name))
		}
		model := m.New()
		rs.named[m.Name] = model
		rs.models = append(rs.models, model)
	}
	return rs
}

// Models lists the read models for the projector.
func (rs *ReadSide) Models() []Model {
	return append(append([]Model(nil), rs.models...), rs.Events)
}

// Model returns the read model declared under name, nil for none.
func (rs *ReadSide) Model(name string) Model { return rs.named[name] }

// ModelOf returns the read model declared under name as its own type. It
// panics when there is none of that type: the module that reads it declared
// it, so that is a programming error.
func ModelOf[M Model](rs *ReadSide, name string) M {
	m, ok := rs.named[name].(M)
	if !ok {
		panic(fmt.Sprintf("projections: no read model %q of type %T", name, *new(M)))
	}
	return m
}
