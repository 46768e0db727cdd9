package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/views"
)

// Hub pushes re-rendered fragments to the WebSocket clients subscribed to
// their topics. Each client holds at most the newest fragment of each of its
// topics: a client that reads slowly skips intermediate fragments, and one
// that stops reading is dropped when a write times out, never waited on by
// the others.
//
// A topic is rendered once per audience watching it: the watchers a
// fragment is the same for (everyone, for most topics; each person, for a
// topic that shows some people what it hides from others).
type Hub struct {
	log          *slog.Logger
	maxClients   int
	writeTimeout time.Duration
	limits       LiveLimits
	// actorOf is the actor a connection counts against, "" for none.
	actorOf func(*http.Request) string
	// render returns a topic's current fragment for an audience; Publish
	// calls it once per watched topic and audience and fans the bytes out.
	render func(ctx context.Context, topic, audience string) ([]byte, error)
	// valid reports whether a client may subscribe to a topic.
	valid func(topic string) bool
	// audience is whom a request watches a topic as; nil: everyone alike.
	audience func(r *http.Request, topic string) (string, bool)

	// seq orders renders: a fragment rendered earlier never replaces one
	// rendered later, whichever reaches a client first.
	seq atomic.Uint64
	// latency keeps, for the dashboard, how long after its append each
	// change's fragment was written to a WebSocket.
	latency views.LatencyWindow
	// pages keeps the browsers' reports of those fragments applied in the
	// page.
	pages *pageLatency

	// minInterval spaces the pushes of one topic; refresh re-renders some
	// topics on a clock while they are watched.
	minInterval time.Duration
	throttle    map[string]time.Duration
	refresh     map[string]time.Duration

	mu     sync.Mutex
	topics map[watch]map[*client]struct{}
	pushes map[watch]*topicPushes // per watched topic and audience
	// audiences are the audiences watching each topic.
	audiences map[string]map[string]struct{}
	clients   int
	perAddr   map[string]int // connections by client address
	perActor  map[string]int // connections by actor
	closing   bool
	done      chan struct{} // closed by Close: every client goes away
	// live counts the connections being served, for Wait; joined under mu
	// while not closing, so never after Wait has begun.
	live sync.WaitGroup
}

// HubConfig configures a Hub.
type HubConfig struct {
	Log          *slog.Logger
	MaxClients   int           // default 10,000
	WriteTimeout time.Duration // default 5 s
	// Render renders a topic's fragment as its audience may see it.
	Render     func(ctx context.Context, topic, audience string) ([]byte, error)
	ValidTopic func(topic string) bool
	// Audience, when set, says whom a request watches a valid topic as: the
	// watchers of one audience share its renders. ok false refuses the
	// topic as an unknown one. Nil: everyone is one audience, "".
	Audience func(r *http.Request, topic string) (audience string, ok bool)
	// MinInterval is the least time between two pushes of one topic: the
	// changes within it make one push, at its end, of the newest fragment.
	// Default 0: every change is pushed at once.
	MinInterval time.Duration
	// Throttle overrides MinInterval for some topics: those that change with
	// many streams' events (the dashboard, lists), where a render per event
	// would cost more than a person can see. A stream's own topic is best
	// pushed at once: that is the command-to-screen latency.
	Throttle map[string]time.Duration
	// Refresh re-renders these topics this often while anyone watches them,
	// for figures that move with time alone (a lag, a rate).
	Refresh map[string]time.Duration
	// Limits bound one client's connections and find dead ones.
	Limits LiveLimits
	// ActorOf is the actor a connection counts against ("" for none).
	ActorOf func(*http.Request) string
}

