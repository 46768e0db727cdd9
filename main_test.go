package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRun runs the whole program in-process on a free port and returns its
// URL, and a function that stops it and returns run's error.
func startRun(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	env := map[string]string{"FOLDBOARD_ADDR": "127.0.0.1:0", "FOLDBOARD_DB": filepath.Join(t.TempDir(), "f.db")}
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, w, io.Discard) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("run printed no address: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, out)
	url := strings.TrimSpace(line[strings.LastIndex(line, "http://"):])
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return within 10 s of its context ending")
			return nil
		}
	}
	return url, stop
}

func TestRunServesAndStopsCleanly(t *testing.T) {
	url, stop := startRun(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(url + "/healthz")
		if err == nil && res.StatusCode == http.StatusOK {
			res.Body.Close()
			break
		}
		if err == nil {
			res.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("run ended with %v, want nil after a graceful stop", err)
	}
}

func TestRunRefusesUnknownStoresAndCommands(t *testing.T) {
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"-store", "mongo"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "want sqlite or dynamodb") {
		t.Errorf("unknown store: %v", err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestStateCacheFlag(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, arg := range []string{"-1", "2000000"} {
		if _, err := parseConfig([]string{"-state-cache", arg}, getenv, io.Discard); err == nil || !strings.Contains(err.Error(), "-state-cache") {
			t.Errorf("-state-cache %s: %v, want it refused", arg, err)
		}
	}
	cfg, err := parseConfig(nil, getenv, io.Discard)
	if err != nil || stateCacheBytes(cfg.stateCacheMiB) != 64<<20 {
		t.Errorf("default: %d MiB (%v), want 64", cfg.stateCacheMiB, err)
	}
	if stateCacheBytes(0) >= 0 {
		t.Error("-state-cache 0 does not turn the cache off")
	}
}

func TestClusterFlags(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if _, err := parseConfig([]string{"-redis", "redis://localhost:6379/0"}, env(), io.Discard); err == nil || !strings.Contains(err.Error(), "one process") {
		t.Errorf("-redis on SQLite: %v, want it refused", err)
	}
	for _, d := range []string{"10ms", "1h", "soon"} {
		if _, err := parseConfig([]string{"-failover", d}, env(), io.Discard); err == nil || !strings.Contains(err.Error(), "-failover") {
			t.Errorf("-failover %s: %v, want it refused", d, err)
		}
	}
	cfg, err := parseConfig(nil, env("FOLDBOARD_STORE", "dynamodb", "FOLDBOARD_REDIS", "redis://r:6379/0", "FOLDBOARD_INSTANCE", "a", "FOLDBOARD_FAILOVER", "3s"), io.Discard)
	if err != nil || cfg.redis != "redis://r:6379/0" || cfg.instance != "a" || cfg.failover != 3*time.Second {
		t.Errorf("from the environment: %+v, %v", cfg, err)
	}
	if cfg, _ := parseConfig(nil, env(), io.Discard); cfg.redis != "" || cfg.failover != 8*time.Second {
		t.Errorf("defaults: redis %q, failover %v; want none and 8s", cfg.redis, cfg.failover)
	}
}
