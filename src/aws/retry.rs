//! Retries and pacing, one module: the watch's pacer (a per-minute call budget), the one
//! jittered backoff curve, the retry of a call that fails while a new IAM role propagates,
//! and the retry classifier that keeps the SDK from retrying a quota as if it were
//! throttling. Progress of a retry reaches the caller as a `Retrying` value, never as output.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::error::error_parts;

/// Shortest and longest wait between two ticks, in seconds.
const MIN_INTERVAL: f64 = 1.0;
const MAX_INTERVAL: f64 = 10.0;
/// After a change the next one often follows (an action ends, the next starts): look again soon.
const AFTER_CHANGE: f64 = 2.0;
/// Each quiet tick waits this much longer than the previous one.
const GROWTH: f64 = 1.25;
/// Never more than this many ticks (two calls each) in any 60 seconds: at most 40 calls a minute.
const TICKS_PER_MINUTE: usize = 20;
/// When to look next. `tick` is called after each successful tick with its time (seconds
/// since the watch began) and whether anything changed; it returns the seconds to wait.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: f64,
    recent: VecDeque<f64>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            interval: MIN_INTERVAL / GROWTH,
            recent: VecDeque::new(),
        }
    }
}

impl Pacer {
    pub fn tick(&mut self, at: f64, changed: bool) -> f64 {
        self.interval = if changed {
            self.interval.clamp(MIN_INTERVAL, AFTER_CHANGE)
        } else {
            (self.interval * GROWTH).clamp(MIN_INTERVAL, MAX_INTERVAL)
        };
        self.budgeted(at, self.interval)
    }

    /// After a throttled or failed tick: wait `backoff` (already jittered), and look more
    /// slowly afterwards when AWS asked us to.
    pub fn failed(&mut self, at: f64, throttled: bool, backoff: f64) -> f64 {
        if throttled {
            self.interval = (self.interval * 2.0).min(MAX_INTERVAL);
        }
        self.budgeted(at, backoff.max(self.interval))
    }

    /// Record a tick at `at` and stretch `wait` so that no 60-second window holds more than
    /// TICKS_PER_MINUTE ticks.
    fn budgeted(&mut self, at: f64, wait: f64) -> f64 {
        self.recent.push_back(at);
        while self.recent.front().is_some_and(|t| *t <= at - 60.0) {
            self.recent.pop_front();
        }
        let n = self.recent.len();
        if n >= TICKS_PER_MINUTE {
            // The next tick may come once the oldest tick that would still be in its window
            // has left it.
            let oldest = self.recent[n - TICKS_PER_MINUTE];
            wait.max(oldest + 60.0 - at)
        } else {
            wait
        }
    }
}

/// Exponential backoff, capped at 30 s, with "equal jitter": between half and all of it.
/// `unit` is a number in [0, 1).
pub fn backoff(attempt: u32, unit: f64) -> f64 {
    let base = 2f64.powi(attempt.min(5) as i32).min(30.0);
    base / 2.0 + base / 2.0 * unit.clamp(0.0, 1.0)
}

/// A number in [0, 1), different on every call (no rand crate for one jitter).
pub fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// How long a fresh IAM role may take to become usable by the service that assumes it.
pub const IAM_PROPAGATION: Duration = Duration::from_secs(120);

/// CodePipeline says a service role it cannot assume yet is "not authorized": right after the
/// role was created that is IAM's eventual consistency, so that case (only) is retried.
pub fn is_iam_propagation(code: Option<&str>, message: &str) -> bool {
    code == Some("InvalidStructureException") && message.contains("not authorized")
}

/// A policy that names a role IAM has not made visible yet is refused as naming an "invalid
/// principal" (IAM MalformedPolicyDocument, KMS MalformedPolicyDocumentException, S3
/// MalformedPolicy), and CodeBuild refuses a project whose new role it cannot assume yet: right
/// after the role was created, that is IAM's eventual consistency.
pub fn is_invalid_principal(code: Option<&str>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    match code {
        Some(
            "MalformedPolicyDocument" | "MalformedPolicyDocumentException" | "MalformedPolicy",
        ) => m.contains("invalid principal"),
        Some("InvalidInputException") => {
            m.contains("not authorized to perform: sts:assumerole")
                || m.contains("invalid service role")
        }
        _ => false,
    }
}

/// One wait of a retried call, for the caller to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrying {
    /// The next wait.
    pub wait: Duration,
    /// How long the call has been retried so far.
    pub so_far: Duration,
    /// How long it will be retried at most.
    pub limit: Duration,
}