// LiveLimits bound the live connections one client may hold, keep room for
// everyone else, and close connections whose peer has gone quiet. A zero
// field takes its default.
type LiveLimits struct {
	// PerAddress bounds one client address's connections (an IPv6 address
	// by its /64): 100 (an office behind one address, a tab each).
	PerAddress int
	// PerActor bounds one actor's, from however many addresses: twice
	// PerAddress, so that one address naming someone else cannot take all
	// of theirs.
	PerActor int
	// Reserve is the part of MaxLiveClients kept for addresses that hold
	// fewer than ReserveShare connections: however many addresses fill the
	// rest, a newcomer still gets in. Default a tenth of MaxLiveClients, and
	// 4.
	Reserve      int
	ReserveShare int
	// PingInterval is how often a connection is pinged; one that does not
	// answer within PongTimeout is closed: 30 s and 10 s.
	PingInterval time.Duration
	PongTimeout  time.Duration
}

func (l LiveLimits) withDefaults(maxClients int) LiveLimits {
	if l.PerAddress <= 0 {
		l.PerAddress = 100
	}
	if l.PerActor <= 0 {
		l.PerActor = 2 * l.PerAddress
	}
	if l.Reserve <= 0 {
		l.Reserve = maxClients / 10
	}
	l.Reserve = min(l.Reserve, maxClients-1)
	if l.ReserveShare <= 0 {
		l.ReserveShare = 4
	}
	if l.PingInterval <= 0 {
		l.PingInterval = 30 * time.Second
	}
	if l.PongTimeout <= 0 {
		l.PongTimeout = 10 * time.Second
	}
	return l
}

// topicPushes is the pushing state of one watched topic.
type topicPushes struct {
	last  time.Time   // when a change was last rendered
	timer *time.Timer // the push due at the end of the interval, if any
	// html is the fragment last pushed: a render that gives the same bytes
	// is not pushed again. A new subscriber clears it.
	html []byte
	stop chan struct{} // ends the topic's refresh loop, if it has one
	// since is when the earliest change not pushed yet was appended (zero:
	// unknown), for the latency figures.
	since time.Time
}

// maxTopics bounds the topics of one connection.
const maxTopics = 16

// NewHub makes a hub.
func NewHub(cfg HubConfig) *Hub {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10_000
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ActorOf == nil {
		cfg.ActorOf = func(*http.Request) string { return "" }
	}
	return &Hub{
		log: cfg.Log, maxClients: cfg.MaxClients, writeTimeout: cfg.WriteTimeout,
		limits: cfg.Limits.withDefaults(cfg.MaxClients), actorOf: cfg.ActorOf,
		perAddr: map[string]int{}, perActor: map[string]int{},
		render: cfg.Render, valid: cfg.ValidTopic, audience: cfg.Audience,
		minInterval: cfg.MinInterval, throttle: cfg.Throttle, refresh: cfg.Refresh,
		topics: map[watch]map[*client]struct{}{}, pushes: map[watch]*topicPushes{},
		audiences: map[string]map[string]struct{}{},
		done:      make(chan struct{}), pages: newPageLatency(),
	}
}

// watch is a topic as one audience sees it.
type watch struct{ topic, audience string }

type client struct {
	mu      sync.Mutex
	pending map[watch]fragment // the newest unsent fragment per topic
	order   []watch            // topics in pending, oldest change first
	newest  map[watch]uint64   // the seq of the newest fragment offered per topic
	wake    chan struct{}      // capacity 1: something is pending
}

type fragment struct {
	seq  uint64
	html []byte
	// since is when the earliest change it shows was appended (zero: none
	// known, as in a page's first fragment).
	since time.Time
}

func newClient() *client {
	return &client{pending: map[watch]fragment{}, newest: map[watch]uint64{}, wake: make(chan struct{}, 1)}
}

func (c *client) offer(topic watch, f fragment) {
	c.mu.Lock()
	if f.seq <= c.newest[topic] {
		c.mu.Unlock()
		return
	}
	c.newest[topic] = f.seq
	if old, ok := c.pending[topic]; !ok {
		c.order = append(c.order, topic)
	} else if !old.since.IsZero() && (f.since.IsZero() || old.since.Before(f.since)) {
		// The change the replaced fragment carried waited from then.
		f.since = old.since
	}
	c.pending[topic] = f
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) take() (fragment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 {
		return fragment{}, false
	}
	var topic watch
	topic, c.order = c.order[0], c.order[1:]
	f := c.pending[topic]
	delete(c.pending, topic)
	return f, true
}

