use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use warden::cli::{Cli, Command};
use warden::report;
use warden::ui::console::{self, ConsoleOptions};
use warden::ui::theme::Theme;
use warden_core::config::NatsFlags;
use warden_core::config::{self, ConfigFile, paths};
use warden_core::identity::actions::Mode;
use warden_core::identity::naming::Naming;
use warden_core::identity::runner::{self, ActionEnv};
use warden_core::logging;

fn main() -> ExitCode {
    warden::app::memory::tune_allocator();
    logging::restrict_umask();
    let cli = Cli::parse();
    for w in warden::cli::secret_flag_warnings(std::env::args()) {
        eprintln!("{w}");
    }
    // A monitoring check answers UNKNOWN (exit 3) whatever went wrong.
    let check = matches!(cli.command, Some(Command::Check { .. }));
    match run(cli) {
        Ok(code) => code,
        Err(e) if check => {
            println!("WARDEN CHECK UNKNOWN: {}", warden::app::format::printable(&format!("{e:#}")));
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("warden: {}", warden_core::error_chain::chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; the exit code is not SUCCESS only for checks.
fn run(mut cli: Cli) -> Result<ExitCode> {
    let file = match &cli.config {
        Some(named) => ConfigFile::load_named(named)?,
        None => ConfigFile::load(&paths::config_file())?,
    };
    let _log = logging::init(&paths::state_dir())?;
    let nats = config::resolve_nats(&NatsFlags::from(&cli.nats), &file)?;
    #[cfg(feature = "sandbox")]
    if let Some(Command::Sandbox { mode, connections, identities, accounts, site_count, .. }) = &cli.command {
        // What makes no sense is refused before anything is installed or made.
        let fleet =
            warden_sandbox::run::Fleet { connections: *connections, identities: *identities, accounts: *accounts };
        warden_sandbox::running::Running::check((*mode).into(), &fleet, *site_count)?;
        // The README's first command must work on a fresh machine: installs
        // into the XDG data dir, where the sandbox then finds it.
        warden_sandbox::nats_server::binary_or_install()?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    let kube = kube_settings(&cli, &file);
    let naming = Naming::from_section(&file.naming)?;
    let ok = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cli.command.take().unwrap_or(Command::Console) {
        Command::Console => {
            let opts = console_options(&cli, &file, nats, kube)?;
            tracing::info!("console starting");
            ok(rt.block_on(console::run(opts)))
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox { headless, dir, mode, connections, identities, accounts, site_count } => {
            let fleet = warden_sandbox::run::Fleet { connections, identities, accounts };
            ok(rt.block_on(sandbox(&cli, headless, dir, mode.into(), fleet, site_count)))
        }
        Command::Report { kind: report::Kind::Violations, output, violations } => {
            let ctx = report_context(&file, nats, kube, naming)?;
            let mut out = std::io::stdout();
            let opts = report::violations::Options::new(&violations, cli.server_logs.clone())?;
            ok(rt.block_on(report::violations::run(&ctx, opts, output, &mut out)))
        }
        Command::Report { kind, output, .. } => {
            let ctx = report_context(&file, nats, kube, naming)?;
            let mut out = std::io::stdout().lock();
            ok(rt.block_on(report::run(&ctx, kind, output, &mut out)))
        }
        Command::Doctor { output } => {
            let ctx = report_context(&file, nats, kube, naming)?;
            let sites = site_contexts(&cli, &file, &ctx)?;
            let mut out = std::io::stdout().lock();
            ok(rt.block_on(report::doctor::run(&ctx, &sites, output, &mut out)))
        }
        Command::Trace { identity, output } => {
            let ctx = report_context(&file, nats, kube, naming)?;
            let healthy = rt.block_on(report::trace::run(&ctx, &identity, output, &mut std::io::stdout().lock()))?;
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Check { kind, warn, crit, format } => {
            // A check always answers: a broken setup is UNKNOWN, not a crash.
            let r = match report_context(&file, nats, kube, naming) {
                Ok(ctx) => rt.block_on(report::check::run(&ctx, kind, report::check::Thresholds { warn, crit })),
                Err(e) => report::check::unknown(kind, format!("{e:#}")),
            };
            drop(rt);
            report::check::write(&mut std::io::stdout().lock(), &r, format)?;
            Ok(ExitCode::from(r.status_code))
        }
        Command::Identity { keys, action } => {
            let env = ActionEnv {
                nats,
                kube: warden_core::kube::client::KubeSettings {
                    kubeconfig: cli.kubeconfig.clone().or(file.kubernetes.kubeconfig.clone()),
                    context: cli.kube_context.clone().or(file.kubernetes.context.clone()),
                },
                kube_section: file.kubernetes.clone(),
                signing: keys.signing_config(&file.signing)?,
                read_only: cli.read_only || file.read_only,
                no_kube: keys.no_kube,
                mode: keys.mode.map(Mode::from).unwrap_or(file.identity.mode),
                identity: file.identity.clone(),
                naming,
            };
            let mut out = std::io::stdout().lock();
            ok(rt.block_on(warden::cli::identity::run(env, &action, &mut out)).map(|_| ()))
        }
    }
}

fn console_options(
    cli: &Cli,
    file: &ConfigFile,
    nats: config::NatsSettings,
    kube: warden_core::kube::client::KubeSettings,
) -> Result<ConsoleOptions> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::choose(cli.theme.as_deref().or(file.theme.as_deref()), no_color)?;
    Ok(ConsoleOptions {
        nats,
        kube,
        kube_section: file.kubernetes.clone(),
        refresh: config::refresh_interval(file)?,
        reconcile: config::reconcile_interval(file)?,
        theme,
        read_only: cli.read_only || file.read_only,
        signing: runner::signing_config(None, None, &file.signing)?,
        server_logs: cli.server_logs.clone(),
        identity: file.identity.clone(),
        naming: Naming::from_section(&file.naming)?,
        doctor: doctor_policy(file)?,
        sites: site_sections(cli, file)?,
    })
}

#[cfg(feature = "sandbox")]
/// `warden sandbox`: starts the world, then the console on it (connected
/// exactly as a second warden would be, through the config file it wrote),
/// or with `--headless` prints how to reach it and waits for a signal.
async fn sandbox(
    cli: &Cli,
    headless: bool,
    dir: Option<std::path::PathBuf>,
    mode: Mode,
    fleet: warden_sandbox::run::Fleet,
    sites: Option<usize>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let owned = dir.is_none();
    let dir = warden_sandbox::run::private_dir(dir.as_deref())?;
    let started = warden_sandbox::running::Running::start(&dir, mode, fleet, sites).await;
    let result = match started {
        Err(e) => Err(e),
        Ok(sb) => {
            let r = if headless {
                // A reader that closed the pipe must not stop (panic) the sandbox.
                let mut out = std::io::stdout();
                let _ = std::io::Write::write_all(&mut out, format!("{}\n", sb.describe()).as_bytes())
                    .and_then(|()| std::io::Write::flush(&mut out));
                let (mut term, mut hup) = (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                Ok(())
            } else {
                let file = ConfigFile::load(sb.warden_config())?;
                let nats =
                    config::resolve_nats_with(&NatsFlags::default(), &file, &dir.join("no-natscli-contexts"), None)?;
                let kube = warden_core::kube::client::KubeSettings {
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

fn report_context(
    file: &ConfigFile,
    nats: config::NatsSettings,
    kube: warden_core::kube::client::KubeSettings,
    naming: Naming,
) -> Result<report::ReportContext> {
    Ok(report::ReportContext {
        nats,
        kube,
        kube_section: file.kubernetes.clone(),
        naming,
        ttl: warden_core::identity::ttl::TtlPolicy::from_section(&file.identity)?,
        policy: doctor_policy(file)?,
    })
}

/// `[[sites]]` and `--site NAME=KUBE_CONTEXT`, each name once.
fn site_sections(cli: &Cli, file: &ConfigFile) -> Result<Vec<config::file::SiteSection>> {
    let mut sites = file.sites.clone();
    for s in &cli.sites {
        let (name, kctx) =
            s.split_once('=').ok_or_else(|| anyhow::anyhow!("--site {s:?}: expected NAME=KUBE_CONTEXT"))?;
        sites.push(config::file::SiteSection {
            name: name.into(),
            kube_context: Some(kctx.into()),
            ..Default::default()
        });
    }
    for (i, s) in sites.iter().enumerate() {
        anyhow::ensure!(!s.name.is_empty(), "a site needs a name");
        anyhow::ensure!(!sites[..i].iter().any(|o| o.name == s.name), "site {:?} named twice", s.name);
    }
    Ok(sites)
}

/// One report context per site: its Kubernetes context, its NATS when given.
fn site_contexts(
    cli: &Cli,
    file: &ConfigFile,
    base: &report::ReportContext,
) -> Result<Vec<(String, report::ReportContext)>> {
    let mut out: Vec<(String, report::ReportContext)> = Vec::new();
    for s in site_sections(cli, file)? {
        let mut ctx = base.clone();
        if let Some(k) = &s.kube_context {
            ctx.kube.context = Some(k.clone());
        }
        if s.nats_context.is_some() || s.nats_url.is_some() {
            let flags = NatsFlags { context: s.nats_context.clone(), url: s.nats_url.clone(), ..Default::default() };
            ctx.nats = config::resolve_nats(&flags, file)?;
        }
        out.push((s.name, ctx));
    }
    Ok(out)
}

fn doctor_policy(file: &ConfigFile) -> Result<warden_core::doctor::facts::Policy> {
    let spiffe = file.identity.mode == warden_core::config::file::Mode::Spiffe;
    warden_core::doctor::facts::Policy::from_config(&file.doctor, &file.policy, spiffe)
}

fn kube_settings(cli: &Cli, file: &ConfigFile) -> warden_core::kube::client::KubeSettings {
    warden_core::kube::client::KubeSettings {
        kubeconfig: cli.kubeconfig.clone().or(file.kubernetes.kubeconfig.clone()),
        context: cli.kube_context.clone().or(file.kubernetes.context.clone()),
    }
}
