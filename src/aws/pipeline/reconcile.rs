//! Reconcile the live pipeline to the declaration: read it (`plan`), then create it, update it
//! only when something differs, or refuse to touch a pipeline this tool did not create (`ensure`).
//! The I/O edge of `render` and `diff`; the error mapping (`explain`) is pure and unit-tested.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{PipelineDeclaration, Tag};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use super::diff::{self, Change};
use super::render;
use crate::aws::error_parts;
use crate::aws::retry::{
    IAM_PROPAGATION, QuotaIsNotThrottling, Retrying, is_iam_propagation, retry_while,
};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ui::Ui;
use crate::{MANAGED_BY_TAG, MANAGED_BY_VALUE};

/// What `ensure` may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnsureOptions {
    /// Take over a pipeline of the same name that lacks the managed-by tag.
    pub adopt: bool,
    /// Compute and print the changes, write nothing.
    pub dry_run: bool,
}

/// What `ensure` did.
#[derive(Debug, Clone, Serialize)]
pub struct Ensured {
    /// CreatePipeline was called: AWS starts an execution by itself, do not start another.
    pub created: bool,
    /// UpdatePipeline (or TagResource) was called.
    pub updated: bool,
    /// The pipeline's version now (0 when a dry run found no pipeline).
    pub version: i32,
    /// The differences found (applied unless this was a dry run).
    pub changes: Vec<Change>,
}

/// The live pipeline compared with the declaration. Read-only; the result of `plan`.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub pipeline: String,
    pub exists: bool,
    /// It carries managed-by=cargo-xpipeline (or does not exist yet).
    pub managed: bool,
    /// The live version, when it exists.
    pub version: Option<i32>,
    pub changes: Vec<Change>,
    /// How many of `changes` (the first ones) need UpdatePipeline; the rest are tags.
    #[serde(skip)]
    structural: usize,
    #[serde(skip)]
    arn: Option<String>,
    #[serde(skip)]
    summary: Vec<String>,
    #[serde(skip)]
    declared: PipelineDeclaration,
    #[serde(skip)]
    tags: BTreeMap<String, String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.exists && self.changes.is_empty()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.exists {
            writeln!(
                f,
                "pipeline {} does not exist: push would create it",
                self.pipeline
            )?;
            let lines: Vec<String> = self.summary.iter().map(|l| format!("  {l}")).collect();
            return write!(f, "{}", lines.join("\n"));
        }
        let version = self
            .version
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default();
        if self.changes.is_empty() {
            return write!(f, "pipeline {}{version}: no changes", self.pipeline);
        }
        write!(
            f,
            "pipeline {}{version}: {}",
            self.pipeline,
            count(self.changes.len())
        )?;
        for c in &self.changes {
            write!(f, "\n  {c}")?;
        }
        if !self.managed {
            write!(
                f,
                "\nit was not created by cargo-xpipeline (no tag {MANAGED_BY_TAG}={MANAGED_BY_VALUE}): \
                 push refuses to change it unless given --adopt"
            )?;
        }
        Ok(())
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 change".to_owned()
    } else {
        format!("{n} changes")
    }
}

/// The tags the pipeline should carry: [tags] plus managed-by, which always wins.
pub fn declared_tags(cfg: &Config) -> BTreeMap<String, String> {
    let mut tags = cfg.tags.clone();
    tags.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
    tags
}

/// Compare the live pipeline with the declaration: GetPipeline and ListTagsForResource.
pub async fn plan(client: &Client, cfg: &Config) -> Result<Plan> {
    read(&quota_aware(client), cfg).await
}

