//! The `ardoise` binary: configuration, logging, signals; the server itself is the library.
//! With a subcommand (`ardoise migrate …`) it runs that on the data directory instead.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use ardoise::config::migrate::{Command, Migrate};
use ardoise::config::{Config, ConfigError};
use ardoise::Server;
use tracing_subscriber::EnvFilter;

/// Stack of every runtime thread (async workers and the blocking pool).
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(ConfigError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("ardoise: {e}");
            return ExitCode::from(2);
        }
    };
    // A migration logs its own progress, not every room it loads and unloads.
    let default_filter = match config.command {
        None => "info",
        Some(_) => "warn,ardoise::migrate=info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_env("ARDOISE_LOG")
                .unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .init();
    ignore_file_size_signal();
    // The database is opened before the runtime starts, so no async worker ever blocks on it.
    let server = match Server::open(config.clone()) {
        Ok(server) => server,
        Err(e) if e.data_in_use() => {
            eprintln!(
                "ardoise: the store {} is in use by a running ardoise: stop it first",
                config.store_url()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("ardoise: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Defence in depth: every input that reaches a recursive decoder (yrs, parsers) is bounded
    // first (guard.rs, nesting.rs), which is the protection; a known, larger stack than the
    // default 2 MiB only widens the margin. It is reserved, not resident: untouched pages cost
    // no memory.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ardoise: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Migrate(Migrate::Etherpad(args))) = config.command.clone() {
        return runtime.block_on(migrate_etherpad(server, args));
    }
    match runtime.block_on(serve(server, &config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("ardoise: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(server: Server, config: &Config) -> Result<(), ardoise::ServerError> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // Scripts read the real port from this first line of stdout.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    tracing::info!(%addr, data = %config.data.display(), "listening");
    server.run(listener, shutdown_signal()).await
}

/// `ardoise migrate etherpad`: the report on stdout; exit 0 when every pad is present, 1 when
/// some failed (or Ctrl-C stopped the run), 2 when it could not run at all.
async fn migrate_etherpad(
    server: Server,
    args: ardoise::config::migrate::EtherpadArgs,
) -> ExitCode {
    match server.migrate_etherpad(args).await {
        Ok(report) => {
            print!("{report}");
            let _ = std::io::stdout().flush();
            if report.complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("ardoise: {e}");
            ExitCode::from(2)
        }
    }
}

/// Past a file-size limit (`ulimit -f`) the kernel sends SIGXFSZ, which kills the process; with
/// it ignored the write fails with EFBIG instead, and storage reports, recovers and stays up as
/// it does on a full disk.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal before any thread is started; SIG_IGN runs
    // no code of ours.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
