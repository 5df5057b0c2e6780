//! Sending to Discord without crashing on its faults: every REST call is bounded in time, failures
//! are logged with their route and status, and only a 429 is retried — an interaction callback
//! only while Discord's 3-second window is still open.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

/// Longest wait for a REST answer outside an interaction's window.
pub const REST_TIMEOUT: Duration = Duration::from_secs(10);
/// Discord's limit for the first response to an interaction, less a margin for the network.
pub const INTERACTION_WINDOW: Duration = Duration::from_millis(2800);
/// Wait before retrying a 429. serenity does not expose `retry_after` when its own ratelimiter is
/// off (the `DISCORD_API_BASE` case, where the proxy is in charge of ratelimits), so a short
/// bounded backoff stands in for it; with Discord directly, serenity's ratelimiter honours
/// `retry_after` itself before we ever see a 429.
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_RETRIES: u32 = 2;

/// Discord's epoch (2015-01-01) in Unix milliseconds: a snowflake's top 42 bits count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// When the interaction with this id must have its first response: its creation (the id's
/// timestamp) plus [`INTERACTION_WINDOW`]. `None` when that moment has passed at `now`. A
/// creation time ahead of `now` (clock skew) counts as `now`.
pub fn interaction_deadline(id: u64, now: std::time::SystemTime) -> Option<Instant> {
    let created =
        std::time::UNIX_EPOCH + Duration::from_millis((id >> 22).saturating_add(DISCORD_EPOCH_MS));
    let age = now.duration_since(created).unwrap_or(Duration::ZERO);
    let left = INTERACTION_WINDOW.checked_sub(age)?;
    (!left.is_zero()).then(|| Instant::now() + left)
}

/// The HTTP status of a failed call, when Discord answered.
pub fn status_of(err: &serenity::Error) -> Option<u16> {
    match err {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.status_code.as_u16())
        }
        _ => None,
    }
}

/// Runs `send` until it succeeds, retrying only 429s, never past `deadline`.
/// Returns `None` (after logging) when the call did not go through.
pub async fn deliver<T, F, Fut>(
    route: &'static str,
    deadline: Option<Instant>,
    send: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = serenity::Result<T>>,
{
    deliver_with(route, deadline, send, status_of).await
}

/// [`deliver`] for any error type whose HTTP status `status` tells.
async fn deliver_with<T, E, F, Fut>(
    route: &'static str,
    deadline: Option<Instant>,
    mut send: F,
    status: impl Fn(&E) -> Option<u16>,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        let limit = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => REST_TIMEOUT,
        };
        match tokio::time::timeout(limit, send()).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(err)) => {
                let status = status(&err);
                warn!(route, status = status.unwrap_or(0), attempt, error = %err, "Discord did not accept the request");
                let retryable = status == Some(429) && attempt < MAX_RETRIES;
                let in_time = deadline.is_none_or(|d| Instant::now() + RATE_LIMIT_BACKOFF < d);
                if !retryable {
                    return None;
                }
                if !in_time {
                    warn!(
                        route,
                        "429 not retried: the interaction's 3-second window would be over"
                    );
                    return None;
                }
                tokio::time::sleep(RATE_LIMIT_BACKOFF).await;
                attempt += 1;
            }
            Err(_) => {
                warn!(
                    route,
                    timeout_ms = limit.as_millis() as u64,
                    "no answer from Discord in time; not retried"
                );
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed call with this HTTP status.
    struct Failed(u16);

    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "HTTP {}", self.0)
        }
    }

    /// Calls `deliver_with` on a sender that always fails with `status`; returns the calls made.
    async fn calls_with(status: u16, window: Duration) -> usize {
        let calls = std::cell::Cell::new(0);
        let result: Option<()> = deliver_with(
            "test",
            Some(Instant::now() + window),
            || {
                calls.set(calls.get() + 1);
                std::future::ready(Err(Failed(status)))
            },
            |failed: &Failed| Some(failed.0),
        )
        .await;
        assert!(result.is_none());
        calls.get()
    }

    #[tokio::test]
    async fn a_429_near_the_end_of_the_window_is_not_retried() {
        assert_eq!(calls_with(429, RATE_LIMIT_BACKOFF / 2).await, 1);
    }

    #[tokio::test]
    async fn a_429_with_time_left_is_retried_at_most_twice() {
        let window = RATE_LIMIT_BACKOFF * (MAX_RETRIES + 2);
        assert_eq!(calls_with(429, window).await, 1 + MAX_RETRIES as usize);
    }

    fn snowflake_at(time: std::time::SystemTime) -> u64 {
        let ms = time
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64;
        (ms - DISCORD_EPOCH_MS) << 22
    }

    #[tokio::test]
    async fn the_window_runs_from_the_interactions_creation() {
        let now = std::time::SystemTime::now();
        let fresh = interaction_deadline(snowflake_at(now), now).expect("fresh");
        let left = fresh - Instant::now();
        assert!(
            left > Duration::from_millis(2_700) && left <= INTERACTION_WINDOW,
            "{left:?}"
        );
        let older = interaction_deadline(snowflake_at(now - Duration::from_secs(2)), now)
            .expect("still in its window");
        assert!(older - Instant::now() <= Duration::from_millis(800));
        assert_eq!(
            interaction_deadline(snowflake_at(now - Duration::from_secs(3)), now),
            None,
            "replayed after its window"
        );
        let skewed = interaction_deadline(snowflake_at(now + Duration::from_secs(5)), now)
            .expect("a clock ahead of ours");
        assert!(skewed - Instant::now() <= INTERACTION_WINDOW);
    }

    #[tokio::test]
    async fn a_500_is_never_retried() {
        assert_eq!(calls_with(500, Duration::from_secs(3)).await, 1);
    }
}
