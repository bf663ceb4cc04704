//! Manual approvals: what the declaration says of an approval action (link, comment,
//! notification topic), the change set its stage created before the gate, an approval waiting
//! for an answer (GetPipelineState gives its token), which one `approve` answers, and who may
//! answer it (the principals allowed `codepipeline:PutApprovalResult` on the action's ARN).

use serde::Serialize;

use crate::model::text::one_line;

/// actionTypeId.provider of a manual approval action (category Approval).
pub const MANUAL: &str = "Manual";
/// actionTypeId.provider of a CloudFormation deploy action.
pub const CLOUDFORMATION: &str = "CloudFormation";

/// The ARN `codepipeline:PutApprovalResult` is allowed on for one approval action.
pub fn action_arn(pipeline_arn: &str, stage: &str, action: &str) -> String {
    format!("{pipeline_arn}/{stage}/{action}")
}

/// The change set a stage's CreateChangeSet action (ActionMode CHANGE_SET_REPLACE) creates,
/// read from the declaration: where to describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSetRef {
    pub stack: String,
    pub change_set: String,
    /// The account of the action's role (the target account); the pipeline's when unset.
    pub account: String,
    pub region: String,
}

/// What the declaration says of one approval action, and the change set of its stage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gate {
    pub stage: String,
    pub action: String,
    pub external_link: Option<String>,
    pub custom_data: Option<String>,
    pub notification_arn: Option<String>,
    pub change_set: Option<ChangeSetRef>,
}

/// A CloudFormation action of the declaration: the stack it deploys, where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployAction {
    pub stage: String,
    pub action: String,
    pub stack: String,
    /// The account of the action's role (the target account); the pipeline's when unset.
    pub account: String,
    pub region: String,
}

/// The approval and CloudFormation actions of a pipeline's declaration, with its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gates {
    pub pipeline_arn: String,
    pub gates: Vec<Gate>,
    pub deploys: Vec<DeployAction>,
}

impl Gates {
    pub fn get(&self, stage: &str, action: &str) -> Option<&Gate> {
        self.gates
            .iter()
            .find(|g| g.stage == stage && g.action == action)
    }

    pub fn deploy(&self, stage: &str, action: &str) -> Option<&DeployAction> {
        self.deploys
            .iter()
            .find(|d| d.stage == stage && d.action == action)
    }
}

/// An approval action waiting for an answer, as GetPipelineState reports it.
#[derive(Clone, PartialEq, Eq)]
pub struct Waiting {
    pub stage: String,
    pub action: String,
    /// The execution the stage runs (its latestExecution).
    pub execution_id: Option<String>,
    /// What PutApprovalResult must send back.
    pub token: String,
}

/// The token authorises an answer: kept out of Debug, as out of every output.
impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("stage", &self.stage)
            .field("action", &self.action)
            .field("execution_id", &self.execution_id)
            .finish_non_exhaustive()
    }
}

/// An approval waiting, with what its declaration says: what the watch, `status` and
/// `approve` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub stage: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_arn: Option<String>,
    /// Who may answer: the principals allowed codepipeline:PutApprovalResult on this ARN.
    pub approver_resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<ChangeSetRef>,
}

impl Pending {
    /// The pending approval `stage/action` as the declaration describes it.
    pub fn of(gates: &Gates, stage: &str, action: &str, execution_id: Option<&str>) -> Pending {
        let gate = gates.get(stage, action).cloned().unwrap_or_default();
        Pending {
            stage: stage.to_owned(),
            action: action.to_owned(),
            execution_id: execution_id.map(str::to_owned),
            external_link: gate.external_link,
            comment: gate.custom_data,
            notification_arn: gate.notification_arn,
            approver_resource: action_arn(&gates.pipeline_arn, stage, action),
            change_set: gate.change_set,
        }
    }

    /// The command that answers it: `cargo xpipeline approve --stage Prod`.
    pub fn command(&self) -> String {
        format!("cargo xpipeline approve --stage {}", quoted(&self.stage))
    }
}

/// A stage name as one shell word.
fn quoted(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", one_line(s).replace('\'', "'\\''"))
    }
}

/// Why `approve` found nothing to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotChosen {
    /// No approval waits (in that execution, in that stage).
    None(String),
    /// Several wait and no --stage says which: usage.
    Several(String),
}

/// The approval `approve` answers among those waiting: the one of `execution` (when given)
/// in `stage` (when given); refused when none waits or several do and no --stage chooses.
pub fn choose(
    pipeline: &str,
    waiting: Vec<Waiting>,
    execution: Option<&str>,
    stage: Option<&str>,
) -> Result<Waiting, NotChosen> {
    let all: Vec<String> = waiting
        .iter()
        .map(|w| format!("{}/{}", w.stage, w.action))
        .collect();
    let mut found: Vec<Waiting> = waiting
        .into_iter()
        .filter(|w| execution.is_none_or(|e| w.execution_id.as_deref() == Some(e)))
        .filter(|w| stage.is_none_or(|s| w.stage == s || format!("{}/{}", w.stage, w.action) == s))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let mut msg = format!("no approval of pipeline {pipeline} is waiting for an answer");
            if let Some(e) = execution {
                msg.push_str(&format!(" in execution {}", one_line(e)));
            }
            if let Some(s) = stage {
                msg.push_str(&format!(" in stage {}", one_line(s)));
            }
            if !all.is_empty() {
                msg.push_str(&format!(" (waiting: {})", all.join(", ")));
            }
            Err(NotChosen::None(msg))
        }
        _ => {
            // Two approvals of one stage are told apart by STAGE/ACTION.
            let same_stage = found
                .iter()
                .any(|w| found.iter().filter(|x| x.stage == w.stage).count() > 1);
            let stages: Vec<String> = found
                .iter()
                .map(|w| match same_stage {
                    true => format!("{}/{}", w.stage, w.action),
                    false => w.stage.clone(),
                })
                .collect();
            Err(NotChosen::Several(format!(
                "{} approvals of pipeline {pipeline} are waiting ({}): say which with --stage {}",
                found.len(),
                found
                    .iter()
                    .map(|w| format!("{}/{}", w.stage, w.action))
                    .collect::<Vec<_>>()
                    .join(", "),
                stages.join(" or --stage ")
            )))
        }
    }
}

