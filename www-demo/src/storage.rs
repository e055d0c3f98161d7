//! SQLite storage. Every batch is written in one transaction that commits (WAL,
//! `synchronous=FULL`) before the handler answers 200, so an acknowledged batch survives a
//! crash or a restart. `batch_id` is UNIQUE per kind: a resent batch is recognised and
//! stores nothing.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::validation::{AnalyticsBatch, ReplayBatch};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS analytics_batches (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  batch_id TEXT NOT NULL UNIQUE,
  session_replay_segment_id TEXT NOT NULL,
  user_id TEXT,
  sent_at_ms INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  body_bytes INTEGER NOT NULL,
  gzipped INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_events (
  id INTEGER PRIMARY KEY,
  batch_row INTEGER NOT NULL REFERENCES analytics_batches(id),
  project_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  session_replay_segment_id TEXT NOT NULL,
  user_id TEXT,
  event_type TEXT NOT NULL,
  event_at_ms INTEGER NOT NULL,
  page_path TEXT,
  data TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS analytics_events_recent ON analytics_events(event_at_ms DESC, id DESC);
CREATE TABLE IF NOT EXISTS replay_sessions (
  session_replay_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  browser_session_id TEXT NOT NULL,
  user_id TEXT,
  started_at_ms INTEGER NOT NULL,
  first_event_at_ms INTEGER NOT NULL,
  last_event_at_ms INTEGER NOT NULL,
  UNIQUE (project_id, browser_session_id)
);
CREATE TABLE IF NOT EXISTS replay_batches (
  id INTEGER PRIMARY KEY,
  session_replay_id TEXT NOT NULL REFERENCES replay_sessions(session_replay_id),
  project_id TEXT NOT NULL,
  batch_id TEXT NOT NULL UNIQUE,
  browser_session_id TEXT NOT NULL,
  session_replay_segment_id TEXT NOT NULL,
  user_id TEXT,
  started_at_ms INTEGER NOT NULL,
  sent_at_ms INTEGER NOT NULL,
  s3_key TEXT NOT NULL,
  event_count INTEGER NOT NULL,
  first_event_at_ms INTEGER NOT NULL,
  last_event_at_ms INTEGER NOT NULL,
  body_bytes INTEGER NOT NULL,
  gzipped INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS replay_events (
  id INTEGER PRIMARY KEY,
  batch_row INTEGER NOT NULL REFERENCES replay_batches(id),
  session_replay_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  browser_session_id TEXT NOT NULL,
  session_replay_segment_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_type INTEGER,
  event_at_ms INTEGER,
  page_path TEXT,
  data TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_events_session ON replay_events(browser_session_id, event_at_ms, batch_row, seq);
";

/// Who sent a batch, from the request headers.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    pub project_id: String,
    /// `demo-<user>` tokens give `<user>`; other tokens give none.
    pub user_id: Option<String>,
    pub body_bytes: usize,
    pub gzipped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsOutcome {
    pub inserted: usize,
    pub deduped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOutcome {
    pub session_replay_id: String,
    pub batch_id: String,
    pub s3_key: String,
    pub deduped: bool,
    pub inserted: usize,
}

pub type StoreResult<T> = Result<T, rusqlite::Error>;

/// A cheaply clonable handle on the database. Calls block: run them in `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Store {
    /// Opens (creating it and its directory if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> StoreResult<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> StoreResult<Store> {
        // journal_mode answers with a row, so it is queried rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (it rolls
        // back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn journal_mode(&self) -> StoreResult<String> {
        self.lock().query_row("PRAGMA journal_mode", [], |r| r.get(0))
    }

    pub fn insert_analytics(&self, sender: &Sender, batch: &AnalyticsBatch) -> StoreResult<AnalyticsOutcome> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let now = now_ms();
        let added = tx.execute(
            "INSERT OR IGNORE INTO analytics_batches
               (project_id, batch_id, session_replay_segment_id, user_id, sent_at_ms, event_count,
                body_bytes, gzipped, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                sender.project_id,
                batch.batch_id,
                batch.session_replay_segment_id,
                sender.user_id,
                batch.sent_at_ms,
                batch.events.len() as i64,
                sender.body_bytes as i64,
                sender.gzipped,
                now
            ],
        )?;
        if added == 0 {
            return Ok(AnalyticsOutcome { inserted: 0, deduped: true });
        }
        let batch_row = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO analytics_events
                   (batch_row, project_id, batch_id, session_replay_segment_id, user_id, event_type,
                    event_at_ms, page_path, data, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for e in &batch.events {
                stmt.execute(params![
                    batch_row,
                    sender.project_id,
                    batch.batch_id,
                    batch.session_replay_segment_id,
                    sender.user_id,
                    e.event_type,
                    e.event_at_ms,
                    e.page_path,
                    e.data.to_string(),
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(AnalyticsOutcome { inserted: batch.events.len(), deduped: false })
    }

    pub fn insert_replay(&self, sender: &Sender, batch: &ReplayBatch) -> StoreResult<ReplayOutcome> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT session_replay_id, s3_key FROM replay_batches WHERE batch_id = ?1",
                [&batch.batch_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((session_replay_id, s3_key)) = existing {
            return Ok(ReplayOutcome {
                session_replay_id,
                batch_id: batch.batch_id.clone(),
                s3_key,
                deduped: true,
                inserted: 0,
            });
        }
        let now = now_ms();
        let times = batch.events.iter().filter_map(|e| e.timestamp);
        let first = times.clone().min().unwrap_or(batch.sent_at_ms);
        let last = times.max().unwrap_or(batch.sent_at_ms);

        let session: Option<String> = tx
            .query_row(
                "SELECT session_replay_id FROM replay_sessions WHERE project_id = ?1 AND browser_session_id = ?2",
                [&sender.project_id, &batch.browser_session_id],
                |r| r.get(0),
            )
            .optional()?;
        let session_replay_id = match session {
            Some(id) => {
                tx.execute(
                    "UPDATE replay_sessions SET first_event_at_ms = min(first_event_at_ms, ?2),
                       last_event_at_ms = max(last_event_at_ms, ?3), user_id = coalesce(user_id, ?4)
                     WHERE session_replay_id = ?1",
                    params![id, first, last, sender.user_id],
                )?;
                id
            }
            None => {
                let bytes: Vec<u8> = tx.query_row("SELECT randomblob(16)", [], |r| r.get(0))?;
                let id = uuid_v4(&bytes);
                tx.execute(
                    "INSERT INTO replay_sessions (session_replay_id, project_id, browser_session_id, user_id,
                       started_at_ms, first_event_at_ms, last_event_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        id,
                        sender.project_id,
                        batch.browser_session_id,
                        sender.user_id,
                        batch.started_at_ms,
                        first,
                        last
                    ],
                )?;
                id
            }
        };
        // Same key shape as Stack Auth's backend; here the chunk lives in replay_events.
        let s3_key = format!(
            "session-replays/{}/main/{}/{}.json.gz",
            sender.project_id, session_replay_id, batch.batch_id
        );
        tx.execute(
            "INSERT INTO replay_batches (session_replay_id, project_id, batch_id, browser_session_id,
               session_replay_segment_id, user_id, started_at_ms, sent_at_ms, s3_key, event_count,
               first_event_at_ms, last_event_at_ms, body_bytes, gzipped, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                session_replay_id,
                sender.project_id,
                batch.batch_id,
                batch.browser_session_id,
                batch.session_replay_segment_id,
                sender.user_id,
                batch.started_at_ms,
                batch.sent_at_ms,
                s3_key,
                batch.events.len() as i64,
                first,
                last,
                sender.body_bytes as i64,
                sender.gzipped,
                now
            ],
        )?;
        let batch_row = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO replay_events (batch_row, session_replay_id, project_id, browser_session_id,
                   session_replay_segment_id, seq, event_type, event_at_ms, page_path, data, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for (seq, e) in batch.events.iter().enumerate() {
                stmt.execute(params![
                    batch_row,
                    session_replay_id,
                    sender.project_id,
                    batch.browser_session_id,
                    batch.session_replay_segment_id,
                    seq as i64,
                    e.event_type,
                    e.timestamp,
                    e.page_path,
                    e.data.to_string(),
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(ReplayOutcome {
            session_replay_id,
            batch_id: batch.batch_id.clone(),
            s3_key,
            deduped: false,
            inserted: batch.events.len(),
        })
    }

    /// The most recent analytics events, newest first.
    pub fn recent_events(&self, limit: u32) -> StoreResult<Vec<Value>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, project_id, batch_id, session_replay_segment_id, user_id, event_type, event_at_ms,
                    page_path, data, received_at_ms
             FROM analytics_events ORDER BY event_at_ms DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            let data: String = r.get(8)?;
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "project_id": r.get::<_, String>(1)?,
                "batch_id": r.get::<_, String>(2)?,
                "session_replay_segment_id": r.get::<_, String>(3)?,
                "user_id": r.get::<_, Option<String>>(4)?,
                "event_type": r.get::<_, String>(5)?,
                "event_at_ms": r.get::<_, i64>(6)?,
                "page_path": r.get::<_, Option<String>>(7)?,
                "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null),
                "received_at_ms": r.get::<_, i64>(9)?,
            }))
        })?;
        rows.collect()
    }

    /// Browser sessions with replay data, most recently active first.
    pub fn sessions(&self, limit: u32) -> StoreResult<Vec<Value>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT s.session_replay_id, s.project_id, s.browser_session_id, s.user_id, s.started_at_ms,
                    s.first_event_at_ms, s.last_event_at_ms,
                    (SELECT count(*) FROM replay_batches b WHERE b.session_replay_id = s.session_replay_id),
                    (SELECT coalesce(sum(event_count), 0) FROM replay_batches b
                       WHERE b.session_replay_id = s.session_replay_id),
                    (SELECT page_path FROM replay_events e WHERE e.session_replay_id = s.session_replay_id
                       AND page_path IS NOT NULL ORDER BY event_at_ms, id LIMIT 1)
             FROM replay_sessions s ORDER BY s.last_event_at_ms DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(json!({
                "session_replay_id": r.get::<_, String>(0)?,
                "project_id": r.get::<_, String>(1)?,
                "browser_session_id": r.get::<_, String>(2)?,
                "user_id": r.get::<_, Option<String>>(3)?,
                "started_at_ms": r.get::<_, i64>(4)?,
                "first_event_at_ms": r.get::<_, i64>(5)?,
                "last_event_at_ms": r.get::<_, i64>(6)?,
                "batch_count": r.get::<_, i64>(7)?,
                "event_count": r.get::<_, i64>(8)?,
                "first_page_path": r.get::<_, Option<String>>(9)?,
            }))
        })?;
        rows.collect()
    }

    /// Every replay event of a browser session as a JSON array text, ordered by time (ties
    /// keep the order of arrival). `None` when the session is unknown.
    pub fn session_events_json(&self, browser_session_id: &str) -> StoreResult<Option<String>> {
        let conn = self.lock();
        let known: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM replay_sessions WHERE browser_session_id = ?1 LIMIT 1",
                [browser_session_id],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Ok(None);
        }
        let mut stmt = conn.prepare(
            "SELECT data FROM replay_events WHERE browser_session_id = ?1
             ORDER BY coalesce(event_at_ms, 0), batch_row, seq",
        )?;
        let mut out = String::from("[");
        let mut rows = stmt.query([browser_session_id])?;
        let mut first = true;
        while let Some(row) = rows.next()? {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(row.get_ref(0)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
            })?);
        }
        out.push(']');
        Ok(Some(out))
    }

    /// Row counts of every table, for `/__stats` and the dashboard.
    pub fn totals(&self) -> StoreResult<Value> {
        let conn = self.lock();
        let count = |table: &str| -> StoreResult<i64> {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        };
        Ok(json!({
            "analytics_batches": count("analytics_batches")?,
            "analytics_events": count("analytics_events")?,
            "replay_sessions": count("replay_sessions")?,
            "replay_batches": count("replay_batches")?,
            "replay_events": count("replay_events")?,
        }))
    }
}

