//! The cross-account EventBridge wiring of `pipeline.trigger = "events"`, as documents: what
//! `policies` prints and `bootstrap` applies. A branch update in the source account reaches
//! the pipeline in three hops, each of which AWS checks:
//! - source account: a rule on the default bus matching the repository's branch updates
//!   (CodeCommit Repository State Change, `referenceCreated`/`referenceUpdated` of the branch,
//!   the pattern CodePipeline's own documentation uses), whose target is the pipeline
//!   account's default bus, sent as a role EventBridge assumes (`events:PutEvents` on that bus);
//! - pipeline account: the default bus's resource policy lets the source account put events
//!   (the statement `PutPermission` writes: the account's root as principal);
//! - pipeline account: a rule with the same pattern whose target is the pipeline, started as a
//!   role EventBridge assumes (`codepipeline:StartPipelineExecution` on the pipeline).
//!
//! A rule is not a policy: its document is what `PutRule` and `PutTargets` take (`Name`,
//! `EventBusName`, `State`, `EventPattern`, `Targets`).

use serde_json::{Value, json};

use super::{Document, Kind};
use crate::config::Config;
use crate::model::arn::{account_root, partition_of, pipeline_arn, repository_arn};

/// The Id of the one target bootstrap puts on each of its rules.
pub const TARGET_ID: &str = "cargo-xpipeline";

/// A name for an IAM role or an EventBridge rule: the pipeline's name (characters outside
/// `[A-Za-z0-9._-]` as `-`, shortened) and a suffix, at most 64 characters.
fn name(cfg: &Config, suffix: &str) -> String {
    let keep = 64 - suffix.len() - 1;
    let base: String = cfg
        .pipeline
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(keep)
        .collect();
    format!("{base}-{suffix}")
}

/// The rule (and its role) in the source account that forwards branch updates.
pub fn forward_name(cfg: &Config) -> String {
    name(cfg, "events-forward")
}

/// The rule (and its role) in the pipeline account that starts the pipeline.
pub fn start_name(cfg: &Config) -> String {
    name(cfg, "events-start")
}

fn role_arn(cfg: &Config, account: &str, role: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{role}",
        partition_of(&cfg.pipeline.region)
    )
}

/// The role EventBridge assumes in the source account to put events on the pipeline bus.
pub fn forward_role_arn(cfg: &Config) -> String {
    role_arn(cfg, &cfg.source.account, &forward_name(cfg))
}

/// The role EventBridge assumes in the pipeline account to start the pipeline.
pub fn start_role_arn(cfg: &Config) -> String {
    role_arn(cfg, &cfg.pipeline.account, &start_name(cfg))
}

/// The default event bus of `account` in the pipeline's region.
pub fn default_bus_arn(cfg: &Config, account: &str) -> String {
    format!(
        "arn:{}:events:{}:{account}:event-bus/default",
        partition_of(&cfg.pipeline.region),
        cfg.pipeline.region
    )
}

/// The ARN of rule `name` on the default bus of `account`.
pub fn rule_arn(cfg: &Config, account: &str, name: &str) -> String {
    format!(
        "arn:{}:events:{}:{account}:rule/{name}",
        partition_of(&cfg.pipeline.region),
        cfg.pipeline.region
    )
}

/// The Sid (PutPermission's StatementId, `[A-Za-z0-9_-]{1,64}`) of the pipeline bus's
/// statement letting the source account in: one per source account, shared by its pipelines.
pub fn bus_statement_id(cfg: &Config) -> String {
    format!("SourceAccount{}SendsEvents", cfg.source.account)
}

/// The pipeline bus's statement for the source account, as PutPermission writes it.
pub fn bus_statement(cfg: &Config) -> Value {
    json!({
        "Sid": bus_statement_id(cfg),
        "Effect": "Allow",
        "Principal": { "AWS": account_root(partition_of(&cfg.pipeline.region), &cfg.source.account) },
        "Action": "events:PutEvents",
        "Resource": default_bus_arn(cfg, &cfg.pipeline.account)
    })
}

/// The branch updates of the configured repository and branch.
pub fn event_pattern(cfg: &Config) -> Value {
    json!({
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository_arn(&cfg.pipeline.region, &cfg.source.account, &cfg.source.repository)],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [cfg.source.branch]
        }
    })
}

/// A rule as PutRule and PutTargets take it: our pattern, one target sent as `role`.
pub fn rule(cfg: &Config, name: &str, target: &str, role: &str) -> Value {
    json!({
        "Name": name,
        "EventBusName": "default",
        "State": "ENABLED",
        "EventPattern": event_pattern(cfg),
        "Targets": [{ "Id": TARGET_ID, "Arn": target, "RoleArn": role }]
    })
}

