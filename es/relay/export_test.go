package relay

import "time"

// SetBlockFor sets how long one XREAD waits, until the test ends.
func SetBlockFor(t interface{ Cleanup(func()) }, d time.Duration) {
	old := blockFor
	blockFor = d
	t.Cleanup(func() { blockFor = old })
}

// Wake-up limits, for the tests of their bounds.
const (
	MaxWakePairs   = maxWakePairs
	MaxWakeBytes   = maxWakeBytes
	MaxHeldAppends = maxHeldAppends
)

// EncodeWake and DecodeWake are the wake-up's message format.
var (
	EncodeWake = encodeWake
	DecodeWake = decodeWake
)
