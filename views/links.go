package views

import (
	"fmt"
	"slices"
)

// streamPage is the page of a stream in its domain.
func streamPage(typ, id string) string {
	switch typ {
	case "match":
		return "/matches/" + id
	case "cart":
		return "/carts/" + id
	case "post":
		return "/posts/" + id
	}
	return timelinePath(typ, id, 0)
}

// timelinePath is a stream's timeline at version v (the latest for 0).
func timelinePath(typ, id string, v int64) string {
	p := "/streams/" + typ + "/" + id + "/timeline"
	if v > 0 {
		p += fmt.Sprintf("?v=%d", v)
	}
	return p
}

func sortedTypes(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
