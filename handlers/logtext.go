package handlers

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Log bounds: every value a client chooses (a path's stream id, a name, a
// method, a user agent) is logged at most this many bytes.
const (
	LogShort = 96  // ids, names, methods, outcomes
	LogLong  = 256 // paths, user agents
)

// LogText is a client-chosen s as a log line may carry it: at most n bytes
// (cut at a character's edge, then "…"), with control characters, bidi
// overrides, other invisible format characters and bytes that are not UTF-8
// written as escapes (\n, \x00, \u202e), so that no value can forge a line,
// hide text or grow a log without bound.
func LogText(s string, n int) string {
	clean := true
	for i := 0; i < len(s) && clean; {
		r, size := utf8.DecodeRuneInString(s[i:])
		clean = !(r == utf8.RuneError && size == 1) && !hiddenInLog(r)
		i += size
	}
	if clean && len(s) <= n {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var part string
		switch {
		case r == utf8.RuneError && size == 1:
			part = `\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:]
		case hiddenInLog(r):
			part = strings.Trim(strconv.QuoteRune(r), "'")
			if part == string(r) { // QuoteRune keeps printable format runes as they are
				part = `\u` + strconv.FormatUint(uint64(r)|0x10000, 16)[1:]
			}
		default:
			part = s[i : i+size]
		}
		if b.Len()+len(part) > n {
			b.WriteString("…")
			break
		}
		b.WriteString(part)
		i += size
	}
	return b.String()
}

// hiddenInLog says r would be invisible or act on the text around it in a
// log: controls (C0, DEL, C1) and format characters (bidi overrides,
// zero-width ones).
func hiddenInLog(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
