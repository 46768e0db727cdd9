package es

import (
	"context"
	"fmt"
)

// Dispatched is what a command run through Commands did.
type Dispatched struct {
	Version  int64
	Events   []Envelope
	Repeated bool
}

// Commands runs a command on a stream of any domain, through that domain's
// Handler: the same command handling (idempotency, retries, Heads, OnAppend)
// as the HTTP handlers use, when they share the Handler values.
type Commands struct {
	handlers map[string]func(ctx context.Context, meta Meta, cmd any) (Dispatched, error)
}

// Route makes cs run the commands of h's stream type through h.
func Route[S any, C any, E Event](cs *Commands, h *Handler[S, C, E]) {
	if cs.handlers == nil {
		cs.handlers = map[string]func(context.Context, Meta, any) (Dispatched, error){}
	}
	cs.handlers[h.Decider.StreamType] = func(ctx context.Context, meta Meta, cmd any) (Dispatched, error) {
		c, ok := cmd.(C)
		if !ok {
			return Dispatched{}, permanent(fmt.Errorf("a %T is not a command of %s streams", cmd, h.Decider.StreamType))
		}
		res, err := h.Handle(ctx, meta, c)
		if err != nil {
			return Dispatched{}, err
		}
		return Dispatched{Version: res.Version, Events: res.Events, Repeated: res.Repeated}, nil
	}
}

// Dispatch runs cmd on stream with meta (whose StreamID it sets).
func (cs *Commands) Dispatch(ctx context.Context, stream StreamRef, meta Meta, cmd any) (Dispatched, error) {
	run, ok := cs.handlers[stream.Type]
	if !ok {
		return Dispatched{}, permanent(fmt.Errorf("no handler runs commands of %s streams", stream.Type))
	}
	meta.StreamID = stream.ID
	return run(ctx, meta, cmd)
}
