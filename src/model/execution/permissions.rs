//! What a failed action's message says is missing when it is a permission, and which of the
//! statements `bootstrap` applies (and `policies` prints, by Sid) grant it. Read from the
//! texts CodePipeline and CodeBuild give (AWS's wording, which the sandbox reproduces):
//! - CodePipeline, Source action: "Insufficient permissions The service role or action role
//!   doesn't have the permissions required to access the AWS KMS key named K. ..." (likewise
//!   the Amazon S3 bucket, the AWS CodeCommit repository, the AWS CodeBuild project);
//! - CodePipeline: "<role> is not authorized to perform AssumeRole on role <role>";
//! - CodeBuild: "CodeBuild is not authorized to perform: sts:AssumeRole on <role>", and
//!   "Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR,
//!   Message: AccessDenied: ..." (the KMS form names "customer master key").

use std::fmt;

/// A missing grant, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingGrant {
    /// What may not do what, on which resource.
    pub missing: String,
    /// The statements (Sid, and where they go) that grant it.
    pub statements: String,
}

impl fmt::Display for MissingGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: run `cargo xpipeline bootstrap`, which adds {}; for a resource bootstrap may not change, add the statements `cargo xpipeline policies` prints for it",
            self.missing, self.statements
        )
    }
}

fn grant(missing: String, statements: String) -> Option<MissingGrant> {
    Some(MissingGrant {
        missing,
        statements,
    })
}

/// The word after `marker` up to the first space (a trailing '.' dropped).
fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let word = rest.split_whitespace().next()?;
    Some(word.strip_suffix('.').unwrap_or(word))
}

/// The name CodePipeline's "Insufficient permissions" message gives: "named NAME. Update".
fn named(text: &str) -> Option<&str> {
    let rest = &text[text.find(" named ")? + " named ".len()..];
    Some(rest.split(". Update").next().unwrap_or(rest).trim())
}

/// The bucket of an `arn:aws:s3:::BUCKET/KEY` in `text`.
fn bucket_in(text: &str) -> Option<&str> {
    let rest = &text[text.find(":s3:::")? + ":s3:::".len()..];
    rest.split(['/', ' ']).next()
}

