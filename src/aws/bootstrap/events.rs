//! EventBridge: the rules of trigger = "events" on each account's default bus, their one
//! target, and the pipeline bus's permission for the source account. Read what is there;
//! put a rule (tagged when created), a target, a permission statement.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use super::{code_of, failed, managed_by};
use crate::error::{Error, Result};

/// A rule on the default bus as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The event pattern, JSON text.
    pub pattern: Option<String>,
    pub enabled: bool,
    pub targets: Vec<RuleTarget>,
}

/// One target of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTarget {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
}

/// The rule `name` on the default bus with its targets, or `None` when there is none.
pub async fn rule(c: &Client, name: &str, account: &str) -> Result<Option<Rule>> {
    let out = match c.describe_rule().name(name).send().await {
        Ok(out) => out,
        Err(e) if code_of(&e).as_deref() == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(failed(&format!("events:DescribeRule {name}"), account, &e)),
    };
    let targets = c
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(|e| failed(&format!("events:ListTargetsByRule {name}"), account, &e))?;
    Ok(Some(Rule {
        pattern: out.event_pattern().map(str::to_owned),
        enabled: out.state() == Some(&RuleState::Enabled),
        targets: targets
            .targets()
            .iter()
            .map(|t| RuleTarget {
                id: t.id().to_owned(),
                arn: t.arn().to_owned(),
                role_arn: t.role_arn().map(str::to_owned),
            })
            .collect(),
    }))
}

/// PutRule on the default bus, enabled, with `pattern`; tagged managed-by=cargo-xpipeline
/// when `create` (PutRule leaves an existing rule's tags alone).
pub async fn put_rule(
    c: &Client,
    name: &str,
    pattern: &str,
    description: &str,
    create: bool,
    account: &str,
) -> Result<()> {
    let mut call = c
        .put_rule()
        .name(name)
        .event_pattern(pattern)
        .state(RuleState::Enabled)
        .description(description);
    if create {
        let (k, v) = managed_by();
        call = call.tags(
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set"),
        );
    }
    call.send()
        .await
        .map_err(|e| failed(&format!("events:PutRule {name}"), account, &e))?;
    Ok(())
}

/// PutTargets: the one target of rule `name`, sent as `role_arn`.
pub async fn put_target(c: &Client, name: &str, t: &RuleTarget, account: &str) -> Result<()> {
    let target = Target::builder()
        .id(&t.id)
        .arn(&t.arn)
        .set_role_arn(t.role_arn.clone())
        .build()
        .expect("id and arn are set");
    let what = format!("events:PutTargets {} on rule {name}", t.arn);
    let out = c
        .put_targets()
        .rule(name)
        .targets(target)
        .send()
        .await
        .map_err(|e| failed(&what, account, &e))?;
    // PutTargets answers 200 with the entries it refused.
    if let Some(entry) = out.failed_entries().first() {
        return Err(Error::op(format!(
            "{what} (account {account}) failed: {}: {}",
            entry.error_code().unwrap_or("?"),
            entry.error_message().unwrap_or("")
        )));
    }
    Ok(())
}

/// The resource policy of the default bus, JSON text; `None` when it has none.
pub async fn bus_policy(c: &Client, account: &str) -> Result<Option<String>> {
    let out = c
        .describe_event_bus()
        .name("default")
        .send()
        .await
        .map_err(|e| failed("events:DescribeEventBus default", account, &e))?;
    Ok(out.policy().map(str::to_owned))
}

/// PutPermission on the default bus: `principal` (an account id) may events:PutEvents, under
/// `statement_id` (which replaces a statement of that id).
pub async fn put_permission(
    c: &Client,
    statement_id: &str,
    principal: &str,
    account: &str,
) -> Result<()> {
    c.put_permission()
        .event_bus_name("default")
        .action("events:PutEvents")
        .principal(principal)
        .statement_id(statement_id)
        .send()
        .await
        .map_err(|e| {
            failed(
                &format!("events:PutPermission {statement_id} on the default event bus"),
                account,
                &e,
            )
        })?;
    Ok(())
}
