//! CloudWatch Logs, the op: pages of a build's log stream (GetLogEvents), forward from a
//! token or the last lines. Never prints; the loops that decide when to read are the
//! commands' (`commands::watch`, `commands::logs`).

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;

use crate::aws::error::{build_call, classify_error, error_parts};
use crate::aws::executions::CallFailure;
use crate::model::execution::{LogLine, LogsAt};

/// One page read forward, and the forward token to read the next one with.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub lines: Vec<LogLine>,
    pub next: String,
}

fn lines_of(out: &GetLogEventsOutput) -> Vec<LogLine> {
    out.events()
        .iter()
        .map(|e| LogLine {
            millis: e.timestamp().unwrap_or_default(),
            message: e.message().unwrap_or_default().to_owned(),
        })
        .collect()
}

async fn get(
    client: &Client,
    at: &LogsAt,
    token: Option<&str>,
    from_head: bool,
    limit: Option<i32>,
    before: Option<i64>,
) -> Result<Option<GetLogEventsOutput>, CallFailure> {
    let res = client
        .get_log_events()
        .log_group_name(&at.group)
        .log_stream_name(&at.stream)
        .set_next_token(token.map(str::to_owned))
        .start_from_head(from_head)
        .set_limit(limit)
        .set_end_time(before)
        .send()
        .await;
    match res {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            let (code, message) = error_parts(&e);
            // The build names its stream a moment before the agent creates it.
            if code.as_deref() == Some("ResourceNotFoundException") && token.is_none() {
                return Ok(None);
            }
            Err(CallFailure {
                kind: classify_error(&e),
                error: build_call(
                    &format!("GetLogEvents of {} {}", at.group, at.stream),
                    code.as_deref(),
                    &message,
                ),
            })
        }
    }
}

/// One page forward from `token` (from the head without one): one GetLogEvents call.
/// `None` when the stream does not exist yet.
pub async fn forward(
    client: &Client,
    at: &LogsAt,
    token: Option<&str>,
) -> Result<Option<Page>, CallFailure> {
    Ok(get(client, at, token, true, None, None)
        .await?
        .map(|out| Page {
            lines: lines_of(&out),
            next: out.next_forward_token().unwrap_or_default().to_owned(),
        }))
}

/// The last `n` lines of the stream, oldest first: the newest page, then backward pages
/// while fewer than `n` came and the backward token moves (a page may be partial), at most
/// 5 calls. `before` (milliseconds since the epoch) leaves out the lines from then on. With
/// them, the forward token that reads on after the newest line (`None` when the stream
/// does not exist yet).
pub async fn tail(
    client: &Client,
    at: &LogsAt,
    n: usize,
    before: Option<i64>,
) -> Result<(Vec<LogLine>, Option<String>), CallFailure> {
    let limit = i32::try_from(n.clamp(1, 10_000)).unwrap_or(10_000);
    let mut out: Vec<LogLine> = Vec::new();
    let mut token: Option<String> = None;
    let mut forward = None;
    for _ in 0..5 {
        let Some(page) = get(client, at, token.as_deref(), false, Some(limit), before).await?
        else {
            break;
        };
        if forward.is_none() {
            forward = page.next_forward_token().map(str::to_owned);
        }
        let mut lines = lines_of(&page);
        lines.append(&mut out);
        out = lines;
        let back = page.next_backward_token().map(str::to_owned);
        if out.len() >= n || back.is_none() || back == token {
            break;
        }
        token = back;
    }
    let skip = out.len().saturating_sub(n);
    Ok((out.split_off(skip), forward))
}
