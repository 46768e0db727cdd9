package main

import (
	"io"
	"slices"
	"testing"

	"github.com/foldboard/foldboard/web"
)

func TestTheHostsAndRateLimitsComeFromFlagsOrTheEnvironment(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.guard.Rates != web.RatesAt(web.DefaultCommandRate) || cfg.guard.Rates.Off || cfg.guard.PublicURL != "" {
		t.Errorf("defaults: %+v", cfg.guard)
	}
	env["FOLDBOARD_PUBLIC_URL"], env["FOLDBOARD_ALLOWED_HOSTS"], env["FOLDBOARD_RATE_LIMIT"] = "https://board.example.com", "foldboard,*.lan", "0"
	if cfg, err = parseConfig(nil, getenv, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.guard.PublicURL != "https://board.example.com" || !slices.Equal(cfg.guard.AllowedHosts, []string{"foldboard", "*.lan"}) || !cfg.guard.Rates.Off {
		t.Errorf("from the environment: %+v", cfg.guard)
	}
	if cfg, err = parseConfig([]string{"-rate-limit", "500", "-allowed-hosts", "x.example"}, getenv, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.guard.Rates.AddressCommands != 500 || !slices.Equal(cfg.guard.AllowedHosts, []string{"x.example"}) {
		t.Errorf("flags over the environment: %+v", cfg.guard)
	}
}
