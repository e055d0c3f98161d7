//! SQLite storage.
//!
//! - **Writes**: every request is one transaction on the writer connection that commits
//!   (WAL, `synchronous=FULL`) before the handler answers 200, so an acknowledged batch
//!   survives a crash or a restart. `batch_id` is UNIQUE per kind: a resent batch is
//!   recognised and stores nothing.
//! - **Reads** (the dashboard) use connections of their own: in WAL mode a reader sees the
//!   last commit and never waits for the writer, nor the writer for it.
//! - **No dashboard query scans a table**: lists walk an index in order (keyset pagination,
//!   bounded pages); per-session counts and the totals are maintained on write
//!   (`replay_sessions.batch_count/event_count/first_page_path`, the `totals` table). A test
//!   checks every dashboard query's plan.
//! - **Retention**: [`Store::delete_received_before`] removes old data in small
//!   transactions, through indexes on the receive time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::validation::{AnalyticsBatch, ReplayBatch};

/// `PRAGMA user_version` of the current schema.
const SCHEMA_VERSION: i64 = 2;

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
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
";

/// Version 2: maintained per-session counts, indexes for every dashboard query and for
/// retention, the totals table. Idempotent; runs in one transaction.
const MIGRATE_V2: &str = "
CREATE INDEX IF NOT EXISTS analytics_events_received ON analytics_events(received_at_ms);
CREATE INDEX IF NOT EXISTS analytics_batches_received ON analytics_batches(received_at_ms);
CREATE INDEX IF NOT EXISTS replay_sessions_recent ON replay_sessions(last_event_at_ms);
CREATE INDEX IF NOT EXISTS replay_sessions_received ON replay_sessions(last_received_at_ms);
CREATE INDEX IF NOT EXISTS replay_sessions_browser ON replay_sessions(browser_session_id);
CREATE INDEX IF NOT EXISTS replay_batches_session ON replay_batches(session_replay_id);
UPDATE replay_events SET event_at_ms = 0 WHERE event_at_ms IS NULL;
UPDATE replay_sessions SET
  batch_count = (SELECT count(*) FROM replay_batches b WHERE b.session_replay_id = replay_sessions.session_replay_id),
  event_count = (SELECT coalesce(sum(event_count), 0) FROM replay_batches b
                   WHERE b.session_replay_id = replay_sessions.session_replay_id),
  first_page_path = (SELECT page_path FROM replay_events e WHERE e.browser_session_id = replay_sessions.browser_session_id
                       AND page_path IS NOT NULL ORDER BY event_at_ms, id LIMIT 1),
  last_received_at_ms = coalesce((SELECT max(received_at_ms) FROM replay_batches b
                   WHERE b.session_replay_id = replay_sessions.session_replay_id), 0);
DELETE FROM totals;
INSERT INTO totals (name, n) SELECT 'analytics_batches', count(*) FROM analytics_batches;
INSERT INTO totals (name, n) SELECT 'analytics_events', count(*) FROM analytics_events;
INSERT INTO totals (name, n) SELECT 'replay_sessions', count(*) FROM replay_sessions;
INSERT INTO totals (name, n) SELECT 'replay_batches', count(*) FROM replay_batches;
INSERT INTO totals (name, n) SELECT 'replay_events', count(*) FROM replay_events;
";

const TOTAL_NAMES: [&str; 5] =
    ["analytics_batches", "analytics_events", "replay_sessions", "replay_batches", "replay_events"];

/// Most rows a dashboard list answers at once.
pub const MAX_PAGE: u32 = 5_000;
/// A page of replay events stops after this much JSON (at least one event is always sent).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Rows deleted per retention transaction (the writer is released in between).
const DELETE_CHUNK: i64 = 2_000;
/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 4;

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

/// One page of a list, and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: T,
    pub next: Option<String>,
}

/// What a retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    pub analytics_events: i64,
    pub replay_sessions: i64,
    pub replay_events: i64,
}

pub type StoreResult<T> = Result<T, rusqlite::Error>;

