//! CloudFormation deploy actions, read: the change set an approver approves (resources added,
//! modified, removed: DescribeChangeSet), the failing resource of a deploy (the first
//! *_FAILED event of the stack's latest operation: DescribeStackEvents), and the known causes
//! of a deploy failure, each with its fix (`diagnose`, matched on AWS's own wording).

use std::fmt;

use serde::Serialize;

use crate::model::arn::parse_arn;
use crate::model::text::one_line;

/// One resource a change set changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub logical_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// CloudFormation's Replacement for a modification: True, False, Conditional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// A change set as an approver reads it (DescribeChangeSet).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSetSummary {
    pub stack: String,
    pub change_set: String,
    pub account: String,
    /// CREATE_COMPLETE, FAILED, ...
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub added: Vec<ResourceChange>,
    pub modified: Vec<ResourceChange>,
    pub removed: Vec<ResourceChange>,
}

impl ChangeSetSummary {
    /// Sort one change by CloudFormation's Action (Add, Modify, Remove; Import counts as
    /// added, Dynamic as modified).
    pub fn push(&mut self, action: &str, change: ResourceChange) {
        match action {
            "Add" | "Import" => self.added.push(change),
            "Remove" => self.removed.push(change),
            _ => self.modified.push(change),
        }
    }
}

/// `change set xpipeline-hello of stack hello-prod (account 444…): 1 added, 0 modified, 0 removed`
/// then one line per resource.
impl fmt::Display for ChangeSetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "change set {} of stack {} (account {}): {} added, {} modified, {} removed",
            self.change_set,
            self.stack,
            self.account,
            self.added.len(),
            self.modified.len(),
            self.removed.len()
        )?;
        if self.status != "CREATE_COMPLETE" {
            write!(f, "; status {}", one_line(&self.status))?;
            if let Some(r) = &self.status_reason {
                write!(f, ": {}", one_line(r))?;
            }
        }
        for (mark, list) in [
            ("+", &self.added),
            ("~", &self.modified),
            ("-", &self.removed),
        ] {
            for c in list {
                write!(f, "\n  {mark} {}", one_line(&c.logical_id))?;
                if let Some(t) = &c.resource_type {
                    write!(f, " ({})", one_line(t))?;
                }
                if c.replacement.as_deref() == Some("True") {
                    f.write_str(", replaced")?;
                } else if c.replacement.as_deref() == Some("Conditional") {
                    f.write_str(", may be replaced")?;
                }
            }
        }
        Ok(())
    }
}

/// One stack event (DescribeStackEvents, which lists the newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// The failing resource of the stack's latest operation: among the events newest first, down
/// to the one of the stack itself that began that operation (*_IN_PROGRESS with reason "User
/// Initiated"), the earliest *_FAILED event of a resource other than the stack.
pub fn first_failure<'a>(stack: &str, newest_first: &'a [StackEvent]) -> Option<&'a StackEvent> {
    let mut found = None;
    for e in newest_first {
        let began = e.logical_id == stack
            && e.status.ends_with("_IN_PROGRESS")
            && e.reason.as_deref() == Some("User Initiated");
        if began {
            break;
        }
        if e.status.ends_with("_FAILED") && e.logical_id != stack {
            found = Some(e);
        }
    }
    found
}

/// Where a deploy action deploys, as far as it is known: the target account's stack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployTarget {
    pub stack: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The profile given for that account with --target-profile.
    pub profile: Option<String>,
}

/// A failed CloudFormation action explained: the failing resource and its reason (from the
/// stack's events, when they could be read), the known cause and its fix.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployFailure {
    pub stack: String,
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl DeployFailure {
    /// From the failing event (when read) and the action's error message: the event's reason
    /// is diagnosed first, then the action's message.
    pub fn of(
        target: &DeployTarget,
        event: Option<&StackEvent>,
        action_message: Option<&str>,
    ) -> DeployFailure {
        let diagnosis = event
            .and_then(|e| e.reason.as_deref())
            .and_then(|r| diagnose(r, target))
            .or_else(|| action_message.and_then(|m| diagnose(m, target)));
        DeployFailure {
            stack: target.stack.clone().unwrap_or_default(),
            account: target.account.clone().unwrap_or_default(),
            resource: event.map(|e| e.logical_id.clone()),
            resource_type: event.map(|e| e.resource_type.clone()),
            reason: event.and_then(|e| e.reason.clone()),
            cause: diagnosis.as_ref().map(|d| d.cause.to_owned()),
            fix: diagnosis.map(|d| d.fix),
        }
    }
}

