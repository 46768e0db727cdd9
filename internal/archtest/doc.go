// Package archtest holds no code, only a test that keeps the direction of
// imports architecture.md sets: the domain imports the core only, and the core
// the standard library and ulid only.
package archtest
