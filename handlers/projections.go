package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// projectionsAnswer is GET /projections as JSON (contract.md,
// "Projections"). The read models part holds what the projector tells
// today; the board's own work fills in the rest.
type projectionsAnswer struct {
	ReadModels []readModelAnswer `json:"readModels"`
	Reactions  []reactionAnswer  `json:"reactions"`
	// Stream is where the read models' checkpoint stands in each shard of
	// the store's change feed, when it has shards (DynamoDB Streams).
	Stream *streamAnswer `json:"stream,omitempty"`
}

// streamAnswer is the read models' checkpoint in the shards of the feed:
// es.ShardReport, with each countdown taken at the answer's time.
type streamAnswer struct {
	RetentionSeconds int64         `json:"retentionSeconds"`
	Shards           []shardAnswer `json:"shards"`
	LeftOff          int           `json:"leftOff"`
	// Bootstrap is the feed's last re-bootstrap from the events table.
	Bootstrap *bootstrapAnswer `json:"bootstrap,omitempty"`
	// Error says why the shards could not be listed.
	Error string `json:"error,omitempty"`
	// ReportedBy and ReportedAt, on a cluster's follower, name the lease
	// holder that listed the shards for its checkpoint, and when.
	ReportedBy string     `json:"reportedBy,omitempty"`
	ReportedAt *time.Time `json:"reportedAt,omitempty"`
}

type shardAnswer struct {
	ID     string     `json:"id"`
	Parent string     `json:"parent,omitempty"`
	State  string     `json:"state"`
	Born   *time.Time `json:"born,omitempty"`
	// AgeSeconds is how old the shard is (omitted when not known).
	AgeSeconds *int64     `json:"ageSeconds,omitempty"`
	Position   string     `json:"position"`
	PositionAt *time.Time `json:"positionAt,omitempty"`
	// Expires is when the 24-hour retention passes the checkpoint in the
	// shard, LeftSeconds how long until then (negative once passed), and
	// Countdown its colour: "ok", "amber" (under 12 h), "red" (under 4 h),
	// "passed"; all three omitted where nothing can expire.
	Expires     *time.Time   `json:"expires,omitempty"`
	LeftSeconds *int64       `json:"leftSeconds,omitempty"`
	Countdown   es.Countdown `json:"countdown,omitempty"`
}

type bootstrapAnswer struct {
	At       time.Time `json:"at"`
	Why      string    `json:"why"`
	UnderWay bool      `json:"underWay"`
}

// readModelAnswer is one read model's row: what it reads, where it is in
// the feed and how far behind the store's newest, what the exactly-once
// check did, what it parked, and when it last applied and saved. The read
// models of one read side share one projector, so they share its position
// and counts; the parked streams are those of the types it reads.
type readModelAnswer struct {
	Name              string         `json:"name"`
	Reads             []string       `json:"reads"`
	Projector         string         `json:"projector"`
	Position          string         `json:"position"`
	Behind            *int64         `json:"behind,omitempty"`
	Applied           int64          `json:"applied"`
	DuplicatesDropped int64          `json:"duplicatesDropped"`
	HeldOutOfOrder    int64          `json:"heldOutOfOrder"`
	Parked            []parkedAnswer `json:"parked"`
	LastApply         *time.Time     `json:"lastApply,omitempty"`
	LastSave          *time.Time     `json:"lastSave,omitempty"`
}

type parkedAnswer struct {
	Stream  string `json:"stream"`
	Version int64  `json:"version,omitempty"`
	EventID string `json:"eventId,omitempty"`
	Type    string `json:"type,omitempty"`
	Error   string `json:"error"`
}

type reactionAnswer struct {
	Name     string              `json:"name"`
	Running  bool                `json:"running"`
	Position string              `json:"position"`
	Outcomes es.ReactionOutcomes `json:"outcomes"`
	Parked   []parkedAnswer      `json:"parked"`
	Refusals []es.Refusal        `json:"refusals"`
	Error    string              `json:"error,omitempty"`
}

