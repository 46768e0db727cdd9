package views

import (
	"bytes"
	"encoding/json"
)

func timelinePathV(t Timeline, v int64) string {
	return "/streams/" + t.Stream.Type + "/" + t.Stream.ID + "/timeline?v=" + itoa(v)
}

func eventClass(v, at int64) string {
	switch {
	case v == at:
		return "current"
	case v > at:
		return "future"
	}
	return "past"
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
