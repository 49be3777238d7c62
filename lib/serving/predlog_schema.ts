/**
 * The prediction log's tables and rows: what a scored transaction, a late
 * label and a day's summary hold, the SQLite schema, and the migrations an
 * older log goes through when it is opened.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** One scored transaction. */
export interface PredictionRow {
  transaction_id: string;
  /** When the server scored it (epoch ms). */
  scored_at: number;
  /** The transaction's own time (epoch ms), null when it had none. */
  event_time: number | null;
  model: string;
  version: number;
  run_id: string;
  score: number;
  threshold: number;
  is_fraud: boolean;
  /** The record as the client sent it (JSON text). */
  input: string;
  /**
   * "served" (default): the answer the client got; "shadow": a model scoring
   * the same request beside it, never answered (`serve --shadow`).
   */
  role?: "served" | "shadow";
}

/** A logged prediction with its label, when feedback arrived. */
export interface LabeledPrediction extends PredictionRow {
  label: 0 | 1 | null;
  labeled_at: number | null;
}

/** Predictions of one UTC day and model version, with their feedback. */
export interface LogSummaryRow {
  day: string;
  model: string;
  version: number;
  run_id: string;
  predictions: number;
  alerts: number;
  /** Predictions with a label (feedback) so far. */
  labeled: number;
  /** Labeled predictions whose label is fraud. */
  frauds: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  mean_score: number;
}

/** One late label. */
export interface Feedback {
  transaction_id: string;
  label: 0 | 1;
  /** When the label became known (epoch ms). */
  labeled_at: number;
}

/**
 * Tables: each model version once in `models`; each scored transaction in
 * `scored`, pointing at its model (a row stays small: its input, score,
 * decision and times); late labels in `feedback`. The view `predictions`
 * reads scored rows with their model's name, version, run and threshold.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS models (
  model_key INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  threshold REAL NOT NULL,
  role TEXT NOT NULL DEFAULT 'served',
  UNIQUE (model, version, run_id, threshold, role)
);
CREATE TABLE IF NOT EXISTS scored (
  seq INTEGER PRIMARY KEY,
  transaction_id TEXT NOT NULL,
  scored_at INTEGER NOT NULL,
  event_time INTEGER,
  model_key INTEGER NOT NULL REFERENCES models (model_key),
  score REAL NOT NULL,
  is_fraud INTEGER NOT NULL,
  input TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scored_scored_at ON scored (scored_at);
CREATE INDEX IF NOT EXISTS scored_transaction ON scored (transaction_id);

CREATE TABLE IF NOT EXISTS feedback (
  transaction_id TEXT PRIMARY KEY,
  label INTEGER NOT NULL,
  labeled_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  source TEXT
);
CREATE TABLE IF NOT EXISTS quarantine (
  seq INTEGER PRIMARY KEY,
  quarantined_at INTEGER NOT NULL,
  error TEXT NOT NULL,
  row TEXT NOT NULL
);
`;

/**
 * The views: `predictions` holds what was answered, `shadow_predictions`
 * what shadow models scored beside it (recreated on open, so a log from an
 * earlier layout gets the current ones).
 */
const VIEWS = `
DROP VIEW IF EXISTS predictions;
CREATE VIEW predictions AS
  SELECT s.seq, s.transaction_id, s.scored_at, s.event_time, m.model, m.version, m.run_id,
    s.score, m.threshold, s.is_fraud, s.input
  FROM scored s JOIN models m ON m.model_key = s.model_key WHERE m.role = 'served';
DROP VIEW IF EXISTS shadow_predictions;
CREATE VIEW shadow_predictions AS
  SELECT s.seq, s.transaction_id, s.scored_at, s.event_time, m.model, m.version, m.run_id,
    s.score, m.threshold, s.is_fraud, s.input
  FROM scored s JOIN models m ON m.model_key = s.model_key WHERE m.role = 'shadow';
`;

/** Adds columns later versions added to tables an older log already has. */
function migrateColumns(db: DatabaseSync): void {
  const cols = db.prepare("PRAGMA table_info(feedback)").all() as { name: string }[];
  if (!cols.some((c) => c.name === "source")) {
    db.exec("ALTER TABLE feedback ADD COLUMN source TEXT");
  }
  // A log from before shadows: its model rows were all served. (Its unique key does not
  // include the role, so it cannot log as a shadow a model version it has served.)
  const models = db.prepare("PRAGMA table_info(models)").all() as { name: string }[];
  if (!models.some((c) => c.name === "role")) {
    db.exec("ALTER TABLE models ADD COLUMN role TEXT NOT NULL DEFAULT 'served'");
  }
}

/**
 * Moves a log written before the `models` table existed (one wide
 * `predictions` table) into the current tables, every row and its
 * sequence number kept, in one transaction.
 */
function migrateWideLog(db: DatabaseSync): void {
  const wide = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'predictions'",
  ).get();
  if (!wide) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`
      ALTER TABLE predictions RENAME TO predictions_wide;
      DROP INDEX IF EXISTS predictions_scored_at;
      DROP INDEX IF EXISTS predictions_transaction;
      ${SCHEMA}
      INSERT OR IGNORE INTO models (model, version, run_id, threshold)
        SELECT model, version, run_id, threshold FROM predictions_wide ORDER BY seq;
      INSERT INTO scored (seq, transaction_id, scored_at, event_time, model_key, score, is_fraud,
          input)
        SELECT p.seq, p.transaction_id, p.scored_at, p.event_time, m.model_key, p.score,
          p.is_fraud, p.input
        FROM predictions_wide p JOIN models m ON m.model = p.model AND m.version = p.version
          AND m.run_id = p.run_id AND m.threshold = p.threshold;
      DROP TABLE predictions_wide;
      COMMIT;`);
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** Brings a log at any earlier layout to the current one (creating the tables when new). */
export function migrateLog(db: DatabaseSync): void {
  migrateWideLog(db);
  db.exec(SCHEMA);
  migrateColumns(db);
  db.exec(VIEWS);
}