// Projections is GET /projections: the read models and the reactions, each
// with its position in the feed, what it did and what it parked. JSON only
// for now (the board is to come).
func (a *App) Projections(w http.ResponseWriter, r *http.Request) error {
	ans := a.projectionsNow(r.Context())
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, ans)
		return nil
	}
	board := views.ProjectionsBoard{Admin: a.retry != nil && a.whoIs(r).admin}
	if a.rebuildStatus != nil {
		board.Rebuild = a.rebuildStatus()
	}
	if a.retryStatus != nil {
		board.Retry = a.retryStatus()
	}
	for _, rm := range ans.ReadModels {
		row := views.BoardRow{Name: rm.Name, Reads: strings.Join(rm.Reads, ", "), Projector: rm.Projector, Position: rm.Position,
			Applied: rm.Applied, Dropped: rm.DuplicatesDropped, OutOfOrder: rm.HeldOutOfOrder, Behind: -1,
			LastApply: timeOr(rm.LastApply), LastSave: timeOr(rm.LastSave)}
		if rm.Behind != nil {
			row.Behind = *rm.Behind
		}
		row.Rebuildable = a.rebuildModel != nil && a.read().Model(rm.Name) != nil
		for _, p := range rm.Parked {
			row.Parked = append(row.Parked, views.BoardParked{Stream: p.Stream, Version: p.Version, Error: p.Error})
		}
		board.ReadModels = append(board.ReadModels, row)
	}
	for _, ra := range ans.Reactions {
		board.Reactions = append(board.Reactions, views.BoardReaction{Name: ra.Name, Running: ra.Running, Position: ra.Position,
			OK: ra.Outcomes.OK, Refused: ra.Outcomes.Refused, Parked: len(ra.Parked), Error: ra.Error})
	}
	board.Stream = boardStream(ans.Stream)
	if r.URL.Query().Get("fragment") == "1" {
		w.Header().Set("Cache-Control", "no-store")
		a.render(w, r, http.StatusOK, views.ProjectionsLive(board))
		return nil
	}
	p := a.page(r, "Projections")
	a.render(w, r, http.StatusOK, views.ProjectionsPage(p, board))
	return nil
}

