package web

import "crypto/rand"

// ephemeralSecret is a key for a server given none: sessions signed with it
// last as long as the process. It is never written anywhere; main keeps a
// lasting one for the embedded store in a file of its own (0600), and a
// cluster must be given FOLDBOARD_SECRET.
func ephemeralSecret() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}