// renderTopic renders a topic's current fragment, numbered before it reads
// the read model.
func (h *Hub) renderTopic(ctx context.Context, w watch) (fragment, error) {
	seq := h.seq.Add(1)
	html, err := h.render(ctx, w.topic, w.audience)
	return fragment{seq: seq, html: html}, err
}

// Latency is the last minute's command → browser figures: from an append
// to the fragment showing it written to a WebSocket.
func (h *Hub) Latency() views.LiveLatency {
	now := time.Now()
	return views.LiveLatency{LatencyFigures: h.latency.Figures(now), InPage: h.pages.window.Figures(now), Refused: h.pages.refused.Load()}
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients
}

// Publish tells the hub that topics changed. A watched topic is rendered
// once and its fragment offered to every subscriber, at once when its last
// push is at least MinInterval old, else at the end of that interval, when
// one render takes in every change since: the newest wins, and a topic that
// changes with every event costs at most a render per interval.
func (h *Hub) Publish(ctx context.Context, topics []string) {
	h.PublishSince(ctx, topics, time.Time{})
}

// PublishSince is Publish of changes the earliest of which was appended at
// since: the fragments' writes to the WebSockets are timed from it (Latency).
func (h *Hub) PublishSince(ctx context.Context, topics []string, since time.Time) {
	var watches []watch
	for _, topic := range topics {
		h.mu.Lock()
		watches = watches[:0]
		for a := range h.audiences[topic] {
			watches = append(watches, watch{topic, a})
		}
		h.mu.Unlock()
		for _, w := range watches {
			h.publish(ctx, w, since)
		}
	}
}

// publish is PublishSince of one topic for one audience.
func (h *Hub) publish(ctx context.Context, w watch, since time.Time) {
	h.mu.Lock()
	tp := h.pushes[w]
	if tp != nil && !since.IsZero() && (tp.since.IsZero() || since.Before(tp.since)) {
		tp.since = since
	}
	if tp == nil || tp.timer != nil {
		// Nobody watches it, or a push is due that will render the newest.
		h.mu.Unlock()
		return
	}
	now := time.Now()
	if wait := tp.last.Add(h.interval(w.topic)).Sub(now); wait > 0 {
		tp.timer = time.AfterFunc(wait, func() { h.pushDue(w) })
		h.mu.Unlock()
		return
	}
	tp.last = now
	h.mu.Unlock()
	h.push(ctx, w)
}

// interval is the least time between two pushes of a topic.
func (h *Hub) interval(topic string) time.Duration {
	if d, ok := h.throttle[topic]; ok {
		return d
	}
	return h.minInterval
}

// PublishAll publishes every watched topic, as when every read model changed
// at once.
func (h *Hub) PublishAll(ctx context.Context) {
	h.mu.Lock()
	watches := make([]watch, 0, len(h.pushes))
	for w := range h.pushes {
		watches = append(watches, w)
	}
	h.mu.Unlock()
	for _, w := range watches {
		h.publish(ctx, w, time.Time{})
	}
}

// pushDue makes the push a timer was set for.
func (h *Hub) pushDue(topic watch) {
	h.mu.Lock()
	tp := h.pushes[topic]
	if tp == nil {
		h.mu.Unlock()
		return
	}
	tp.timer = nil
	tp.last = time.Now()
	h.mu.Unlock()
	h.push(context.Background(), topic)
}

// push renders a topic and offers the fragment to its subscribers, unless it
// is the very fragment pushed last.
func (h *Hub) push(ctx context.Context, topic watch) {
	f, err := h.renderTopic(ctx, topic)
	if err != nil {
		h.log.Error("rendering live fragment", "topic", topic.topic, "err", err)
		return
	}
	h.mu.Lock()
	tp := h.pushes[topic]
	if tp == nil {
		h.mu.Unlock()
		return
	}
	f.since, tp.since = tp.since, time.Time{}
	if bytes.Equal(tp.html, f.html) {
		h.mu.Unlock()
		return
	}
	tp.html = f.html
	subs := make([]*client, 0, len(h.topics[topic]))
	for c := range h.topics[topic] {
		subs = append(subs, c)
	}
	h.mu.Unlock()
	for _, c := range subs {
		c.offer(topic, f)
	}
}