// boardStream is the board's view of the shards.
func boardStream(s *streamAnswer) *views.BoardStream {
	if s == nil {
		return nil
	}
	out := &views.BoardStream{LeftOff: s.LeftOff, Error: s.Error, Retention: time.Duration(s.RetentionSeconds) * time.Second,
		ReportedBy: s.ReportedBy, ReportedAt: timeOr(s.ReportedAt)}
	for _, sh := range s.Shards {
		bs := views.BoardShard{ID: sh.ID, Parent: sh.Parent, State: sh.State, Position: sh.Position, PositionAt: timeOr(sh.PositionAt),
			Countdown: string(sh.Countdown), Age: -1}
		if sh.AgeSeconds != nil {
			bs.Age = time.Duration(*sh.AgeSeconds) * time.Second
		}
		if sh.LeftSeconds != nil {
			bs.Left = time.Duration(*sh.LeftSeconds) * time.Second
		}
		out.Shards = append(out.Shards, bs)
	}
	if b := s.Bootstrap; b != nil {
		out.Bootstrap = &views.BoardBootstrap{At: b.At, Why: b.Why, UnderWay: b.UnderWay}
	}
	return out
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// projectionsNow is the board as it stands: a row per read model of the
// read side in use, and the reactions.
func (a *App) projectionsNow(ctx context.Context) projectionsAnswer {
	cur := a.live.Load()
	st := cur.Projector.Status()
	parked := cur.Projector.Catalogue().Parked()
	var behind *int64
	lagCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if lag, err := cur.Projector.Lag(lagCtx, time.Now()); err == nil {
		behind = &lag.Events
	}
	ans := projectionsAnswer{ReadModels: []readModelAnswer{}, Reactions: []reactionAnswer{}, Stream: a.streamShards(ctx, st.Checkpoint, time.Now())}
	for _, rm := range a.readModelReads() {
		row := readModelAnswer{Name: rm.name, Reads: rm.reads, Projector: st.Name, Position: st.Checkpoint, Behind: behind,
			Applied: st.Applied, DuplicatesDropped: st.Dropped, HeldOutOfOrder: st.OutOfOrder, Parked: []parkedAnswer{},
			LastApply: timeOrNil(st.LastApplied), LastSave: timeOrNil(st.LastSave)}
		for _, p := range parked {
			if rm.all || slices.Contains(rm.reads, p.Stream.Type) {
				row.Parked = append(row.Parked, parkedAnswer{Stream: p.Stream.String(), Version: p.ParkedVersion, Error: p.Parked})
			}
		}
		ans.ReadModels = append(ans.ReadModels, row)
	}
	for _, rs := range a.reactions() {
		ra := reactionAnswer{Name: rs.Name, Running: rs.Running, Position: rs.Checkpoint, Outcomes: rs.Outcomes,
			Parked: []parkedAnswer{}, Refusals: rs.Refusals}
		if ra.Refusals == nil {
			ra.Refusals = []es.Refusal{}
		}
		for _, p := range rs.Parked {
			ra.Parked = append(ra.Parked, parkedAnswer{Stream: p.Stream, Version: p.Version, EventID: p.EventID, Type: p.Type, Error: p.Error})
		}
		if rs.Err != nil {
			ra.Error = rs.Err.Error()
		}
		ans.Reactions = append(ans.Reactions, ra)
	}
	return ans
}

// streamShards is the checkpoint in each shard of the feed, when the feed
// has shards; nil otherwise.
func (a *App) streamShards(ctx context.Context, checkpoint string, now time.Time) *streamAnswer {
	if a.shards == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	rep, err := a.shards(ctx, checkpoint, now)
	ans := &streamAnswer{RetentionSeconds: int64(rep.Retention / time.Second), Shards: []shardAnswer{}, LeftOff: rep.LeftOff,
		ReportedBy: rep.Reporter, ReportedAt: timeOrNil(rep.Reported)}
	if err != nil {
		a.log.WarnContext(ctx, "listing the stream's shards", "err", err)
		ans.Error = "the stream's shards could not be listed just now"
		return ans
	}
	for _, p := range rep.Shards {
		sa := shardAnswer{ID: p.ID, Parent: p.Parent, State: p.State, Born: timeOrNil(p.Born), Position: p.Position,
			PositionAt: timeOrNil(p.PositionAt), Expires: timeOrNil(p.Expires), Countdown: p.Level(now)}
		if !p.Born.IsZero() {
			age := int64(now.Sub(p.Born) / time.Second)
			sa.AgeSeconds = &age
		}
		if !p.Expires.IsZero() {
			left := int64(p.Left(now) / time.Second)
			sa.LeftSeconds = &left
		}
		ans.Shards = append(ans.Shards, sa)
	}
	if b := rep.Bootstrap; b != nil {
		ans.Bootstrap = &bootstrapAnswer{At: b.At.UTC(), Why: b.Why, UnderWay: b.UnderWay}
	}
	return ans
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// modelReads is a read model and the stream types it reads: its module's,
// or (all) every stream's, for a read model no module declares alone.
type modelReads struct {
	name  string
	reads []string
	all   bool
}

func (a *App) readModelReads() []modelReads {
	var out []modelReads
	declared := map[string]bool{}
	for _, m := range a.modules {
		for _, rm := range m.ReadModels {
			out = append(out, modelReads{name: rm.Name, reads: []string{m.StreamType()}})
			declared[rm.Name] = true
		}
	}
	for _, rm := range ReadModels(a.modules) {
		if !declared[rm.Name] {
			out = append(out, modelReads{name: rm.Name, reads: []string{"every stream"}, all: true})
		}
	}
	return out
}

// reactions are the reactors' statuses; none when the app runs none.
func (a *App) reactions() []es.ReactorStatus {
	if a.reactionStatus == nil {
		return nil
	}
	return a.reactionStatus()
}

// RetryParked is POST /projections/retry (an operation: admins only,
// web/routes.go): it re-applies a parked stream (`stream`: "type/id") from
// where its read models stopped (projections.Projector.Retry). JSON:
// `200 {"retry": {"stream", "applied", "version", "parked"?}}`; a form gets
// 303 to the board.
func (a *App) RetryParked(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(r)
	if err != nil {
		return err
	}
	s, err := in.requiredText("stream")
	if err != nil {
		return err
	}
	if err := in.done(); err != nil {
		return err
	}
	ref, err := es.ParseStreamRef(s)
	if err != nil || !es.ValidID(ref.ID) {
		return badRequest("BadStream", "stream", "stream must be type/id, as the board names it")
	}
	if a.retry == nil {
		return es.Errorf(es.Refused, "NoRetry", "this server cannot retry parked streams")
	}
	res, err := a.retry(r.Context(), ref)
	if errors.Is(err, projections.ErrNotParked) {
		return es.Errorf(es.Refused, "NotParked", "%s is not parked", ref)
	}
	if errors.Is(err, ErrRetryPending) {
		a.log.InfoContext(r.Context(), "parked stream retry recorded", "actor", a.cookieActor(r), "stream", ref.String())
		if wantsJSON(r) {
			writeJSON(w, http.StatusAccepted, map[string]any{"retry": map[string]any{"stream": ref.String(), "pending": true}})
			return nil
		}
		http.Redirect(w, r, views.RouteProjections, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "parked stream retried", "actor", a.cookieActor(r), "stream", ref.String(),
		"applied", res.Applied, "version", res.Version, "parked", res.Parked)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"retry": retryAnswer{Stream: ref.String(), RetryResult: res}})
		return nil
	}
	http.Redirect(w, r, views.RouteProjections, http.StatusSeeOther)
	return nil
}

