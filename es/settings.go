package es

import (
	"context"
	"encoding/json"
	"errors"
)

// Settings keeps an application's own settings (the key that signs cookies,
// the name of the read models in use): small JSON values by name, each
// created once by whoever comes first and changed only from the value the
// changer saw, so that instances started together agree.
type Settings interface {
	// Setting returns the value of name, and whether it has one.
	Setting(ctx context.Context, name string) (json.RawMessage, bool, error)
	// CreateSetting gives name the value unless it has one already, in one
	// conditional write, and returns the value name has after the call:
	// value, or the one another writer stored first.
	CreateSetting(ctx context.Context, name string, value json.RawMessage) (json.RawMessage, error)
	// SwapSetting sets name to value if it holds old now (nil old: if it
	// has no value), in one conditional write; otherwise it fails with an
	// error matching ErrSettingChanged.
	SwapSetting(ctx context.Context, name string, old, value json.RawMessage) error
}

// ErrSettingChanged says a setting did not hold the value a swap expected.
var ErrSettingChanged = errors.New("the setting changed meanwhile")

// Backend is one opened event store as an application uses it: the log,
// its change feed, the store of read models and the settings.
type Backend struct {
	Store      Store
	Feed       Feed
	ReadModels ReadModelStore
	Settings   Settings
}
