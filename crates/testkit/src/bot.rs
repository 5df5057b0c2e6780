//! The real `citebot run` binary as a child process, pointed at a Discord simulator.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running bot; killed on drop. Its stdout and stderr go to files the test can read.
pub struct Bot {
    child: Child,
    log: PathBuf,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bot {
    /// Starts `citebot run` with the given token against `api_base`, serving `responses`.
    pub fn start(api_base: &str, token: &str, responses: &Path, extra_env: &[(&str, &str)]) -> Bot {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("bot.log");
        let out = dir.path().join("bot.out");
        let mut command = Command::new(citebot_binary());
        command
            .arg("run")
            .current_dir(dir.path()) // no stray .env from the checkout
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISCORD_TOKEN", token)
            .env("DISCORD_API_BASE", api_base)
            .env("CITEBOT_RESPONSES", responses)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(std::fs::File::create(&out).expect("out")))
            .stderr(Stdio::from(std::fs::File::create(&log).expect("log")));
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn citebot run");
        Bot {
            child,
            log,
            out,
            _dir: dir,
        }
    }

    /// Everything the process wrote, stderr then stdout.
    pub fn output(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let out = std::fs::read_to_string(&self.out).unwrap_or_default();
        format!("{log}{out}")
    }

    /// The folder the bot runs in (its working directory).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Sends a Unix signal (SIGTERM, SIGHUP) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long [`start_registered`] waits for the bot to connect, then to register its commands.
pub const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Starts `citebot run` against the simulator and returns once it is connected and has
/// registered its commands; panics with the bot's output if it does not.
pub async fn start_registered(
    sim: &discord_sim::Simulator,
    responses: &Path,
    extra_env: &[(&str, &str)],
) -> Bot {
    let bot = Bot::start(&sim.api_base(), sim.token(), responses, extra_env);
    if let Err(err) = sim.wait_ready(CONNECT_WAIT).await {
        panic!("bot did not connect: {err}\n{}", bot.output());
    }
    if let Err(err) = sim.wait_bulk_overwrite(CONNECT_WAIT).await {
        panic!("bot did not register its commands: {err}\n{}", bot.output());
    }
    bot
}

/// The `citebot` binary cargo built beside the running test or bench: they run from
/// `target/<profile>/deps/`, and the package's binaries are built first, in `target/<profile>/`.
pub fn citebot_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let binary = profile_dir.join(format!("citebot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run the tests with cargo",
        binary.display()
    );
    binary
}

/// A scratch copy of a folder (for tests that edit `responses/` under a running bot).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
