//! The watch's renderer: successive snapshots of one execution on stderr — one line per
//! action with a spinner on a terminal, a plain timestamped line per change otherwise,
//! nothing with -q. It only draws what `model::execution` computes and `ui::execution`
//! words; when to look again and when to stop is `commands::watch`'s business.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ui;
use super::execution::{
    action_line, event_text, failed_build_lines, log_line, plain_line, plain_log_line,
};
use crate::model::execution::{ActionStatus, Event, Layout, Snapshot, View};
use crate::model::text::{LogText, one_line};

/// Shows successive snapshots on stderr: spinners on a terminal, plain lines otherwise,
/// nothing with -q.
pub struct Renderer {
    mode: Mode,
    layout: Layout,
    /// Whether a snapshot was shown already (the first one prints the heading).
    shown: bool,
}

enum Mode {
    Quiet,
    Plain,
    Fancy {
        multi: MultiProgress,
        bars: BTreeMap<(String, String), Line>,
    },
}

/// One action's line on the terminal.
struct Line {
    bar: ProgressBar,
    spinning: bool,
    link_shown: bool,
}

impl Renderer {
    pub fn new(ui: &Ui, layout: Layout) -> Self {
        let mode = if ui.quiet {
            Mode::Quiet
        } else if ui.fancy {
            Mode::Fancy {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }
        } else {
            Mode::Plain
        };
        Renderer {
            mode,
            layout,
            shown: false,
        }
    }

    /// A line of text above the bars (or a plain line).
    pub fn note(&self, at: f64, text: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => write_stderr(&plain_line(at, text)),
            Mode::Fancy { multi, .. } => {
                let _ = multi.println(text);
            }
        }
    }

    /// Show one snapshot taken at `now`, with the events since the previous one.
    pub fn show(&mut self, s: &Snapshot, events: &[Event], now: f64) {
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                for e in events {
                    match e {
                        Event::Log { action, lines, .. } => {
                            for l in lines {
                                write_stderr(&plain_log_line(action, l));
                            }
                        }
                        e => write_stderr(&plain_line(now, &event_text(e))),
                    }
                }
            }
            Mode::Fancy { multi, bars } => {
                // Log lines above the spinners, SGR colours kept, nothing else obeyed.
                for e in events {
                    if let Event::Log { action, lines, .. } = e {
                        for l in lines {
                            let _ = multi.println(log_line(
                                &one_line(action),
                                l,
                                LogText::Terminal { colour: true },
                            ));
                        }
                    }
                }
                let v = View::of(&self.layout, s, now);
                if !self.shown {
                    let mut head = format!("{} execution {}", v.pipeline, v.execution_id);
                    if let Some(r) = &v.outline.revision {
                        head.push_str(&format!(", commit {r}"));
                    }
                    let _ = multi.println(head);
                }
                for a in v.actions() {
                    let key = (a.stage.clone(), a.action.clone());
                    let line = bars.entry(key).or_insert_with(|| {
                        let elapsed = Duration::from_secs_f64(a.seconds.unwrap_or(0.0));
                        let bar = multi.add(ProgressBar::new_spinner().with_elapsed(elapsed));
                        bar.set_style(pending_style());
                        Line {
                            bar,
                            spinning: false,
                            link_shown: false,
                        }
                    });
                    if line.bar.is_finished() {
                        continue;
                    }
                    // The link (the CodeBuild build) once, above the lines: long URLs would
                    // wrap and garble a redrawn line.
                    if let (false, Some(url)) = (line.link_shown, &a.result.url) {
                        let _ =
                            multi.println(format!("{}/{}: {}", a.stage, a.action, one_line(url)));
                        line.link_shown = true;
                    }
                    match a.status {
                        ActionStatus::Pending => line.bar.set_message(action_line(a)),
                        ActionStatus::InProgress => {
                            if !line.spinning {
                                if self.shown {
                                    // Seen pending on an earlier tick: it started just now.
                                    line.bar.reset_elapsed();
                                }
                                line.bar.set_style(spinner_style());
                                line.bar.enable_steady_tick(Duration::from_millis(120));
                                line.spinning = true;
                            }
                            line.bar.set_message(action_line(a));
                        }
                        _ => {
                            line.bar.set_style(pending_style());
                            line.bar.finish_with_message(action_line(a));
                        }
                    }
                }
            }
        }
        self.shown = true;
    }

    /// What the failed builds of an ended execution say, before its error line: the failed
    /// phase and (unless `log_shown`) the last lines of the log.
    pub fn failed_builds(&self, v: &View, log_shown: bool) {
        let mode = match self.mode {
            Mode::Quiet => return,
            Mode::Plain => LogText::Plain,
            Mode::Fancy { .. } => LogText::Terminal { colour: true },
        };
        for a in v.actions() {
            for line in failed_build_lines(a, mode, log_shown) {
                write_stderr(&line);
            }
        }
    }

    /// Leave the lines on screen as they are (the watch ends or is interrupted).
    pub fn finish(&mut self) {
        if let Mode::Fancy { bars, .. } = &mut self.mode {
            for line in bars.values() {
                if !line.bar.is_finished() {
                    line.bar.abandon();
                }
            }
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}  {elapsed}").unwrap_or_else(|_| pending_style())
}

fn pending_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn write_stderr(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
