package handlers

import (
	"strings"
	"testing"
)

func TestLogTextClipsAndEscapes(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		n        int
	}{
		{"match-1", "match-1", 64},
		{"a\nlevel=ERROR msg=forged", `a\nlevel=ERROR msg=forged`, 64},
		{"nul\x00", `nul\x00`, 64},
		{"bad\xffutf8", `bad\xffutf8`, 64},
		{"rtl\u202egnp.exe", `rtl\u202egnp.exe`, 64},
		{"zero\u200bwidth", `zero\u200bwidth`, 64},
		{"Ünïcödé ✓", "Ünïcödé ✓", 64},
		{strings.Repeat("x", 20), strings.Repeat("x", 10) + "…", 10},
		{strings.Repeat("é", 10), strings.Repeat("é", 5) + "…", 10}, // cut at a character's edge
		{strings.Repeat("\n", 10), `\n\n\n\n\n` + "…", 10},
	} {
		if got := LogText(tc.in, tc.n); got != tc.want {
			t.Errorf("LogText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if got := LogText(strings.Repeat("y", 100_000), LogLong); len(got) > LogLong+len("…") {
		t.Errorf("a 100,000-byte value logged as %d bytes", len(got))
	}
}
