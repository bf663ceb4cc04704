//! Every document both accounts need, rendered from the configuration. Each statement has a
//! Sid: that is how `bootstrap` finds its own statements in a live policy (merge.rs). Facts
//! from AWS that shape them:
//! - CodePipeline sends no external id when it assumes an action role: the statement trusting
//!   the service role has no condition; the external id (and MFA) guard what `push` assumes.
//! - A key policy without the statement delegating to the account's IAM makes every identity
//!   grant on the key (the service role's, the build role's) worthless.
//! - Across accounts a request needs both sides: the source role's identity policy and the
//!   bucket or key policy grant the same actions; same-account roles need only their own.

use serde_json::{Value, json};

use super::{Document, Kind, Policies};
use crate::config::{Config, Trigger};
use crate::model::arn::partition_of;

/// The inline policy bootstrap puts on each role it manages.
pub const ROLE_POLICY_NAME: &str = "cargo-xpipeline";

/// The Sid of the key policy statement that lets the account's IAM policies grant the key
/// (the one AWS's default key policy has, under the same Sid).
pub const DELEGATION_SID: &str = "Enable IAM User Permissions";

/// Sids of statements earlier versions printed for the bucket policy and that bootstrap removes:
/// s3:ListBucket granted to the source role that its own policy never allowed (no effect).
pub const BUCKET_RETIRED_SIDS: &[&str] = &["SourceAccountRoleListsTheBucket"];

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// What the source role (for the Source action) and the service role do with the key.
const KMS_USE: [&str; 5] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
];

/// What the build reads and writes with the key: the source artifact in, the build artifact
/// and the cache out.
const KMS_BUILD: [&str; 4] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
];

/// The alias bootstrap gives the key it creates.
pub fn key_alias(cfg: &Config) -> String {
    format!("alias/{}-artifacts", cfg.pipeline.name)
}

/// The artifact key's ARN: artifacts.kms-key-arn, or `unknown_key_arn` until bootstrap has
/// created the key.
pub fn key_arn(cfg: &Config) -> String {
    cfg.artifacts
        .kms_key_arn
        .clone()
        .unwrap_or_else(|| unknown_key_arn(cfg))
}

/// Stands for the key's ARN until bootstrap has created it.
pub fn unknown_key_arn(cfg: &Config) -> String {
    format!(
        "arn:{}:kms:{}:{}:key/CREATED-BY-BOOTSTRAP",
        partition_of(&cfg.pipeline.region),
        cfg.pipeline.region,
        cfg.pipeline.account
    )
}

/// The role bootstrap creates for a build project it creates (the name the CodeBuild console
/// gives it).
pub fn build_role_arn(cfg: &Config) -> String {
    format!(
        "arn:{}:iam::{}:role/codebuild-{}-service-role",
        partition_of(&cfg.pipeline.region),
        cfg.pipeline.account,
        cfg.build.project
    )
}

