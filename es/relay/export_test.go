package relay

import "time"

// SetBlockFor sets how long one XREAD waits, until the test ends.
func SetBlockFor(t interface{ Cleanup(func()) }, d time.Duration) {
	old := blockFor
	blockFor = d
	t.Cleanup(func() { blockFor = old })
}
