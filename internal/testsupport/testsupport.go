// Package testsupport holds what several test packages need alike: JSON
// compared as documents, and the last bytes of a process's output.
package testsupport

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
)

// SameJSON compares two values as JSON documents: a json.RawMessage as it
// is, anything else as it marshals; key order and spacing do not count. A
// nil json.RawMessage (a document that is not there) equals only another.
func SameJSON(t testing.TB, a, b any) bool {
	t.Helper()
	ra, aRaw := a.(json.RawMessage)
	rb, bRaw := b.(json.RawMessage)
	if (aRaw && ra == nil) || (bRaw && rb == nil) {
		return aRaw && bRaw && ra == nil && rb == nil
	}
	return reflect.DeepEqual(document(t, a), document(t, b))
}

// document is v decoded as a generic JSON value.
func document(t testing.TB, v any) any {
	t.Helper()
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not JSON: %q", raw)
	}
	return out
}

// JSON is v as JSON, for a failure's message.
func JSON(t testing.TB, v any) string {
	t.Helper()
	if raw, ok := v.(json.RawMessage); ok {
		return string(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TailBuffer keeps the last Max bytes written to it: a child process's
// output, for the message of a test that fails.
type TailBuffer struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String is what the buffer holds.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
