//! Logging for the bot: `RUST_LOG` (default `info`) to stderr, with the token redacted from every
//! line whatever the level, since dependencies may log request headers or gateway payloads.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init(token: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = RedactingStderr {
        secret: token.to_string(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
}

#[derive(Clone)]
struct RedactingStderr {
    secret: String,
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = Redacting;

    fn make_writer(&'a self) -> Redacting {
        Redacting {
            secret: self.secret.clone(),
            buffer: Vec::new(),
        }
    }
}

/// Buffers one event's line and writes it with the secret replaced, on flush or drop.
struct Redacting {
    secret: String,
    buffer: Vec<u8>,
}

impl Write for Redacting {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer).into_owned();
        self.buffer.clear();
        let text = if self.secret.len() >= 8 {
            text.replace(&self.secret, "[redacted]")
        } else {
            text
        };
        std::io::stderr().write_all(text.as_bytes())
    }
}

impl Drop for Redacting {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
