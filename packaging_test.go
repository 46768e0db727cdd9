package main

import (
	"context"
	"io"
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

func TestComposeRunsFoldboardOnDynamoDBLocal(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Name     string `yaml:"name"`
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			DependsOn   []string          `yaml:"depends_on"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			Restart     string            `yaml:"restart"`
		} `yaml:"services"`
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	db, app := c.Services["dynamodb"], c.Services["foldboard"]
	if !strings.HasPrefix(db.Image, "amazon/dynamodb-local:") {
		t.Errorf("the dynamodb service runs %q", db.Image)
	}
	if app.Build != "." || len(app.DependsOn) != 1 || app.DependsOn[0] != "dynamodb" {
		t.Errorf("the foldboard service: build %q, depends on %v", app.Build, app.DependsOn)
	}
	env := app.Environment
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.store != "dynamodb" || !cfg.createTables {
		t.Errorf("the app's configuration: store %q, create tables %v", cfg.store, cfg.createTables)
	}
	u, err := url.Parse(env["AWS_ENDPOINT_URL_DYNAMODB"])
	if err != nil || u.Hostname() != "dynamodb" || u.Port() != "8000" {
		t.Errorf("AWS_ENDPOINT_URL_DYNAMODB %q: want the dynamodb service on its port 8000", env["AWS_ENDPOINT_URL_DYNAMODB"])
	}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if env[k] == "" {
			t.Errorf("no %s for the SDK", k)
		}
	}
	if !slices.Contains(db.Command, "-sharedDb") {
		t.Errorf("DynamoDB Local without -sharedDb: %v", db.Command)
	}
}
