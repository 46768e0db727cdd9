package user

import (
	"encoding/json"
	"strings"

	"github.com/foldboard/foldboard/es"
)

// hidden replaces a password hash's salt and key wherever an account is
// shown: what remains says how it was hashed, and nothing that could be
// guessed against.
func hidden(phc string) string {
	if phc == "" {
		return ""
	}
	// $argon2id$v=19$m=…,t=…,p=…$salt$key: keep the first three parts.
	parts := strings.SplitN(phc, "$", 5)
	if len(parts) < 4 {
		return "(hidden)"
	}
	return strings.Join(parts[:4], "$") + "$(hidden)"
}

// Public is the state as it may be shown: the password hash without its salt
// and key.
func (s State) Public() State {
	s.PasswordHash = hidden(s.PasswordHash)
	return s
}

// Redact is e as it may be shown: an account event's password hash without
// its salt and key. Events of other streams pass as they are.
func Redact(e es.Envelope) es.Envelope {
	if e.Stream.Type != StreamType || (e.Type != "Registered" && e.Type != "PasswordChanged") {
		return e
	}
	var data map[string]any
	if json.Unmarshal(e.Data, &data) != nil {
		e.Data = json.RawMessage(`{}`)
		return e
	}
	if h, ok := data["passwordHash"].(string); ok {
		data["passwordHash"] = hidden(h)
	}
	e.Data, _ = json.Marshal(data)
	return e
}