/// A cheaply clonable handle on the database. Calls block: run them in `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a transaction half-applied (it rolls back
    // on drop), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A read connection borrowed from the pool; returned on drop.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("reader in use")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut pool = lock(self.pool);
            if pool.len() < MAX_IDLE_READERS {
                pool.push(c);
            }
        }
    }
}

/// `a.b.c` → integers (cursors of the paginated lists).
fn cursor<const N: usize>(text: &str) -> Option<[i64; N]> {
    let mut out = [0i64; N];
    let mut parts = text.split('.');
    for slot in &mut out {
        *slot = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn bad_cursor(what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidParameterName(format!("{what} is not a cursor this server gave"))
}

fn add_total(tx: &rusqlite::Transaction<'_>, name: &str, n: i64) -> StoreResult<()> {
    if n != 0 {
        tx.execute(
            "INSERT INTO totals (name, n) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n",
            params![name, n],
        )?;
    }
    Ok(())
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
        // journal_mode answers with a row, so it is queried rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;")?;
        let mut conn = conn;
        Self::migrate(&mut conn)?;
        Ok(Store {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::default(),
            path: Arc::new(path.to_path_buf()),
        })
    }

    fn migrate(conn: &mut Connection) -> StoreResult<()> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version >= SCHEMA_VERSION {
            return Ok(());
        }
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        let has_counts: bool = tx
            .prepare("SELECT 1 FROM pragma_table_info('replay_sessions') WHERE name = 'batch_count'")?
            .exists([])?;
        if !has_counts {
            tx.execute_batch(
                "ALTER TABLE replay_sessions ADD COLUMN batch_count INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE replay_sessions ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE replay_sessions ADD COLUMN first_page_path TEXT;
                 ALTER TABLE replay_sessions ADD COLUMN last_received_at_ms INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        tx.execute_batch(MIGRATE_V2)?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        tx.commit()
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    fn read(&self) -> StoreResult<Reader<'_>> {
        let idle = lock(&self.readers).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    self.path.as_path(),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.execute_batch("PRAGMA busy_timeout=5000; PRAGMA query_only=1;")?;
                c
            }
        };
        Ok(Reader { conn: Some(conn), pool: &self.readers })
    }

    pub fn journal_mode(&self) -> StoreResult<String> {
        self.read()?.query_row("PRAGMA journal_mode", [], |r| r.get(0))
    }

    pub fn insert_analytics(&self, sender: &Sender, batch: &AnalyticsBatch) -> StoreResult<AnalyticsOutcome> {
        // Serialized before taking the writer, which other requests wait for.
        let data: Vec<String> = batch.events.iter().map(|e| e.data.to_string()).collect();
        let mut conn = self.write();
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
            let mut stmt = tx.prepare_cached(
                "INSERT INTO analytics_events
                   (batch_row, project_id, batch_id, session_replay_segment_id, user_id, event_type,
                    event_at_ms, page_path, data, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for (e, data) in batch.events.iter().zip(&data) {
                stmt.execute(params![
                    batch_row,
                    sender.project_id,
                    batch.batch_id,
                    batch.session_replay_segment_id,
                    sender.user_id,
                    e.event_type,
                    e.event_at_ms,
                    e.page_path,
                    data,
                    now
                ])?;
            }
        }
        add_total(&tx, "analytics_batches", 1)?;
        add_total(&tx, "analytics_events", batch.events.len() as i64)?;
        tx.commit()?;
        Ok(AnalyticsOutcome { inserted: batch.events.len(), deduped: false })
    }

    pub fn insert_replay(&self, sender: &Sender, batch: &ReplayBatch) -> StoreResult<ReplayOutcome> {
        // Serialized before taking the writer, which other requests wait for.
        let data: Vec<String> = batch.events.iter().map(|e| e.data.to_string()).collect();
        let mut conn = self.write();
        let tx = conn.transaction()?;
        if let Some((session_replay_id, s3_key)) = stored_replay_batch(&tx, &batch.batch_id)? {
            return Ok(ReplayOutcome {
                session_replay_id,
                batch_id: batch.batch_id.clone(),
                s3_key,
                deduped: true,
                inserted: 0,
            });
        }
        let now = now_ms();
        let session_replay_id = upsert_session(&tx, sender, batch, now)?;
        let rows = ReplayRows { sender, batch, session_replay_id, now };
        let s3_key = rows.s3_key();
        let batch_row = rows.insert_batch(&tx, &s3_key)?;
        rows.insert_events(&tx, batch_row, &data)?;
        add_total(&tx, "replay_batches", 1)?;
        add_total(&tx, "replay_events", batch.events.len() as i64)?;
        tx.commit()?;
        Ok(ReplayOutcome {
            session_replay_id: rows.session_replay_id,
            batch_id: batch.batch_id.clone(),
            s3_key,
            deduped: false,
            inserted: batch.events.len(),
        })
    }

    /// Analytics events, newest first, `limit` at a time; `before` is the `next` of the
    /// previous page.
    pub fn recent_events(&self, limit: u32, before: Option<&str>) -> StoreResult<Page<Vec<Value>>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let [at, id] = match before {
            None => [i64::MAX, i64::MAX],
            Some(c) => cursor::<2>(c).ok_or_else(|| bad_cursor("before"))?,
        };
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(RECENT_EVENTS_SQL)?;
        let rows = stmt.query_map(params![at, id, limit + 1], |r| {
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
        let mut items: Vec<Value> = rows.collect::<StoreResult<_>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|e| format!("{}.{}", e["event_at_ms"], e["id"]))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Browser sessions with replay data, most recently active first.
    pub fn sessions(&self, limit: u32, before: Option<&str>) -> StoreResult<Page<Vec<Value>>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let [at, row] = match before {
            None => [i64::MAX, i64::MAX],
            Some(c) => cursor::<2>(c).ok_or_else(|| bad_cursor("before"))?,
        };
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(SESSIONS_SQL)?;
        let rows = stmt.query_map(params![at, row, limit + 1], |r| {
            Ok((
                r.get::<_, i64>(10)?,
                json!({
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
                }),
            ))
        })?;
        let mut rows: Vec<(i64, Value)> = rows.collect::<StoreResult<_>>()?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|(rowid, s)| format!("{}.{rowid}", s["last_event_at_ms"]))
        } else {
            None
        };
        Ok(Page { items: rows.into_iter().map(|(_, v)| v).collect(), next })
    }

    /// A page of a browser session's replay events as a JSON array text, ordered by time
    /// (ties keep the order of arrival), at most `limit` events and about `MAX_PAGE_BYTES`.
    /// `None` when the session is unknown.
    pub fn session_events_json(
        &self,
        browser_session_id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> StoreResult<Option<Page<String>>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let [at, batch, seq] = match after {
            None => [i64::MIN, i64::MIN, i64::MIN],
            Some(c) => cursor::<3>(c).ok_or_else(|| bad_cursor("after"))?,
        };
        let conn = self.read()?;
        let known = conn.prepare_cached(SESSION_KNOWN_SQL)?.exists([browser_session_id])?;
        if !known {
            return Ok(None);
        }
        let mut stmt = conn.prepare_cached(SESSION_EVENTS_SQL)?;
        let mut out = String::from("[");
        let mut rows = stmt.query(params![browser_session_id, at, batch, seq, limit + 1])?;
        let mut count = 0u32;
        let mut last = None;
        let mut next = None;
        while let Some(row) = rows.next()? {
            if count == limit || out.len() >= MAX_PAGE_BYTES {
                next = last.map(|(a, b, s)| format!("{a}.{b}.{s}"));
                break;
            }
            if count > 0 {
                out.push(',');
            }
            count += 1;
            out.push_str(row.get_ref(0)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
            })?);
            last = Some((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?));
        }
        out.push(']');
        Ok(Some(Page { items: out, next }))
    }

    /// Row counts of every table (maintained on write; no table is counted).
    pub fn totals(&self) -> StoreResult<Value> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(TOTALS_SQL)?;
        let mut out = serde_json::Map::new();
        for name in TOTAL_NAMES {
            out.insert(name.into(), json!(0));
        }
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (name, n) = row?;
            out.insert(name, json!(n));
        }
        Ok(Value::Object(out))
    }

    /// Deletes what was received before `cutoff_ms`: analytics events and batches, and
    /// replay sessions whose last batch arrived before it (with their batches and events).
    /// Works in transactions of at most `DELETE_CHUNK` rows so that ingestion keeps going.
    pub fn delete_received_before(&self, cutoff_ms: i64) -> StoreResult<Deleted> {
        let mut deleted = Deleted::default();
        loop {
            let mut conn = self.write();
            let tx = conn.transaction()?;
            let n = tx.execute(
                "DELETE FROM analytics_events WHERE id IN
                   (SELECT id FROM analytics_events WHERE received_at_ms < ?1 LIMIT ?2)",
                params![cutoff_ms, DELETE_CHUNK],
            )? as i64;
            add_total(&tx, "analytics_events", -n)?;
            if n < DELETE_CHUNK {
                // Every event of these batches is gone (an event has its batch's receive time).
                let b = tx.execute("DELETE FROM analytics_batches WHERE received_at_ms < ?1", [cutoff_ms])?;
                add_total(&tx, "analytics_batches", -(b as i64))?;
            }
            tx.commit()?;
            deleted.analytics_events += n;
            if n < DELETE_CHUNK {
                break;
            }
        }
        loop {
            let mut conn = self.write();
            let tx = conn.transaction()?;
            let old: Vec<(String, String)> = tx
                .prepare(
                    "SELECT session_replay_id, browser_session_id FROM replay_sessions
                     WHERE last_received_at_ms < ?1 LIMIT 20",
                )?
                .query_map([cutoff_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<StoreResult<_>>()?;
            for (session_replay_id, browser_session_id) in &old {
                let e = tx.execute(
                    "DELETE FROM replay_events WHERE browser_session_id = ?1 AND session_replay_id = ?2",
                    [browser_session_id, session_replay_id],
                )? as i64;
                let b = tx.execute(
                    "DELETE FROM replay_batches WHERE session_replay_id = ?1",
                    [session_replay_id],
                )?;
                tx.execute("DELETE FROM replay_sessions WHERE session_replay_id = ?1", [session_replay_id])?;
                add_total(&tx, "replay_events", -e)?;
                add_total(&tx, "replay_batches", -(b as i64))?;
                add_total(&tx, "replay_sessions", -1)?;
                deleted.replay_events += e;
                deleted.replay_sessions += 1;
            }
            tx.commit()?;
            if old.len() < 20 {
                break;
            }
        }
        Ok(deleted)
    }
}

/// The session's row, created on its first batch; its counts and times follow each batch.
fn upsert_session(
    tx: &rusqlite::Transaction<'_>,
    sender: &Sender,
    batch: &ReplayBatch,
    now: i64,
) -> StoreResult<String> {
    let (first, last) = batch_times(batch);
    let page = batch.events.iter().find_map(|e| e.page_path.clone());
    let n = batch.events.len() as i64;
    let session: Option<String> = tx
        .query_row(
            "SELECT session_replay_id FROM replay_sessions WHERE project_id = ?1 AND browser_session_id = ?2",
            [&sender.project_id, &batch.browser_session_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = session {
        tx.execute(
            "UPDATE replay_sessions SET first_event_at_ms = min(first_event_at_ms, ?2),
               last_event_at_ms = max(last_event_at_ms, ?3), user_id = coalesce(user_id, ?4),
               batch_count = batch_count + 1, event_count = event_count + ?5,
               first_page_path = CASE WHEN ?6 IS NOT NULL AND (first_page_path IS NULL OR ?2 < first_event_at_ms)
                                 THEN ?6 ELSE first_page_path END,
               last_received_at_ms = ?7
             WHERE session_replay_id = ?1",
            params![id, first, last, sender.user_id, n, page, now],
        )?;
        return Ok(id);
    }
    let bytes: Vec<u8> = tx.query_row("SELECT randomblob(16)", [], |r| r.get(0))?;
    let id = uuid_v4(&bytes);
    tx.execute(
        "INSERT INTO replay_sessions (session_replay_id, project_id, browser_session_id, user_id,
           started_at_ms, first_event_at_ms, last_event_at_ms, batch_count, event_count, first_page_path,
           last_received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10)",
        params![
            id,
            sender.project_id,
            batch.browser_session_id,
            sender.user_id,
            batch.started_at_ms,
            first,
            last,
            n,
            page,
            now
        ],
    )?;
    add_total(tx, "replay_sessions", 1)?;
    Ok(id)
}

/// The session and key of a replay batch stored before (a resend of the same `batch_id`).
fn stored_replay_batch(
    tx: &rusqlite::Transaction<'_>,
    batch_id: &str,
) -> StoreResult<Option<(String, String)>> {
    tx.query_row(
        "SELECT session_replay_id, s3_key FROM replay_batches WHERE batch_id = ?1",
        [batch_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// A new replay batch's rows: the batch in `replay_batches`, its events in order in
/// `replay_events`.
struct ReplayRows<'a> {
    sender: &'a Sender,
    batch: &'a ReplayBatch,
    session_replay_id: String,
    now: i64,
}

impl ReplayRows<'_> {
    /// Same key shape as Stack Auth's backend; here the chunk lives in `replay_events`.
    fn s3_key(&self) -> String {
        format!(
            "session-replays/{}/main/{}/{}.json.gz",
            self.sender.project_id, self.session_replay_id, self.batch.batch_id
        )
    }

    /// The batch's row id.
    fn insert_batch(&self, tx: &rusqlite::Transaction<'_>, s3_key: &str) -> StoreResult<i64> {
        let (sender, batch) = (self.sender, self.batch);
        let (first, last) = batch_times(batch);
        tx.execute(
            "INSERT INTO replay_batches (session_replay_id, project_id, batch_id, browser_session_id,
               session_replay_segment_id, user_id, started_at_ms, sent_at_ms, s3_key, event_count,
               first_event_at_ms, last_event_at_ms, body_bytes, gzipped, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                self.session_replay_id,
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
                self.now
            ],
        )?;
        Ok(tx.last_insert_rowid())
    }

    /// The events, numbered in the batch's order (`data`: each event's JSON).
    fn insert_events(
        &self,
        tx: &rusqlite::Transaction<'_>,
        batch_row: i64,
        data: &[String],
    ) -> StoreResult<()> {
        let (sender, batch) = (self.sender, self.batch);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO replay_events (batch_row, session_replay_id, project_id, browser_session_id,
               session_replay_segment_id, seq, event_type, event_at_ms, page_path, data, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (seq, (e, data)) in batch.events.iter().zip(data).enumerate() {
            stmt.execute(params![
                batch_row,
                self.session_replay_id,
                sender.project_id,
                batch.browser_session_id,
                batch.session_replay_segment_id,
                seq as i64,
                e.event_type,
                // Events without a timestamp sort first (rrweb's always have one).
                e.timestamp.unwrap_or(0),
                e.page_path,
                data,
                self.now
            ])?;
        }
        Ok(())
    }
}

/// The earliest and latest event timestamps of a batch (its `sent_at_ms` when none).
fn batch_times(batch: &ReplayBatch) -> (i64, i64) {
    let times = batch.events.iter().filter_map(|e| e.timestamp);
    (times.clone().min().unwrap_or(batch.sent_at_ms), times.max().unwrap_or(batch.sent_at_ms))
}

const RECENT_EVENTS_SQL: &str =
    "SELECT id, project_id, batch_id, session_replay_segment_id, user_id, event_type,
        event_at_ms, page_path, data, received_at_ms
 FROM analytics_events WHERE (event_at_ms, id) < (?1, ?2) ORDER BY event_at_ms DESC, id DESC LIMIT ?3";
const SESSIONS_SQL: &str = "SELECT session_replay_id, project_id, browser_session_id, user_id, started_at_ms,
        first_event_at_ms, last_event_at_ms, batch_count, event_count, first_page_path, rowid
 FROM replay_sessions WHERE (last_event_at_ms, rowid) < (?1, ?2)
 ORDER BY last_event_at_ms DESC, rowid DESC LIMIT ?3";
const SESSION_KNOWN_SQL: &str = "SELECT 1 FROM replay_sessions WHERE browser_session_id = ?1";
const SESSION_EVENTS_SQL: &str = "SELECT data, event_at_ms, batch_row, seq FROM replay_events
 WHERE browser_session_id = ?1 AND (event_at_ms, batch_row, seq) > (?2, ?3, ?4)
 ORDER BY event_at_ms, batch_row, seq LIMIT ?5";
const TOTALS_SQL: &str = "SELECT name, n FROM totals";

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

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    fn analytics(batch_id: &str, at: i64) -> AnalyticsBatch {
        analytics_batch(&json!({"session_replay_segment_id": "0b8f5c1e-2d3a-4c5b-8e6f-7a8b9c0d1e2f",
            "batch_id": batch_id, "sent_at_ms": 3,
            "events": [{"event_type": "x", "event_at_ms": at, "data": {"path": "/a"}}]}))
        .unwrap()
    }

    fn replay(sid: &str, batch: &str, ts: &[i64]) -> ReplayBatch {
        let events: Vec<Value> = ts.iter().map(|t| json!({"type": 3, "timestamp": t, "data": {}})).collect();
        replay_batch(&json!({"browser_session_id": sid, "session_replay_segment_id": sid, "batch_id": batch,
            "started_at_ms": 1, "sent_at_ms": 2, "events": events}))
        .unwrap()
    }

    fn id(n: u32) -> String {
        format!("{n:08x}-2d3a-4c5b-8e6f-7a8b9c0d1e2f")
    }

    #[test]
    fn uuid_v4_is_a_uuid() {
        assert!(is_uuid(&uuid_v4(&[0xff; 16])));
        assert!(is_uuid(&uuid_v4(&[0; 16])));
    }

    #[test]
    fn dedup_and_ordering() {
        let (_dir, store) = temp_store();
        assert_eq!(store.journal_mode().unwrap(), "wal");
        let sender = Sender { project_id: "p".into(), ..Default::default() };
        let a = analytics(&id(1), 1);
        assert_eq!(
            store.insert_analytics(&sender, &a).unwrap(),
            AnalyticsOutcome { inserted: 1, deduped: false }
        );
        assert_eq!(
            store.insert_analytics(&sender, &a).unwrap(),
            AnalyticsOutcome { inserted: 0, deduped: true }
        );
        assert_eq!(store.recent_events(10, None).unwrap().items.len(), 1);

        let sid = id(2);
        let b1 = store.insert_replay(&sender, &replay(&sid, &id(3), &[20, 30])).unwrap();
        let b2 = store.insert_replay(&sender, &replay(&sid, &id(4), &[10])).unwrap();
        assert_eq!(b1.session_replay_id, b2.session_replay_id);
        let again = store.insert_replay(&sender, &replay(&sid, &id(3), &[20, 30])).unwrap();
        assert!(again.deduped);
        assert_eq!(again.s3_key, b1.s3_key);
        let page = store.session_events_json(&sid, 100, None).unwrap().unwrap();
        let events: Value = serde_json::from_str(&page.items).unwrap();
        let ts: Vec<i64> =
            events.as_array().unwrap().iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
        assert_eq!(ts, vec![10, 20, 30]);
        assert_eq!(page.next, None);
        let s = &store.sessions(10, None).unwrap().items[0];
        assert_eq!((s["event_count"].as_i64(), s["batch_count"].as_i64()), (Some(3), Some(2)));
        assert_eq!(store.session_events_json("nope", 10, None).unwrap(), None);
        assert_eq!(
            store.totals().unwrap(),
            json!({"analytics_batches": 1, "analytics_events": 1, "replay_sessions": 1, "replay_batches": 2,
                   "replay_events": 3})
        );
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let (_dir, store) = temp_store();
        let sender = Sender { project_id: "p".into(), ..Default::default() };
        for i in 0..25 {
            // Equal times on purpose: the id breaks ties.
            store.insert_analytics(&sender, &analytics(&id(100 + i), i64::from(i / 3))).unwrap();
        }
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store.recent_events(7, before.as_deref()).unwrap();
            assert!(page.items.len() <= 7);
            seen.extend(page.items.iter().map(|e| e["id"].as_i64().unwrap()));
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 25, "{seen:?}");

        let sid = id(7);
        for b in 0..10 {
            store.insert_replay(&sender, &replay(&sid, &id(200 + b), &[5, 5, i64::from(b)])).unwrap();
        }
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = store.session_events_json(&sid, 4, after.as_deref()).unwrap().unwrap();
            let events: Vec<Value> = serde_json::from_str(&page.items).unwrap();
            assert!(events.len() <= 4);
            all.extend(events);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(all.len(), 30);
        let ts: Vec<i64> = all.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
        assert!(store.recent_events(5, Some("x.y")).is_err());
    }

    #[test]
    fn no_dashboard_query_scans_a_table_or_sorts() {
        let (_dir, store) = temp_store();
        let conn = store.read().unwrap();
        for (sql, args) in [
            (RECENT_EVENTS_SQL, 3),
            (SESSIONS_SQL, 3),
            (SESSION_KNOWN_SQL, 1),
            (SESSION_EVENTS_SQL, 5),
            (TOTALS_SQL, 0),
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let params: Vec<i64> = vec![1; args];
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for line in &plan {
                let scans_table = line.starts_with("SCAN") && !line.contains("INDEX");
                let totals = line == "SCAN totals"; // five rows, WITHOUT ROWID: the table is its index
                assert!(!scans_table || totals, "{sql}\n{plan:?}");
                assert!(!line.contains("TEMP B-TREE"), "{sql}\n{plan:?}");
            }
        }
    }

    #[test]
    fn retention_deletes_old_data_only() {
        let (_dir, store) = temp_store();
        let sender = Sender { project_id: "p".into(), ..Default::default() };
        store.insert_analytics(&sender, &analytics(&id(1), 1)).unwrap();
        store.insert_replay(&sender, &replay(&id(2), &id(3), &[1, 2])).unwrap();
        let none = store.delete_received_before(0).unwrap();
        assert_eq!(none, Deleted::default());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let cutoff = now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        store.insert_analytics(&sender, &analytics(&id(4), 1)).unwrap();
        store.insert_replay(&sender, &replay(&id(5), &id(6), &[1])).unwrap();
        let gone = store.delete_received_before(cutoff).unwrap();
        assert_eq!(gone, Deleted { analytics_events: 1, replay_sessions: 1, replay_events: 2 });
        assert_eq!(
            store.totals().unwrap(),
            json!({"analytics_batches": 1, "analytics_events": 1, "replay_sessions": 1, "replay_batches": 1,
                   "replay_events": 1})
        );
        assert_eq!(store.recent_events(10, None).unwrap().items.len(), 1);
        assert!(store.session_events_json(&id(2), 10, None).unwrap().is_none());
        assert!(store.session_events_json(&id(5), 10, None).unwrap().is_some());
    }

    #[test]
    fn a_version_1_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // The schema before counts and totals, with a session in it.
            let c = Connection::open(&path).unwrap();
            let v1 = SCHEMA.replace("CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;", "");
            c.execute_batch(&v1).unwrap();
            c.execute_batch(
                "INSERT INTO replay_sessions VALUES ('s1', 'p', 'b1', NULL, 1, 10, 20);
                 INSERT INTO replay_batches VALUES (1, 's1', 'p', 'x1', 'b1', 'g', NULL, 1, 2, 'k', 2, 10, 20, 5, 0, 99);
                 INSERT INTO replay_events VALUES (1, 1, 's1', 'p', 'b1', 'g', 0, 4, 10, '/start', '{}', 99);
                 INSERT INTO replay_events VALUES (2, 1, 's1', 'p', 'b1', 'g', 1, 3, NULL, NULL, '{}', 99);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let s = &store.sessions(10, None).unwrap().items[0];
        assert_eq!(s["batch_count"], 1);
        assert_eq!(s["event_count"], 2);
        assert_eq!(s["first_page_path"], "/start");
        assert_eq!(store.totals().unwrap()["replay_events"], 2);
        assert_eq!(store.session_events_json("b1", 10, None).unwrap().unwrap().items, "[{},{}]");
    }
}
