//! CloudFormation in a target account, read only: the change set an approval approves
//! (DescribeChangeSet, every page) and the events of a stack (DescribeStackEvents, the newest
//! page), as model values. The client is made from `aws::target::session`'s configuration.

use aws_sdk_cloudformation::Client;

use crate::aws::error::{deploy_call, error_parts};
use crate::error::Result;
use crate::model::execution::deploy::{ChangeSetSummary, ResourceChange, StackEvent};

/// DescribeChangeSet of `change_set` of `stack`: its status and the resources it adds,
/// modifies and removes.
pub async fn change_set(
    client: &Client,
    account: &str,
    stack: &str,
    change_set: &str,
) -> Result<ChangeSetSummary> {
    let mut summary = ChangeSetSummary {
        stack: stack.to_owned(),
        change_set: change_set.to_owned(),
        account: account.to_owned(),
        ..Default::default()
    };
    let mut next: Option<String> = None;
    // At most 20 pages: a change set lists its changes 100 at a time (bounded by the stack's
    // 500 resources).
    for _ in 0..20 {
        let out = client
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| {
                let (code, message) = error_parts(&e);
                deploy_call(
                    &format!("DescribeChangeSet {change_set} of stack {stack}"),
                    account,
                    code.as_deref(),
                    &message,
                )
            })?;
        summary.status = out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        summary.status_reason = out.status_reason().map(str::to_owned);
        for c in out.changes() {
            let Some(r) = c.resource_change() else {
                continue;
            };
            summary.push(
                r.action().map(|a| a.as_str()).unwrap_or("Modify"),
                ResourceChange {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: r.resource_type().map(str::to_owned),
                    replacement: r.replacement().map(|x| x.as_str().to_owned()),
                },
            );
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(summary)
}

/// The newest events of `stack` (one page, newest first).
pub async fn stack_events(client: &Client, account: &str, stack: &str) -> Result<Vec<StackEvent>> {
    let out = client
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            deploy_call(
                &format!("DescribeStackEvents of stack {stack}"),
                account,
                code.as_deref(),
                &message,
            )
        })?;
    Ok(out
        .stack_events()
        .iter()
        .map(|e| StackEvent {
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
        })
        .collect())
}
