package main

import (
	"context"
	"fmt"
	"io"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/fill"
)

// fillCommand is `foldboard seed -events N`: N generated events of every
// domain, appended through the store's own Append (see internal/fill).
func fillCommand(ctx context.Context, storeName string, store es.Store, n int, stdout io.Writer) error {
	sum, err := fill.Events(ctx, store, n, fill.Options{Workers: fillWorkers(storeName)})
	if err != nil {
		return fmt.Errorf("seed -events %d: %d appended before: %w", n, sum.Events, err)
	}
	fmt.Fprintf(stdout, "filled %s: %d events in %d streams in %v (%.0f events/s)\n",
		storeName, sum.Events, sum.Streams, sum.Took.Round(1e6), float64(sum.Events)/sum.Took.Seconds())
	return nil
}

// fillWorkers is how many appends a fill keeps going at once: enough for
// SQLite's group commit to fill its groups; DynamoDB's transactions on one
// server serialise, so more than a few only queue.
func fillWorkers(storeName string) int {
	if storeName == "dynamodb" {
		return 16
	}
	return 64
}
