package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/foldboard/foldboard/es"
)

// input is a command's fields, from a form or a JSON object: one contract, two
// shapes.
type input struct {
	json map[string]json.RawMessage
	form url.Values
	// used records the fields read, so that unknown JSON fields are refused.
	used map[string]bool
	// actor sent the input (set by the command route), for madeID.
	actor string
}

// readInput reads the request body as a form or a JSON object, by its content
// type. An empty body is an empty input whatever its type (commands with no
// fields are often sent that way).
func readInput(r *http.Request) (*input, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, tooBig := err.(*http.MaxBytesError); tooBig {
			return nil, err // over the limit: 413
		}
		// The client's fault, not ours: too slow (the server's read
		// timeout), gone, or a broken chunked encoding.
		return nil, &bodyError{err: err}
	}
	in := &input{used: map[string]bool{}, form: url.Values{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if in.form, err = url.ParseQuery(string(body)); err != nil {
			return nil, badRequest("BadForm", "", "the form could not be read: %v", err)
		}
		for name, vs := range in.form {
			if len(vs) > 1 {
				return nil, duplicateField(name)
			}
		}
	case "application/json":
		if in.json, err = decodeObject(body); err != nil {
			return nil, err
		}
	default:
		return nil, errUnsupportedMedia
	}
	return in, nil
}

// decodeObject reads a JSON object's fields as they are, refusing a field
// sent twice (encoding/json would keep the last, and a reader might check
// the first).
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	notObject := badRequest("BadJSON", "", "the body is not a JSON object")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	obj := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		name, isName := tok.(string)
		if err != nil || !isName {
			return nil, notObject
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject
		}
		if _, seen := obj[name]; seen {
			return nil, duplicateField(name)
		}
		obj[name] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("BadJSON", "", "the body holds more than one JSON value")
	}
	return obj, nil
}

func duplicateField(name string) error {
	return badRequest("DuplicateField", name, "%.64q is sent more than once; send each field once", name)
}

// text reads a one-line text field; ok is false when it is absent.
func (in *input) text(name string) (s string, ok bool, err error) {
	return in.textOf(name, oneLine)
}

// multiLineText reads a text field that may hold tabs and line breaks.
func (in *input) multiLineText(name string) (s string, ok bool, err error) {
	return in.textOf(name, multiLine)
}

// textOf reads a text field, refusing text that should not be stored
// (checkText): every text field of every command passes here.
func (in *input) textOf(name string, shape textShape) (s string, ok bool, err error) {
	s, ok, err = in.rawText(name)
	if err == nil && ok {
		err = checkText(name, s, shape)
	}
	if err != nil {
		return "", false, err
	}
	return s, ok, nil
}

// rawText reads a field's text as sent.
func (in *input) rawText(name string) (s string, ok bool, err error) {
	in.used[name] = true
	if in.json != nil {
		raw, ok := in.json[name]
		if !ok || string(raw) == "null" {
			return "", false, nil
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, badRequest("BadField", name, "%s must be a string", name)
		}
		return s, true, nil
	}
	vs, ok := in.form[name]
	if !ok {
		return "", false, nil
	}
	return vs[0], true, nil
}

// requiredText reads a text field that must be present (it may be empty: an
// empty value is the domain's to refuse, with a 422).
func (in *input) requiredText(name string) (string, error) {
	s, ok, err := in.text(name)
	if err == nil && !ok {
		err = badRequest("MissingField", name, "%s is required", name)
	}
	return s, err
}

// count reads a whole number: a JSON number, or a form's decimal digits.
func (in *input) count(name string) (n int64, ok bool, err error) {
	in.used[name] = true
	// Made only when needed: building the error costs a Sprintf, and
	// counts are read on every command.
	bad := func() error { return badRequest("BadNumber", name, "%s must be a whole number", name) }
	if in.json != nil {
		raw, present := in.json[name]
		if !present || string(raw) == "null" {
			return 0, false, nil
		}
		// json.Number would take the string "250" too: a count is a number.
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return 0, false, bad()
		}
		// raw is a valid JSON value (the body was decoded), so here a
		// number literal: what json.Number's Int64 would parse, parsed.
		if n, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return 0, false, bad()
		}
		return n, true, nil
	}
	vs, present := in.form[name]
	if !present || vs[0] == "" {
		return 0, false, nil // an empty number input is sent as ""
	}
	// Digits, perhaps after a minus (the domain refuses negatives with its
	// own code): no spaces, no plus.
	if digits := strings.TrimPrefix(vs[0], "-"); digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false, bad()
	}
	if n, err = strconv.ParseInt(vs[0], 10, 64); err != nil {
		return 0, false, bad()
	}
	return n, true, nil
}

// requiredCount reads a whole number that must be present.
func (in *input) requiredCount(name string) (int64, error) {
	n, ok, err := in.count(name)
	if err == nil && !ok {
		err = badRequest("MissingField", name, "%s is required", name)
	}
	return n, err
}

// decimal reads an exact decimal: a JSON string ("19.99") or number (19.99,
// taken as written, never through a float), or a form's text.
func (in *input) decimal(name string) (string, bool, error) {
	in.used[name] = true
	if in.json != nil {
		raw, present := in.json[name]
		if !present || string(raw) == "null" {
			return "", false, nil
		}
		var num json.Number
		if err := json.Unmarshal(raw, &num); err == nil {
			return num.String(), true, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, badRequest("BadNumber", name, "%s must be a decimal, as a string or a number", name)
		}
		return s, true, nil
	}
	return in.rawText(name)
}

// meta reads the fields every command takes: the expected version and the
// command id.
func (in *input) meta(streamID string) (es.Meta, error) {
	m := es.Meta{StreamID: streamID, Expected: es.AnyVersion}
	if v, ok, err := in.count("expectedVersion"); err != nil {
		return m, err
	} else if ok {
		if v < 0 {
			return m, badRequest("BadNumber", "expectedVersion", "expectedVersion must be 0 or more")
		}
		m.Expected = v
	}
	id, ok, err := in.rawText("commandId") // an id: BadCommandID below
	if err != nil {
		return m, err
	}
	if ok && id != "" {
		if !es.ValidID(id) {
			return m, badRequest("BadCommandID", "commandId", "commandId must be 1-64 characters of A-Z a-z 0-9 - _ . and not only dots")
		}
		m.CommandID = id
	}
	return m, nil
}

// done refuses JSON fields no reader asked for: a misspelt field is a
// mistake the caller wants to hear about.
func (in *input) done() error {
	for name := range in.json {
		if !in.used[name] {
			return badRequest("UnknownField", name, "unknown field %q", name)
		}
	}
	return nil
}

// wantsJSON reports whether the client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// validStreamID refuses an id outside the alphabet before it reaches a key.
func validStreamID(id string) error {
	if !es.ValidID(id) {
		return badRequest("BadID", "id", "ids are 1-64 characters of A-Z a-z 0-9 - _ . and not only dots")
	}
	return nil
}
