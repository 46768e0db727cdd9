package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

// textShape is what a text field may hold besides printable text.
type textShape int

const (
	// oneLine fields (names, titles, a result) hold no control character
	// at all.
	oneLine textShape = iota
	// multiLine fields (a post's body) may hold tabs and line breaks (a
	// browser sends a textarea's as CR LF).
	multiLine
)

// checkText refuses text that should never be stored, whatever the field:
// bytes that are not UTF-8, control characters (C0, DEL, C1; tab, LF and CR
// only in multiLine), bidirectional overrides and isolates (which reorder
// the text around them where it is shown), and text made only of invisible
// characters (a zero-width space for a venue). Everything else is kept as
// typed. Empty or blank text is the domain's to judge (its own bounds).
func checkText(field, s string, shape textShape) error {
	if !utf8.ValidString(s) {
		return badText("%s is not UTF-8 text", field)
	}
	invisible := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			if shape == multiLine && (r == '\t' || r == '\n' || r == '\r') {
				continue
			}
			return badText("%s holds a control character (%U)", field, r)
		case isBidiControl(r):
			return badText("%s holds a bidirectional override (%U), which would reorder the text around it", field, r)
		case isInvisible(r):
			invisible = true
		}
	}
	if invisible && strings.TrimFunc(s, func(r rune) bool { return isInvisible(r) || unicode.IsSpace(r) }) == "" {
		return badText("%s holds only invisible characters", field)
	}
	return nil
}

func badText(format string, args ...any) error {
	return es.Errorf(es.Invalid, "BadText", format, args...)
}

// isBidiControl reports the embeddings and overrides U+202A-U+202E and the
// isolates U+2066-U+2069.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// isInvisible reports characters that draw nothing: format characters (the
// zero-width space, joiners, the byte-order mark, the soft hyphen), the
// other default-ignorable ones (the Hangul fillers) and variation selectors.
func isInvisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == 0x2800 // the blank Braille pattern
}
