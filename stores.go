package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/web"
)

// backend is an opened store, with what the server needs of it.
type backend struct {
	deps  web.Deps
	close func() error
	// dynamo is the DynamoDB store, when it is one (a cluster's lease).
	dynamo *dynamo.Store
}

// openStore opens the configured store.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (backend, error) {
	deps := web.Deps{Log: log, SnapshotEvery: cfg.snapshot, StateCacheBytes: stateCacheBytes(cfg.stateCacheMiB)}
	var err error
	if deps.Identity, err = cfg.ident.identity(cfg.guard.PublicURL); err != nil {
		return backend{}, err
	}
	// A cluster is instances sharing a Redis (-redis or FOLDBOARD_REDIS).
	if deps.Secret, err = sessionSecret(cfg, cfg.redis != "", log); err != nil {
		return backend{}, err
	}
	switch cfg.store {
	case "sqlite":
		store, err := sqlite.Open(ctx, cfg.db)
		if err != nil {
			return backend{}, err
		}
		deps.Backend = store.Backend()
		deps.StoreName = "sqlite (" + cfg.db + ")"
		return backend{deps: deps, close: store.Close}, nil
	case "dynamodb":
		store, err := openDynamo(ctx, cfg, log)
		if err != nil {
			return backend{}, err
		}
		deps.Backend = store.Backend()
		deps.StoreName = "dynamodb (tables " + cfg.tablePrefix + "*)"
		return backend{deps: deps, close: func() error { return nil }, dynamo: store}, nil
	}
	return backend{}, fmt.Errorf("-store %q: want sqlite or dynamodb", cfg.store)
}

// openDynamo opens the DynamoDB store, configured the SDK's way: region,
// credential chain, and AWS_ENDPOINT_URL_DYNAMODB for a local endpoint. DynamoDB
// Local serves Streams on the same endpoint, so when only that variable is set
// the Streams client uses it too.
func openDynamo(ctx context.Context, cfg config, log *slog.Logger) (*dynamo.Store, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	db, streams := dynamo.NewClients(awsCfg, cfg.getenv)
	store, err := dynamo.Open(ctx, dynamo.Config{
		Client: db, Streams: streams, TablePrefix: cfg.tablePrefix,
		CreateTables: cfg.createTables, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the DynamoDB store: %w", err)
	}
	return store, nil
}

// stateCacheBytes is -state-cache in web.Deps' terms: 0 MiB remembers none.
func stateCacheBytes(mib int) int {
	if mib == 0 {
		return -1
	}
	return mib << 20
}

// joinCluster makes the server one instance of the cluster on b's tables
// that meets at cfg.redis, and returns how to leave it.
func joinCluster(ctx context.Context, cfg config, b *backend, log *slog.Logger) (func() error, error) {
	r, err := relay.Open(ctx, cfg.redis, relay.Options{Prefix: cfg.tablePrefix, Logger: log})
	if err != nil {
		return nil, err
	}
	id := cfg.instance
	if id == "" {
		host, _ := os.Hostname()
		id = cmp.Or(host, "foldboard") + "-" + strings.ToLower(es.NewULID(time.Now())[20:])
	}
	b.deps.Cluster = &web.Cluster{
		ID: id, Lease: b.dynamo.Lease(id, cfg.failover, nil), Relay: r, Wake: b.dynamo.Wake,
	}
	b.deps.StoreName += ", cluster instance " + id
	log.Info("joining the cluster", "instance", id, "failover", cfg.failover)
	return r.Close, nil
}
