package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/foldboard/foldboard/es"
)

// settingsProjector keys the settings among the read models' documents,
// where foldboard kept them before they had an interface of their own.
const settingsProjector = "settings"

// Backend is the store with its feed, read models and settings.
func (s *Store) Backend() es.Backend {
	return es.Backend{Store: s, Feed: s.Feed(), ReadModels: s, Settings: s}
}

// Setting implements es.Settings.
func (s *Store) Setting(ctx context.Context, name string) (json.RawMessage, bool, error) {
	var doc string
	err := s.reader.QueryRowContext(ctx, `SELECT doc FROM readmodels WHERE projector = ? AND key = ?`, settingsProjector, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: setting %s: %w", name, err)
	}
	return json.RawMessage(doc), true, nil
}

// CreateSetting implements es.Settings: an insert that keeps a row already
// there, and a read of the row, in one transaction of the one writer.
func (s *Store) CreateSetting(ctx context.Context, name string, value json.RawMessage) (json.RawMessage, error) {
	if !json.Valid(value) {
		return nil, fmt.Errorf("sqlite: setting %s: the value is not JSON", name)
	}
	ctx = uninterrupted(ctx)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create setting %s: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO readmodels (projector, key, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		settingsProjector, name, string(value)); err != nil {
		return nil, fmt.Errorf("sqlite: create setting %s: %w", name, err)
	}
	var doc string
	if err := tx.QueryRowContext(ctx, `SELECT doc FROM readmodels WHERE projector = ? AND key = ?`, settingsProjector, name).Scan(&doc); err != nil {
		return nil, fmt.Errorf("sqlite: create setting %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: create setting %s: %w", name, err)
	}
	return json.RawMessage(doc), nil
}

// SwapSetting implements es.Settings.
func (s *Store) SwapSetting(ctx context.Context, name string, old, value json.RawMessage) error {
	if !json.Valid(value) {
		return fmt.Errorf("sqlite: setting %s: the value is not JSON", name)
	}
	ctx = uninterrupted(ctx)
	var res sql.Result
	var err error
	if old == nil {
		res, err = s.writer.ExecContext(ctx, `INSERT INTO readmodels (projector, key, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			settingsProjector, name, string(value))
	} else {
		res, err = s.writer.ExecContext(ctx, `UPDATE readmodels SET doc = ? WHERE projector = ? AND key = ? AND doc = ?`,
			string(value), settingsProjector, name, string(old))
	}
	if err != nil {
		return fmt.Errorf("sqlite: swap setting %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("sqlite: swap setting %s from %s: %w", name, old, es.ErrSettingChanged)
	}
	return nil
}
