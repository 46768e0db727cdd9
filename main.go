// Command foldboard is a live event-sourcing workbench: cricket matches,
// shopping carts and a blog, each run through a decider onto an event store
// (embedded SQLite by default, or DynamoDB), with read models kept by a
// projector that tails the store's change feed and pushes every change to the
// pages over WebSockets.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/foldboard/foldboard/internal/loadgen"
	"github.com/foldboard/foldboard/reactions"
	"github.com/foldboard/foldboard/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "foldboard:", err)
		os.Exit(1)
	}
}

// config is foldboard's configuration: flags, or the environment.
type config struct {
	addr        string
	store       string
	db          string
	tablePrefix string
	secret      string
	snapshot    int64
	// stateCacheMiB bounds the streams' states remembered between commands.
	stateCacheMiB int
	logJSON       bool
	// createTables creates missing DynamoDB tables at start.
	createTables bool
	// pprof, when set, is the loopback address to serve net/http/pprof on.
	pprof string
	// healthcheck asks the server at addr whether it is healthy, and exits.
	healthcheck bool
	// reminderAfter is how long a cart with items stays quiet before the
	// cart-reminder reaction reminds it.
	reminderAfter time.Duration
	// ident are the sign-in settings.
	ident identityFlags
	// redis, when set, makes this instance one of a cluster on the same
	// DynamoDB tables; instance names it there, failover is the lease's.
	redis    string
	instance string
	failover time.Duration
	// getenv reads the environment, for the AWS SDK's own variables.
	getenv func(string) string
	// guard names the hosts served and limits one client (web.Guard).
	guard web.Guard
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	return parseCommandConfig("foldboard", args, getenv, stderr, nil)
}

// parseCommandConfig reads the configuration of a command, with flags of its
// own that extra adds.
func parseCommandConfig(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	fs.StringVar(&c.addr, "addr", env("FOLDBOARD_ADDR", ":8080"), "listen address (FOLDBOARD_ADDR)")
	fs.StringVar(&c.store, "store", env("FOLDBOARD_STORE", "sqlite"), "event store: sqlite or dynamodb (FOLDBOARD_STORE)")
	fs.StringVar(&c.db, "db", env("FOLDBOARD_DB", "foldboard.db"), "the SQLite file (FOLDBOARD_DB)")
	fs.StringVar(&c.tablePrefix, "table-prefix", env("FOLDBOARD_TABLE_PREFIX", "foldboard-"), "DynamoDB table name prefix (FOLDBOARD_TABLE_PREFIX)")
	fs.Int64Var(&c.snapshot, "snapshot-every", 100, "keep a snapshot of each stream's state every N versions")
	fs.IntVar(&c.stateCacheMiB, "state-cache", 64, "MiB of streams' states to remember between commands, so that a command need not read its stream first (0: none)")
	fs.BoolVar(&c.logJSON, "log-json", env("FOLDBOARD_LOG", "") == "json", "log JSON lines instead of text (FOLDBOARD_LOG=json)")
	fs.BoolVar(&c.createTables, "create-tables", env("FOLDBOARD_CREATE_TABLES", "true") == "true", "create missing DynamoDB tables at start (FOLDBOARD_CREATE_TABLES)")
	fs.StringVar(&c.pprof, "pprof", env("FOLDBOARD_PPROF", ""), "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (FOLDBOARD_PPROF); off by default")
	fs.DurationVar(&c.reminderAfter, "reminder-after", envDuration(getenv, "FOLDBOARD_REMINDER_AFTER", reactions.DefaultReminderAfter),
		"how long a cart with items stays quiet before it gets a reminder (FOLDBOARD_REMINDER_AFTER)")
	fs.BoolVar(&c.healthcheck, "healthcheck", false, "ask the server on this machine at -addr's port for /healthz and exit 0 (healthy) or 1")
	fs.StringVar(&c.guard.PublicURL, "public-url", env("FOLDBOARD_PUBLIC_URL", ""), "the address people use, e.g. https://board.example.com; its host is served (FOLDBOARD_PUBLIC_URL)")
	allowedHosts := fs.String("allowed-hosts", env("FOLDBOARD_ALLOWED_HOSTS", ""), "host names served besides -public-url's, loopback's and IP addresses, comma-separated; *.example.com for subdomains (FOLDBOARD_ALLOWED_HOSTS)")
	rateLimit := fs.Float64("rate-limit", envFloat(getenv, "FOLDBOARD_RATE_LIMIT", web.DefaultCommandRate), "commands a second from one address (an actor twice that, reads four times, bursts of 10 s; an address's share of the server's time a hundredth of it: 0.5 s a second at 50); 0 turns rate limits off, for a benchmark's server (FOLDBOARD_RATE_LIMIT)")
	c.ident.register(fs, env)
	fs.StringVar(&c.redis, "redis", env("FOLDBOARD_REDIS", ""), "Redis URL (redis://host:6379/0) that makes this instance one of a cluster on the same DynamoDB tables (FOLDBOARD_REDIS); off by default")
	fs.StringVar(&c.instance, "instance", env("FOLDBOARD_INSTANCE", ""), "this instance's name in its cluster (FOLDBOARD_INSTANCE); default: host name and a random suffix")
	failover := env("FOLDBOARD_FAILOVER", "8s")
	fs.Func("failover", "how long a cluster's projector may go silent before another instance takes over (FOLDBOARD_FAILOVER, default 8s: with loading and the first batch, a takeover shows within 10 s)", func(v string) error {
		failover = v
		return nil
	})
	c.secret = getenv("FOLDBOARD_SECRET")
	c.getenv = getenv
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.guard.AllowedHosts = strings.Split(*allowedHosts, ",")
	c.guard.Rates = web.RatesAt(*rateLimit)
	if c.reminderAfter <= 0 {
		return c, fmt.Errorf("-reminder-after must be more than 0")
	}
	var err error
	if c.failover, err = time.ParseDuration(failover); err != nil || c.failover < 100*time.Millisecond || c.failover > 10*time.Minute {
		return c, fmt.Errorf("-failover %q: want a duration from 100ms to 10m", failover)
	}
	if c.redis != "" && c.store != "dynamodb" {
		return c, fmt.Errorf("-redis makes a cluster on DynamoDB; the %s store is one process's (see the README)", c.store)
	}
	if c.snapshot < 0 {
		return c, fmt.Errorf("-snapshot-every must be 0 (none) or more")
	}
	if c.stateCacheMiB < 0 || c.stateCacheMiB > 1<<20 {
		return c, fmt.Errorf("-state-cache must be 0 (none) to 1048576 MiB")
	}
	if _, err := c.ident.identity(c.guard.PublicURL); err != nil {
		return c, err
	}
	return c, nil
}

