package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/foldboard/foldboard/es"
)

// LoadReadModels returns the projector's checkpoint and documents, read in one
// transaction so that they agree.
func (s *Store) LoadReadModels(ctx context.Context, projector string) (checkpoint string, docs map[string]json.RawMessage, err error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT checkpoint FROM checkpoints WHERE projector = ?`, projector).Scan(&checkpoint)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("sqlite: load checkpoint of %s: %w", projector, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT key, doc FROM readmodels WHERE projector = ?`, projector)
	if err != nil {
		return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
	}
	defer rows.Close()
	docs = map[string]json.RawMessage{}
	for rows.Next() {
		var key, doc string
		if err := rows.Scan(&key, &doc); err != nil {
			return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
		}
		docs[key] = json.RawMessage(doc)
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
	}
	return checkpoint, docs, nil
}

// SaveReadModels writes the documents (deleting those with a nil value) and
// the checkpoint in one transaction on the writer connection.
func (s *Store) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: save read models of %s: %w", projector, err)
	}
	if err := s.saveReadModels(uninterrupted(ctx), projector, checkpoint, docs); err != nil {
		return fmt.Errorf("sqlite: save read models of %s at %q: %w", projector, checkpoint, err)
	}
	return nil
}

// maxDocsPerSave is the most documents one save writes. A transaction could
// take any number, but it holds the one writer connection while it runs and
// the commands' appends wait for it: ~15 µs a document in a rebuild's
// profile, so ~8 ms for a save of this many. A rebuild of 100,000 events
// (~11,000 documents) writes in ~25 commits instead of ~200 at
// es.MaxDocsPerSave; more per save measured the same.
const maxDocsPerSave = 500

// MaxDocsPerSave is the most documents one SaveReadModels takes
// (es.SaveCapacity): more than es.MaxDocsPerSave, as SQLite writes any
// number in one transaction.
func (s *Store) MaxDocsPerSave() int { return maxDocsPerSave }

// The statements of a save, prepared once (see statements).
const (
	sqlSaveDoc = `
		INSERT INTO readmodels (projector, key, doc) VALUES (?, ?, ?)
		ON CONFLICT (projector, key) DO UPDATE SET doc = excluded.doc`
	sqlSaveCheckpoint = `
		INSERT INTO checkpoints (projector, checkpoint) VALUES (?, ?)
		ON CONFLICT (projector) DO UPDATE SET checkpoint = excluded.checkpoint`
)

func (s *Store) saveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	if projector == "" {
		return errors.New("no projector name")
	}
	if len(docs) > maxDocsPerSave {
		return fmt.Errorf("%d documents, at most %d in one save", len(docs), maxDocsPerSave)
	}
	for key, doc := range docs {
		if key == "" {
			return errors.New("a document with an empty key")
		}
		if doc != nil && !json.Valid(doc) {
			return fmt.Errorf("document %q is not JSON", key)
		}
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var save *sql.Stmt
	for key, doc := range docs {
		if doc == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM readmodels WHERE projector = ? AND key = ?`, projector, key)
		} else {
			if save == nil {
				save = tx.StmtContext(ctx, s.stmts.saveDoc)
			}
			_, err = save.ExecContext(ctx, projector, key, string(doc))
		}
		if err != nil {
			return fmt.Errorf("document %q: %w", key, err)
		}
	}
	if _, err := tx.StmtContext(ctx, s.stmts.saveCheckpoint).ExecContext(ctx, projector, checkpoint); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return tx.Commit()
}

var _ es.ReadModelReader = (*Store)(nil)

// ReadModel reads one document on a reader connection.
func (s *Store) ReadModel(ctx context.Context, projector, key string) (json.RawMessage, error) {
	var doc string
	err := s.reader.QueryRowContext(ctx, `SELECT doc FROM readmodels WHERE projector = ? AND key = ?`, projector, key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read model %s of %s: %w", key, projector, err)
	}
	return json.RawMessage(doc), nil
}

// ReadModelRange reads the primary key (projector, key) backwards from the
// range's upper bound (forwards from the prefix, ascending): the work is
// the documents returned.
func (s *Store) ReadModelRange(ctx context.Context, projector string, q es.DocRange) ([]es.Doc, error) {
	upper := q.RangeUpper()
	if upper != "" && upper <= q.Prefix {
		return nil, nil
	}
	query, args := `SELECT key, doc FROM readmodels WHERE projector = ? AND key >= ?`, []any{projector, q.Prefix}
	if upper != "" {
		query, args = query+` AND key < ?`, append(args, upper)
	}
	order := ` ORDER BY key DESC LIMIT ?`
	if q.Ascending {
		order = ` ORDER BY key LIMIT ?`
	}
	rows, err := s.reader.QueryContext(ctx, query+order, append(args, q.RangeLimit())...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read models %q of %s: %w", q.Prefix, projector, err)
	}
	defer rows.Close()
	var out []es.Doc
	for rows.Next() {
		var key, doc string
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, fmt.Errorf("sqlite: read models %q of %s: %w", q.Prefix, projector, err)
		}
		out = append(out, es.Doc{Key: key, Data: json.RawMessage(doc)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read models %q of %s: %w", q.Prefix, projector, err)
	}
	return out, nil
}

var _ es.ReadModelLoader = (*Store)(nil)

// LoadReadModelsExcept reads the ranges of keys between the skipped
// prefixes, each by the primary key, in one transaction: the skipped
// documents are not read at all.
func (s *Store) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (checkpoint string, docs map[string]json.RawMessage, err error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT checkpoint FROM checkpoints WHERE projector = ?`, projector).Scan(&checkpoint)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("sqlite: load checkpoint of %s: %w", projector, err)
	}
	docs = map[string]json.RawMessage{}
	for _, r := range es.RangesExcept(skip) {
		var rows *sql.Rows
		if r.To == "" {
			rows, err = tx.QueryContext(ctx, `SELECT key, doc FROM readmodels WHERE projector = ? AND key >= ?`, projector, r.From)
		} else {
			rows, err = tx.QueryContext(ctx, `SELECT key, doc FROM readmodels WHERE projector = ? AND key >= ? AND key < ?`, projector, r.From, r.To)
		}
		if err != nil {
			return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
		}
		for rows.Next() {
			var key, doc string
			if err := rows.Scan(&key, &doc); err != nil {
				rows.Close()
				return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
			}
			docs[key] = json.RawMessage(doc)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", nil, fmt.Errorf("sqlite: load read models of %s: %w", projector, err)
		}
	}
	return checkpoint, docs, nil
}
