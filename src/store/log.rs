//! The question log's write path, kept off the answering path: records go through a bounded
//! channel to one writer thread that commits whatever has queued in one transaction. Answering
//! never waits for the disk; when the queue is full a record is dropped and counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{now, Record, Store, UserHasher};

/// Records waiting for the writer. At the bot's peak rate (a few hundred questions a second)
/// this is seconds of slack; the writer commits far faster than that.
pub const QUEUE_CAPACITY: usize = 4_096;
/// Most records in one transaction.
pub const MAX_BATCH: usize = 512;
/// Records arriving this close together share a transaction.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// The writer wakes at least this often (retention, the dropped-records warning).
const TICK: Duration = Duration::from_millis(250);
/// Dropped records are warned about at most this often.
const DROP_WARNING_EVERY: Duration = Duration::from_secs(60);
/// Retention runs at start and then this often.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3_600);

/// The bot's handle on the log: cheap to clone, never blocks.
#[derive(Clone)]
pub struct QuestionLog {
    sender: SyncSender<Record>,
    hasher: UserHasher,
    dropped: Arc<AtomicU64>,
}

/// The writer thread; [`Writer::finish`] commits what is queued and stops it.
pub struct Writer {
    thread: JoinHandle<()>,
    closing: Arc<AtomicBool>,
}

impl QuestionLog {
    /// Starts the writer thread over `store`. Rows older than `retention` are deleted at start and
    /// once a day.
    pub fn start(store: Box<dyn Store>, retention: Duration) -> (QuestionLog, Writer) {
        QuestionLog::start_with_capacity(store, retention, QUEUE_CAPACITY)
    }

    pub fn start_with_capacity(
        store: Box<dyn Store>,
        retention: Duration,
        capacity: usize,
    ) -> (QuestionLog, Writer) {
        let (sender, receiver) = sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let log = QuestionLog {
            sender,
            hasher: store.hasher(),
            dropped: dropped.clone(),
        };
        let closing = Arc::new(AtomicBool::new(false));
        let thread = {
            let closing = closing.clone();
            std::thread::Builder::new()
                .name("citebot-log".into())
                .spawn(move || write_loop(store, receiver, retention, dropped, closing))
                .expect("spawning the log writer thread")
        };
        (log, Writer { thread, closing })
    }

    pub fn hasher(&self) -> &UserHasher {
        &self.hasher
    }

