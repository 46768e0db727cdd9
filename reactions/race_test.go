//go:build race

package reactions_test

// raceEnabled: the tests run with -race (and take several times as long).
const raceEnabled = true
