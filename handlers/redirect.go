package handlers

import (
	"net/url"
	"strings"
)

// sameOriginPath reports whether p, sent back as a Location, can only lead
// to a page of this site: an absolute path ("/…") with no scheme, host or
// user, and nothing a browser would drop or turn into a slash on the way
// (browsers remove tabs and line breaks from URLs and read a backslash as a
// slash, so "/\t/evil.example" is "//evil.example", another site).
func sameOriginPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || len(p) > 2048 {
		return false
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f || r == '\\' || r >= 0x80 && r <= 0x9f || isBidiControl(r) || isInvisible(r) {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" &&
		strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}
