// Package dynamo is foldboard's DynamoDB event store and its DynamoDB Streams
// change feed.
//
// Three tables, each named TablePrefix + its name:
//
//   - events: one item per event, never updated. pk "{type}#{id}", sk the
//     zero-padded version, every envelope field, the event type as
//     discriminator. Streams on, NEW_IMAGE: the change feed.
//   - state: per stream, sk "head" (current version and state, and the
//     stream's recent command ids with their requests' fingerprints and
//     version ranges: es.RecentCommands, es.RecentCommandsFor) and
//     "snap#0000000100" (snapshots). (Stores written before kept an item
//     per command id, pk "cmd#{type}#{id}#{commandId}"; they are read no
//     more.)
//   - readmodels: pk the projector, sk "doc#{key}" for each document and
//     "checkpoint" for the feed checkpoint they reflect.
//
// An append is one TransactWriteItems: a Put of each event with
// attribute_not_exists(pk), a Put of head conditioned on the expected version
// and on the recent command ids it holds, and the snapshot when given: the
// write units of the events and the head, no more, and the
// ClientRequestToken of a retried call kept.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
)

// Client is the part of the DynamoDB API the store calls; *dynamodb.Client
// satisfies it.
type Client interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// StreamsClient is the part of the DynamoDB Streams API the feed calls;
// *dynamodbstreams.Client satisfies it. The feed finds the stream's ARN with
// the store's DescribeTable, so a scripted shard tree needs only these three.
type StreamsClient interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// DefaultTablePrefix is the table name prefix when Config.TablePrefix is empty.
const DefaultTablePrefix = "foldboard-"

// Config says where the store's tables are and how to reach them.
type Config struct {
	// Client reaches DynamoDB: a *dynamodb.Client.
	Client Client
	// Streams reaches DynamoDB Streams for the feed: a *dynamodbstreams.Client.
	// Without it the store works, but Feed().Follow fails.
	Streams StreamsClient
	// TablePrefix starts every table name ("foldboard-events", …); empty means
	// DefaultTablePrefix.
	TablePrefix string
	// CreateTables creates missing tables at Open (on-demand billing, Streams
	// on for events) and waits until they are ACTIVE; without it a missing
	// table is an error.
	CreateTables bool
	// Logger receives the feed's notes (shards found and closed, gaps filled,
	// rebuilds); nil means slog.Default().
	Logger *slog.Logger

	// Feed tuning; zero means the default.

	// PollInterval is the pause between two empty GetRecords on one shard when
	// nothing wakes the feed: default 200 ms (AWS allows about 5 calls a
	// second per shard).
	PollInterval time.Duration
	// GapTimeout is how long an event that arrived before its predecessor is
	// held before the missing versions are read from the events table:
	// default 1 s.
	GapTimeout time.Duration
	// DescribeInterval is how often the feed looks for new shards besides when
	// one closes: default 10 s.
	DescribeInterval time.Duration
}

// Store is the DynamoDB event store: an es.Store and an es.ReadModelStore,
// with its change feed from Feed.
type Store struct {
	db      Client
	streams StreamsClient
	log     *slog.Logger
	cfg     Config

	events, state, readModels string

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced after every append
	// unseen is the last append to each stream in the last eagerWindow
	// that this process made or another instance's wake-up named (Wake): a
	// feed polls eagerly while one of them has not reached it.
	unseen map[es.StreamRef]knownAppend
	// unnamedUntil ends the eager polling for appends the feed knows no
	// stream or version of: a wake-up that named none (Wake's more), or an
	// append unseen had no room for.
	unnamedUntil time.Time
	// pruneAt is when unseen's oldest entry, as of its last pruning, ends
	// its eagerWindow: no entry expires before.
	pruneAt time.Time

	// shardList is the last listing of the stream's shards (Feed.Shards).
	shardList shardList
	// tips are the shards' newest records as this process's feeds read
	// them (Feed.Shards: caught up).
	tips tips
}

// knownAppend is an append this process made or heard of: the stream's
// version after it, and when it was noted.
type knownAppend struct {
	version int64
	at      time.Time
}

// maxUnseen bounds Store.unseen (appends of the last eagerWindow, local and
// remote); beyond it an append makes the feeds eager for eagerWindow.
const maxUnseen = 4096

var (
	_ es.Store          = (*Store)(nil)
	_ es.ReadModelStore = (*Store)(nil)
)

