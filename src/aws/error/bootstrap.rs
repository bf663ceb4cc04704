//! Hints for the calls `bootstrap` makes in both accounts: what a refused or failed create,
//! read or put of a role, key, bucket, project or repository means, and what to do.

use crate::error::Error;

/// A failed bootstrap call: `what` says which call on which resource, e.g.
/// "iam:CreateRole of arn:aws:iam::1:role/x".
pub fn bootstrap_call(what: &str, account: &str, code: Option<&str>, message: &str) -> Error {
    let said = match code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_owned(),
    };
    let text = format!("{what} in account {account} failed: {said}");
    match code {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => Error::op_hint(
            text,
            format!(
                "bootstrap creates roles, keys, buckets, build projects and repositories: it needs administrator rights in account {account} (in the source account, through --source-admin-role-arn or --source-profile; in a target account, through --target-admin-role-arn or --target-profile)"
            ),
        ),
        Some(
            "MalformedPolicyDocument" | "MalformedPolicyDocumentException" | "MalformedPolicy",
        ) if message.to_ascii_lowercase().contains("principal") => Error::op_hint(
            text,
            "a role the policy names does not exist (or IAM has not made it visible yet after 2 minutes of retries): check the role ARNs in xpipeline.toml and run bootstrap again",
        ),
        Some(
            "LimitExceeded"
            | "LimitExceededException"
            | "AccountLimitExceededException"
            | "TooManyBuckets",
        ) => Error::op_hint(
            text,
            format!(
                "a quota of account {account} is reached: raise it in Service Quotas or delete unused resources"
            ),
        ),
        Some("BucketAlreadyExists") => Error::op_hint(
            text,
            "S3 bucket names are global and another account owns this one: choose another artifacts.bucket",
        ),
        _ => Error::op(text),
    }
}

/// The admin role of the source account (`target` None) or of a target account could not be
/// assumed.
pub fn admin_role_refused(
    role: &str,
    base_arn: Option<&str>,
    target: Option<&str>,
    code: Option<&str>,
    message: &str,
) -> Error {
    let said = code.map_or(message.to_owned(), |c| format!("{c}: {message}"));
    let base_arn = base_arn.map_or(String::new(), |b| format!(" as {b}"));
    match target {
        None => Error::op_hint(
            format!("cannot assume the source account's admin role {role}{base_arn}: {said}"),
            "bootstrap reaches the source account through an administrator role: pass --source-admin-role-arn ARN (default: OrganizationAccountAccessRole, which AWS Organizations creates in member accounts), or --source-profile NAME with credentials of that account",
        ),
        Some(account) => Error::op_hint(
            format!(
                "cannot assume the admin role {role} of target account {account}{base_arn}: {said}"
            ),
            format!(
                "cargo-xpipeline reaches each [[deploy]] account through an administrator role: pass --target-admin-role-arn ARN (a role of account {account}, or a role NAME for every target; default: OrganizationAccountAccessRole), or --target-profile {account}=PROFILE with credentials of that account"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_account_and_what_bootstrap_needs() {
        let (m, h) = bootstrap_call(
            "iam:CreateRole of arn:aws:iam::222222222222:role/x",
            "222222222222",
            Some("AccessDenied"),
            "not authorized",
        )
        .parts();
        assert!(
            m.contains("in account 222222222222 failed: AccessDenied"),
            "{m}"
        );
        assert!(h.contains("--source-admin-role-arn"), "{h}");
        let (_, h) = bootstrap_call(
            "s3:CreateBucket of b",
            "1",
            Some("BucketAlreadyExists"),
            "x",
        )
        .parts();
        assert!(h.contains("artifacts.bucket"), "{h}");
        let (m, h) =
            admin_role_refused("arn:r", Some("arn:me"), None, Some("AccessDenied"), "no").parts();
        assert!(
            m.contains("arn:r") && h.contains("--source-profile"),
            "{m} {h}"
        );
        let (m, h) = admin_role_refused(
            "arn:r",
            None,
            Some("333333333333"),
            Some("AccessDenied"),
            "no",
        )
        .parts();
        assert!(m.contains("of target account 333333333333:"), "{m}");
        assert!(h.contains("--target-profile 333333333333=PROFILE"), "{h}");
    }
}
