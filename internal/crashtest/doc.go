// Package crashtest runs the built foldboard binary and does to it what the
// world does to servers: kill -9 in the middle of concurrent commands, SIGTERM
// while commands and WebSockets are in flight. Its tests check that nothing
// acknowledged is lost, that no stream has a gap or a duplicate, that every
// read model equals a fresh fold of the log, that the SQLite file stays
// intact, and that a graceful stop answers or cleanly refuses every request.
//
// The tests build the binary once per test binary (with -race when the tests
// run with it). See RELIABILITY.md at the root for the figures and how to
// rerun them.
package crashtest
