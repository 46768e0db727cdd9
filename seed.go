package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/seed"
)

// seedCommand is `foldboard seed`: demo data, so that the first page a new
// user opens is alive. It refuses a store with events unless -force; with
// it, it appends only what is missing, as every seeded command has a fixed
// stream and command id.
func seedCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var force bool
	var events int
	cfg, err := parseCommandConfig("foldboard seed", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&force, "force", false, "seed a store that has events already (nothing seeded before is appended again)")
		fs.IntVar(&events, "events", 0, "instead of the demo data, fill the store with this many generated events of every domain, fast (a big store to try)")
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	b, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.close()
	store := b.deps.Store
	if !force {
		page, err := store.ReadLog(ctx, es.LogQuery{Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Events) > 0 {
			return fmt.Errorf("seed: %s has events already; seed -force adds the demo data anyway (what was seeded before is not appended again)", b.deps.StoreName)
		}
	}
	if events > 0 {
		return fillCommand(ctx, b.deps.StoreName, store, events, stdout)
	}
	steps := seed.Plan(time.Now().UTC())
	sum, err := seed.Run(ctx, store, steps)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s: %d commands, %d events appended, %d commands there already\n",
		b.deps.StoreName, len(steps), sum.Events, sum.Repeated)
	people, err := seed.People(ctx, store, handlers.HashPassword)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo people (sign in as any of them; the passwords are shown this once):")
	for _, p := range people {
		if p.Password == "" {
			fmt.Fprintf(stdout, "  %-8s (had an account already: its password is unchanged)\n", p.Name)
			continue
		}
		fmt.Fprintf(stdout, "  %-8s %s\n", p.Name, p.Password)
	}
	return nil
}
