package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// The Dockerfile and compose.yaml cannot be run here (no Docker engine):
// these tests hold them to the program they package.

func TestTheImageHealthCheckIsACommandFoldboardHas(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^HEALTHCHECK .*\\\n\s+CMD \["/foldboard", "([a-z-]+)"\]`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Dockerfile has no HEALTHCHECK running /foldboard")
	}
	// Asked for its flags, the command exists (an unknown one is an error).
	err = run(context.Background(), []string{string(m[1]), "-h"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil && !strings.Contains(err.Error(), "help requested") {
		t.Fatalf("HEALTHCHECK runs %q: %v", m[1], err)
	}
}

func TestComposeRunsAClusterOfTwoOnDynamoDBLocalAndRedis(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		Command     []string          `yaml:"command"`
		DependsOn   []string          `yaml:"depends_on"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Restart     string            `yaml:"restart"`
	}
	var c struct {
		Name     string             `yaml:"name"`
		Services map[string]service `yaml:"services"`
		// The anchors the services merge.
		Foldboard   service           `yaml:"x-foldboard"`
		Environment map[string]string `yaml:"x-environment"`
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	db, rd := c.Services["dynamodb"], c.Services["redis"]
	if !strings.HasPrefix(db.Image, "amazon/dynamodb-local:") {
		t.Errorf("the dynamodb service runs %q", db.Image)
	}
	if !slices.Contains(db.Command, "-sharedDb") {
		t.Errorf("DynamoDB Local without -sharedDb: %v", db.Command)
	}
	if !strings.HasPrefix(rd.Image, "redis:") {
		t.Errorf("the redis service runs %q", rd.Image)
	}
	instances, keys := map[string]bool{}, map[string]bool{}
	for _, name := range []string{"foldboard", "foldboard-2"} {
		app := c.Services[name]
		if app.Build != "." || !slices.Equal(app.DependsOn, []string{"dynamodb", "redis"}) {
			t.Errorf("%s: build %q, depends on %v", name, app.Build, app.DependsOn)
		}
		env := app.Environment
		getenv := func(k string) string { return env[k] }
		cfg, err := parseConfig(nil, getenv, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.store != "dynamodb" || !cfg.createTables || cfg.instance == "" || instances[cfg.instance] {
			t.Errorf("%s: store %q, create tables %v, instance %q", name, cfg.store, cfg.createTables, cfg.instance)
		}
		instances[cfg.instance] = true
		if r, err := url.Parse(cfg.redis); err != nil || r.Hostname() != "redis" || r.Port() != "6379" {
			t.Errorf("%s: FOLDBOARD_REDIS %q: want the redis service on its port 6379", name, cfg.redis)
		}
		u, err := url.Parse(env["AWS_ENDPOINT_URL_DYNAMODB"])
		if err != nil || u.Hostname() != "dynamodb" || u.Port() != "8000" {
			t.Errorf("%s: AWS_ENDPOINT_URL_DYNAMODB %q: want the dynamodb service on its port 8000", name, env["AWS_ENDPOINT_URL_DYNAMODB"])
		}
		for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			if env[k] == "" {
				t.Errorf("%s: no %s for the SDK", name, k)
			}
		}
		// A cluster's instances sign sessions with one key, which they must
		// be given (without it an instance does not start).
		key, err := sessionSecret(cfg, cfg.redis != "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		keys[string(key)] = true
	}
	if len(keys) != 1 {
		t.Errorf("the instances sign sessions with %d keys, want one", len(keys))
	}
}