/// The missing grant an action's error message names, or `None` when it is no permission
/// failure this tool knows.
pub fn missing_grant(message: &str) -> Option<MissingGrant> {
    if message.starts_with("Insufficient permissions") {
        let name = named(message)?;
        let what = |kind: &str| message.contains(&format!("access the {kind} named"));
        if what("AWS KMS key") {
            return grant(
                format!("the Source action's role may not use the key {name}"),
                "SourceAccountRoleUsesTheKey to the key policy and ArtifactKey to the source role's policy".into(),
            );
        }
        if what("Amazon S3 bucket") {
            return grant(
                format!("the Source action's role may not put the artifact into the bucket {name}"),
                "SourceAccountRoleWritesArtifacts to the bucket policy and WriteArtifacts to the source role's policy".into(),
            );
        }
        if what("AWS CodeCommit repository") {
            return grant(
                format!("the Source action's role may not read the repository {name}"),
                "SourceAction to the source role's policy".into(),
            );
        }
        if what("AWS CodeBuild project") {
            return grant(
                format!("the pipeline's service role may not start the build project {name}"),
                "Build to the service role's policy".into(),
            );
        }
        return None;
    }
    if let Some((who, role)) =
        message.split_once(" is not authorized to perform AssumeRole on role ")
    {
        let role = role.split_whitespace().next().unwrap_or(role);
        if who == "CodePipeline" {
            return grant(
                format!("CodePipeline may not assume the service role {role}"),
                format!("CodePipelineAssumesTheRole to the trust policy of {role}"),
            );
        }
        return grant(
            format!("{who} may not assume {role} (CodePipeline sends no external id or MFA)"),
            format!(
                "ThePipelineAssumesThisRole, without condition, to the trust policy of {role} and AssumeTheSourceRole to the policy of {who}"
            ),
        );
    }
    if message.starts_with("CodeBuild is not authorized to perform: sts:AssumeRole on ") {
        let role = after(message, "sts:AssumeRole on ")?;
        return grant(
            format!("CodeBuild may not assume the build role {role}"),
            format!("CodeBuildAssumesTheRole to the trust policy of {role}"),
        );
    }
    if !message.contains("Code: CLIENT_ERROR") {
        return None;
    }
    let kms = message.contains("customer master key") || message.contains("AccessDeniedException");
    if message.contains("Phase: DOWNLOAD_SOURCE") && message.contains("AccessDenied") {
        if kms {
            return grant(
                "the build role may not decrypt the source artifact with the artifact key (artifacts.kms-key-arn)".into(),
                "ArtifactKey (kms:Decrypt) to the build role's policy and Enable IAM User Permissions to the key policy".into(),
            );
        }
        let bucket = bucket_in(message).unwrap_or("the artifact bucket");
        return grant(
            format!("the build role may not read the source artifact from {bucket}"),
            "ArtifactObjects (s3:GetObject) to the build role's policy".into(),
        );
    }
    if message.contains("Phase: UPLOAD_ARTIFACTS") && message.contains("AccessDenied") {
        if kms {
            return grant(
                "the build role may not encrypt the build artifact with the project's key".into(),
                "ArtifactKey (kms:GenerateDataKey*) to the build role's policy".into(),
            );
        }
        return grant(
            "the build role may not write the build artifact to the artifact bucket".into(),
            "ArtifactObjects (s3:PutObject) to the build role's policy".into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/k-1";

    fn hint(message: &str) -> String {
        missing_grant(message)
            .unwrap_or_else(|| panic!("no grant in {message}"))
            .to_string()
    }

    #[test]
    fn the_source_actions_kms_refusal_names_the_key_and_the_statements() {
        let m = format!(
            "Insufficient permissions The service role or action role doesn\u{2019}t have the permissions required to access the AWS KMS key named {KEY}. Update the IAM role permissions, and then try again. Error: User: arn:aws:sts::222222222222:assumed-role/x/1 is not authorized to perform: kms:GenerateDataKey on resource: {KEY}"
        );
        assert_eq!(
            hint(&m),
            format!(
                "the Source action's role may not use the key {KEY}: run `cargo xpipeline bootstrap`, which adds SourceAccountRoleUsesTheKey to the key policy and ArtifactKey to the source role's policy; for a resource bootstrap may not change, add the statements `cargo xpipeline policies` prints for it"
            )
        );
    }

    #[test]
    fn bucket_repository_and_project_refusals_are_told_apart() {
        let m = |what: &str, name: &str| {
            format!(
                "Insufficient permissions The service role or action role doesn\u{2019}t have the permissions required to access the {what} named {name}. Update the IAM role permissions, and then try again. Error: Amazon S3:AccessDenied"
            )
        };
        assert!(hint(&m("Amazon S3 bucket", "b-1")).starts_with(
            "the Source action's role may not put the artifact into the bucket b-1: "
        ));
        assert!(hint(&m("AWS CodeCommit repository", "hello")).contains("may not read the repository hello: run `cargo xpipeline bootstrap`, which adds SourceAction"));
        assert!(
            hint(&m("AWS CodeBuild project", "hello-build"))
                .contains("service role may not start the build project hello-build")
        );
        assert_eq!(missing_grant(&m("AWS Lambda function", "f")), None);
    }

    #[test]
    fn an_assume_role_refusal_names_both_roles_and_the_missing_trust() {
        let h = hint(
            "arn:aws:iam::111111111111:role/svc is not authorized to perform AssumeRole on role arn:aws:iam::222222222222:role/src",
        );
        assert!(
            h.starts_with("arn:aws:iam::111111111111:role/svc may not assume arn:aws:iam::222222222222:role/src (CodePipeline sends no external id or MFA): "),
            "{h}"
        );
        assert!(h.contains("ThePipelineAssumesThisRole, without condition, to the trust policy of arn:aws:iam::222222222222:role/src"), "{h}");
        assert!(hint("CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::1:role/svc").contains("CodePipelineAssumesTheRole to the trust policy of arn:aws:iam::1:role/svc"));
        assert!(
            hint("CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::1:role/b")
                .starts_with("CodeBuild may not assume the build role arn:aws:iam::1:role/b: ")
        );
    }

    #[test]
    fn codebuilds_download_source_refusals_say_key_or_bucket() {
        let kms = "Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR, Message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access. status code: 403, request id: R, host id: H for primary source and source version arn:aws:s3:::b-1/p/SourceArti/x";
        assert!(hint(kms).starts_with("the build role may not decrypt the source artifact with the artifact key (artifacts.kms-key-arn): "));
        assert!(hint(kms).contains("ArtifactKey (kms:Decrypt)"));
        let s3 = "Build terminated with state: FAILED. Phase: DOWNLOAD_SOURCE, Code: CLIENT_ERROR, Message: AccessDenied: Access Denied status code: 403, request id: R, host id: H for primary source and source version arn:aws:s3:::b-1/p/SourceArti/x";
        assert!(
            hint(s3).starts_with("the build role may not read the source artifact from b-1: "),
            "{}",
            hint(s3)
        );
        let upload = "Build terminated with state: FAILED. Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: Error in UPLOAD_ARTIFACTS phase: AccessDenied: Access Denied status code: 403";
        assert!(hint(upload).contains("may not write the build artifact"));
    }

    #[test]
    fn other_failures_get_no_permission_hint() {
        for m in [
            "error[E0425]: cannot find value `x`",
            "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: cargo test. Reason: exit status 101",
            "The action failed because no branch named main was found in the selected AWS CodeCommit repository hello.",
        ] {
            assert_eq!(missing_grant(m), None, "{m}");
        }
    }
}