// ErrRetryPending is a retry recorded for a cluster's lease holder that has
// not said how it went within the request's wait: 202, and the board
// shows the outcome when it comes.
var ErrRetryPending = errors.New("the retry is recorded for the cluster's projector, which has not done it yet")

type retryAnswer struct {
	Stream string `json:"stream"`
	projections.RetryResult
}

// docsPageBytes caps the documents of one GET /projections/docs page: it
// ends, with a cursor, at the document that passes it (one at least).
const docsPageBytes = 1 << 20

// docsKeyBytes caps the prefix and cursor a page takes: keys are ids.
const docsKeyBytes = 1024

type docsAnswer struct {
	ReadModels string      `json:"readModels"`
	Position   string      `json:"position"`
	Docs       []docAnswer `json:"docs"`
	Next       string      `json:"next"`
}

type docAnswer struct {
	Key string          `json:"key"`
	Doc json.RawMessage `json:"doc"`
}

// ProjectionDocs is GET /projections/docs?prefix=&before=&limit= (admins
// only: the documents hold every private stream): a page of the read
// models this instance serves, greatest key first, the keys those saved
// under the name in use, each document as this instance serves it now (in
// a cluster a follower's from what it applied of its holder's batches),
// null where it serves none; `next` goes on before the page's last key
// ("" at the end). At most limit (100) documents and about 1 MiB.
func (a *App) ProjectionDocs(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", projections.MaxDocsPage, 1, projections.MaxDocsPage)
	if err != nil {
		return err
	}
	prefix, err := queryKey(r, "prefix")
	if err != nil {
		return err
	}
	before, err := queryKey(r, "before")
	if err != nil {
		return err
	}
	p := a.live.Load().Projector
	position := p.Status().Checkpoint
	docs, err := p.Docs(r.Context(), es.DocRange{Prefix: prefix, Before: before, Limit: int(limit)})
	if err != nil {
		return err
	}
	ans := docsAnswer{ReadModels: p.Name(), Position: position, Docs: []docAnswer{}}
	size := 0
	for _, d := range docs {
		if len(ans.Docs) > 0 && size+len(d.Data) > docsPageBytes {
			break
		}
		size += len(d.Data)
		doc := d.Data
		if doc == nil {
			doc = json.RawMessage("null")
		}
		ans.Docs = append(ans.Docs, docAnswer{Key: d.Key, Doc: doc})
	}
	if n := len(ans.Docs); n > 0 && (n < len(docs) || len(docs) == int(limit)) {
		ans.Next = ans.Docs[n-1].Key
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// queryKey is a query parameter that names a document key (or its
// beginning): sent once, at most docsKeyBytes, no control characters.
func queryKey(r *http.Request, name string) (string, error) {
	vs := r.URL.Query()[name]
	if len(vs) > 1 {
		return "", duplicateField(name)
	}
	if len(vs) == 0 {
		return "", nil
	}
	if len(vs[0]) > docsKeyBytes || strings.ContainsFunc(vs[0], unicode.IsControl) || !utf8.ValidString(vs[0]) {
		return "", badRequest("BadQuery", name, "%s must be a document key (or its beginning) of at most %d bytes", name, docsKeyBytes)
	}
	return vs[0], nil
}
