// Package static holds the files the pages load: the style sheet, the few
// lines of JavaScript that keep a page live, the icon.
package static

import "embed"

// FS holds the files, served under /static/.
//
//go:embed app.css app.js timeline.js favicon.svg
var FS embed.FS