async fn read(client: &Client, cfg: &Config) -> Result<Plan> {
    let declared = render::declare(cfg)?;
    let declared_json = render::to_json(&declared);
    let region = cfg.pipeline.region.as_str();
    let name = &cfg.pipeline.name;
    let wanted_tags = declared_tags(cfg);

    let got = client.get_pipeline().name(name).send().await;
    let got = match got {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_pipeline_not_found_exception()) =>
        {
            return Ok(Plan {
                pipeline: name.clone(),
                exists: false,
                managed: true,
                version: None,
                changes: [
                    diff::creation(&declared_json, region),
                    diff::tag_changes(&wanted_tags, &BTreeMap::new()),
                ]
                .concat(),
                structural: 0,
                arn: None,
                summary: render::summary(cfg),
                declared,
                tags: wanted_tags,
            });
        }
        Err(e) => {
            return Err(sdk_error(
                &format!("reading pipeline {name}"),
                "GetPipeline",
                e,
                cfg,
            ));
        }
    };
    let live = got.pipeline().ok_or_else(|| {
        Error::op(format!(
            "reading pipeline {name}: GetPipeline returned no pipeline"
        ))
    })?;
    let arn = got
        .metadata()
        .and_then(|m| m.pipeline_arn())
        .map(str::to_owned)
        .unwrap_or_else(|| pipeline_arn(cfg));
    let live_tags = list_tags(client, &arn, cfg).await?;
    let mut changes = diff::diff(&declared_json, &render::to_json(live), region);
    let structural = changes.len();
    changes.extend(diff::tag_changes(&wanted_tags, &live_tags));
    Ok(Plan {
        pipeline: name.clone(),
        exists: true,
        managed: live_tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE),
        version: live.version(),
        changes,
        structural,
        arn: Some(arn),
        summary: render::summary(cfg),
        declared,
        tags: wanted_tags,
    })
}

/// Make the live pipeline what xpipeline.toml declares; print each change as it is made.
/// No write call at all when nothing differs.
pub async fn ensure(
    client: &Client,
    cfg: &Config,
    opts: EnsureOptions,
    ui: &Ui,
) -> Result<Ensured> {
    let client = &quota_aware(client);
    let plan = read(client, cfg).await?;
    let name = &cfg.pipeline.name;
    let dry = if opts.dry_run {
        " (dry run: not applied)"
    } else {
        ""
    };

    if !plan.exists {
        ui.status(format_args!(
            "pipeline {name} does not exist: creating it{dry}"
        ));
        for line in &plan.summary {
            ui.status(format_args!("  {line}"));
        }
        if opts.dry_run {
            return Ok(Ensured {
                created: false,
                updated: false,
                version: 0,
                changes: plan.changes,
            });
        }
        let version = create(client, cfg, &plan, ui).await?;
        ui.status(format_args!("created pipeline {name} (version {version})"));
        return Ok(Ensured {
            created: true,
            updated: false,
            version,
            changes: plan.changes,
        });
    }

    let version = plan.version.unwrap_or(0);
    if plan.changes.is_empty() {
        ui.status(format_args!(
            "pipeline {name} matches xpipeline.toml (version {version})"
        ));
        return Ok(Ensured {
            created: false,
            updated: false,
            version,
            changes: Vec::new(),
        });
    }
    if !plan.managed && !opts.adopt {
        return Err(Error::op_hint(
            format!(
                "pipeline {name} exists but was not created by cargo-xpipeline (it has no tag \
                 {MANAGED_BY_TAG}={MANAGED_BY_VALUE}); refusing to change it. It differs from \
                 xpipeline.toml by {}:{}",
                count(plan.changes.len()),
                listed(&plan.changes)
            ),
            "pass --adopt to take it over and apply these changes, or choose another \
             pipeline.name in xpipeline.toml",
        ));
    }
    ui.status(format_args!(
        "pipeline {name} (version {version}): {}{dry}",
        count(plan.changes.len())
    ));
    for c in &plan.changes {
        ui.status(format_args!("  {c}"));
    }
    if opts.dry_run {
        return Ok(Ensured {
            created: false,
            updated: false,
            version,
            changes: plan.changes,
        });
    }

    let mut now = version;
    if plan.structural > 0 {
        now = update(client, cfg, &plan, ui).await?;
        if now != version + 1 {
            let current = read(client, cfg).await?;
            return Err(changed_meanwhile(name, version, now, &current.changes));
        }
    }
    if plan.structural < plan.changes.len() {
        tag(client, cfg, &plan).await?;
    }
    let done = if plan.structural > 0 {
        "updated"
    } else {
        "tagged"
    };
    ui.status(format_args!("{done} pipeline {name} (version {now})"));
    Ok(Ensured {
        created: false,
        updated: true,
        version: now,
        changes: plan.changes,
    })
}