/// Formats 16 random bytes as a version-4 UUID.
fn uuid_v4(bytes: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{analytics_batch, is_uuid, replay_batch};

    #[test]
    fn uuid_v4_is_a_uuid() {
        assert!(is_uuid(&uuid_v4(&[0xff; 16])));
        assert!(is_uuid(&uuid_v4(&[0; 16])));
    }

    #[test]
    fn dedup_and_ordering() {
        let store = Store::open_in_memory().unwrap();
        let sender = Sender { project_id: "p".into(), ..Default::default() };
        let a = analytics_batch(&json!({"session_replay_segment_id": "0b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f",
            "batch_id": "1b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f", "sent_at_ms": 3,
            "events": [{"event_type": "x", "event_at_ms": 1, "data": {"path": "/a"}}]}))
        .unwrap();
        assert_eq!(
            store.insert_analytics(&sender, &a).unwrap(),
            AnalyticsOutcome { inserted: 1, deduped: false }
        );
        assert_eq!(
            store.insert_analytics(&sender, &a).unwrap(),
            AnalyticsOutcome { inserted: 0, deduped: true }
        );
        assert_eq!(store.recent_events(10).unwrap().len(), 1);

        let sid = "2b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f";
        let r = |batch: &str, ts: &[i64]| {
            let events: Vec<Value> =
                ts.iter().map(|t| json!({"type": 3, "timestamp": t, "data": {}})).collect();
            replay_batch(
                &json!({"browser_session_id": sid, "session_replay_segment_id": sid, "batch_id": batch,
                "started_at_ms": 1, "sent_at_ms": 2, "events": events}),
            )
            .unwrap()
        };
        let b1 = store.insert_replay(&sender, &r("3b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f", &[20, 30])).unwrap();
        let b2 = store.insert_replay(&sender, &r("4b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f", &[10])).unwrap();
        assert_eq!(b1.session_replay_id, b2.session_replay_id);
        let again =
            store.insert_replay(&sender, &r("3b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f", &[20, 30])).unwrap();
        assert!(again.deduped);
        assert_eq!(again.s3_key, b1.s3_key);
        let events: Value = serde_json::from_str(&store.session_events_json(sid).unwrap().unwrap()).unwrap();
        let ts: Vec<i64> =
            events.as_array().unwrap().iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
        assert_eq!(ts, vec![10, 20, 30]);
        assert_eq!(store.sessions(10).unwrap()[0]["event_count"], 3);
        assert_eq!(store.session_events_json("nope").unwrap(), None);
    }
}
