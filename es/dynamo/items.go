package dynamo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
)

// Attribute names: the storage format. Keep them fixed.
const (
	attrPK            = "pk"
	attrSK            = "sk"
	attrEventID       = "eventId"
	attrEventType     = "eventType"
	attrSchemaVersion = "schemaVersion"
	attrVersion       = "version"
	attrTime          = "time"
	attrActor         = "actor"
	attrCorrelationID = "correlationId"
	attrCausationID   = "causationId"
	attrCommandID     = "commandId"
	attrData          = "data"
	attrSchema        = "schema"
	attrCommands      = "cmds"
	attrCheckpoint    = "checkpoint"
	attrSaveMark      = "saveMark"

	skHead       = "head"
	skCheckpoint = "checkpoint"
	snapPrefix   = "snap#"
	docPrefix    = "doc#"
)

// DynamoDB's limits, which an append or a save must fit before it is sent.
const (
	MaxTransactItems = 100
	MaxTransactBytes = 4 << 20
	MaxItemBytes     = 400 << 10
)

// ErrTooLarge is matched by the error of an append or a read-model save that
// does not fit one DynamoDB transaction (MaxTransactItems items,
// MaxTransactBytes bytes) or one item (MaxItemBytes). Nothing was sent.
var ErrTooLarge = errors.New("too large for one DynamoDB transaction")

// streamKey is a stream's partition key: "match#m-1". Stream types and ids
// never hold '#' (es.ValidID), so the key splits back unambiguously.
func streamKey(s es.StreamRef) string { return s.Type + "#" + s.ID }

func parseStreamKey(k string) (es.StreamRef, error) {
	typ, id, ok := strings.Cut(k, "#")
	ref := es.StreamRef{Type: typ, ID: id}
	if !ok {
		return ref, fmt.Errorf("dynamo: stream key %q: want type#id", k)
	}
	return ref, ref.Validate()
}

// versionKey is a version as a sort key: zero-padded, so that string order is
// version order.
func versionKey(v int64) string {
	const width = 10
	var b [20]byte
	digits := strconv.AppendInt(b[:0], v, 10)
	if len(digits) >= width || v < 0 {
		return string(digits)
	}
	var out [width]byte
	for i := range out {
		out[i] = '0'
	}
	copy(out[width-len(digits):], digits)
	return string(out[:])
}

func snapKey(v int64) string { return snapPrefix + versionKey(v) }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// eventItem is an event as stored in the events table.
func eventItem(e es.Envelope) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK:            str(streamKey(e.Stream)),
		attrSK:            str(versionKey(e.Version)),
		attrEventID:       str(e.ID),
		attrEventType:     str(e.Type),
		attrSchemaVersion: num(int64(e.SchemaVersion)),
		attrVersion:       num(e.Version),
		attrTime:          str(e.Time.UTC().Format(time.RFC3339Nano)),
		attrActor:         str(e.Actor),
	}
	optional := func(name, v string) {
		if v != "" {
			item[name] = str(v)
		}
	}
	optional(attrCorrelationID, e.CorrelationID)
	optional(attrCausationID, e.CausationID)
	optional(attrCommandID, e.CommandID)
	if len(e.Data) > 0 {
		item[attrData] = str(string(e.Data))
	}
	return item
}

// decodeEvent reads an events-table item.
func decodeEvent(item map[string]types.AttributeValue) (es.Envelope, error) {
	return readEvent(itemReader{item: item})
}

// decodeStreamEvent reads a stream record's NEW_IMAGE, which holds the same
// item in the Streams API's own attribute types, without converting it first.
func decodeStreamEvent(image map[string]stypes.AttributeValue) (es.Envelope, error) {
	return readEvent(itemReader{image: image})
}

func readEvent(r itemReader) (es.Envelope, error) {
	ref, err := parseStreamKey(r.str(attrPK))
	if err != nil {
		return es.Envelope{}, err
	}
	e := es.Envelope{
		ID:            r.str(attrEventID),
		Stream:        ref,
		Version:       r.num(attrVersion),
		Type:          r.str(attrEventType),
		SchemaVersion: int(r.num(attrSchemaVersion)),
		Actor:         r.str(attrActor),
		CorrelationID: r.str(attrCorrelationID),
		CausationID:   r.str(attrCausationID),
		CommandID:     r.str(attrCommandID),
	}
	if d := r.str(attrData); d != "" {
		e.Data = json.RawMessage(d)
	}
	if t := r.str(attrTime); t != "" && r.err == nil {
		e.Time, r.err = time.Parse(time.RFC3339Nano, t)
	}
	if r.err == nil && versionKey(e.Version) != r.str(attrSK) {
		r.err = fmt.Errorf("version %d under sort key %q", e.Version, r.str(attrSK))
	}
	if r.err != nil {
		return es.Envelope{}, fmt.Errorf("dynamo: event item %s/%s: %w", r.str(attrPK), r.str(attrSK), r.err)
	}
	return e, nil
}

func stateItem(pk, sk string, rec es.StateRecord) map[string]types.AttributeValue {
	item := key(pk, sk)
	item[attrVersion] = num(rec.Version)
	item[attrSchema] = num(int64(rec.Schema))
	if len(rec.Data) > 0 {
		item[attrData] = str(string(rec.Data))
	}
	if cmds := es.EncodeCommands(rec.Commands); cmds != "" {
		item[attrCommands] = str(cmds)
	}
	return item
}

func decodeState(item map[string]types.AttributeValue) (es.StateRecord, error) {
	r := itemReader{item: item}
	rec := es.StateRecord{Version: r.num(attrVersion), Schema: int(r.num(attrSchema))}
	if d := r.str(attrData); d != "" {
		rec.Data = json.RawMessage(d)
	}
	if c := r.str(attrCommands); c != "" && r.err == nil {
		rec.Commands, r.err = es.DecodeCommands(c)
	}
	if r.err != nil {
		return es.StateRecord{}, fmt.Errorf("dynamo: state item %s/%s: %w", r.str(attrPK), r.str(attrSK), r.err)
	}
	return rec, nil
}

// itemReader reads attributes of an item, or of a stream record's image,
// keeping the first type error.
type itemReader struct {
	item  map[string]types.AttributeValue
	image map[string]stypes.AttributeValue
	err   error
}

func (r *itemReader) get(name string) any {
	if r.image != nil {
		if v, ok := r.image[name]; ok {
			return v
		}
		return nil
	}
	if v, ok := r.item[name]; ok {
		return v
	}
	return nil
}

func (r *itemReader) str(name string) string {
	switch v := r.get(name).(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	case *stypes.AttributeValueMemberS:
		return v.Value
	default:
		r.fail(fmt.Errorf("attribute %s is %T, want S", name, v))
		return ""
	}
}

func (r *itemReader) num(name string) int64 {
	var s string
	switch v := r.get(name).(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		s = v.Value
	case *stypes.AttributeValueMemberN:
		s = v.Value
	default:
		r.fail(fmt.Errorf("attribute %s is %T, want N", name, v))
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(fmt.Errorf("attribute %s: %w", name, err))
	}
	return n
}

func (r *itemReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// itemSize is an item's size as DynamoDB counts it against its limits
// (attribute names plus values), rounded up where DynamoDB's own rule is
// approximate, so that an item this accepts DynamoDB accepts too.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 2 // about one byte per two digits, plus one
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 2
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	}
	return 0
}
