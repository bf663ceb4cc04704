//! The whole stages a plan adds or removes, named — with the stack and the account a deploy
//! stage deploys to — so that `plan` and `push` say `+ stage Staging (deploy hello-staging to
//! 333333333333)` before the field diff. Pure.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::diff::Change;

/// A stage a write adds or removes: its name, and for a deploy stage (a CloudFormation
/// action) the stack and the account it deploys to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl StageChange {
    /// The stage `name` with what `stage` (the API's JSON of it) deploys, if it deploys.
    pub fn of(name: &str, stage: Option<&Value>) -> StageChange {
        let cfn = stage
            .and_then(|s| s.get("actions"))
            .and_then(Value::as_array)
            .and_then(|actions| {
                actions.iter().find(|a| {
                    a.pointer("/actionTypeId/provider").and_then(Value::as_str)
                        == Some("CloudFormation")
                })
            });
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        StageChange {
            name: name.to_owned(),
            stack: text(cfn.and_then(|a| a.pointer("/configuration/StackName"))),
            account: cfn
                .and_then(|a| a.get("roleArn"))
                .and_then(Value::as_str)
                .and_then(crate::model::arn::account_of)
                .map(str::to_owned),
        }
    }
}

impl fmt::Display for StageChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage {}", self.name)?;
        match (&self.stack, &self.account) {
            (Some(stack), Some(account)) => write!(f, " (deploy {stack} to {account})"),
            (Some(stack), None) => write!(f, " (deploy {stack})"),
            _ => Ok(()),
        }
    }
}

/// The stages `changes` add and remove, named from the declared and the live pipeline.
pub fn whole_stages(
    changes: &[Change],
    declared: &Value,
    live: &Value,
) -> (Vec<StageChange>, Vec<StageChange>) {
    let stage = |p: &Value, name: &str| {
        p.get("stages")
            .and_then(Value::as_array)
            .and_then(|s| {
                s.iter()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
            })
            .cloned()
    };
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for c in changes {
        let Some(name) = c.whole_stage() else {
            continue;
        };
        match (&c.old, &c.new) {
            (None, Some(_)) => added.push(StageChange::of(name, stage(declared, name).as_ref())),
            (Some(_), None) => removed.push(StageChange::of(name, stage(live, name).as_ref())),
            _ => {}
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::model::pipeline::declare::deploy::tests::deploy;
    use crate::model::pipeline::declare::tests::cfg;
    use crate::model::pipeline::declare::{declare, to_json};
    use crate::model::pipeline::plan::{Live, Plan};

    fn live(cfg: &crate::config::Config) -> Live {
        Live {
            arn: "arn:aws:codepipeline:eu-west-1:111111111111:hello-pipeline".into(),
            version: Some(4),
            declaration: to_json(&declare(cfg).unwrap()),
            tags: BTreeMap::from([("managed-by".into(), "cargo-xpipeline".into())]),
        }
    }

    #[test]
    fn added_and_removed_deploy_stages_are_named_before_the_field_diff() {
        let mut was = cfg();
        was.deploy = vec![deploy("Prod", "444444444444")];
        was.build.project = "old-build".into();
        let mut now = cfg();
        now.deploy = vec![deploy("Staging", "333333333333")];
        let plan = Plan::compare(&now, Some(live(&was)), None).unwrap();
        assert_eq!(
            plan.lines(),
            [
                "+ stage Staging (deploy hello-staging to 333333333333)",
                "- stage Prod (deploy hello-prod to 444444444444)",
                r#"stages[Build].actions[Build].configuration.ProjectName: "old-build" -> "hello-build""#,
            ]
        );
        // Counted as changes, listed once each.
        assert_eq!(plan.changes.len(), 3);
        assert!(
            plan.to_string()
                .starts_with("pipeline hello-pipeline (version 4): 3 changes\n  + stage Staging"),
            "{plan}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json["stagesAdded"],
            serde_json::json!([{"name": "Staging", "stack": "hello-staging", "account": "333333333333"}])
        );
        assert_eq!(json["stagesRemoved"][0]["name"], "Prod");
    }

    #[test]
    fn a_removed_stage_that_deploys_nothing_is_named_alone() {
        let c = cfg();
        let mut l = live(&c);
        l.declaration["stages"].as_array_mut().unwrap().push(
            serde_json::json!({"name": "Lint", "actions": [{"name": "Lint", "runOrder": 1}]}),
        );
        let plan = Plan::compare(&c, Some(l), None).unwrap();
        assert_eq!(plan.lines(), ["- stage Lint"]);
        assert!(plan.stages_added.is_empty());
    }

    #[test]
    fn an_unchanged_deploy_stage_is_not_named() {
        let mut c = cfg();
        c.deploy = vec![deploy("Staging", "333333333333")];
        let plan = Plan::compare(&c, Some(live(&c)), None).unwrap();
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert!(plan.stages_added.is_empty() && plan.stages_removed.is_empty());
    }
}
