package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/foldboard/foldboard/es"
)

// secretSetting names the cookie key among the settings.
const secretSetting = "cookie-secret"

// cookieSecret returns the key that signs actor cookies: made once, by the
// first instance to start on the store (a conditional create: instances
// started together agree), and kept, so that a restart or another instance
// keeps everyone signed in.
func cookieSecret(ctx context.Context, settings es.Settings) ([]byte, error) {
	for range 3 {
		doc, ok, err := settings.Setting(ctx, secretSetting)
		if err != nil {
			return nil, fmt.Errorf("loading the cookie secret: %w", err)
		}
		if key, valid := decodeSecret(doc); ok && valid {
			return key, nil
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		mine, _ := json.Marshal(base64.StdEncoding.EncodeToString(key))
		if !ok {
			doc, err = settings.CreateSetting(ctx, secretSetting, mine)
		} else if err = settings.SwapSetting(ctx, secretSetting, doc, mine); err == nil {
			doc = mine // a secret too short or garbled is replaced
		}
		if errors.Is(err, es.ErrSettingChanged) {
			continue // another instance replaced it first: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("saving the cookie secret: %w", err)
		}
		if key, valid := decodeSecret(doc); valid {
			return key, nil
		}
	}
	return nil, errors.New("the cookie secret in the settings keeps changing or is not valid")
}

// decodeSecret reads a stored key: a JSON string of base64, 32 bytes or more.
func decodeSecret(doc json.RawMessage) ([]byte, bool) {
	var enc string
	if json.Unmarshal(doc, &enc) != nil {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	return key, err == nil && len(key) >= 32
}