    /// Queues a record; drops it (and counts it) when the queue is full.
    pub fn record(&self, record: Record) {
        match self.sender.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Writer {
    /// Commits what is queued and stops the writer, waiting at most `grace`. Records sent after
    /// this are not written.
    pub fn finish(self, grace: Duration) {
        self.closing.store(true, Ordering::Release);
        let deadline = Instant::now() + grace;
        while !self.thread.is_finished() {
            if Instant::now() >= deadline {
                warn!("the question log did not finish writing within {grace:?}");
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.thread.join();
    }
}

fn write_loop(
    mut store: Box<dyn Store>,
    receiver: Receiver<Record>,
    retention: Duration,
    dropped: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut warned_drops = 0u64;
    let mut last_drop_warning: Option<Instant> = None;
    let mut next_retention = Instant::now();
    loop {
        let disconnected = match receiver.recv_timeout(TICK) {
            Ok(record) => {
                batch.push(record);
                // What arrives within BATCH_WINDOW goes in the same transaction: one commit per
                // window instead of one per question under load (a commit costs far more than a
                // row), while a kill still loses well under a second.
                let window_ends = Instant::now() + BATCH_WINDOW;
                while batch.len() < MAX_BATCH {
                    let left = window_ends.saturating_duration_since(Instant::now());
                    match receiver.recv_timeout(left) {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let closing = closing.load(Ordering::Acquire);
        if closing {
            batch.extend(receiver.try_iter());
        }
        if !batch.is_empty() {
            if let Err(err) = store.write(&batch) {
                warn!(records = batch.len(), error = %err, "could not write to the question log; these records are lost");
            }
            batch.clear();
        }
        let total_dropped = dropped.load(Ordering::Relaxed);
        if total_dropped > warned_drops
            && last_drop_warning.is_none_or(|at| at.elapsed() >= DROP_WARNING_EVERY)
        {
            warn!(
                dropped = total_dropped - warned_drops,
                total_dropped, "question log queue full: records dropped (the disk is too slow?)"
            );
            warned_drops = total_dropped;
            last_drop_warning = Some(Instant::now());
        }
        if Instant::now() >= next_retention {
            let cutoff = now() - retention.as_secs() as i64;
            match store.delete_before(cutoff) {
                Ok(deleted) if deleted.questions + deleted.votes + deleted.teaches > 0 => {
                    info!(
                        questions = deleted.questions,
                        votes = deleted.votes,
                        teaches = deleted.teaches,
                        "retention: deleted records older than {}d",
                        retention.as_secs() / 86_400
                    );
                }
                Ok(_) => {}
                Err(err) => warn!(error = %err, "retention: could not delete old records"),
            }
            next_retention = Instant::now() + RETENTION_EVERY;
        }
        if disconnected || closing {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::Report;
    use super::super::{
        AskedQuestion, Deleted, Entry, Outcome, QuestionRecord, StoreError, UserHash,
    };
    use super::*;
    use std::sync::Mutex;

    /// A store that keeps batches in memory and can be made slow.
    struct Memory {
        batches: Arc<Mutex<Vec<usize>>>,
        delay: Duration,
    }

    impl Store for Memory {
        fn hasher(&self) -> UserHasher {
            UserHasher::new(b"test".to_vec())
        }
        fn write(&mut self, batch: &[Record]) -> Result<(), StoreError> {
            std::thread::sleep(self.delay);
            self.batches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(batch.len());
            Ok(())
        }
        fn delete_before(&mut self, _: i64) -> Result<Deleted, StoreError> {
            Ok(Deleted::default())
        }
        fn forget(&mut self, _: &UserHash) -> Result<Deleted, StoreError> {
            Ok(Deleted::default())
        }
        fn missed_questions(
            &self,
            _: Option<u64>,
            _: i64,
            _: usize,
        ) -> Result<Vec<AskedQuestion>, StoreError> {
            Ok(Vec::new())
        }
        fn report(&self, _: Option<u64>, since: i64, until: i64) -> Result<Report, StoreError> {
            Ok(Report::new(
                since,
                until,
                vec![],
                vec![],
                (0, 0),
                vec![],
                vec![],
            ))
        }
    }

    fn record(id: u64) -> Record {
        Record::Question(QuestionRecord {
            id,
            at: 0,
            entry: Entry::Mention,
            guild_id: None,
            channel_id: 1,
            user: UserHash("u".into()),
            question: Some("q".into()),
            lang: "en",
            outcome: Outcome::Refused,
            card: None,
            confidence: 0.0,
            alternatives: vec![],
            latency_ms: 0.0,
        })
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let store = Memory {
            batches: batches.clone(),
            delay: Duration::from_millis(300),
        };
        let (log, writer) =
            QuestionLog::start_with_capacity(Box::new(store), Duration::from_secs(86_400), 8);
        let started = Instant::now();
        for id in 0..1_000 {
            log.record(record(id));
        }
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "recording never waits for the store ({:?})",
            started.elapsed()
        );
        let dropped = log.dropped();
        assert!(dropped >= 1_000 - 8 - MAX_BATCH as u64, "dropped {dropped}");
        drop(log);
        writer.finish(Duration::from_secs(5));
        let written: usize = batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .sum();
        assert_eq!(written as u64 + dropped, 1_000);
    }

    #[test]
    fn queued_records_are_written_in_batches_and_flushed_on_finish() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let store = Memory {
            batches: batches.clone(),
            delay: Duration::from_millis(50),
        };
        let (log, writer) = QuestionLog::start(Box::new(store), Duration::from_secs(86_400));
        for id in 0..300 {
            log.record(record(id));
        }
        // The bot still holds its handle at shutdown: finishing must not wait for it.
        writer.finish(Duration::from_secs(5));
        drop(log);
        let batches = batches.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(batches.iter().sum::<usize>(), 300);
        assert!(
            batches.len() < 300,
            "records queued together share a transaction: {batches:?}"
        );
    }
}
