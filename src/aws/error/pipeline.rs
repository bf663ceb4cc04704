//! Hints for a failed CodePipeline call of the reconcile: the xpipeline.toml key whose value
//! (or kind of resource) AWS's message names, the permission and identity of a denial, a quota
//! that no retry lifts, a role that has not propagated yet. Pure.

use crate::aws::retry::{IAM_PROPAGATION, is_iam_propagation};
use crate::config::Config;
use crate::error::Error;

/// A failed CodePipeline call as an error that names the fix. Pure.
pub fn explain(
    what: &str,
    operation: &str,
    code: Option<&str>,
    message: &str,
    cfg: &Config,
) -> Error {
    let keys = keys_in(message, cfg);
    let key_hint = || {
        keys.iter()
            .map(|(k, v)| format!("{k} = \"{v}\" in xpipeline.toml"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let denied = matches!(code, Some("AccessDeniedException" | "AccessDenied"))
        || (code.is_none() && message.contains("is not authorized to perform"));
    if denied {
        let (identity, permission) = who_and_what(message, operation);
        let resource = if keys.is_empty() {
            String::new()
        } else {
            format!(" on {}", key_hint())
        };
        return Error::op_hint(
            format!("{what}: access denied: {identity} is not allowed {permission}: {message}"),
            format!(
                "allow {permission}{resource} for {identity} in account {} (`cargo xpipeline \
                 policies` prints the policies this tool needs)",
                cfg.pipeline.account
            ),
        );
    }
    if code == Some("LimitExceededException") {
        return Error::op_hint(
            format!("{what}: a CodePipeline quota is reached (not throttling): {message}"),
            format!(
                "retrying will not help: delete pipelines you no longer use, or request a higher \
                 quota for AWS CodePipeline in Service Quotas (account {}, region {})",
                cfg.pipeline.account, cfg.pipeline.region
            ),
        );
    }
    let shown = match code {
        Some(code) => format!("{what}: {code}: {message}"),
        None => format!("{what}: {message}"),
    };
    if is_iam_propagation(code, message) {
        let role = if keys.is_empty() {
            format!(
                "pipeline.service-role-arn = \"{}\" in xpipeline.toml",
                cfg.pipeline.service_role_arn
            )
        } else {
            key_hint()
        };
        return Error::op_hint(
            shown,
            format!(
                "check {role}: the role must exist and trust codepipeline.amazonaws.com, and \
                 the service role must be allowed sts:AssumeRole on source.role-arn (waited {}s \
                 for a new role to propagate)",
                IAM_PROPAGATION.as_secs()
            ),
        );
    }
    if keys.is_empty() {
        Error::op(shown)
    } else {
        Error::op_hint(
            shown,
            format!(
                "check {}: it must exist and be usable from account {}",
                key_hint(),
                cfg.pipeline.account
            ),
        )
    }
}

/// The xpipeline.toml keys whose value (or, failing that, whose kind of resource) an AWS
/// message names.
fn keys_in<'a>(message: &str, cfg: &'a Config) -> Vec<(&'static str, &'a str)> {
    let candidates: [(&'static str, &'a str, &'static [&'static str]); 6] = [
        (
            "pipeline.service-role-arn",
            &cfg.pipeline.service_role_arn,
            &[],
        ),
        ("source.role-arn", &cfg.source.role_arn, &[]),
        (
            "artifacts.kms-key-arn",
            cfg.artifacts.kms_key_arn.as_deref().unwrap_or_default(),
            &["kms", "encryption key"],
        ),
        (
            "artifacts.bucket",
            &cfg.artifacts.bucket,
            &["bucket", "artifact store"],
        ),
        ("build.project", &cfg.build.project, &["project"]),
        ("source.repository", &cfg.source.repository, &["repository"]),
    ];
    let by_value: Vec<_> = candidates
        .iter()
        .filter(|(_, v, _)| names(message, v))
        .map(|(k, v, _)| (*k, *v))
        .collect();
    // A role ARN contains no bucket name worth matching; prefer the longest, most specific hit.
    if !by_value.is_empty() {
        return by_value;
    }
    let lower = message.to_lowercase();
    candidates
        .iter()
        .filter(|(_, _, words)| words.iter().any(|w| lower.contains(w)))
        .map(|(k, v, _)| (*k, *v))
        .collect()
}

/// `message` names `value` as a whole: not as part of a longer name (repository "hello" is not
/// named by role "hello-codepipeline").
fn names(message: &str, value: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !value.is_empty()
        && message.match_indices(value).any(|(i, _)| {
            !message[..i].chars().next_back().is_some_and(word)
                && !message[i + value.len()..].chars().next().is_some_and(word)
        })
}

/// "User: arn:... is not authorized to perform: codepipeline:X on resource: ..." → the identity
/// and the permission; the operation's own permission when the message does not say.
fn who_and_what(message: &str, operation: &str) -> (String, String) {
    let identity = message
        .split_once("User: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_else(|| "the caller (see `aws sts get-caller-identity`)".to_owned());
    let permission = message
        .split_once("not authorized to perform: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(|p| p.trim_end_matches([',', '.', ';']).to_owned())
        .unwrap_or_else(|| format!("codepipeline:{operation}"));
    (identity, permission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::retry::is_iam_propagation;
    use crate::model::pipeline::declare::tests::cfg;

    #[test]
    fn access_denied_names_permission_and_identity() {
        let e = explain(
            "creating pipeline p",
            "CreatePipeline",
            Some("AccessDeniedException"),
            "User: arn:aws:sts::111111111111:assumed-role/dev/alice is not authorized to perform: \
             codepipeline:CreatePipeline on resource: arn:aws:codepipeline:eu-west-1:111111111111:p",
            &cfg(),
        );
        let (msg, hint) = e.parts();
        assert!(msg.contains("access denied"), "{msg}");
        assert!(
            hint.contains("allow codepipeline:CreatePipeline for arn:aws:sts::111111111111:assumed-role/dev/alice"),
            "{hint}"
        );
    }

    #[test]
    fn access_denied_without_details_names_the_operation_permission() {
        let e = explain(
            "reading pipeline p",
            "GetPipeline",
            Some("AccessDeniedException"),
            "denied",
            &cfg(),
        );
        let (_, hint) = e.parts();
        assert!(hint.contains("codepipeline:GetPipeline"), "{hint}");
        assert!(hint.contains("get-caller-identity"), "{hint}");
    }

    #[test]
    fn pass_role_denial_names_iam_pass_role() {
        let e = explain(
            "creating pipeline p",
            "CreatePipeline",
            Some("AccessDeniedException"),
            "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: iam:PassRole on \
             resource: arn:aws:iam::111111111111:role/hello-codepipeline",
            &cfg(),
        );
        assert!(
            e.parts().1.contains(
                "allow iam:PassRole on pipeline.service-role-arn = \"arn:aws:iam::111111111111:role/hello-codepipeline\" in xpipeline.toml for arn:aws:iam::111111111111:user/ci"
            ),
            "{e}"
        );
    }

    #[test]
    fn limit_exceeded_is_a_quota() {
        let e = explain(
            "creating pipeline p",
            "CreatePipeline",
            Some("LimitExceededException"),
            "The maximum number of pipelines has been reached",
            &cfg(),
        );
        let (msg, hint) = e.parts();
        assert!(msg.contains("quota"), "{msg}");
        assert!(hint.contains("Service Quotas"), "{hint}");
        assert!(hint.contains("retrying will not help"), "{hint}");
    }

    #[test]
    fn service_role_not_authorized_names_its_key() {
        let c = cfg();
        let e = explain(
            "creating pipeline p",
            "CreatePipeline",
            Some("InvalidStructureException"),
            &format!(
                "CodePipeline is not authorized to perform AssumeRole on role {}",
                c.pipeline.service_role_arn
            ),
            &c,
        );
        let hint = e.parts().1;
        assert!(
            hint.contains(
                "pipeline.service-role-arn = \"arn:aws:iam::111111111111:role/hello-codepipeline\""
            ),
            "{hint}"
        );
        assert!(hint.contains("codepipeline.amazonaws.com"), "{hint}");
    }

    #[test]
    fn source_role_problem_names_source_role_arn() {
        let c = cfg();
        let e = explain(
            "creating pipeline p",
            "CreatePipeline",
            Some("InvalidStructureException"),
            &format!("Cross-account role {} cannot be assumed", c.source.role_arn),
            &c,
        );
        assert!(e.parts().1.contains("source.role-arn = "), "{e}");
    }

    #[test]
    fn missing_bucket_key_and_project_name_their_keys() {
        let c = cfg();
        for (message, key) in [
            (
                "Artifact store location hello-artifacts does not exist",
                "artifacts.bucket",
            ),
            ("The specified bucket does not exist", "artifacts.bucket"),
            (
                "KMS key arn:aws:kms:eu-west-1:111111111111:key/1234abcd not found",
                "artifacts.kms-key-arn",
            ),
            (
                "Action configuration for action 'Build' is invalid: project hello-build does not exist",
                "build.project",
            ),
        ] {
            let e = explain(
                "creating pipeline p",
                "CreatePipeline",
                Some("InvalidStructureException"),
                message,
                &c,
            );
            let hint = e.parts().1;
            assert!(hint.contains(&format!("{key} = ")), "{message} -> {hint}");
        }
    }

    #[test]
    fn a_value_inside_a_longer_name_is_not_named() {
        assert!(names("role/hello-codepipeline.", "hello-codepipeline"));
        assert!(names("arn:aws:s3:::hello-artifacts/*", "hello-artifacts"));
        assert!(!names("role/hello-codepipeline", "hello"));
        assert!(!names("anything", ""));
    }

    #[test]
    fn unrelated_errors_keep_code_and_message() {
        let e = explain(
            "reading pipeline p",
            "GetPipeline",
            Some("ValidationException"),
            "bad name",
            &cfg(),
        );
        assert_eq!(
            e.to_string(),
            "reading pipeline p: ValidationException: bad name"
        );
    }

    #[test]
    fn only_not_authorized_invalid_structure_is_retried() {
        assert!(is_iam_propagation(
            Some("InvalidStructureException"),
            "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::1:role/r"
        ));
        assert!(!is_iam_propagation(
            Some("InvalidStructureException"),
            "Pipeline has only 1 stage(s)"
        ));
        assert!(!is_iam_propagation(
            Some("AccessDeniedException"),
            "User x is not authorized"
        ));
    }
}