// run is foldboard's command line: with no command (or "serve") it serves;
// other commands work on the same store with the same configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	command := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		command, args = args[0], args[1:]
	}
	switch command {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "seed":
		return seedCommand(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheckCommand(ctx, args, getenv, stdout, stderr)
	case "rebuild":
		return rebuildCommand(ctx, args, getenv, stdout, stderr)
	case "load":
		return loadgen.Command(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", command, usage)
}

const usage = `usage: foldboard [command] [flags]

commands:
  serve        serve the web application (the default)
  seed         fill an empty store with demo data (-force: a store with events too)
  rebuild      replay the whole log into fresh read models and use them from the next start
  load         drive a running foldboard with commands and report its speed
  healthcheck  ask the server on this machine for /healthz; exit 0 when healthy, 1 if not
  help         this text

Run "foldboard serve -h" for the flags.
`

func newLogger(cfg config, stderr io.Writer) *slog.Logger {
	if cfg.logJSON {
		return slog.New(slog.NewJSONHandler(stderr, nil))
	}
	return slog.New(slog.NewTextHandler(stderr, nil))
}

// envFloat is a number from the environment, or def when unset or not one.
func envFloat(getenv func(string) string, name string, def float64) float64 {
	if v, err := strconv.ParseFloat(getenv(name), 64); err == nil {
		return v
	}
	return def
}

// serve opens the store and serves until ctx ends.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.healthcheck {
		return healthcheck(ctx, cfg.addr, stdout)
	}
	log := newLogger(cfg, stderr)
	if cfg.pprof != "" {
		stop, err := servePprof(cfg.pprof, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	b, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.close()
	b.deps.Guard = cfg.guard
	b.deps.ReminderAfter = cfg.reminderAfter
	b.deps.AfterReactionCommand = crashPoint(getenv)
	b.deps.AfterClaim = claimCrashPoint(getenv)
	if cfg.redis != "" {
		leave, err := joinCluster(ctx, cfg, &b, log)
		if err != nil {
			return err
		}
		defer leave()
	}
	srv, err := web.New(ctx, b.deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "foldboard on %s: http://%s\n", b.deps.StoreName, displayAddr(ln.Addr()))
	return srv.Serve(ctx, ln)
}

// displayAddr is the address a person can open: localhost for a wildcard.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
	}
	return a.String()
}
