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
    type Writer = Redacting<std::io::Stderr>;

    fn make_writer(&'a self) -> Redacting<std::io::Stderr> {
        Redacting {
            secret: self.secret.clone(),
            buffer: Vec::new(),
            sink: std::io::stderr(),
        }
    }
}

/// Buffers one event's line and writes it to `sink` with the secret replaced, on flush or drop.
struct Redacting<W: Write> {
    secret: String,
    buffer: Vec<u8>,
    sink: W,
}

impl<W: Write> Write for Redacting<W> {
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
        self.sink.write_all(text.as_bytes())
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(secret: &str, lines: &[&str]) -> String {
        let mut sink = Vec::new();
        {
            let mut writer = Redacting {
                secret: secret.to_string(),
                buffer: Vec::new(),
                sink: &mut sink,
            };
            for line in lines {
                writer.write_all(line.as_bytes()).expect("buffered");
            }
        }
        String::from_utf8(sink).expect("utf-8")
    }

    #[test]
    fn the_token_is_redacted_even_when_written_in_pieces() {
        let token = "MTIzNDU2.Gabcde.secret-part-of-the-token";
        let out = redacted(
            token,
            &[
                "Authorization: Bot MTIzNDU2.Gab",
                "cde.secret-part-of-the-token\n",
            ],
        );
        assert!(!out.contains("secret-part"), "{out}");
        assert_eq!(out, "Authorization: Bot [redacted]\n");
    }

    #[test]
    fn lines_without_the_token_pass_unchanged() {
        assert_eq!(
            redacted("MTIzNDU2.Gabcde.secret", &["answered latency_ms=0.4\n"]),
            "answered latency_ms=0.4\n"
        );
    }
}
