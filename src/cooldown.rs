//! Per-user rate limit for free questions (`/ask` and mentions): at most N questions per window.
//!
//! A sliding window per user, kept in memory and pruned as it goes, so a flood of distinct users
//! cannot grow it without bound beyond the users active within one window.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `N/<duration>`, e.g. `5/30s`, `20/1m`, `100/1h`; or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownSpec {
    pub limit: u32,
    pub window: Duration,
}

impl CooldownSpec {
    pub const DEFAULT: CooldownSpec = CooldownSpec {
        limit: 5,
        window: Duration::from_secs(30),
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cooldown {0:?}: expected N/<duration> such as 5/30s, 20/1m or 100/1h, or `off`")]
pub struct CooldownParseError(String);

/// Parses `CITEBOT_COOLDOWN`; `Ok(None)` means no limit.
pub fn parse_cooldown(text: &str) -> Result<Option<CooldownSpec>, CooldownParseError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text == "0" {
        return Ok(None);
    }
    text.parse().map(Some)
}

impl FromStr for CooldownSpec {
    type Err = CooldownParseError;

    fn from_str(text: &str) -> Result<CooldownSpec, CooldownParseError> {
        let error = || CooldownParseError(text.to_string());
        let (limit, window) = text.trim().split_once('/').ok_or_else(error)?;
        let limit: u32 = limit.trim().parse().map_err(|_| error())?;
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(error)?;
        let (amount, unit) = window.split_at(split);
        let amount: u64 = amount.parse().map_err(|_| error())?;
        let seconds = match unit {
            "s" => amount,
            "m" => amount.checked_mul(60).ok_or_else(error)?,
            "h" => amount.checked_mul(3600).ok_or_else(error)?,
            _ => return Err(error()),
        };
        if limit == 0 || seconds == 0 {
            return Err(error());
        }
        Ok(CooldownSpec {
            limit,
            window: Duration::from_secs(seconds),
        })
    }
}

impl fmt::Display for CooldownSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.window.as_secs())
    }
}

/// The verdict on one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit. `notify` is true only for the first refusal of a window, so a flood
    /// gets one short notice, not one per message.
    Limited {
        retry_after: Duration,
        notify: bool,
    },
}

#[derive(Debug, Default)]
struct UserWindow {
    asked: VecDeque<Instant>,
    notified: bool,
}

#[derive(Debug)]
pub struct Cooldown {
    spec: CooldownSpec,
    users: Mutex<HashMap<u64, UserWindow>>,
    /// Table size at which idle users are next swept out.
    sweep_at: AtomicUsize,
}

impl Cooldown {
    pub fn new(spec: CooldownSpec) -> Cooldown {
        Cooldown {
            spec,
            users: Mutex::new(HashMap::new()),
            sweep_at: AtomicUsize::new(1024),
        }
    }

    pub fn check(&self, user: u64, now: Instant) -> Verdict {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = self.spec.window;
        // Forget users whose last question is older than a window, now and then: the sweep is
        // linear, so it runs when the table has doubled since the last one.
        if users.len() >= self.sweep_at.load(Ordering::Relaxed) {
            users.retain(|_, w| {
                w.asked
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
            self.sweep_at
                .store((users.len() * 2).max(1024), Ordering::Relaxed);
        }
        let entry = users.entry(user).or_default();
        while entry
            .asked
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            entry.asked.pop_front();
        }
        if entry.asked.len() < self.spec.limit as usize {
            entry.asked.push_back(now);
            entry.notified = false;
            return Verdict::Allowed;
        }
        let oldest = entry.asked.front().copied().unwrap_or(now);
        let retry_after = window.saturating_sub(now.duration_since(oldest));
        let notify = !entry.notified;
        entry.notified = true;
        Verdict::Limited {
            retry_after,
            notify,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            parse_cooldown("5/30s"),
            Ok(Some(CooldownSpec {
                limit: 5,
                window: Duration::from_secs(30)
            }))
        );
        assert_eq!(
            parse_cooldown("20/1m").map(|s| s.map(|s| s.window.as_secs())),
            Ok(Some(60))
        );
        assert_eq!(parse_cooldown("off"), Ok(None));
        for bad in [
            "", "5", "5/", "/30s", "0/30s", "5/0s", "5/30", "5/30x", "x/30s", "5/-1s",
        ] {
            assert!(parse_cooldown(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn idle_users_are_forgotten() {
        let cooldown = Cooldown::new("1/10s".parse().expect("spec"));
        let start = Instant::now();
        for user in 0..5000 {
            cooldown.check(user, start);
        }
        for user in 5000..10_000 {
            cooldown.check(user, start + Duration::from_secs(11));
        }
        // The first 5000 are idle by then: swept out when the table reached 8192.
        let users = cooldown.users.lock().expect("lock").len();
        assert!(users < 8192, "{users} users kept");
    }

    #[test]
    fn limits_each_user_within_the_window_and_notifies_once() {
        let cooldown = Cooldown::new("2/10s".parse().expect("spec"));
        let start = Instant::now();
        assert_eq!(cooldown.check(1, start), Verdict::Allowed);
        assert_eq!(
            cooldown.check(1, start + Duration::from_secs(1)),
            Verdict::Allowed
        );
        assert_eq!(
            cooldown.check(1, start + Duration::from_secs(2)),
            Verdict::Limited {
                retry_after: Duration::from_secs(8),
                notify: true
            }
        );
        assert!(matches!(
            cooldown.check(1, start + Duration::from_secs(3)),
            Verdict::Limited { notify: false, .. }
        ));
        assert_eq!(
            cooldown.check(2, start + Duration::from_secs(3)),
            Verdict::Allowed,
            "per user"
        );
        assert_eq!(
            cooldown.check(1, start + Duration::from_secs(10)),
            Verdict::Allowed,
            "window slid"
        );
    }
}
