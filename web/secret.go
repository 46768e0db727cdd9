package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
)

// settingsName keys foldboard's own settings among the saved documents,
// beside the name of the read models in use.
const settingsName = projections.SettingsName

// cookieSecret returns the key that signs actor cookies: made once, at the
// first start, and kept in the store, so that a restart (or a second
// instance on the same store) keeps everyone signed in.
func cookieSecret(ctx context.Context, store es.ReadModelStore) ([]byte, error) {
	_, docs, err := store.LoadReadModels(ctx, settingsName)
	if err != nil {
		return nil, fmt.Errorf("loading settings: %w", err)
	}
	var enc string
	if doc, ok := docs["cookie-secret"]; ok && json.Unmarshal(doc, &enc) == nil {
		if key, err := base64.StdEncoding.DecodeString(enc); err == nil && len(key) >= 32 {
			return key, nil
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(base64.StdEncoding.EncodeToString(key))
	if err := store.SaveReadModels(ctx, settingsName, "", map[string]json.RawMessage{"cookie-secret": doc}); err != nil {
		return nil, fmt.Errorf("saving settings: %w", err)
	}
	return key, nil
}
