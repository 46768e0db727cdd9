//go:build !race

package reactions_test

const raceEnabled = false