/// UpdatePipeline returned a version other than the one read plus one: another writer got in
/// between (and its change or ours may be lost). `current` is how the pipeline differs now.
fn changed_meanwhile(name: &str, read: i32, returned: i32, current: &[Change]) -> Error {
    let state = if current.is_empty() {
        " It now matches xpipeline.toml.".to_owned()
    } else {
        format!(
            " It now differs from xpipeline.toml by {}:{}",
            count(current.len()),
            listed(current)
        )
    };
    Error::op_hint(
        format!(
            "pipeline {name} was changed by someone else meanwhile: UpdatePipeline made it \
             version {returned}, not {} (it was {read} when read).{state}",
            read + 1
        ),
        "find out who else changes this pipeline, then run `cargo xpipeline plan` and push again",
    )
}

fn listed(changes: &[Change]) -> String {
    changes.iter().map(|c| format!("\n  {c}")).collect()
}

/// The pipeline's ARN when AWS did not say it.
fn pipeline_arn(cfg: &Config) -> String {
    crate::model::arn::pipeline_arn(
        &cfg.pipeline.region,
        &cfg.pipeline.account,
        &cfg.pipeline.name,
    )
}

async fn list_tags(client: &Client, arn: &str, cfg: &Config) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("reading the tags of pipeline {}", cfg.pipeline.name),
                    "ListTagsForResource",
                    e,
                    cfg,
                )
            })?;
        for t in out.tags() {
            tags.insert(t.key().to_owned(), t.value().to_owned());
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(tags),
        }
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::op(format!("cannot build tag {k}: {e}")))
        })
        .collect()
}

async fn create(client: &Client, cfg: &Config, plan: &Plan, ui: &Ui) -> Result<i32> {
    let what = format!("creating pipeline {}", cfg.pipeline.name);
    let tags = sdk_tags(&plan.tags)?;
    let mut note = |r: Retrying| iam_note(ui, &what, &r);
    let out = retry_while(IAM_PROPAGATION, is_iam_propagation, &mut note, || {
        client
            .create_pipeline()
            .pipeline(plan.declared.clone())
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await
    .map_err(|e| sdk_error(&what, "CreatePipeline", e, cfg))?;
    Ok(out
        .pipeline()
        .and_then(PipelineDeclaration::version)
        .unwrap_or(1))
}

async fn update(client: &Client, cfg: &Config, plan: &Plan, ui: &Ui) -> Result<i32> {
    let what = format!("updating pipeline {}", cfg.pipeline.name);
    let mut declared = plan.declared.clone();
    declared.version = plan.version;
    let mut note = |r: Retrying| iam_note(ui, &what, &r);
    let out = retry_while(IAM_PROPAGATION, is_iam_propagation, &mut note, || {
        client.update_pipeline().pipeline(declared.clone()).send()
    })
    .await
    .map_err(|e| sdk_error(&what, "UpdatePipeline", e, cfg))?;
    out.pipeline()
        .and_then(PipelineDeclaration::version)
        .ok_or_else(|| Error::op(format!("{what}: UpdatePipeline returned no version")))
}

async fn tag(client: &Client, cfg: &Config, plan: &Plan) -> Result<()> {
    let what = format!("tagging pipeline {}", cfg.pipeline.name);
    let arn = plan.arn.clone().unwrap_or_else(|| pipeline_arn(cfg));
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(sdk_tags(&plan.tags)?))
        .send()
        .await
        .map_err(|e| sdk_error(&what, "TagResource", e, cfg))?;
    Ok(())
}

fn iam_note(ui: &Ui, what: &str, r: &Retrying) {
    ui.status(format_args!(
        "{what}: CodePipeline cannot use the service role yet (a new IAM role takes up to \
         {}s to propagate); retrying in {}s ({}s so far)",
        r.limit.as_secs(),
        r.wait.as_secs(),
        r.so_far.as_secs()
    ));
}

fn sdk_error<E, R>(what: &str, operation: &str, err: SdkError<E, R>, cfg: &Config) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let (code, message) = error_parts(&err);
    explain(what, operation, code.as_deref(), &message, cfg)
}

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
            &cfg.artifacts.kms_key_arn,
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