/// The summary sent with the answer (PutApprovalResult takes at most 512 characters).
pub fn summary(comment: Option<&str>, approve: bool, who: &str) -> String {
    let text = match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => c.to_owned(),
        None => format!(
            "{} by {who} with cargo xpipeline",
            if approve { "Approved" } else { "Rejected" }
        ),
    };
    text.chars().take(512).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(stage: &str, exec: &str) -> Waiting {
        Waiting {
            stage: stage.into(),
            action: "Approve".into(),
            execution_id: Some(exec.into()),
            token: "tok-secret".into(),
        }
    }

    #[test]
    fn the_one_waiting_approval_is_chosen() {
        let w = choose("p", vec![waiting("Prod", "e-1")], None, None).unwrap();
        assert_eq!(w.stage, "Prod");
        let w = choose("p", vec![waiting("Prod", "e-1")], Some("e-1"), Some("Prod")).unwrap();
        assert_eq!(w.token, "tok-secret");
    }

    #[test]
    fn none_waiting_is_refused_naming_what_was_asked() {
        let e = choose("p", vec![], None, None).unwrap_err();
        assert_eq!(
            e,
            NotChosen::None("no approval of pipeline p is waiting for an answer".into())
        );
        let e = choose("p", vec![waiting("Prod", "e-1")], Some("e-2"), None).unwrap_err();
        assert_eq!(
            e,
            NotChosen::None(
                "no approval of pipeline p is waiting for an answer in execution e-2 (waiting: Prod/Approve)"
                    .into()
            )
        );
    }

    #[test]
    fn several_waiting_need_a_stage() {
        let both = vec![waiting("Staging", "e-1"), waiting("Prod", "e-2")];
        let e = choose("p", both.clone(), None, None).unwrap_err();
        assert_eq!(
            e,
            NotChosen::Several(
                "2 approvals of pipeline p are waiting (Staging/Approve, Prod/Approve): say which with --stage Staging or --stage Prod"
                    .into()
            )
        );
        assert_eq!(choose("p", both, None, Some("Prod")).unwrap().stage, "Prod");
        let mut second = waiting("Prod", "e-2");
        second.action = "SecurityReview".into();
        let one_stage = vec![waiting("Prod", "e-2"), second];
        let e = choose("p", one_stage.clone(), None, Some("Prod")).unwrap_err();
        assert!(
            matches!(&e, NotChosen::Several(m) if m.ends_with("--stage Prod/Approve or --stage Prod/SecurityReview")),
            "{e:?}"
        );
        let w = choose("p", one_stage, None, Some("Prod/SecurityReview")).unwrap();
        assert_eq!(w.action, "SecurityReview");
    }

    #[test]
    fn the_token_stays_out_of_debug() {
        let d = format!("{:?}", waiting("Prod", "e-1"));
        assert!(!d.contains("tok-secret"), "{d}");
        assert!(d.contains("Prod"), "{d}");
    }

    #[test]
    fn a_pending_approval_names_who_may_answer_and_how() {
        let gates = Gates {
            pipeline_arn: "arn:aws:codepipeline:eu-west-1:111111111111:hello".into(),
            gates: vec![Gate {
                stage: "Prod".into(),
                action: "Approve".into(),
                external_link: Some("https://example.com/review".into()),
                custom_data: Some("Look at the change set".into()),
                ..Gate::default()
            }],
            deploys: vec![],
        };
        let p = Pending::of(&gates, "Prod", "Approve", Some("e-1"));
        assert_eq!(
            p.approver_resource,
            "arn:aws:codepipeline:eu-west-1:111111111111:hello/Prod/Approve"
        );
        assert_eq!(p.comment.as_deref(), Some("Look at the change set"));
        assert_eq!(p.command(), "cargo xpipeline approve --stage Prod");
        let odd = Pending::of(&gates, "Prod eu", "Approve", None);
        assert_eq!(odd.command(), "cargo xpipeline approve --stage 'Prod eu'");
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"approverResource\""), "{json}");
        assert!(json.contains("\"externalLink\""), "{json}");
    }

    #[test]
    fn the_summary_is_the_comment_or_names_the_user() {
        assert_eq!(summary(Some(" ok "), true, "u"), "ok");
        assert_eq!(
            summary(None, true, "arn:aws:iam::1:user/alice"),
            "Approved by arn:aws:iam::1:user/alice with cargo xpipeline"
        );
        assert!(summary(Some(""), false, "bob").starts_with("Rejected by bob"));
        assert_eq!(summary(Some(&"x".repeat(600)), true, "u").len(), 512);
    }
}