// Open checks (or, with CreateTables, creates) the tables and returns the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("dynamo: Config.Client is nil")
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = DefaultTablePrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.GapTimeout <= 0 {
		cfg.GapTimeout = time.Second
	}
	if cfg.DescribeInterval <= 0 {
		cfg.DescribeInterval = 10 * time.Second
	}
	s := &Store{
		db: cfg.Client, streams: cfg.Streams, log: cfg.Logger, cfg: cfg,
		events:     cfg.TablePrefix + "events",
		state:      cfg.TablePrefix + "state",
		readModels: cfg.TablePrefix + "readmodels",
		wake:       make(chan struct{}),
	}
	s.shardList.ttl = shardListTTL
	for _, name := range []string{s.events, s.state, s.readModels} {
		if err := s.ensureTable(ctx, name, name == s.events); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Tables returns the names of the events, state and read-model tables.
func (s *Store) Tables() (events, state, readModels string) {
	return s.events, s.state, s.readModels
}

func (s *Store) ensureTable(ctx context.Context, name string, withStream bool) error {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if !s.cfg.CreateTables {
			return fmt.Errorf("dynamo: table %s does not exist (create it, or open with CreateTables)", name)
		}
		return s.createTable(ctx, name, withStream)
	case err != nil:
		return fmt.Errorf("dynamo: describing table %s: %w", name, err)
	}
	if withStream {
		spec := out.Table.StreamSpecification
		if spec == nil || !aws.ToBool(spec.StreamEnabled) || spec.StreamViewType != types.StreamViewTypeNewImage && spec.StreamViewType != types.StreamViewTypeNewAndOldImages {
			return fmt.Errorf("dynamo: table %s needs DynamoDB Streams with NEW_IMAGE (or NEW_AND_OLD_IMAGES)", name)
		}
	}
	if out.Table.TableStatus != types.TableStatusActive {
		return s.waitActive(ctx, name)
	}
	return nil
}

func (s *Store) createTable(ctx context.Context, name string, withStream bool) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	}
	if withStream {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}
	}
	_, err := s.db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: another process is creating it
		return fmt.Errorf("dynamo: creating table %s: %w", name, err)
	}
	return s.waitActive(ctx, name)
}

func (s *Store) waitActive(ctx context.Context, name string) error {
	w := dynamodb.NewTableExistsWaiter(s.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("dynamo: waiting for table %s to be ACTIVE: %w", name, err)
	}
	return nil
}

// Ping reads one (absent) item, so it fails when DynamoDB or the table does not
// answer.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.state),
		Key:       key("ping", "ping"),
	})
	if err != nil {
		return fmt.Errorf("dynamo: ping %s: %w", s.state, err)
	}
	return nil
}

// wakeChan returns a channel that is closed at the next append.
func (s *Store) wakeChan() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// Wake tells the feeds what another instance appended: appends holds each
// stream and its version after the append, as the instance's wake-up named
// it; more says that something else was appended, unnamed (an older
// instance's wake-up, one that could not be read, a resubscription). The
// feeds read at once, and eagerly until they have handed on every named
// version (or for eagerWindow), exactly as after an append of this
// process's; an unnamed append keeps them eager for eagerWindow. A wake-up
// that names only what is known already (this process's own append heard
// back, a repeat) wakes no one, so it costs no read.
func (s *Store) Wake(appends map[es.StreamRef]int64, more bool) {
	now := time.Now()
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	news := false
	for stream, version := range appends {
		switch s.noteLocked(now, stream, version) {
		case noted:
			news = true
		case noRoom:
			more = true
		}
	}
	if more {
		s.unnamedUntil = now.Add(eagerWindow)
	}
	if news || more {
		close(s.wake)
		s.wake = make(chan struct{})
	}
}

// appended notes a committed append, stream at version, and wakes the feeds:
// they poll eagerly until they have handed it on (or for eagerWindow), and
// no more than idle once they have.
func (s *Store) appended(stream es.StreamRef, version int64) {
	now := time.Now()
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.noteLocked(now, stream, version) == noRoom {
		s.unnamedUntil = now.Add(eagerWindow)
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// What noteLocked did with an append.
type noteResult int

const (
	noted    noteResult = iota // recorded in unseen: news for the feeds
	knownYet                   // unseen holds that version or a later one
	noRoom                     // unseen is full
)

// noteLocked records stream at version in unseen, which stays within
// maxUnseen.
func (s *Store) noteLocked(now time.Time, stream es.StreamRef, version int64) noteResult {
	if s.unseen == nil {
		s.unseen = map[es.StreamRef]knownAppend{}
	}
	if a, ok := s.unseen[stream]; ok && a.version >= version {
		return knownYet
	}
	if _, ok := s.unseen[stream]; !ok && len(s.unseen) >= maxUnseen {
		s.pruneUnseenLocked(now)
		if len(s.unseen) >= maxUnseen {
			return noRoom
		}
	}
	s.unseen[stream] = knownAppend{version: version, at: now}
	return noted
}

// awaiting reports whether one of the appends of the last eagerWindow that
// this process made or heard of is past what a feed has handed on of its
// stream (delivered), or an unnamed one may be.
func (s *Store) awaiting(now time.Time, delivered func(es.StreamRef) int64) bool {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	s.pruneUnseenLocked(now)
	if now.Before(s.unnamedUntil) {
		return true
	}
	for stream, a := range s.unseen {
		if delivered(stream) < a.version {
			return true
		}
	}
	return false
}

// pruneUnseenLocked forgets the appends older than eagerWindow. It scans
// unseen only once its oldest entry may have expired (pruneAt), so that a
// full unseen under a flood of wake-ups costs no scan per stream named.
func (s *Store) pruneUnseenLocked(now time.Time) {
	if now.Before(s.pruneAt) {
		return
	}
	var oldest time.Time
	for stream, a := range s.unseen {
		switch {
		case now.Sub(a.at) > eagerWindow:
			delete(s.unseen, stream)
		case oldest.IsZero() || a.at.Before(oldest):
			oldest = a.at
		}
	}
	s.pruneAt = time.Time{}
	if !oldest.IsZero() {
		s.pruneAt = oldest.Add(eagerWindow)
	}
}
