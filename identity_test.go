package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSeedMakesTheDemoPeopleWithPasswordsItPrintsOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "f.db")
	env := map[string]string{"FOLDBOARD_DB": db, "FOLDBOARD_ADDR": "127.0.0.1:0"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	m := regexp.MustCompile(`(?m)^  ana +([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})$`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "  eve ") {
		t.Fatalf("seed printed no password for ana, or no eve:\n%s", out.String())
	}
	for _, e := range readAll(t, db) {
		if strings.Contains(string(e.Data), m[1]) {
			t.Fatalf("the store holds ana's password: %s %s", e.Type, e.Data)
		}
	}
	addr, _, stop := serveFor(t, env)
	signIn := func(password string) int {
		res, err := http.Post("http://"+addr+"/signin", "application/json", strings.NewReader(`{"name":"ana","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := signIn(m[1]); got != http.StatusOK {
		t.Errorf("signing in as ana with the printed password: %d", got)
	}
	if got := signIn("not-" + m[1]); got != http.StatusUnauthorized {
		t.Errorf("signing in as ana with another password: %d", got)
	}
	stop()
	// Seeding again keeps the accounts and prints no password.
	out.Reset()
	if err := run(context.Background(), []string{"seed", "-force"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("seed -force: %v", err)
	}
	if strings.Contains(out.String(), m[1]) || !strings.Contains(out.String(), "ana      (had an account already") {
		t.Errorf("a second seed:\n%s", out.String())
	}
}

func TestTheEmbeddedStoreKeepsItsSessionKeyInAFileOfItsOwn(t *testing.T) {
	db := filepath.Join(t.TempDir(), "f.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key, err := sessionSecret(config{store: "sqlite", db: db}, false, log)
	if err != nil || len(key) != 32 {
		t.Fatalf("a new key: %d bytes, %v", len(key), err)
	}
	info, err := os.Stat(db + ".secret")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key's file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	again, err := sessionSecret(config{store: "sqlite", db: db}, false, log)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("the key changed at the next start: %v", err)
	}
	if err := os.WriteFile(db+".secret", []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sessionSecret(config{store: "sqlite", db: db}, false, log); err == nil {
		t.Error("a file that is not a key was taken for one")
	}
}

func TestAClusterNeedsFoldboardSecretAndDynamoDBWritesNone(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := sessionSecret(config{store: "dynamodb"}, true, log); err == nil || !strings.Contains(err.Error(), "FOLDBOARD_SECRET is required") {
		t.Errorf("a cluster without FOLDBOARD_SECRET: %v", err)
	}
	// A cluster named by the flag as by the variable (the README's commands
	// pass -redis): each instance made a key of its own, and a sign-in on
	// one was anonymous on the other.
	cfg, err := parseConfig([]string{"-store", "dynamodb", "-redis", "redis://127.0.0.1:6379/0", "-instance", "a"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openStore(t.Context(), cfg, log); err == nil || !strings.Contains(err.Error(), "FOLDBOARD_SECRET is required") {
		t.Errorf("a cluster by -redis without FOLDBOARD_SECRET: %v", err)
	}
	key, err := sessionSecret(config{store: "dynamodb", secret: "a secret of the cluster"}, true, log)
	if err != nil || string(key) != "a secret of the cluster" {
		t.Errorf("a cluster with FOLDBOARD_SECRET: %q %v", key, err)
	}
	// DynamoDB alone: nothing kept (the server makes a key for its run).
	dir := t.TempDir()
	key, err = sessionSecret(config{store: "dynamodb", db: filepath.Join(dir, "f.db")}, false, log)
	if err != nil || key != nil {
		t.Errorf("DynamoDB without FOLDBOARD_SECRET: %q %v; want none, for the server to make", key, err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("DynamoDB wrote %v", files)
	}
	if _, err := sessionSecret(config{store: "sqlite", secret: "short"}, false, log); err == nil {
		t.Error("a FOLDBOARD_SECRET of 5 characters was taken")
	}
}

func TestTheIdentityFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"-actor-header", "X-Forwarded-User"},
		{"-actor-header", "X-Forwarded-User", "-trusted-proxies", "10.0.0.0/33"},
		{"-session-idle", "1s"},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	cfg, err := parseConfig([]string{"-admins", "ana, ben", "-public-url", "https://fold.example", "-actor-header", "X-Forwarded-User", "-trusted-proxies", "10.1.2.3/8,::1/128"},
		func(k string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := cfg.ident.identity(cfg.guard.PublicURL)
	if len(id.Admins) != 2 || id.Admins[1] != "ben" || !id.SecureCookies || id.TrustedProxies[0].String() != "10.0.0.0/8" || len(id.TrustedProxies) != 2 {
		t.Errorf("identity %+v", id)
	}
	cfg, _ = parseConfig(nil, func(k string) string { return map[string]string{"FOLDBOARD_ADMINS": "eve"}[k] }, io.Discard)
	if id, _ := cfg.ident.identity(cfg.guard.PublicURL); len(id.Admins) != 1 || id.Admins[0] != "eve" || id.SecureCookies {
		t.Errorf("FOLDBOARD_ADMINS: %+v", id)
	}
}
