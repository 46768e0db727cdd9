package projections

import (
	"context"
	"log/slog"

	"github.com/foldboard/foldboard/es"
)

// Setup makes projectors of the read models, the same way wherever they run
// (the server, `foldboard rebuild`): saves merged every DefaultSaveEvery,
// the store's write limit priced into the catalogue.
type Setup struct {
	Feed       es.Feed
	Store      es.ReadModelStore
	Log        *slog.Logger
	WriteLimit es.StreamWriteLimit
	// NewReadSide makes empty read models (the modules' list lives with
	// the handlers).
	NewReadSide func() *ReadSide
	// OnBatch, when set, is told of every batch applied (metrics).
	OnBatch func(BatchStats)
	// OnApplied and StopOn are the projectors' (Config).
	OnApplied func(ctx context.Context, from string, b es.Batch)
	StopOn    func(error) bool
	// Events is the event store, which views read back on demand are
	// brought up to date from (Config.Events).
	Events StreamReader
	// Follower says the saves read back are another's (Config.Follower).
	Follower bool
}

// NewSetup is the setup for a store: its feed, read models and write limit.
func NewSetup(b es.Backend, read func() *ReadSide, log *slog.Logger) Setup {
	limit, _ := b.Store.(es.StreamWriteLimit)
	return Setup{Feed: b.Feed, Store: b.ReadModels, Log: log, WriteLimit: limit, NewReadSide: read, Events: b.Store}
}

// New makes empty read models and their projector, saved under name;
// onChange, when set, is told the topics each save changed, with the
// projector that saved.
func (s Setup) New(name string, onChange func(p *Projector, topics []string)) Current {
	read := s.NewReadSide()
	var p *Projector
	p = NewProjector(Config{
		Name: name, Feed: s.Feed, Store: s.Store, Log: s.Log, SaveEvery: DefaultSaveEvery,
		Models: read.Models(), OnBatch: s.OnBatch, WriteLimit: s.WriteLimit, OnApplied: s.OnApplied, StopOn: s.StopOn,
		Events: s.Events, Follower: s.Follower,
		OnChange: func(topics []string) {
			if onChange != nil {
				onChange(p, topics)
			}
		},
	})
	return Current{Read: read, Projector: p}
}
