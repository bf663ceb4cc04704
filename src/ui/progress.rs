//! The git transfer's progress: a bar on a terminal (packing, then sending with bytes and
//! rate), and the one summary line every mode prints once the push wrote.

use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::git::push::{Pushed, Transfer};

/// The bar of one transfer, on stderr.
#[derive(Clone)]
pub struct TransferBar(ProgressBar);

impl TransferBar {
    pub fn start() -> TransferBar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} objects {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        TransferBar(bar)
    }

    pub fn show(&self, t: Transfer) {
        let bar = &self.0;
        match t {
            // Not drawn: `-v` shows each request as a line (`ui::verbose::git_line`).
            // Retries are lines of their own (`retry_line`), printed by the command.
            Transfer::Request { .. } | Transfer::Retrying { .. } => {}
            // No "1/0": a count is drawn once its total is known, and never past it.
            Transfer::Receiving { bytes } => {
                bar.set_prefix("receiving");
                let secs = bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{}, {}/s",
                    HumanBytes(bytes as u64),
                    HumanBytes((bytes as f64 / secs) as u64)
                ));
            }
            Transfer::Packing { total: 0, .. } | Transfer::Sending { total: 0, .. } => {}
            Transfer::Packing { done, total } => {
                bar.set_prefix("packing");
                bar.set_length(total as u64);
                bar.set_position(done.min(total) as u64);
            }
            Transfer::Sending { done, total, bytes } => {
                if bar.prefix() != "sending" {
                    bar.set_prefix("sending");
                    bar.set_position(0);
                }
                bar.set_length(total as u64);
                // Monotonic: a retried request starts its bytes again, the bar does not.
                bar.set_position((done.min(total) as u64).max(bar.position()));
                let secs = bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{}, {}/s",
                    HumanBytes(bytes as u64),
                    HumanBytes((bytes as f64 / secs) as u64)
                ));
            }
        }
    }

    /// A line above the bar.
    pub fn println(&self, line: &str) {
        self.0.println(line);
    }

    pub fn finish(self) {
        self.0.finish_and_clear();
    }
}

/// `git endpoint throttled the POST (HTTP 429): attempt 2 in 1.4s`
pub fn retry_line(method: &str, status: u16, attempt: u32, wait: Duration) -> String {
    format!(
        "the git endpoint asked to slow down (HTTP {status} to the {method}): attempt {attempt} of {} in {:.1}s",
        crate::git::wire::ATTEMPTS,
        wait.as_secs_f64()
    )
}

/// `sent 12 objects (3.40 KiB) in 0.21s`
pub fn summary_line(p: &Pushed) -> String {
    format!(
        "sent {} object{} ({}) in {:.2}s",
        p.objects,
        if p.objects == 1 { "" } else { "s" },
        HumanBytes(p.bytes as u64),
        p.elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden() -> TransferBar {
        TransferBar(ProgressBar::hidden())
    }

    #[test]
    fn no_count_is_drawn_against_a_zero_total() {
        let bar = hidden();
        bar.show(Transfer::Packing { done: 1, total: 0 });
        bar.show(Transfer::Sending {
            done: 1,
            total: 0,
            bytes: 10,
        });
        assert_eq!(bar.0.length(), None);
        assert_eq!(bar.0.position(), 0);
    }

    #[test]
    fn sending_counts_up_to_its_total_and_never_back() {
        let bar = hidden();
        bar.show(Transfer::Packing { done: 4, total: 4 });
        // Sending starts its own count at 0, not at packing's 4.
        bar.show(Transfer::Sending {
            done: 1,
            total: 4,
            bytes: 100,
        });
        assert_eq!((bar.0.position(), bar.0.length()), (1, Some(4)));
        bar.show(Transfer::Sending {
            done: 3,
            total: 4,
            bytes: 300,
        });
        // A retried request starts its bytes again: the bar stays.
        bar.show(Transfer::Sending {
            done: 0,
            total: 4,
            bytes: 0,
        });
        assert_eq!(bar.0.position(), 3);
        // Never past the total.
        bar.show(Transfer::Sending {
            done: 9,
            total: 4,
            bytes: 900,
        });
        assert_eq!((bar.0.position(), bar.0.length()), (4, Some(4)));
    }
}
