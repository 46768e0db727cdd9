package main

import (
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// crashAfterReactions names the crash test's kill point: the process kills
// itself (SIGKILL, as a crash) right after its n-th reaction command ran,
// before the reactor saves the checkpoint that covers it.
const crashAfterReactions = "FOLDBOARD_CRASH_AFTER_REACTION_COMMANDS"

// crashPoint is the reactor's AfterCommand for the crash test; nil unless
// crashAfterReactions is set.
func crashPoint(getenv func(string) string) func() {
	n, err := strconv.ParseInt(getenv(crashAfterReactions), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	var ran atomic.Int64
	return func() {
		if ran.Add(1) == n {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal lands before anything else runs
		}
	}
}

// crashAfterClaims names the cluster crash test's kill point: the process
// kills itself right after the n-th cluster operation (a retry, a model
// rebuild) it took as the lease holder, before it carries it out.
const crashAfterClaims = "FOLDBOARD_CRASH_AFTER_CLUSTER_CLAIMS"

// claimCrashPoint is web.Deps.AfterClaim for the crash test; nil unless
// crashAfterClaims is set.
func claimCrashPoint(getenv func(string) string) func() {
	n, err := strconv.ParseInt(getenv(crashAfterClaims), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	var took atomic.Int64
	return func() {
		if took.Add(1) == n {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
	}
}

// envDuration is the duration in the environment variable name, def when it
// is unset or not a duration.
func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}
