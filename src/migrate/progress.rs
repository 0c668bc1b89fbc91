//! How far a migration is: a progress bar on a terminal, else a log line every
//! [`LOG_EVERY`] pads, so a run under a service manager or in a pipe leaves a readable log.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Pads between two log lines when there is no bar.
pub const LOG_EVERY: u64 = 100;

/// The progress of one run over `total` pads.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    /// A bar on stderr when it is a terminal, else log lines.
    pub fn new(total: usize) -> Self {
        let total = total as u64;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} pads, {elapsed} elapsed, {eta} left  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            bar,
            total,
            done: 0,
        }
    }

    /// One more pad is done; `label` names it (its Etherpad id).
    pub fn step(&mut self, label: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(label.chars().take(40).collect::<String>());
                bar.inc(1);
            }
            None if self.done.is_multiple_of(LOG_EVERY) || self.done == self.total => {
                tracing::info!(done = self.done, total = self.total, "migrating pads");
            }
            None => {}
        }
    }

    /// Prints `line` above the bar (or logs it without one), for a failure as it happens.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => tracing::warn!("{line}"),
        }
    }

    /// Removes the bar, leaving the terminal to the report.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
