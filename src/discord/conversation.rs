//! What citebot remembers of a conversation, in memory only: the last question it answered in
//! each thread or DM (so that "e quando sai?" is read with it), and which channels are threads
//! (and of which parent), learnt from THREAD_CREATE. Both are bounded and expire; a channel's
//! context is never used in another channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A follow-up is read with the previous question for this long after it was answered.
pub const FOLLOW_UP_WINDOW: Duration = Duration::from_secs(10 * 60);
/// At most this many conversations (and threads) are remembered; the oldest goes first.
pub const MAX_REMEMBERED: usize = 2_000;

/// A map that forgets its oldest entry past [`MAX_REMEMBERED`] and anything older than `ttl`.
struct Bounded<V> {
    entries: HashMap<u64, (V, Instant)>,
    ttl: Duration,
}

impl<V: Clone> Bounded<V> {
    fn new(ttl: Duration) -> Bounded<V> {
        Bounded {
            entries: HashMap::new(),
            ttl,
        }
    }

    fn insert(&mut self, key: u64, value: V, now: Instant) {
        if self.entries.len() >= MAX_REMEMBERED && !self.entries.contains_key(&key) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= MAX_REMEMBERED {
                if let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| *k)
                {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key, (value, now));
    }

    fn get(&self, key: u64, now: Instant) -> Option<V> {
        self.entries
            .get(&key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(value, _)| value.clone())
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The last question answered per thread or DM channel.
pub struct Conversations(Mutex<Bounded<String>>);

impl Default for Conversations {
    fn default() -> Conversations {
        Conversations::with_window(FOLLOW_UP_WINDOW)
    }
}

impl Conversations {
    pub fn with_window(window: Duration) -> Conversations {
        Conversations(Mutex::new(Bounded::new(window)))
    }

    /// The previous question in `channel`, if citebot answered one within the window.
    pub fn previous(&self, channel: u64, now: Instant) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(channel, now)
    }

    /// `question` was answered in `channel`.
    pub fn answered(&self, channel: u64, question: &str, now: Instant) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel, question.to_string(), now);
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A thread citebot saw created: its parent channel and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub parent: Option<u64>,
    pub name: String,
}

/// Threads seen created (THREAD_CREATE), for a day: which channels are threads, and which new
/// posts belong to a watched forum.
pub struct Threads(Mutex<Bounded<Thread>>);

impl Default for Threads {
    fn default() -> Threads {
        Threads(Mutex::new(Bounded::new(Duration::from_secs(24 * 3_600))))
    }
}

impl Threads {
    pub fn created(&self, id: u64, thread: Thread) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, thread, Instant::now());
    }

    pub fn get(&self, id: u64) -> Option<Thread> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_previous_question_is_kept_per_channel_and_expires() {
        let conversations = Conversations::with_window(Duration::from_secs(60));
        let start = Instant::now();
        conversations.answered(1, "why was R2 delayed?", start);
        assert_eq!(
            conversations
                .previous(1, start + Duration::from_secs(59))
                .as_deref(),
            Some("why was R2 delayed?")
        );
        assert_eq!(
            conversations.previous(2, start),
            None,
            "never another channel's"
        );
        assert_eq!(
            conversations.previous(1, start + Duration::from_secs(61)),
            None
        );
    }

    #[test]
    fn memory_stays_bounded_by_forgetting_the_oldest() {
        let conversations = Conversations::default();
        let start = Instant::now();
        for channel in 0..(MAX_REMEMBERED as u64 + 500) {
            conversations.answered(channel, "q", start + Duration::from_millis(channel));
        }
        assert_eq!(conversations.len(), MAX_REMEMBERED);
        let later = start + Duration::from_secs(1);
        assert_eq!(
            conversations.previous(0, later),
            None,
            "the oldest went first"
        );
        assert!(conversations
            .previous(MAX_REMEMBERED as u64 + 499, later)
            .is_some());
    }
}
