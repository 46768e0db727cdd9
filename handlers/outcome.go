package handlers

import "time"

// CommandOutcome is one handled command, as logs and metrics see it.
type CommandOutcome struct {
	// Command names it: "StartMatch", "AddItem", …
	Command string
	Stream  string
	Version int64
	// Outcome is "ok", "repeated" (a command id seen before), or the
	// error's code ("AlreadyStarted", "VersionConflict", "Internal", …).
	Outcome string
	// Status is the error's HTTP status; 0 on success.
	Status int
	Took   time.Duration
}
