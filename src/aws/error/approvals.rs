//! Hints for the calls of `approve` (GetPipeline, GetPipelineState, PutApprovalResult) and for
//! the CloudFormation reads in a target account (DescribeChangeSet, DescribeStackEvents).

use crate::error::Error;

/// A failed CodePipeline call of `approve`, with a hint where one helps.
pub fn approval_call(what: &str, code: Option<&str>, message: &str) -> Error {
    match code {
        Some("ApprovalAlreadyCompletedException") => Error::op_hint(
            format!("{what}: {message}"),
            "someone answered this approval already: `cargo xpipeline status` shows where the execution stands",
        ),
        Some("InvalidApprovalTokenException") => Error::op_hint(
            format!("{what}: {message}"),
            "the approval was answered or timed out, or its stage ran again, since it was read: run `cargo xpipeline approve` again",
        ),
        Some(c) if c.contains("AccessDenied") => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "answering needs codepipeline:GetPipeline, codepipeline:GetPipelineState and codepipeline:PutApprovalResult \
             on arn:<partition>:codepipeline:<region>:<account>:<pipeline>/<stage>/<action> (the ARN `approve` names)",
        ),
        _ => super::execution_call(what, code, message),
    }
}

/// A failed CloudFormation read in a target account.
pub fn deploy_call(what: &str, account: &str, code: Option<&str>, message: &str) -> Error {
    let said = code.map_or(message.to_owned(), |c| format!("{c}: {message}"));
    let msg = format!("{what} in account {account}: {said}");
    match code {
        Some(c) if c.contains("AccessDenied") => Error::op_hint(
            msg,
            format!(
                "the credentials used in account {account} need cloudformation:DescribeChangeSet and DescribeStackEvents: \
                 pass --target-profile {account}=PROFILE or --target-admin-role-arn"
            ),
        ),
        _ => Error::op(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answered_approval_and_a_refusal_say_what_to_do() {
        let (_, h) = approval_call(
            "PutApprovalResult",
            Some("ApprovalAlreadyCompletedException"),
            "done",
        )
        .parts();
        assert!(h.contains("answered this approval already"), "{h}");
        let (m, h) =
            approval_call("PutApprovalResult", Some("AccessDeniedException"), "no").parts();
        assert!(m.contains("AccessDeniedException: no"), "{m}");
        assert!(h.contains("codepipeline:PutApprovalResult"), "{h}");
        let (m, h) = deploy_call(
            "DescribeChangeSet c",
            "444444444444",
            Some("AccessDenied"),
            "no",
        )
        .parts();
        assert_eq!(
            m,
            "DescribeChangeSet c in account 444444444444: AccessDenied: no"
        );
        assert!(h.contains("--target-profile 444444444444=PROFILE"), "{h}");
    }
}
