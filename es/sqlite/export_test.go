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
