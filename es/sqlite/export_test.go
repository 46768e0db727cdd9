package sqlite

import "time"

// SetPollInterval sets how often s's feeds look for appends by another
// process; call it before Follow.
func SetPollInterval(s *Store, d time.Duration) { s.pollEvery = d }

// WriterPragma reads a pragma's value on s's writer connection.
func WriterPragma(s *Store, name string) (string, error) {
	var v string
	err := s.writer.QueryRow("PRAGMA " + name).Scan(&v)
	return v, err
}

// ReadFeedsFromFile makes s's feeds read every event from the file, never from
// the events s appended last.
func ReadFeedsFromFile(s *Store) {
	s.recent.mu.Lock()
	s.recent.off = true
	s.recent.mu.Unlock()
}

// FeedFileReads counts the reads of the file by s's feeds.
func FeedFileReads(s *Store) int64 { return s.feedFileReads.Load() }

// RecentLen is how many appended events s keeps for its feeds.
func RecentLen(s *Store) int {
	s.recent.mu.Lock()
	defer s.recent.mu.Unlock()
	return len(s.recent.pos)
}

// RecentKeep is how many it keeps at least.
const RecentKeep = recentKeep
