// Package es is foldboard's event-sourcing core: the event envelope, deciders and
// their fold, command handling with optimistic concurrency and idempotency, the
// interfaces every event store and change feed implements, and the event type
// registry. It knows nothing of HTTP or of any particular database.
package es
