//! The least-privilege IAM, KMS and S3 policy documents a cross-account pipeline needs, in
//! both accounts, rendered from the configuration. Pure: `Config` in, documents out.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Config;
use crate::model::arn::partition_of;

/// One policy document and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The account the document belongs in.
    pub account: String,
    /// What it is attached to, e.g. "key policy of arn:aws:kms:...".
    pub attach_to: String,
    /// Why it is needed, in one sentence.
    pub purpose: String,
    pub document: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    pub pipeline_account: String,
    pub source_account: String,
    pub documents: Vec<Document>,
}

impl fmt::Display for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.documents.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let side = if d.account == self.pipeline_account {
                "pipeline"
            } else {
                "source"
            };
            writeln!(f, "# {side} account {}: {}", d.account, d.attach_to)?;
            writeln!(f, "# {}", d.purpose)?;
            let pretty = serde_json::to_string_pretty(&d.document).map_err(|_| fmt::Error)?;
            writeln!(f, "{pretty}")?;
        }
        Ok(())
    }
}

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

const KMS_USE: [&str; 5] = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
];

/// Every document both accounts need for the pipeline of `cfg`.
pub fn render(cfg: &Config) -> Policies {
    let part = partition_of(&cfg.pipeline.region);
    let region = &cfg.pipeline.region;
    let pa = &cfg.pipeline.account;
    let sa = &cfg.source.account;
    let bucket_arn = format!("arn:{part}:s3:::{}", cfg.artifacts.bucket);
    let objects_arn = format!("{bucket_arn}/*");
    let key = &cfg.artifacts.kms_key_arn;
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
    let pipeline_arn = format!(
        "arn:{part}:codepipeline:{region}:{pa}:{}",
        cfg.pipeline.name
    );
    let pipeline_root = format!("arn:{part}:iam::{pa}:root");
    // CodeBuild's default log group; its streams are `log-stream:<build uuid>`.
    let build_log_arn = format!(
        "arn:{part}:logs:{region}:{pa}:log-group:/aws/codebuild/{}:*",
        cfg.build.project
    );
    let branch_ref = format!("refs/heads/{}", cfg.source.branch);

    let external_id = cfg
        .source
        .external_id
        .as_ref()
        .map(|id| json!({ "StringEquals": { "sts:ExternalId": id } }));
    let with_condition = |mut stmt: Value, cond: Option<Value>| {
        if let Some(c) = cond {
            stmt["Condition"] = c;
        }
        stmt
    };
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

    let mut docs = vec![
        Document {
            account: pa.clone(),
            attach_to: format!("key policy of {key} (add these statements)"),
            purpose: "Lets the source-account role encrypt and decrypt pipeline artifacts with the key.".into(),
            document: policy(vec![json!({
                "Sid": "SourceAccountRoleUsesTheKey",
                "Effect": "Allow",
                "Principal": { "AWS": source_role },
                "Action": KMS_USE,
                "Resource": "*"
            })]),
        },
        Document {
            account: pa.clone(),
            attach_to: format!("bucket policy of {}", cfg.artifacts.bucket),
            purpose: "Lets the source-account role put the source artifact into the bucket; refuses plain HTTP.".into(),
            document: policy(vec![
                json!({
                    "Sid": "SourceAccountRoleWritesArtifacts",
                    "Effect": "Allow",
                    "Principal": { "AWS": source_role },
                    "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl"],
                    "Resource": objects_arn
                }),
                json!({
                    "Sid": "SourceAccountRoleListsTheBucket",
                    "Effect": "Allow",
                    "Principal": { "AWS": source_role },
                    "Action": "s3:ListBucket",
                    "Resource": bucket_arn
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
            attach_to: format!("trust policy of {service_role}"),
            purpose: "Lets CodePipeline run as the service role.".into(),
            document: policy(vec![json!({
                "Effect": "Allow",
                "Principal": { "Service": "codepipeline.amazonaws.com" },
                "Action": "sts:AssumeRole"
            })]),
        },
        Document {
            account: pa.clone(),
            attach_to: format!("permissions of {service_role}"),
            purpose: "What the pipeline itself does: assume the source role, use the bucket and key, run the build.".into(),
            document: policy(vec![
                json!({ "Sid": "AssumeTheSourceRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": source_role }),
                json!({
                    "Sid": "Artifacts",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject*", "s3:PutObject", "s3:PutObjectAcl", "s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:ListBucket"],
                    "Resource": [bucket_arn, objects_arn]
                }),
                json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KMS_USE, "Resource": key }),
                json!({
                    "Sid": "Build",
                    "Effect": "Allow",
                    "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StartBuildBatch", "codebuild:BatchGetBuildBatches"],
                    "Resource": project_arn
                }),
            ]),
        },
        Document {
            account: pa.clone(),
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

    // The source role: assumed by the pipeline's service role, and by developers when it is
    // also the push role.
    let mut trust = vec![with_condition(
        json!({
            "Sid": "ThePipelineAssumesThisRole",
            "Effect": "Allow",
            "Principal": { "AWS": service_role },
            "Action": "sts:AssumeRole"
        }),
        external_id.clone(),
    )];
    let push_is_source = push_role == source_role;
    if push_is_source {
        trust.push(with_condition(
            json!({
                "Sid": "DevelopersPush",
                "Effect": "Allow",
                "Principal": { "AWS": pipeline_root },
                "Action": "sts:AssumeRole"
            }),
            developer_condition.clone(),
        ));
    }
    docs.push(Document {
        account: sa.clone(),
        attach_to: format!("trust policy of {source_role}"),
        purpose: if push_is_source {
            "Lets the pipeline's service role (Source action) and identities of the pipeline account (push) assume the role.".into()
        } else {
            "Lets the pipeline's service role assume the role for the Source action.".into()
        },
        document: policy(trust),
    });
    let mut source_perms = vec![
        json!({
            "Sid": "SourceAction",
            "Effect": "Allow",
            "Action": ["codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:UploadArchive", "codecommit:GetUploadArchiveStatus", "codecommit:CancelUploadArchive"],
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
        attach_to: format!("permissions of {source_role}"),
        purpose: "What the Source action does in the source account: read the branch, write the artifact with the key.".into(),
        document: policy(source_perms),
    });
    if !push_is_source {
        docs.push(Document {
            account: sa.clone(),
            attach_to: format!("trust policy of {push_role}"),
            purpose: "Lets identities of the pipeline account assume the push role.".into(),
            document: policy(vec![with_condition(
                json!({ "Effect": "Allow", "Principal": { "AWS": pipeline_root }, "Action": "sts:AssumeRole" }),
                developer_condition,
            )]),
        });
        docs.push(Document {
            account: sa.clone(),
            attach_to: format!("permissions of {push_role}"),
            purpose: "git push of the configured branch only.".into(),
            document: policy(vec![git_push, git_read]),
        });
    }
    Policies {
        pipeline_account: pa.clone(),
        source_account: sa.clone(),
        documents: docs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        let text = format!(
            "{}{extra}",
            include_str!("../../xpipeline.toml.example")
                .split("\n# Optional. How `push`")
                .next()
                .unwrap()
        );
        crate::config::parse(&text, "x", "x".into()).unwrap_or_else(|d| panic!("{d}"))
    }

    fn find<'a>(p: &'a Policies, attach_prefix: &str) -> &'a Value {
        &p.documents
            .iter()
            .find(|d| d.attach_to.starts_with(attach_prefix))
            .unwrap_or_else(|| panic!("{attach_prefix}"))
            .document
    }

    #[test]
    fn key_and_bucket_policies_name_only_the_source_role() {
        let p = render(&cfg(""));
        let key = find(&p, "key policy of");
        assert_eq!(
            key["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::222222222222:role/hello-cross-account"
        );
        let bucket = find(&p, "bucket policy of");
        assert_eq!(
            bucket["Statement"][0]["Resource"],
            "arn:aws:s3:::hello-pipeline-artifacts/*"
        );
        assert_eq!(bucket["Statement"][2]["Effect"], "Deny");
    }

    #[test]
    fn whoever_pushes_may_follow_the_build_and_read_its_log() {
        let p = render(&cfg(""));
        let push = find(&p, "the developers or CI identity");
        let stmt = |sid: &str| {
            push["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{sid}"))
                .clone()
        };
        let follow = stmt("FollowTheBuild");
        assert_eq!(follow["Action"], "codebuild:BatchGetBuilds");
        assert_eq!(
            follow["Resource"],
            "arn:aws:codebuild:eu-west-1:111111111111:project/hello-build"
        );
        let log = stmt("ReadTheBuildLog");
        assert_eq!(log["Action"], "logs:GetLogEvents");
        assert_eq!(
            log["Resource"],
            "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/codebuild/hello-build:*"
        );
    }

    #[test]
    fn the_service_role_assumes_exactly_the_source_role() {
        let p = render(&cfg(""));
        let perms = find(
            &p,
            "permissions of arn:aws:iam::111111111111:role/hello-codepipeline",
        );
        assert_eq!(perms["Statement"][0]["Action"], "sts:AssumeRole");
        assert_eq!(
            perms["Statement"][0]["Resource"],
            "arn:aws:iam::222222222222:role/hello-cross-account"
        );
        assert_eq!(
            perms["Statement"][3]["Resource"],
            "arn:aws:codebuild:eu-west-1:111111111111:project/hello-build"
        );
    }

    #[test]
    fn the_source_role_trust_carries_the_external_id_and_push_rights_are_branch_scoped() {
        let p = render(&cfg(""));
        let trust = find(
            &p,
            "trust policy of arn:aws:iam::222222222222:role/hello-cross-account",
        );
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            "hello-external-id"
        );
        let perms = find(
            &p,
            "permissions of arn:aws:iam::222222222222:role/hello-cross-account",
        );
        let push = perms["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "PushTheConfiguredBranch")
            .unwrap();
        assert_eq!(
            push["Condition"]["StringEqualsIfExists"]["codecommit:References"][0],
            "refs/heads/main"
        );
        assert_eq!(
            push["Resource"],
            "arn:aws:codecommit:eu-west-1:222222222222:hello"
        );
    }

    #[test]
    fn a_separate_push_role_gets_its_own_documents_and_mfa_condition() {
        let p = render(&cfg(
            "\n[push]\nrole-arn = \"arn:aws:iam::222222222222:role/pusher\"\nmfa-serial = \"arn:aws:iam::111111111111:mfa/alice\"\n",
        ));
        let trust = find(&p, "trust policy of arn:aws:iam::222222222222:role/pusher");
        assert_eq!(
            trust["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
            "true"
        );
        let source = find(
            &p,
            "permissions of arn:aws:iam::222222222222:role/hello-cross-account",
        );
        assert!(
            !source.to_string().contains("GitPush"),
            "the source role no longer pushes"
        );
        assert!(
            find(&p, "permissions of arn:aws:iam::222222222222:role/pusher")
                .to_string()
                .contains("GitPush")
        );
    }
}
