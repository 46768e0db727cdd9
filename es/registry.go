package es

import (
	"encoding/json"
	"fmt"
)

// Upcaster turns an event's payload written under schema version From into the
// payload of version From+1.
type Upcaster struct {
	From int
	Up   func(json.RawMessage) (json.RawMessage, error)
}

// Registry maps event type names to a domain's event types and back: Encode
// gives the name, current schema version and JSON payload of an event; Decode
// turns stored payloads (upcast from older schema versions first) into events.
type Registry[E Event] struct {
	types map[string]eventType[E]
}

type eventType[E Event] struct {
	schema    int
	decode    func(json.RawMessage) (E, error)
	upcasters map[int]func(json.RawMessage) (json.RawMessage, error)
}

// NewRegistry makes an empty registry.
func NewRegistry[E Event]() *Registry[E] {
	return &Registry[E]{types: map[string]eventType[E]{}}
}

// Register adds the event type T, stored under its EventType name at schema
// version schema, with upcasters from each older version. The name is
// written once, in EventType. It panics on a repeated name, or a T that is
// not an E: both are programming errors found at start.
func Register[T Event, E Event](r *Registry[E], schema int, upcasters ...Upcaster) {
	var zero T
	name := zero.EventType()
	if _, ok := any(zero).(E); !ok {
		panic(fmt.Sprintf("es: event type %q is not a %T", name, *new(E)))
	}
	if _, dup := r.types[name]; dup {
		panic(fmt.Sprintf("es: event type %q registered twice", name))
	}
	ups := map[int]func(json.RawMessage) (json.RawMessage, error){}
	for _, u := range upcasters {
		ups[u.From] = u.Up
	}
	r.types[name] = eventType[E]{
		schema: schema,
		decode: func(data json.RawMessage) (E, error) {
			var t T
			if len(data) > 0 {
				if err := json.Unmarshal(data, &t); err != nil {
					var zeroE E
					return zeroE, err
				}
			}
			return any(t).(E), nil
		},
		upcasters: ups,
	}
}

// Names lists the registered event type names.
func (r *Registry[E]) Names() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	return names
}

// Encode returns an event's type name, schema version and payload.
func (r *Registry[E]) Encode(e E) (name string, schema int, data json.RawMessage, err error) {
	name = e.EventType()
	t, ok := r.types[name]
	if !ok {
		return "", 0, nil, fmt.Errorf("es: event type %q is not registered", name)
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("es: encoding %s: %w", name, err)
	}
	return name, t.schema, data, nil
}

// Decode turns a stored payload into an event, upcasting it from its schema
// version to the current one.
func (r *Registry[E]) Decode(name string, schema int, data json.RawMessage) (E, error) {
	var zero E
	t, ok := r.types[name]
	if !ok {
		return zero, fmt.Errorf("es: unknown event type %q", name)
	}
	if schema > t.schema {
		return zero, fmt.Errorf("es: event %s has schema version %d, newer than this program's %d", name, schema, t.schema)
	}
	for v := schema; v < t.schema; v++ {
		up, ok := t.upcasters[v]
		if !ok {
			return zero, fmt.Errorf("es: event %s: no upcaster from schema version %d", name, v)
		}
		var err error
		if data, err = up(data); err != nil {
			return zero, fmt.Errorf("es: upcasting %s from schema version %d: %w", name, v, err)
		}
	}
	e, err := t.decode(data)
	if err != nil {
		return zero, fmt.Errorf("es: decoding %s: %w", name, err)
	}
	return e, nil
}

// DecodeEnvelope decodes an envelope's payload.
func (r *Registry[E]) DecodeEnvelope(env Envelope) (E, error) {
	return r.Decode(env.Type, env.SchemaVersion, env.Data)
}
