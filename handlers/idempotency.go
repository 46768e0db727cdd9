package handlers

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/oklog/ulid/v2"

	"github.com/foldboard/foldboard/es"
)

// requestFingerprint is what a command id is sent with (contract.md: a
// commandId belongs to the actor and its request): the actor, the method and
// route, the stream and the decoded command's fields. The same id with
// another fingerprint is 422 IdempotencyKeyReused.
func requestFingerprint(r *http.Request, actor string, stream es.StreamRef, cmd any) string {
	fields, err := json.Marshal(cmd)
	if err != nil {
		fields = nil // a command of plain fields always encodes; never seen
	}
	route := r.Method + " " + chi.RouteContext(r.Context()).RoutePattern()
	return es.RequestFingerprint(actor, route, stream, fields)
}

// madeID is the id the server gives a new stream whose request named none:
// from the command id when there is one, so that the request sent again
// reaches the same stream, whose head answers it with its first result; a
// new ULID when there is none. The actor is in it too: a command id is its
// actor's, and another's same id must start a stream of its own.
func madeID(field, actor, commandID string) string {
	if commandID == "" || !es.ValidID(commandID) {
		return newCommandID()
	}
	sum := sha256.Sum256([]byte(field + "\x00" + actor + "\x00" + commandID))
	var id ulid.ULID
	copy(id[:], sum[:])
	return id.String()
}