// refreshLoop publishes a topic on a clock until stop or the hub closes.
func (h *Hub) refreshLoop(w watch, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-h.done:
			return
		case <-t.C:
			h.publish(context.Background(), w, time.Time{})
		}
	}
}

// errTooManyClients answers a connection over the hub's bound, the others
// one over its client's share.
var (
	errTooManyClients = errors.New("too many live clients")
	errAddressFull    = errors.New("too many live connections from this address")
	errActorFull      = errors.New("too many live connections of this actor")
)

// who is the client a connection counts against.
type who struct{ addr, actor string }

// admit decides whether one more connection may join: within the hub's
// bound, within its address's and actor's shares, and into the reserve
// only for an address that holds few.
func (h *Hub) admit(w who) error {
	l := h.limits
	switch {
	case h.closing:
		return http.ErrServerClosed
	case h.clients >= h.maxClients:
		return errTooManyClients
	case h.perAddr[w.addr] >= l.PerAddress:
		return errAddressFull
	case w.actor != "" && h.perActor[w.actor] >= l.PerActor:
		return errActorFull
	case h.clients >= h.maxClients-l.Reserve && h.perAddr[w.addr] >= l.ReserveShare:
		return errTooManyClients
	}
	return nil
}

func (h *Hub) join(c *client, topics []watch, w who) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.admit(w); err != nil {
		return err
	}
	h.clients++
	h.perAddr[w.addr]++
	if w.actor != "" {
		h.perActor[w.actor]++
	}
	h.live.Add(1)
	for _, t := range topics {
		if h.topics[t] == nil {
			h.topics[t] = map[*client]struct{}{}
		}
		h.topics[t][c] = struct{}{}
		tp := h.pushes[t]
		if tp == nil {
			tp = &topicPushes{}
			h.pushes[t] = tp
			if h.audiences[t.topic] == nil {
				h.audiences[t.topic] = map[string]struct{}{}
			}
			h.audiences[t.topic][t.audience] = struct{}{}
			if every := h.refresh[t.topic]; every > 0 {
				tp.stop = make(chan struct{})
				go h.refreshLoop(t, every, tp.stop)
			}
		}
		// The newcomer renders its own first fragment, perhaps older than
		// the one pushed last: the next push must not be skipped as a repeat.
		tp.html = nil
	}
	return nil
}

func (h *Hub) leave(c *client, topics []watch, w who) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.live.Done()
	h.clients--
	forget(h.perAddr, w.addr)
	if w.actor != "" {
		forget(h.perActor, w.actor)
	}
	for _, t := range topics {
		delete(h.topics[t], c)
		if len(h.topics[t]) == 0 {
			delete(h.topics, t)
			if tp := h.pushes[t]; tp != nil {
				if tp.timer != nil {
					tp.timer.Stop()
				}
				if tp.stop != nil {
					close(tp.stop)
				}
				delete(h.pushes, t)
			}
			delete(h.audiences[t.topic], t.audience)
			if len(h.audiences[t.topic]) == 0 {
				delete(h.audiences, t.topic)
			}
		}
	}
}

// forget counts one connection of key less, and forgets a key with none.
func forget(m map[string]int, key string) {
	if m[key] <= 1 {
		delete(m, key)
		return
	}
	m[key]--
}

// Close makes every connected client go away with a "going away" close, and
// refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closing {
		h.closing = true
		close(h.done)
	}
}

// Wait waits until every client has gone after Close, or ctx ends; it
// reports whether they all went.
func (h *Hub) Wait(ctx context.Context) bool {
	gone := make(chan struct{})
	go func() {
		h.live.Wait()
		close(gone)
	}()
	select {
	case <-gone:
		return true
	case <-ctx.Done():
		return false
	}
}

