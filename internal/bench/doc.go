// Package bench holds foldboard's benchmarks, run by `make bench`. Each one
// measures foldboard and its raw baseline in the same run (the store's own
// Append beside a command through HTTP, a bare fold beside the projector, a
// stream of 10 events beside one of 100,000) and reports the ratio with
// b.ReportMetric, so that the figures mean the same on any machine.
// BENCHMARKS.md at the top of the repository says what each one measures and
// what it found. The package has no code outside its tests.
package bench
