//! Approvals as text: the line the watch shows once when an execution reaches a manual
//! approval, and `approve`'s result.

use std::fmt;

use serde::Serialize;

use crate::model::execution::approval::Pending;
use crate::model::execution::deploy::{ChangeSetSummary, DeployFailure};
use crate::model::text::one_line;

/// What the watch says once when an approval starts waiting, line by line: the stage, the
/// comment, the link, the change set, the command that answers and who may run it.
pub fn waiting_lines(p: &Pending) -> Vec<String> {
    let mut head = format!("{}/{} waits for approval", p.stage, p.action);
    // The whole comment, its lines joined: the approver's instructions.
    let comment = p
        .comment
        .as_deref()
        .map(|c| one_line(&c.lines().collect::<Vec<_>>().join(" ")));
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        head.push_str(&format!(": {c}"));
    }
    let mut out = vec![head];
    if let Some(l) = &p.external_link {
        out.push(format!("  review: {}", one_line(l)));
    }
    if let Some(cs) = &p.change_set {
        out.push(format!(
            "  change set {} of stack {} in account {}",
            cs.change_set, cs.stack, cs.account
        ));
    }
    out.push(format!(
        "  answer: `{}` (or `{} --reject`); allowed to principals with codepipeline:PutApprovalResult on {}",
        p.command(),
        p.command(),
        p.approver_resource
    ));
    out
}

/// What explains a failed deploy, after the failure line: the failing resource of the
/// stack's latest operation and its reason, then the fix of a known cause.
pub fn deploy_failure_text(d: &DeployFailure) -> String {
    let mut msg = String::new();
    if let Some(r) = &d.resource {
        msg.push_str(&format!(
            "\n  the stack's latest operation failed at {} ({}), stack {} in account {}",
            one_line(r),
            one_line(d.resource_type.as_deref().unwrap_or("?")),
            d.stack,
            d.account
        ));
        if let Some(why) = &d.reason {
            msg.push_str(&format!(": {}", one_line(why)));
        }
    }
    if let Some(fix) = &d.fix {
        msg.push_str(&format!("\n  hint: {}", one_line(fix)));
    }
    msg
}

/// The result of `approve`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub pipeline: String,
    /// Approved or Rejected.
    pub result: &'static str,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    pub approval: Pending,
    /// The change set approved, when it could be read in the target account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<ChangeSetSummary>,
}

impl fmt::Display for Answered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.approval;
        write!(
            f,
            "{} {}/{} of pipeline {}",
            self.result.to_lowercase(),
            a.stage,
            a.action,
            self.pipeline
        )?;
        if let Some(e) = &a.execution_id {
            write!(f, ", execution {e}")?;
        }
        write!(f, "\n  summary: {}", one_line(&self.summary))?;
        if let Some(c) = &self.change_set {
            write!(
                f,
                "\n  change set {} of stack {}: {} added, {} modified, {} removed",
                c.change_set,
                c.stack,
                c.added.len(),
                c.modified.len(),
                c.removed.len()
            )?;
        }
        if self.result == "Approved" {
            write!(f, "\n  follow it with `cargo xpipeline status --watch`")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::execution::approval::{Gate, Gates};

    fn pending() -> Pending {
        let gates = Gates {
            pipeline_arn: "arn:aws:codepipeline:eu-west-1:111111111111:hello".into(),
            gates: vec![Gate {
                stage: "prod".into(),
                action: "Approve".into(),
                external_link: Some("https://review/1".into()),
                custom_data: Some("Check the\nchange set".into()),
                ..Gate::default()
            }],
            deploys: vec![],
        };
        Pending::of(&gates, "prod", "Approve", Some("e-1"))
    }

    #[test]
    fn the_waiting_line_says_where_who_and_how() {
        let t = waiting_lines(&pending());
        assert_eq!(
            t,
            [
                "prod/Approve waits for approval: Check the change set",
                "  review: https://review/1",
                "  answer: `cargo xpipeline approve --stage prod` (or `cargo xpipeline approve --stage prod --reject`); allowed to principals with codepipeline:PutApprovalResult on arn:aws:codepipeline:eu-west-1:111111111111:hello/prod/Approve"
            ]
        );
    }

    #[test]
    fn the_answer_reads_as_text_and_json() {
        let a = Answered {
            pipeline: "hello".into(),
            result: "Rejected",
            summary: "not today".into(),
            answered_at: None,
            approval: pending(),
            change_set: None,
        };
        assert_eq!(
            a.to_string(),
            "rejected prod/Approve of pipeline hello, execution e-1\n  summary: not today"
        );
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"result\":\"Rejected\""), "{json}");
        assert!(json.contains("\"approverResource\":\"arn:aws:codepipeline:eu-west-1:111111111111:hello/prod/Approve\""), "{json}");
        assert!(!json.contains("token"), "{json}");
    }

    #[test]
    fn a_failed_deploy_names_its_resource_and_the_fix() {
        use crate::model::execution::deploy::{DeployTarget, StackEvent};
        use crate::model::execution::view::tests::{layout, run, snap};
        use crate::model::execution::{ActionError, ActionStatus as A, ExecutionStatus as E, View};
        use crate::ui::execution::failure;
        let mut failed = run("prod", "ExecuteChangeSet", A::Failed, 100.0, 130.0);
        failed.result.error = Some(ActionError {
            code: Some("JobFailed".into()),
            message: "Stack hello-prod failed".into(),
        });
        let mut v = View::of(&layout(), &snap(E::Failed, vec![failed]), 140.0);
        let target = DeployTarget {
            stack: Some("hello-prod".into()),
            account: Some("444444444444".into()),
            region: Some("eu-west-1".into()),
            profile: None,
        };
        let event = StackEvent {
            logical_id: "Role".into(),
            resource_type: "AWS::IAM::Role".into(),
            status: "CREATE_FAILED".into(),
            reason: Some("Requires capabilities : [CAPABILITY_NAMED_IAM]".into()),
        };
        v.attach_deploy_failure(
            "prod",
            "ExecuteChangeSet",
            DeployFailure::of(&target, Some(&event), None),
        );
        let msg = failure(&v).unwrap();
        assert!(
            msg.contains("\n  the stack's latest operation failed at Role (AWS::IAM::Role), stack hello-prod in account 444444444444: Requires capabilities : [CAPABILITY_NAMED_IAM]\n  hint: the template needs what CloudFormation says"),
            "{msg}"
        );
        assert!(msg.contains("`capabilities`"), "{msg}");
        // A watch stopped at an approval has not failed.
        let at_gate = View::of(&layout(), &snap(E::InProgress, vec![]), 1.0);
        assert_eq!(failure(&at_gate), None);
    }
}