/// Call `call` until it succeeds, fails with something other than `retryable` says, or
/// `limit` would be exceeded; `on_retry` hears of every wait before it starts.
pub async fn retry_while<T, E, R, F, Fut>(
    limit: Duration,
    retryable: impl Fn(Option<&str>, &str) -> bool,
    on_retry: &mut (dyn FnMut(Retrying) + Send),
    mut call: F,
) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    let start = Instant::now();
    let mut attempt = 1;
    loop {
        let err = match call().await {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        let (code, message) = error_parts(&err);
        let wait = Duration::from_secs_f64(backoff(attempt, random_unit()));
        if !retryable(code.as_deref(), &message) || start.elapsed() + wait > limit {
            return Err(err);
        }
        on_retry(Retrying {
            wait,
            so_far: start.elapsed(),
            limit,
        });
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// The SDK classes LimitExceededException as throttling and retries it; for CodePipeline it
/// is a quota (too many pipelines, stages, actions or tags) that no retry will lift.
#[derive(Debug)]
pub struct QuotaIsNotThrottling;

impl ClassifyRetry for QuotaIsNotThrottling {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some(err) = err.as_operation_error() else {
            return RetryAction::NoActionIndicated;
        };
        use aws_sdk_codepipeline::operation as op;
        let code = err
            .downcast_ref::<op::create_pipeline::CreatePipelineError>()
            .and_then(|e| e.code())
            .or_else(|| {
                err.downcast_ref::<op::update_pipeline::UpdatePipelineError>()
                    .and_then(|e| e.code())
            })
            .or_else(|| {
                err.downcast_ref::<op::tag_resource::TagResourceError>()
                    .and_then(|e| e.code())
            })
            .or_else(|| {
                err.downcast_ref::<op::get_pipeline::GetPipelineError>()
                    .and_then(|e| e.code())
            })
            .or_else(|| {
                err.downcast_ref::<op::list_tags_for_resource::ListTagsForResourceError>()
                    .and_then(|e| e.code())
            });
        if code == Some("LimitExceededException") {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "LimitExceededException is a quota, not throttling"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_starts_short_and_lengthens_while_nothing_changes() {
        let mut p = Pacer::default();
        let mut t = 0.0;
        let mut waits = vec![];
        for _ in 0..15 {
            let w = p.tick(t, false);
            waits.push(w);
            t += w;
        }
        assert_eq!(waits[0], MIN_INTERVAL);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), MAX_INTERVAL);
    }

    #[test]
    fn a_change_brings_the_interval_back_down() {
        let mut p = Pacer::default();
        let mut t = 0.0;
        for _ in 0..20 {
            t += p.tick(t, false);
        }
        assert_eq!(p.tick(t, true), AFTER_CHANGE);
    }

    #[test]
    fn no_minute_ever_holds_more_than_forty_calls() {
        // Worst case: something changes on every tick.
        let mut p = Pacer::default();
        let mut t = 0.0;
        let mut ticks = vec![];
        while t < 600.0 {
            ticks.push(t);
            t += p.tick(t, true);
        }
        for (i, start) in ticks.iter().enumerate() {
            let in_window = ticks[i..].iter().take_while(|x| **x < start + 60.0).count();
            assert!(in_window * 2 <= 40, "{in_window} ticks from {start}");
        }
    }

    #[test]
    fn a_five_minute_build_costs_few_calls() {
        let mut p = Pacer::default();
        let (mut t, mut ticks) = (0.0, 0);
        while t < 300.0 {
            ticks += 1;
            // An action ends every 100 s.
            let changed = ticks > 1 && (t % 100.0) < 2.0;
            t += p.tick(t, changed);
        }
        let per_minute = ticks as f64 * 2.0 / 5.0;
        assert!(per_minute <= 40.0, "{per_minute} calls a minute");
    }

    #[test]
    fn an_invalid_principal_is_a_role_still_propagating() {
        // The wordings of IAM, KMS, S3 and CodeBuild.
        assert!(is_invalid_principal(
            Some("MalformedPolicyDocument"),
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\""
        ));
        assert!(is_invalid_principal(
            Some("MalformedPolicyDocumentException"),
            "Policy contains a statement with one or more invalid principals."
        ));
        assert!(is_invalid_principal(
            Some("MalformedPolicy"),
            "Invalid principal in policy"
        ));
        assert!(is_invalid_principal(
            Some("InvalidInputException"),
            "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::1:role/b"
        ));
        assert!(!is_invalid_principal(
            Some("MalformedPolicyDocument"),
            "Syntax errors in policy."
        ));
        assert!(!is_invalid_principal(
            Some("AccessDenied"),
            "invalid principal"
        ));
    }

    #[test]
    fn throttling_backs_off_with_jitter_and_slows_the_pace() {
        let mut p = Pacer::default();
        let w = p.failed(0.0, true, backoff(3, 0.5));
        assert_eq!(w, 6.0);
        assert!(p.interval >= 2.0 * MIN_INTERVAL / GROWTH);
        assert_eq!(backoff(1, 0.0), 1.0);
        assert_eq!(backoff(1, 1.0), 2.0);
        assert_eq!(backoff(20, 1.0), 30.0);
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