/// The client with `QuotaIsNotThrottling` added to its retry classifiers.
pub fn quota_aware(client: &Client) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_classifier(QuotaIsNotThrottling)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::pipeline::render::tests::config;
    use crate::config::{PipelineType, Trigger};

    fn cfg() -> Config {
        config(Trigger::Push, PipelineType::V2, None)
    }

    fn parts(e: &Error) -> (String, String) {
        match e {
            Error::Operation { message, hint } => {
                (message.clone(), hint.clone().unwrap_or_default())
            }
            other => panic!("not an operation error: {other:?}"),
        }
    }

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
        let (msg, hint) = parts(&e);
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
        let (_, hint) = parts(&e);
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
            parts(&e).1.contains(
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
        let (msg, hint) = parts(&e);
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
        let hint = parts(&e).1;
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
        assert!(parts(&e).1.contains("source.role-arn = "), "{e}");
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
            let hint = parts(&e).1;
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

    #[test]
    fn a_version_jump_is_reported_with_the_current_diff() {
        let current = vec![Change {
            path: "stages[Build].actions[Build].configuration.ProjectName".into(),
            old: Some("theirs".into()),
            new: Some("ours".into()),
        }];
        let e = changed_meanwhile("p", 3, 5, &current);
        let (msg, hint) = parts(&e);
        assert!(msg.contains("changed by someone else meanwhile"), "{msg}");
        assert!(
            msg.contains("version 5, not 4 (it was 3 when read)"),
            "{msg}"
        );
        assert!(msg.contains("1 change:\n  stages[Build].actions[Build].configuration.ProjectName: \"theirs\" -> \"ours\""), "{msg}");
        assert!(hint.contains("cargo xpipeline plan"), "{hint}");
        let (msg, _) = parts(&changed_meanwhile("p", 3, 5, &[]));
        assert!(msg.ends_with("It now matches xpipeline.toml."), "{msg}");
    }

    #[test]
    fn managed_by_always_wins_over_tags() {
        let mut c = cfg();
        c.tags.insert("managed-by".into(), "terraform".into());
        c.tags.insert("team".into(), "platform".into());
        let t = declared_tags(&c);
        assert_eq!(t["managed-by"], "cargo-xpipeline");
        assert_eq!(t["team"], "platform");
    }

    /// A one-connection-at-a-time HTTP server that answers every request with `status` and
    /// `body`, counting requests.
    fn fake_endpoint(
        status: u16,
        body: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut buf = vec![0; len];
                let _ = reader.read_exact(&mut buf);
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Error\r\nContent-Type: application/x-amz-json-1.1\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, hits)
    }

    fn test_client(url: &str) -> Client {
        let conf = aws_sdk_codepipeline::Config::builder()
            .behavior_version(aws_sdk_codepipeline::config::BehaviorVersion::latest())
            .region(aws_sdk_codepipeline::config::Region::new("eu-west-1"))
            .endpoint_url(url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build();
        Client::from_conf(conf)
    }

    async fn attempts(
        client: &Client,
        hits: &std::sync::atomic::AtomicUsize,
    ) -> (usize, Option<String>) {
        let err = client
            .create_pipeline()
            .pipeline(render::declare(&cfg()).unwrap())
            .send()
            .await
            .unwrap_err();
        (
            hits.load(std::sync::atomic::Ordering::SeqCst),
            error_parts(&err).0,
        )
    }

    #[test]
    fn limit_exceeded_is_sent_once_not_retried_as_throttling() {
        const BODY: &str = r#"{"__type":"LimitExceededException","message":"too many pipelines"}"#;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The SDK on its own retries it (this is why the classifier exists)...
        let (url, hits) = fake_endpoint(400, BODY);
        let (n, code) = rt.block_on(attempts(&test_client(&url), &hits));
        assert_eq!(code.as_deref(), Some("LimitExceededException"));
        assert_eq!(n, 3, "the plain SDK client retries LimitExceededException");
        // ...the quota-aware client does not.
        let (url, hits) = fake_endpoint(400, BODY);
        let (n, _) = rt.block_on(attempts(&quota_aware(&test_client(&url)), &hits));
        assert_eq!(n, 1, "LimitExceededException must not be retried");
        // Real throttling is still retried.
        let (url, hits) = fake_endpoint(
            400,
            r#"{"__type":"ThrottlingException","message":"slow down"}"#,
        );
        let (n, _) = rt.block_on(attempts(&quota_aware(&test_client(&url)), &hits));
        assert_eq!(n, 3, "throttling is still retried");
    }
}
