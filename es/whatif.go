package es

import "context"

// WhatIf decides cmd on the stream's state after version and returns what
// Handle would have appended there: the events (with the ids, versions and
// time they would have) and the state after them, or the decider's error.
// It appends nothing, and leaves Heads alone. meta.Expected, when set, must
// be version, as for Handle; a command id is not looked up (nothing is
// recorded, so nothing repeats).
func (h *Handler[S, C, E]) WhatIf(ctx context.Context, meta Meta, cmd C, version int64) (Result[S], error) {
	stream := StreamRef{Type: h.Decider.StreamType, ID: meta.StreamID}
	if err := stream.Validate(); err != nil {
		return Result[S]{}, &Error{Kind: Invalid, Code: "BadStreamID", Message: err.Error()}
	}
	state, at, err := h.LoadAt(ctx, stream, version)
	if err != nil {
		return Result[S]{}, err
	}
	if meta.Expected != AnyVersion && meta.Expected != at {
		return Result[S]{}, &ConflictError{Stream: stream, Expected: meta.Expected, Actual: at}
	}
	events, err := h.Decider.Decide(cmd, state)
	if err != nil {
		return Result[S]{}, err
	}
	now := h.now()
	res := Result[S]{Stream: stream, Version: at, Created: at == 0 && len(events) > 0, Events: []Envelope{}}
	for _, e := range events {
		name, schema, data, err := h.Decider.Events.Encode(e)
		if err != nil {
			return Result[S]{}, err
		}
		res.Version++
		res.Events = append(res.Events, Envelope{
			ID: h.newID(now), Stream: stream, Version: res.Version,
			Type: name, SchemaVersion: schema, Time: now, Actor: meta.Actor,
			CorrelationID: meta.CorrelationID, CausationID: meta.CausationID, CommandID: meta.CommandID,
			Data: data,
		})
		state = h.Decider.Evolve(state, e)
	}
	res.State = state
	return res, nil
}