/// Every document both accounts need for the pipeline of `cfg`, whose build project runs as
/// `build_role` (`build_role_arn(cfg)` unless the project exists with another role).
pub fn render(cfg: &Config, build_role: &str) -> Policies {
    let part = partition_of(&cfg.pipeline.region);
    let region = &cfg.pipeline.region;
    let pa = &cfg.pipeline.account;
    let sa = &cfg.source.account;
    let bucket_arn = format!("arn:{part}:s3:::{}", cfg.artifacts.bucket);
    let objects_arn = format!("{bucket_arn}/*");
    let key = key_arn(cfg);
    let key_name = match &cfg.artifacts.kms_key_arn {
        Some(k) => k.clone(),
        None => format!("the key bootstrap creates ({})", key_alias(cfg)),
    };
    let service_role = &cfg.pipeline.service_role_arn;
    let source_role = &cfg.source.role_arn;
    let push_role = &cfg.push.role_arn;
    let repo_arn = format!(
        "arn:{part}:codecommit:{region}:{sa}:{}",
        cfg.source.repository
    );
    let project_arn = format!(
        "arn:{part}:codebuild:{region}:{pa}:project/{}",
        cfg.build.project
    );
    let log_group = format!(
        "arn:{part}:logs:{region}:{pa}:log-group:/aws/codebuild/{}",
        cfg.build.project
    );
    let pipeline_arn = format!(
        "arn:{part}:codepipeline:{region}:{pa}:{}",
        cfg.pipeline.name
    );
    let pipeline_root = format!("arn:{part}:iam::{pa}:root");
    // CodeBuild's default log group; its streams are `log-stream:<build uuid>`.
    let build_log_arn = format!("{log_group}:*");
    let branch_ref = format!("refs/heads/{}", cfg.source.branch);

    let developer_condition = {
        let mut c = serde_json::Map::new();
        if let Some(id) = &cfg.source.external_id {
            c.insert("StringEquals".into(), json!({ "sts:ExternalId": id }));
        }
        if cfg.push.mfa_serial.is_some() {
            c.insert(
                "Bool".into(),
                json!({ "aws:MultiFactorAuthPresent": "true" }),
            );
        }
        (!c.is_empty()).then_some(Value::Object(c))
    };
    let developers_push = {
        let mut s = json!({
            "Sid": "DevelopersPush",
            "Effect": "Allow",
            "Principal": { "AWS": pipeline_root },
            "Action": "sts:AssumeRole"
        });
        if let Some(c) = developer_condition {
            s["Condition"] = c;
        }
        s
    };
    let git_push = json!({
        "Sid": "PushTheConfiguredBranch",
        "Effect": "Allow",
        "Action": ["codecommit:GitPush"],
        "Resource": repo_arn,
        "Condition": { "StringEqualsIfExists": { "codecommit:References": [branch_ref] } }
    });
    let git_read = json!({
        "Sid": "ReadTheRepository",
        "Effect": "Allow",
        "Action": ["codecommit:GitPull", "codecommit:GetRepository"],
        "Resource": repo_arn
    });
    let trusts = |sid: &str, service: &str| {
        policy(vec![json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        })])
    };

    let mut docs = vec![
        Document {
            account: pa.clone(),
            kind: Kind::KeyPolicy,
            resource: Some(key.clone()),
            attach_to: format!("key policy of {key_name} (these statements)"),
            purpose: "Keeps the account's IAM policies in force for the key (the service and build roles' grants) and lets the source-account role encrypt and decrypt artifacts.".into(),
            document: policy(vec![
                json!({
                    "Sid": DELEGATION_SID,
                    "Effect": "Allow",
                    "Principal": { "AWS": pipeline_root },
                    "Action": "kms:*",
                    "Resource": "*"
                }),
                json!({
                    "Sid": "SourceAccountRoleUsesTheKey",
                    "Effect": "Allow",
                    "Principal": { "AWS": source_role },
                    "Action": KMS_USE,
                    "Resource": "*"
                }),
            ]),
        },
        Document {
            account: pa.clone(),
            kind: Kind::BucketPolicy,
            resource: Some(bucket_arn.clone()),
            attach_to: format!("bucket policy of {} (these statements)", cfg.artifacts.bucket),
            purpose: "Lets the source-account role put the source artifact into the bucket (the same object actions its own policy allows); refuses plain HTTP.".into(),
            document: policy(vec![
                json!({
                    "Sid": "SourceAccountRoleWritesArtifacts",
                    "Effect": "Allow",
                    "Principal": { "AWS": source_role },
                    "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
                    "Resource": objects_arn
                }),
                json!({
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, objects_arn],
                    "Condition": { "Bool": { "aws:SecureTransport": "false" } }
                }),
            ]),
        },
        Document {
            account: pa.clone(),
            kind: Kind::TrustPolicy,
            resource: Some(service_role.clone()),
            attach_to: format!("trust policy of {service_role}"),
            purpose: "Lets CodePipeline run as the service role.".into(),
            document: trusts("CodePipelineAssumesTheRole", "codepipeline.amazonaws.com"),
        },
        Document {
            account: pa.clone(),
            kind: Kind::RolePolicy,
            resource: Some(service_role.clone()),
            attach_to: format!("permissions of {service_role} (inline policy {ROLE_POLICY_NAME})"),
            purpose: "What the pipeline itself does: assume the source role, use the bucket and key, run and stop the build.".into(),
            document: policy(vec![
                json!({ "Sid": "AssumeTheSourceRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": source_role }),
                json!({
                    "Sid": "ArtifactObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
                    "Resource": objects_arn
                }),
                json!({
                    "Sid": "ArtifactBucket",
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"],
                    "Resource": bucket_arn
                }),
                json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_USE, "Resource": key }),
                json!({
                    "Sid": "Build",
                    "Effect": "Allow",
                    "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
                    "Resource": project_arn
                }),
            ]),
        },
        Document {
            account: pa.clone(),
            kind: Kind::TrustPolicy,
            resource: Some(build_role.to_owned()),
            attach_to: format!("trust policy of {build_role}"),
            purpose: "Lets CodeBuild run the build project as this role.".into(),
            document: trusts("CodeBuildAssumesTheRole", "codebuild.amazonaws.com"),
        },
        Document {
            account: pa.clone(),
            kind: Kind::RolePolicy,
            resource: Some(build_role.to_owned()),
            attach_to: format!("permissions of {build_role} (inline policy {ROLE_POLICY_NAME})"),
            purpose: "What the build does: read the source artifact, write the build artifact and the cache, with the key; write its log.".into(),
            document: policy(vec![
                json!({
                    "Sid": "ArtifactObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    "Resource": objects_arn
                }),
                json!({
                    "Sid": "ArtifactBucket",
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"],
                    "Resource": bucket_arn
                }),
                json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_BUILD, "Resource": key }),
                json!({
                    "Sid": "BuildLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_group.clone(), format!("{log_group}:*")]
                }),
            ]),
        },
        Document {
            account: pa.clone(),
            kind: Kind::IdentityPolicy,
            resource: None,
            attach_to: "the developers or CI identity that runs `cargo xpipeline push`".into(),
            purpose: "Reconcile and run the pipeline, pass its service role, assume the push role, and follow the build (phases and log).".into(),
            document: policy(vec![
                json!({
                    "Sid": "ReconcileAndFollowThePipeline",
                    "Effect": "Allow",
                    "Action": [
                        "codepipeline:CreatePipeline", "codepipeline:GetPipeline", "codepipeline:UpdatePipeline",
                        "codepipeline:TagResource", "codepipeline:ListTagsForResource",
                        "codepipeline:StartPipelineExecution", "codepipeline:GetPipelineExecution",
                        "codepipeline:GetPipelineState", "codepipeline:ListPipelineExecutions",
                        "codepipeline:ListActionExecutions"
                    ],
                    "Resource": pipeline_arn
                }),
                json!({
                    "Sid": "PassTheServiceRole",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": service_role,
                    "Condition": { "StringEquals": { "iam:PassedToService": "codepipeline.amazonaws.com" } }
                }),
                json!({ "Sid": "AssumeThePushRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": push_role }),
                json!({ "Sid": "FollowTheBuild", "Effect": "Allow", "Action": "codebuild:BatchGetBuilds", "Resource": project_arn }),
                json!({ "Sid": "ReadTheBuildLog", "Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": build_log_arn }),
            ]),
        },
    ];

    // The source role: assumed by the pipeline's service role (CodePipeline sends no external
    // id: no condition), and by developers when it is also the push role.
    let push_is_source = push_role == source_role;
    let mut trust = vec![json!({
        "Sid": "ThePipelineAssumesThisRole",
        "Effect": "Allow",
        "Principal": { "AWS": service_role },
        "Action": "sts:AssumeRole"
    })];
    if push_is_source {
        trust.push(developers_push.clone());
    }
    docs.push(Document {
        account: sa.clone(),
        kind: Kind::TrustPolicy,
        resource: Some(source_role.clone()),
        attach_to: format!("trust policy of {source_role}"),
        purpose: if push_is_source {
            "Lets the pipeline's service role (Source action, no external id: CodePipeline sends none) and identities of the pipeline account (push) assume the role.".into()
        } else {
            "Lets the pipeline's service role assume the role for the Source action (no external id: CodePipeline sends none).".into()
        },
        document: policy(trust),
    });
    let mut source_perms = vec![
        json!({
            "Sid": "SourceAction",
            "Effect": "Allow",
            "Action": ["codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive"],
            "Resource": repo_arn
        }),
        json!({
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
            "Resource": objects_arn
        }),
        json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_USE, "Resource": key }),
    ];
    if push_is_source {
        source_perms.push(git_push.clone());
        source_perms.push(git_read.clone());
    }
    docs.push(Document {
        account: sa.clone(),
        kind: Kind::RolePolicy,
        resource: Some(source_role.clone()),
        attach_to: format!("permissions of {source_role} (inline policy {ROLE_POLICY_NAME})"),
        purpose: "What the Source action does in the source account: read the branch, write the artifact with the key.".into(),
        document: policy(source_perms),
    });
    if !push_is_source {
        docs.push(Document {
            account: sa.clone(),
            kind: Kind::TrustPolicy,
            resource: Some(push_role.clone()),
            attach_to: format!("trust policy of {push_role}"),
            purpose: "Lets identities of the pipeline account assume the push role.".into(),
            document: policy(vec![developers_push]),
        });
        docs.push(Document {
            account: sa.clone(),
            kind: Kind::RolePolicy,
            resource: Some(push_role.clone()),
            attach_to: format!("permissions of {push_role} (inline policy {ROLE_POLICY_NAME})"),
            purpose: "git push of the configured branch only.".into(),
            document: policy(vec![git_push, git_read]),
        });
    }
    if cfg.pipeline.trigger == Trigger::Events {
        let (pipeline_side, source_side) = super::events::documents(cfg);
        let first_source = docs
            .iter()
            .position(|d| d.account == *sa && d.account != *pa);
        let at = first_source.unwrap_or(docs.len());
        docs.splice(at..at, pipeline_side);
        docs.extend(source_side);
    }
    if let Some(side) = super::deploy::pipeline_side(cfg) {
        for d in docs.iter_mut().filter(|d| d.account == *pa) {
            let statement = match (d.kind, d.resource.as_deref()) {
                (Kind::KeyPolicy, _) => &side.key,
                (Kind::BucketPolicy, _) => &side.bucket,
                (Kind::RolePolicy, Some(r)) if r == service_role => &side.service_role,
                (Kind::RolePolicy, Some(r)) if r == build_role => &side.build_role,
                (Kind::IdentityPolicy, _) => &side.developer,
                _ => continue,
            };
            if let Some(list) = d.document["Statement"].as_array_mut() {
                list.push(statement.clone());
            }
        }
        docs.extend(super::deploy::target_documents(cfg, &key));
    }
    Policies {
        pipeline_account: pa.clone(),
        source_account: sa.clone(),
        target_accounts: cfg.deploy.iter().fold(Vec::new(), |mut v, d| {
            if !v.contains(&d.account) {
                v.push(d.account.clone());
            }
            v
        }),
        documents: docs,
    }
}

#[cfg(test)]
#[path = "documents_tests.rs"]
mod tests;