// ServeHTTP upgrades GET /ws?topic=a&topic=b and streams the topics'
// fragments: first each topic's current one (so a page that reconnects
// catches up), then each change. The Origin check is coder/websocket's: a
// browser's Origin must name this host; a client with no Origin is accepted.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 || len(topics) > maxTopics {
		http.Error(w, "want 1 to 16 topic parameters", http.StatusBadRequest)
		return
	}
	watches := make([]watch, len(topics))
	for i, t := range topics {
		ok := h.valid(t)
		watches[i].topic = t
		if ok && h.audience != nil {
			watches[i].audience, ok = h.audience(r, t)
		}
		if !ok {
			http.Error(w, "unknown topic "+t, http.StatusBadRequest)
			return
		}
	}
	c, them := newClient(), who{addr: clientAddress(r), actor: h.actorOf(r)}
	if err := h.join(c, watches, them); err != nil {
		refuseLive(w, err)
		return
	}
	defer h.leave(c, watches, them)
	// The server's read and write timeouts are for requests; a live
	// connection lasts as long as its page, and each write has its own
	// timeout below.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered (403 for a foreign Origin).
	}
	defer conn.CloseNow()
	// The client sends only its reports of pushes applied (and pongs); the
	// reader takes them in, and ends ctx when the connection ends.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sent := newSentPushes()
	go h.readReports(ctx, conn, sent, them.addr, cancel)
	for _, t := range watches {
		f, err := h.renderTopic(ctx, t)
		if err != nil {
			h.log.Error("rendering live fragment", "topic", t.topic, "err", err)
			conn.Close(websocket.StatusInternalError, "rendering failed")
			return
		}
		c.offer(t, f)
	}
	ping := time.NewTicker(h.limits.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			conn.Close(websocket.StatusGoingAway, "server stopping")
			return
		case <-ping.C:
			if err := h.ping(ctx, conn); err != nil {
				h.log.Info("dropping live client that does not answer pings", "addr", them.addr, "err", err)
				return // no close handshake: nobody is there to answer it
			}
			continue
		case <-c.wake:
		}
		for {
			f, ok := c.take()
			if !ok {
				break
			}
			var mark []byte
			if !f.since.IsZero() {
				// A push of a change: the page reports it applied.
				mark = pushMark(f.seq)
				sent.note(f.seq, f.since, time.Now())
			}
			if err := h.write(ctx, conn, f.html, mark); err != nil {
				h.log.Info("dropping live client", "err", err)
				return
			}
			if !f.since.IsZero() {
				now := time.Now()
				h.latency.Add(now, now.Sub(f.since))
			}
		}
	}
}

// ping waits for the peer's answer to a ping (readReports takes it
// in), for at most PongTimeout.
func (h *Hub) ping(ctx context.Context, conn *websocket.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, h.limits.PongTimeout)
	defer cancel()
	return conn.Ping(ctx)
}

// refuseLive answers a connection the hub will not take: 429 when its
// client holds its share (with when to retry), 503 when the hub is full.
func refuseLive(w http.ResponseWriter, err error) {
	status := http.StatusServiceUnavailable
	if errors.Is(err, errAddressFull) || errors.Is(err, errActorFull) {
		status = http.StatusTooManyRequests
	}
	w.Header().Set("Retry-After", "30")
	http.Error(w, err.Error(), status)
}

// write sends one fragment, and mark after it in the same message.
func (h *Hub) write(ctx context.Context, conn *websocket.Conn, html, mark []byte) error {
	ctx, cancel := context.WithTimeout(ctx, h.writeTimeout)
	defer cancel()
	if len(mark) == 0 {
		return conn.Write(ctx, websocket.MessageText, html)
	}
	w, err := conn.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	if _, err := w.Write(html); err != nil {
		return err
	}
	if _, err := w.Write(mark); err != nil {
		return err
	}
	return w.Close()
}
