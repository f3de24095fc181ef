use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use warden::cli::{Cli, Command};
use warden::config::{self, ConfigFile, paths};
use warden::ui::console::{self, ConsoleOptions};
use warden::ui::theme::Theme;
use warden::{logging, report};

fn main() -> ExitCode {
    logging::restrict_umask();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut cli: Cli) -> Result<()> {
    let config_path = cli.config.clone().unwrap_or_else(paths::config_file);
    let file = ConfigFile::load(&config_path)?;
    let _log = logging::init(&paths::state_dir())?;
    let nats = config::resolve_nats(&cli.nats, &file)?;
    if matches!(cli.command, Some(Command::Sandbox { .. })) && std::env::var_os("NATS_SERVER_BIN").is_none() {
        // The README's first command must work on a fresh machine.
        let bin = warden::sandbox::nats_server::binary_or_install()?;
        // SAFETY: no other thread reads the environment yet (the runtime is created below).
        unsafe { std::env::set_var("NATS_SERVER_BIN", bin) };
    }
    let rt = tokio::runtime::Runtime::new()?;
    let kube = kube_settings(&cli, &file);
    let naming = file.naming()?;
    match cli.command.take().unwrap_or(Command::Console) {
        Command::Console => {
            let opts = console_options(&cli, &file, nats, kube)?;
            tracing::info!("console starting");
            rt.block_on(console::run(opts))
        }
        Command::Sandbox { headless, dir, mode } => rt.block_on(sandbox(&cli, headless, dir, mode)),
        Command::Report { kind: report::Kind::Violations, output, violations } => {
            let ctx = report::ReportContext { nats, kube, kube_section: file.kubernetes.clone(), naming };
            let mut out = std::io::stdout();
            let opts = report::violations::Options::new(&violations, cli.server_logs.clone())?;
            rt.block_on(report::violations::run(&ctx, opts, output, &mut out))
        }
        Command::Report { kind, output, .. } => {
            let ctx = report::ReportContext { nats, kube, kube_section: file.kubernetes.clone(), naming };
            let mut out = std::io::stdout().lock();
            rt.block_on(report::run(&ctx, kind, output, &mut out))
        }
        Command::Identity { keys, action } => {
            let env = warden::identity::cli::CliEnv {
                nats,
                kube: warden::kube::client::KubeSettings {
                    kubeconfig: cli.kubeconfig.clone().or(file.kubernetes.kubeconfig.clone()),
                    context: cli.kube_context.clone().or(file.kubernetes.context.clone()),
                },
                kube_section: file.kubernetes.clone(),
                signing: warden::identity::cli::signing_config(&keys, &file.signing)?,
                read_only: cli.read_only || file.read_only,
                no_kube: keys.no_kube,
                mode: keys.mode.unwrap_or(file.identity.mode),
                identity: file.identity.clone(),
                naming,
            };
            let mut out = std::io::stdout().lock();
            rt.block_on(warden::identity::cli::run(env, &action, &mut out)).map(|_| ())
        }
    }
}

fn console_options(
    cli: &Cli,
    file: &ConfigFile,
    nats: config::NatsSettings,
    kube: warden::kube::client::KubeSettings,
) -> Result<ConsoleOptions> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::choose(cli.theme.as_deref().or(file.theme.as_deref()), no_color)?;
    let no_keys = warden::identity::cli::KeyFlags {
        account_signing_key: None,
        operator_signing_key: None,
        no_kube: false,
        mode: None,
    };
    Ok(ConsoleOptions {
        nats,
        kube,
        kube_section: file.kubernetes.clone(),
        refresh: config::refresh_interval(file)?,
        theme,
        read_only: cli.read_only || file.read_only,
        signing: warden::identity::cli::signing_config(&no_keys, &file.signing)?,
        server_logs: cli.server_logs.clone(),
        identity: file.identity.clone(),
        naming: file.naming()?,
    })
}

/// `warden sandbox`: starts the world, then the console on it (connected
/// exactly as a second warden would be, through the config file it wrote),
/// or with `--headless` prints how to reach it and waits for a signal.
async fn sandbox(
    cli: &Cli,
    headless: bool,
    dir: Option<std::path::PathBuf>,
    mode: warden::identity::actions::Mode,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let owned = dir.is_none();
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("warden-sandbox-{}", std::process::id())));
    let started = warden::sandbox::run::start_mode(&dir, mode).await;
    let result = match started {
        Err(e) => Err(e),
        Ok(sb) => {
            let r = if headless {
                println!("{}", sb.info.describe());
                let (mut term, mut hup) = (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                Ok(())
            } else {
                let file = ConfigFile::load(&sb.info.warden_config)?;
                let nats = config::resolve_nats_with(
                    &config::NatsFlags::default(),
                    &file,
                    &dir.join("no-natscli-contexts"),
                    None,
                )?;
                let kube = warden::kube::client::KubeSettings {
                    kubeconfig: file.kubernetes.kubeconfig.clone(),
                    context: file.kubernetes.context.clone(),
                };
                console::run(console_options(cli, &file, nats, kube)?).await
            };
            drop(sb);
            r
        }
    };
    if owned {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn kube_settings(cli: &Cli, file: &ConfigFile) -> warden::kube::client::KubeSettings {
    warden::kube::client::KubeSettings {
        kubeconfig: cli.kubeconfig.clone().or(file.kubernetes.kubeconfig.clone()),
        context: cli.kube_context.clone().or(file.kubernetes.context.clone()),
    }
}