/// A known cause of a failed deploy and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub cause: &'static str,
    pub fix: String,
}

/// The stack, account and region a CloudFormation message names with a stack ARN
/// (`Stack:arn:aws:cloudformation:eu-west-1:333333333333:stack/hello/uuid is in ...`).
fn stack_arn_in(message: &str) -> Option<(String, String, String)> {
    let at = message.find("arn:")?;
    let word: String = message[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
        .collect();
    let arn = parse_arn(&word)?;
    let name = arn.resource.strip_prefix("stack/")?.split('/').next()?;
    (arn.service == "cloudformation").then(|| {
        (
            name.to_owned(),
            arn.account.to_owned(),
            arn.region.to_owned(),
        )
    })
}

const BOOTSTRAP: &str = "cargo xpipeline bootstrap";

/// The known cause of a failed CloudFormation action (its error message, or its failing
/// event's reason), with its fix; `None` when the wording is not one of them.
pub fn diagnose(message: &str, target: &DeployTarget) -> Option<Diagnosis> {
    let m = message;
    let lower = m.to_ascii_lowercase();
    let account = target.account.as_deref().unwrap_or("the target account");
    if lower.contains("cross-account pass role is not allowed") {
        return Some(Diagnosis {
            cause: "cross-account pass role",
            fix: format!(
                "CloudFormation's execution role must be in the deploy role's account ({account}): \
                 set `execution-role-arn` of this [[deploy]] to a role of that account (or leave it \
                 out for the one bootstrap creates), then `cargo xpipeline push`"
            ),
        });
    }
    if m.contains("is in ROLLBACK_COMPLETE state and can not be updated")
        || m.contains("non-updatable status: ROLLBACK_COMPLETE")
    {
        let (stack, acct, region) = match stack_arn_in(m) {
            Some((s, a, r)) => (s, a, r),
            None => (
                target.stack.clone().unwrap_or_else(|| "STACK".into()),
                account.to_owned(),
                target.region.clone().unwrap_or_else(|| "REGION".into()),
            ),
        };
        let profile = match &target.profile {
            Some(p) => format!(" --profile {p}"),
            None => format!(" --profile <a profile of account {acct}>"),
        };
        return Some(Diagnosis {
            cause: "stack in ROLLBACK_COMPLETE",
            fix: format!(
                "its first creation failed and was rolled back; AWS can update such a stack in \
                 neither mode: delete it in account {acct} with `aws cloudformation delete-stack \
                 --stack-name {stack} --region {region}{profile}`, then run the stage again"
            ),
        });
    }
    if let Some(at) = m.find("Requires capabilities") {
        let wanted = one_line(&m[at..]);
        return Some(Diagnosis {
            cause: "missing capability",
            fix: format!(
                "the template needs what CloudFormation says ({wanted}): add it to `capabilities` \
                 of this [[deploy]] (default [\"CAPABILITY_NAMED_IAM\", \"CAPABILITY_AUTO_EXPAND\"]), \
                 then `cargo xpipeline push`"
            ),
        });
    }
    if lower.contains("not authorized to perform: sts:assumerole")
        || lower.contains("not authorized to perform assumerole")
    {
        return Some(Diagnosis {
            cause: "deploy role not assumable",
            fix: format!(
                "the deploy role in account {account} must trust the pipeline's service role and \
                 the service role must be allowed sts:AssumeRole on it: run `{BOOTSTRAP}`"
            ),
        });
    }
    if lower.contains("is invalid or cannot be assumed") {
        return Some(Diagnosis {
            cause: "execution role not assumable",
            fix: format!(
                "CloudFormation must be able to assume the execution role: `execution-role-arn` \
                 must name a role of account {account} that trusts cloudformation.amazonaws.com; \
                 run `{BOOTSTRAP}`, which creates <pipeline>-cfn-execution so"
            ),
        });
    }
    if lower.contains("invalid principal") {
        return Some(Diagnosis {
            cause: "invalid principal",
            fix: format!(
                "a policy names a role that does not exist (yet): run `{BOOTSTRAP}`, which creates \
                 the target roles and grants them by aws:PrincipalArn"
            ),
        });
    }
    let kms = lower.contains("kms:decrypt")
        || lower.contains("kms:generatedatakey")
        || lower.contains("ciphertext refers to a customer master key")
        || lower.contains("kmsaccessdenied")
        || lower.contains("denied by kms")
        || lower.contains("aws kms key named");
    if kms {
        return Some(Diagnosis {
            cause: "artifact key not readable",
            fix: format!(
                "the artifact key's policy must let the deploy and execution roles of account \
                 {account} use it: run `{BOOTSTRAP}` (`cargo xpipeline policies` shows the grant)"
            ),
        });
    }
    if lower.contains("access denied")
        || lower.contains("your access has been denied by s3")
        || lower.contains("permission to getobject")
    {
        return Some(Diagnosis {
            cause: "artifact not readable",
            fix: format!(
                "the artifact bucket's policy must let the deploy and execution roles of account \
                 {account} read the pipeline's objects: run `{BOOTSTRAP}` (`cargo xpipeline \
                 policies` shows the grant)"
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> DeployTarget {
        DeployTarget {
            stack: Some("hello-prod".into()),
            account: Some("444444444444".into()),
            region: Some("eu-west-1".into()),
            profile: None,
        }
    }

    fn cause(m: &str) -> Option<&'static str> {
        diagnose(m, &target()).map(|d| d.cause)
    }

    #[test]
    fn aws_wordings_are_recognised() {
        assert_eq!(
            cause(
                "Cross-account pass role is not allowed (Service: AmazonCloudFormation; Status Code: 403; Error Code: AccessDenied)"
            ),
            Some("cross-account pass role")
        );
        assert_eq!(
            cause("Requires capabilities : [CAPABILITY_NAMED_IAM]"),
            Some("missing capability")
        );
        assert_eq!(
            cause(
                "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::444444444444:role/hello-deploy"
            ),
            Some("deploy role not assumable")
        );
        assert_eq!(
            cause(
                "User: arn:aws:sts::111111111111:assumed-role/hello-codepipeline/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444444444444:role/hello-deploy"
            ),
            Some("deploy role not assumable")
        );
        assert_eq!(
            cause(
                "Your access has been denied by S3, please make sure your request credentials have permission to GetObject for hello-artifacts/hello/BuildArtif/abc"
            ),
            Some("artifact not readable")
        );
        assert_eq!(
            cause("S3 error: Access Denied"),
            Some("artifact not readable")
        );
        assert_eq!(
            cause(
                "User: arn:aws:sts::444444444444:assumed-role/hello-cfn-execution/x is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-1:111111111111:key/k"
            ),
            Some("artifact key not readable")
        );
        assert_eq!(
            cause("Invalid principal in policy: \"AWS\":\"arn:aws:iam::444444444444:role/x\""),
            Some("invalid principal")
        );
        assert_eq!(
            cause(
                "Your access has been denied by KMS, please make sure your request credentials have permission to use the key arn:aws:kms:eu-west-1:111111111111:key/k for b/o. KMS Error Code: AccessDeniedException"
            ),
            Some("artifact key not readable")
        );
        assert_eq!(
            cause(
                "Insufficient permissions The service role or action role doesn\u{2019}t have the permissions required to access the Amazon S3 bucket named b. Update the IAM role permissions, and then try again. Error: Amazon S3:AccessDenied:Access Denied"
            ),
            Some("artifact not readable")
        );
        assert_eq!(
            cause(
                "Role arn:aws:iam::444444444444:role/hello-cfn-execution is invalid or cannot be assumed"
            ),
            Some("execution role not assumable")
        );
        assert_eq!(cause("Template format error: unknown"), None);
    }

    #[test]
    fn rollback_complete_names_the_delete_command_of_the_stack_in_its_account() {
        let m = "Stack:arn:aws:cloudformation:eu-west-1:333333333333:stack/hello-staging/0a1b is in ROLLBACK_COMPLETE state and can not be updated.";
        let d = diagnose(m, &DeployTarget::default()).unwrap();
        assert!(
            d.fix.contains(
                "`aws cloudformation delete-stack --stack-name hello-staging --region eu-west-1 --profile <a profile of account 333333333333>`"
            ),
            "{}",
            d.fix
        );
        assert!(d.fix.contains("in account 333333333333"), "{}", d.fix);
        // Without an ARN in the message: the declared stack, and the profile given for it.
        let mut t = target();
        t.profile = Some("prod-admin".into());
        let d = diagnose(
            "Stack:hello-prod is in ROLLBACK_COMPLETE state and can not be updated.",
            &t,
        )
        .unwrap();
        assert!(
            d.fix
                .contains("--stack-name hello-prod --region eu-west-1 --profile prod-admin`"),
            "{}",
            d.fix
        );
    }

    #[test]
    fn the_failing_resource_is_the_first_failure_of_the_latest_operation() {
        let ev = |id: &str, status: &str, reason: Option<&str>| StackEvent {
            logical_id: id.into(),
            resource_type: "AWS::S3::Bucket".into(),
            status: status.into(),
            reason: reason.map(str::to_owned),
        };
        // Newest first: this operation's rollback, then its failures, then its start; then an
        // older operation's failure, which is not this one's.
        let events = [
            ev("hello", "ROLLBACK_COMPLETE", None),
            ev(
                "Queue",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev("Bucket", "CREATE_FAILED", Some("bucket already exists")),
            ev("hello", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ev("Old", "UPDATE_FAILED", Some("old")),
        ];
        let f = first_failure("hello", &events).unwrap();
        assert_eq!(f.logical_id, "Bucket");
        assert_eq!(first_failure("hello", &events[3..]), None);
    }

    #[test]
    fn a_failure_is_explained_by_its_event_first_then_the_action_message() {
        let e = StackEvent {
            logical_id: "Role".into(),
            resource_type: "AWS::IAM::Role".into(),
            status: "CREATE_FAILED".into(),
            reason: Some("Requires capabilities : [CAPABILITY_NAMED_IAM]".into()),
        };
        let f = DeployFailure::of(
            &target(),
            Some(&e),
            Some("Cross-account pass role is not allowed"),
        );
        assert_eq!(f.resource.as_deref(), Some("Role"));
        assert_eq!(f.cause.as_deref(), Some("missing capability"));
        let f = DeployFailure::of(
            &target(),
            None,
            Some("Cross-account pass role is not allowed."),
        );
        assert_eq!(f.cause.as_deref(), Some("cross-account pass role"));
        assert_eq!(f.stack, "hello-prod");
        let f = DeployFailure::of(&target(), None, Some("Template error"));
        assert_eq!((f.cause, f.fix), (None, None));
    }

    #[test]
    fn a_change_set_reads_as_counts_then_resources() {
        let mut c = ChangeSetSummary {
            stack: "hello-prod".into(),
            change_set: "xpipeline-hello-prod".into(),
            account: "444444444444".into(),
            status: "CREATE_COMPLETE".into(),
            ..Default::default()
        };
        let r = |id: &str, rep: Option<&str>| ResourceChange {
            logical_id: id.into(),
            resource_type: Some("AWS::SSM::Parameter".into()),
            replacement: rep.map(str::to_owned),
        };
        c.push("Add", r("Param", None));
        c.push("Modify", r("Other", Some("True")));
        c.push("Remove", r("Gone", None));
        assert_eq!(
            c.to_string(),
            "change set xpipeline-hello-prod of stack hello-prod (account 444444444444): 1 added, 1 modified, 1 removed\n  + Param (AWS::SSM::Parameter)\n  ~ Other (AWS::SSM::Parameter), replaced\n  - Gone (AWS::SSM::Parameter)"
        );
        let json = serde_json::to_string(&c).unwrap();
        assert!(
            json.contains("\"changeSet\":\"xpipeline-hello-prod\""),
            "{json}"
        );
        assert!(json.contains("\"logicalId\":\"Param\""), "{json}");
    }
}