fn trusts_eventbridge() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeAssumesTheRole",
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The documents of the wiring: (the pipeline account's, the source account's).
pub fn documents(cfg: &Config) -> (Vec<Document>, Vec<Document>) {
    let pa = &cfg.pipeline.account;
    let sa = &cfg.source.account;
    let pipeline = pipeline_arn(&cfg.pipeline.region, pa, &cfg.pipeline.name);
    let bus = default_bus_arn(cfg, pa);
    let start_role = start_role_arn(cfg);
    let forward_role = forward_role_arn(cfg);
    let on = format!(
        "the branch {} of {}",
        cfg.source.branch, cfg.source.repository
    );
    let policy = |sid: &str, action: &str, resource: &str| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{ "Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource }]
        })
    };
    let pipeline_docs = vec![
        Document {
            account: pa.clone(),
            kind: Kind::EventBusPolicy,
            resource: Some(bus.clone()),
            attach_to: format!("resource policy of the default event bus {bus} (this statement; PutPermission --principal {sa})"),
            purpose: "Lets the source account's rule put its CodeCommit events on the pipeline account's default bus.".into(),
            document: json!({ "Version": "2012-10-17", "Statement": [bus_statement(cfg)] }),
        },
        Document {
            account: pa.clone(),
            kind: Kind::TrustPolicy,
            resource: Some(start_role.clone()),
            attach_to: format!("trust policy of {start_role}"),
            purpose: "Lets EventBridge start the pipeline as this role.".into(),
            document: trusts_eventbridge(),
        },
        Document {
            account: pa.clone(),
            kind: Kind::RolePolicy,
            resource: Some(start_role.clone()),
            attach_to: format!("permissions of {start_role} (inline policy {})", super::ROLE_POLICY_NAME),
            purpose: "Start the pipeline, nothing else.".into(),
            document: policy("StartThePipeline", "codepipeline:StartPipelineExecution", &pipeline),
        },
        Document {
            account: pa.clone(),
            kind: Kind::EventRule,
            resource: Some(rule_arn(cfg, pa, &start_name(cfg))),
            attach_to: format!("rule {} on the default event bus", start_name(cfg)),
            purpose: format!("Starts the pipeline on the forwarded updates of {on}."),
            document: rule(cfg, &start_name(cfg), &pipeline, &start_role),
        },
    ];
    let source_docs = vec![
        Document {
            account: sa.clone(),
            kind: Kind::TrustPolicy,
            resource: Some(forward_role.clone()),
            attach_to: format!("trust policy of {forward_role}"),
            purpose: "Lets EventBridge send the source account's events to the pipeline account as this role.".into(),
            document: trusts_eventbridge(),
        },
        Document {
            account: sa.clone(),
            kind: Kind::RolePolicy,
            resource: Some(forward_role.clone()),
            attach_to: format!("permissions of {forward_role} (inline policy {})", super::ROLE_POLICY_NAME),
            purpose: "Put events on the pipeline account's default bus, nothing else.".into(),
            document: policy("PutEventsOnThePipelineBus", "events:PutEvents", &bus),
        },
        Document {
            account: sa.clone(),
            kind: Kind::EventRule,
            resource: Some(rule_arn(cfg, sa, &forward_name(cfg))),
            attach_to: format!("rule {} on the default event bus", forward_name(cfg)),
            purpose: format!("Forwards the updates of {on} to the pipeline account's default bus."),
            document: rule(cfg, &forward_name(cfg), &bus, &forward_role),
        },
    ];
    (pipeline_docs, source_docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let text = include_str!("../../../xpipeline.toml.example")
            .replace("trigger = \"push\"", "trigger = \"events\"");
        crate::config::parse(&text, "x", "x".into()).unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn the_pattern_is_codecommits_branch_update_of_the_repository() {
        let p = event_pattern(&cfg());
        assert_eq!(p["source"], json!(["aws.codecommit"]));
        assert_eq!(
            p["detail-type"],
            json!(["CodeCommit Repository State Change"])
        );
        assert_eq!(
            p["resources"],
            json!(["arn:aws:codecommit:eu-west-1:222222222222:hello"])
        );
        assert_eq!(p["detail"]["referenceType"], json!(["branch"]));
        assert_eq!(p["detail"]["referenceName"], json!(["main"]));
        assert!(
            p["detail"]["event"]
                .as_array()
                .unwrap()
                .contains(&json!("referenceUpdated"))
        );
    }

    #[test]
    fn the_source_rule_targets_the_pipeline_bus_and_the_pipeline_rule_the_pipeline() {
        let (pipeline, source) = documents(&cfg());
        let forward = source.iter().find(|d| d.kind == Kind::EventRule).unwrap();
        assert_eq!(
            forward.resource.as_deref(),
            Some("arn:aws:events:eu-west-1:222222222222:rule/hello-pipeline-events-forward")
        );
        let t = &forward.document["Targets"][0];
        assert_eq!(
            t["Arn"],
            "arn:aws:events:eu-west-1:111111111111:event-bus/default"
        );
        assert_eq!(
            t["RoleArn"],
            "arn:aws:iam::222222222222:role/hello-pipeline-events-forward"
        );
        let start = pipeline.iter().find(|d| d.kind == Kind::EventRule).unwrap();
        let t = &start.document["Targets"][0];
        assert_eq!(
            t["Arn"],
            "arn:aws:codepipeline:eu-west-1:111111111111:hello-pipeline"
        );
        assert_eq!(
            t["RoleArn"],
            "arn:aws:iam::111111111111:role/hello-pipeline-events-start"
        );
        assert_eq!(
            forward.document["EventPattern"],
            start.document["EventPattern"]
        );
    }

    #[test]
    fn the_bus_statement_names_the_source_account_as_put_permission_writes_it() {
        let s = bus_statement(&cfg());
        assert_eq!(s["Sid"], "SourceAccount222222222222SendsEvents");
        assert_eq!(s["Principal"]["AWS"], "arn:aws:iam::222222222222:root");
        assert_eq!(s["Action"], "events:PutEvents");
        let sid = s["Sid"].as_str().unwrap();
        assert!(
            sid.len() <= 64
                && sid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn names_fit_iam_and_eventbridge_limits() {
        let mut c = cfg();
        c.pipeline.name = format!("team@{}", "x".repeat(95));
        for n in [forward_name(&c), start_name(&c)] {
            assert!(n.len() <= 64, "{n}");
            assert!(n.starts_with("team-x"), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{n}"
            );
        }
    }
}
