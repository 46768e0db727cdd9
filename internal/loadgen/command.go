package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Command is `foldboard load`: it reads its flags, runs, and prints a progress
// line each second and the report at the end.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("foldboard load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: foldboard load [flags]

Drives a running foldboard through its HTTP interface with JSON commands and
reports throughput, latency and the count of each status code. It only drives
a foldboard on this machine (a loopback address).

`)
		fs.PrintDefaults()
	}
	var cfg Config
	var mix, streams string
	fs.StringVar(&cfg.Addr, "addr", DefaultAddr, "the foldboard to drive: host:port on a loopback address")
	fs.IntVar(&cfg.Clients, "clients", 16, fmt.Sprintf("concurrent clients (1-%d)", MaxClients))
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to run (with -count: at most this long)")
	fs.Int64Var(&cfg.Count, "count", 0, "how many commands to send (0: as many as -duration allows)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "commands a second in all clients together (0: as fast as the answers come)")
	fs.StringVar(&mix, "mix", "innings=1,cart=2,post=1,account=1", "the weight of each kind of work: "+strings.Join(KindNames(), ", "))
	fs.StringVar(&streams, "streams", "many", "many (each client its own streams) or hot (every client on one stream per kind)")
	fs.BoolVar(&cfg.CommandIDs, "command-ids", true, "send a fresh commandId with each command, as the pages' forms do")
	fs.IntVar(&cfg.Retries, "retries", 50, "resends of a command after a VersionConflict")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "the longest one request may take")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments %q", fs.Args())
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if cfg.Count > 0 && !durationSet {
		cfg.Duration = time.Hour
	}
	var err error
	if cfg.Mix, err = ParseMix(mix); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	switch streams {
	case "many":
	case "hot":
		cfg.Hot = true
	default:
		return fmt.Errorf("load: -streams %q: want many or hot", streams)
	}
	cfg.Progress = stdout
	rep, err := Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	rep.Print(stdout)
	if rep.Requests == 0 && rep.Errors > 0 {
		return fmt.Errorf("load: no request was answered (%s)", rep.FirstError)
	}
	return nil
}
