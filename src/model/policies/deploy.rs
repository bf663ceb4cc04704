//! The documents of the `[[deploy]]` target accounts, and the statements the pipeline account
//! adds for them. Facts from AWS that shape them:
//! - CodePipeline assumes a cross-account action role as the pipeline's service role and sends
//!   no external id: the deploy role trusts the pipeline account's root with an
//!   `aws:PrincipalArn` condition on the service role. A condition, unlike a principal naming
//!   the role, is not checked for existence, so the trust can be written before the service
//!   role exists (no "invalid principal").
//! - The key and bucket policies of the pipeline account grant the target roles the same way:
//!   the target account's root as principal and the roles in an `aws:PrincipalArn` condition, so
//!   they can be written before bootstrap has reached the target accounts.
//! - AWS refuses a cross-account pass role: the execution role is in the deploy role's account
//!   (the configuration checks it at load).
//! - `cloudformation:DeleteStack` is not granted. A stack left in ROLLBACK_COMPLETE can only be
//!   deleted, and IAM has no condition key for a stack's status, so a grant could not be bounded
//!   to that state: it would let the pipeline delete a healthy production stack. The fix of a
//!   ROLLBACK_COMPLETE stack is a command run with the target account's admin instead.
//! - CodePipeline writes artifacts under the first 20 characters of the pipeline's name; the
//!   build packages Lambda code under `<pipeline>/packages/` (`aws cloudformation package`),
//!   which CloudFormation and Lambda read as the execution role.

use serde_json::{Value, json};

use super::{Document, Kind};
use crate::config::{Config, default_deploy_role_name, default_execution_role_name};
use crate::model::arn::partition_of;

/// The version of what bootstrap applies in a target account. Bump it whenever the target
/// documents change shape (a statement added, an action granted): `push` then asks for a new
/// `bootstrap` of every target whose marker is older.
pub const TARGET_BOOTSTRAP_VERSION: u32 = 1;

/// SAM's transform, which a change set of a template using it must be allowed to use.
const SAM_TRANSFORM: &str = "Serverless-2016-10-31";

/// What the deploy role does with the stacks of its entries: the change-set actions of
/// CHANGE_SET_REPLACE and CHANGE_SET_EXECUTE, and CREATE_UPDATE's CreateStack/UpdateStack.
const STACK_ACTIONS: [&str; 7] = [
    "cloudformation:CreateChangeSet",
    "cloudformation:CreateStack",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:UpdateStack",
];

/// What a target role does with the artifact objects.
const OBJECT_READ: [&str; 2] = ["s3:GetObject", "s3:GetObjectVersion"];

/// What a target role does with the artifact key: decrypt what it reads.
const KEY_READ: [&str; 2] = ["kms:Decrypt", "kms:DescribeKey"];

/// A deploy role and what it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRole {
    pub arn: String,
    /// The stacks of its entries, in file order, without repeats.
    pub stacks: Vec<String>,
    /// The execution roles it passes to CloudFormation.
    pub passes: Vec<String>,
    /// The default role (`<pipeline>-deploy`): bootstrap creates and corrects it. A role given
    /// by `role-arn` is the team's: bootstrap leaves it alone.
    pub managed: bool,
}

/// An execution role and the managed policies its entries declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRole {
    pub arn: String,
    pub policies: Vec<String>,
    /// The default role (`<pipeline>-cfn-execution`), as for `DeployRole::managed`.
    pub managed: bool,
}

/// One target account: its roles, as its entries declare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: String,
    pub deploy_roles: Vec<DeployRole>,
    pub execution_roles: Vec<ExecutionRole>,
}

impl Target {
    /// Every role of the target, deploy roles first.
    pub fn role_arns(&self) -> Vec<String> {
        let deploy = self.deploy_roles.iter().map(|r| r.arn.clone());
        deploy
            .chain(self.execution_roles.iter().map(|r| r.arn.clone()))
            .collect()
    }
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}

/// The role of `name` in `account`, in the pipeline's partition.
pub fn role_arn(cfg: &Config, account: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{name}",
        partition_of(&cfg.pipeline.region)
    )
}

/// The target accounts of `cfg`, in the order their first entry appears.
pub fn targets(cfg: &Config) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for d in &cfg.deploy {
        let at = match out.iter().position(|t| t.account == d.account) {
            Some(i) => i,
            None => {
                out.push(Target {
                    account: d.account.clone(),
                    deploy_roles: vec![],
                    execution_roles: vec![],
                });
                out.len() - 1
            }
        };
        let t = &mut out[at];
        let default_deploy = role_arn(
            cfg,
            &d.account,
            &default_deploy_role_name(&cfg.pipeline.name),
        );
        let default_exec = role_arn(
            cfg,
            &d.account,
            &default_execution_role_name(&cfg.pipeline.name),
        );
        let role = match t.deploy_roles.iter().position(|r| r.arn == d.role_arn) {
            Some(i) => &mut t.deploy_roles[i],
            None => {
                t.deploy_roles.push(DeployRole {
                    arn: d.role_arn.clone(),
                    stacks: vec![],
                    passes: vec![],
                    managed: d.role_arn == default_deploy,
                });
                t.deploy_roles.last_mut().expect("just pushed")
            }
        };
        push_new(&mut role.stacks, &d.stack);
        push_new(&mut role.passes, &d.execution_role_arn);
        let exec = match t
            .execution_roles
            .iter()
            .position(|r| r.arn == d.execution_role_arn)
        {
            Some(i) => &mut t.execution_roles[i],
            None => {
                t.execution_roles.push(ExecutionRole {
                    arn: d.execution_role_arn.clone(),
                    policies: vec![],
                    managed: d.execution_role_arn == default_exec,
                });
                t.execution_roles.last_mut().expect("just pushed")
            }
        };
        for p in &d.execution_policies {
            push_new(&mut exec.policies, p);
        }
    }
    out
}

/// The prefix CodePipeline writes the pipeline's artifacts under: the first 20 characters of
/// its name.
pub fn artifact_prefix(cfg: &Config) -> String {
    cfg.pipeline.name.chars().take(20).collect()
}

/// Where the build writes packaged code (`aws cloudformation package --s3-prefix`).
pub fn packages_prefix(cfg: &Config) -> String {
    format!("{}/packages", cfg.pipeline.name)
}

/// The artifact objects a target role reads: the pipeline's artifacts and the packages (when
/// the packages are not already under the artifacts' prefix).
pub fn readable_objects(cfg: &Config) -> Vec<String> {
    let bucket = format!(
        "arn:{}:s3:::{}",
        partition_of(&cfg.pipeline.region),
        cfg.artifacts.bucket
    );
    let artifacts = artifact_prefix(cfg);
    let mut out = vec![format!("{bucket}/{artifacts}/*")];
    if !packages_prefix(cfg).starts_with(&format!("{artifacts}/")) {
        out.push(format!("{bucket}/{}/*", packages_prefix(cfg)));
    }
    out
}

/// The bootstrap marker's name in a target account.
pub fn marker_name(cfg: &Config) -> String {
    format!("/xpipeline/{}/bootstrap", cfg.pipeline.name)
}

/// Its mirror's name in the pipeline account, for the target `account`.
pub fn mirror_name(cfg: &Config, account: &str) -> String {
    format!("/xpipeline/{}/targets/{account}", cfg.pipeline.name)
}

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn given_note(managed: bool) -> &'static str {
    if managed {
        ""
    } else {
        " [given in xpipeline.toml: bootstrap neither creates nor changes it; it must hold these statements]"
    }
}

/// The documents of every target account, account by account: for each deploy role its trust
/// and inline policy, for each execution role its trust, inline policy and managed policies.
/// `key` is the artifact key's ARN (or the placeholder until bootstrap creates it).
pub fn target_documents(cfg: &Config, key: &str) -> Vec<Document> {
    let part = partition_of(&cfg.pipeline.region);
    let region = &cfg.pipeline.region;
    let pa = &cfg.pipeline.account;
    let objects = readable_objects(cfg);
    let mut docs = Vec::new();
    for t in targets(cfg) {
        let ta = &t.account;
        for r in &t.deploy_roles {
            let note = given_note(r.managed);
            let stacks: Vec<String> = r
                .stacks
                .iter()
                .map(|s| format!("arn:{part}:cloudformation:{region}:{ta}:stack/{s}/*"))
                .collect();
            docs.push(Document {
                account: ta.clone(),
                kind: Kind::TrustPolicy,
                resource: Some(r.arn.clone()),
                attach_to: format!("trust policy of {}{note}", r.arn),
                purpose: "Lets the pipeline's service role (and only it) assume the deploy role; no external id: CodePipeline sends none.".into(),
                document: policy(vec![json!({
                    "Sid": "ThePipelineAssumesThisRole",
                    "Effect": "Allow",
                    "Principal": { "AWS": format!("arn:{part}:iam::{pa}:root") },
                    "Action": "sts:AssumeRole",
                    "Condition": { "ArnEquals": { "aws:PrincipalArn": cfg.pipeline.service_role_arn } }
                })]),
            });
            docs.push(Document {
                account: ta.clone(),
                kind: Kind::RolePolicy,
                resource: Some(r.arn.clone()),
                attach_to: format!(
                    "permissions of {} (inline policy {}){note}",
                    r.arn,
                    super::ROLE_POLICY_NAME
                ),
                purpose: "What the deploy actions do: change sets of the declared stacks, executed as the execution role, from the artifact read with the key. No DeleteStack: a ROLLBACK_COMPLETE stack is deleted by its account's admin.".into(),
                document: policy(vec![
                    json!({ "Sid": "ChangeSetsOfTheStacks", "Effect": "Allow", "Action": STACK_ACTIONS, "Resource": stacks }),
                    json!({ "Sid": "ReadStackEvents", "Effect": "Allow", "Action": "cloudformation:DescribeStackEvents", "Resource": stacks }),
                    json!({
                        "Sid": "UseTheSamTransform",
                        "Effect": "Allow",
                        "Action": "cloudformation:CreateChangeSet",
                        "Resource": format!("arn:{part}:cloudformation:{region}:aws:transform/{SAM_TRANSFORM}")
                    }),
                    json!({
                        "Sid": "PassTheExecutionRole",
                        "Effect": "Allow",
                        "Action": "iam:PassRole",
                        "Resource": r.passes,
                        "Condition": { "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } }
                    }),
                    json!({ "Sid": "ReadTheArtifacts", "Effect": "Allow", "Action": OBJECT_READ, "Resource": objects }),
                    json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KEY_READ, "Resource": key }),
                ]),
            });
        }
        for r in &t.execution_roles {
            let note = given_note(r.managed);
            docs.push(Document {
                account: ta.clone(),
                kind: Kind::TrustPolicy,
                resource: Some(r.arn.clone()),
                attach_to: format!("trust policy of {}{note}", r.arn),
                purpose:
                    "Lets CloudFormation, acting for this account only, run as the execution role."
                        .into(),
                document: policy(vec![json!({
                    "Sid": "CloudFormationAssumesTheRole",
                    "Effect": "Allow",
                    "Principal": { "Service": "cloudformation.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                    "Condition": { "StringEquals": { "aws:SourceAccount": ta } }
                })]),
            });
            docs.push(Document {
                account: ta.clone(),
                kind: Kind::RolePolicy,
                resource: Some(r.arn.clone()),
                attach_to: format!(
                    "permissions of {} (inline policy {}){note}",
                    r.arn,
                    super::ROLE_POLICY_NAME
                ),
                purpose: "Reads the artifact (templates, packaged Lambda code) with the key; what the stacks create is granted by the managed policies.".into(),
                document: policy(vec![
                    json!({ "Sid": "ReadTheArtifacts", "Effect": "Allow", "Action": OBJECT_READ, "Resource": objects }),
                    json!({ "Sid": "ArtifactKey", "Effect": "Allow", "Action": KEY_READ, "Resource": key }),
                ]),
            });
            docs.push(Document {
                account: ta.clone(),
                kind: Kind::ManagedPolicies,
                resource: Some(r.arn.clone()),
                attach_to: format!("managed policies attached to {}{note}", r.arn),
                purpose: "What the stacks may create: the execution-policies declared (no administrator default).".into(),
                document: json!({ "PolicyArns": r.policies }),
            });
        }
    }
    docs
}

/// The statements the pipeline account adds for the targets, by the document they go into.
pub struct PipelineSide {
    /// Key policy: the target roles decrypt.
    pub key: Value,
    /// Bucket policy: the target roles read the artifact objects.
    pub bucket: Value,
    /// The service role's policy: it assumes each deploy role.
    pub service_role: Value,
    /// The build role's policy: it writes packaged code.
    pub build_role: Value,
    /// Whoever pushes: reads the targets' bootstrap markers.
    pub developer: Value,
}

/// `None` without `[[deploy]]` entries.
pub fn pipeline_side(cfg: &Config) -> Option<PipelineSide> {
    let targets = targets(cfg);
    if targets.is_empty() {
        return None;
    }
    let part = partition_of(&cfg.pipeline.region);
    let roots: Vec<String> = targets
        .iter()
        .map(|t| format!("arn:{part}:iam::{}:root", t.account))
        .collect();
    let roles: Vec<String> = targets.iter().flat_map(Target::role_arns).collect();
    let deploy_roles: Vec<String> = targets
        .iter()
        .flat_map(|t| t.deploy_roles.iter().map(|r| r.arn.clone()))
        .collect();
    let bucket = format!("arn:{part}:s3:::{}", cfg.artifacts.bucket);
    let by_role = json!({ "ArnEquals": { "aws:PrincipalArn": roles } });
    Some(PipelineSide {
        key: json!({
            "Sid": "DeployTargetsUseTheKey",
            "Effect": "Allow",
            "Principal": { "AWS": roots },
            "Action": KEY_READ,
            "Resource": "*",
            "Condition": by_role
        }),
        bucket: json!({
            "Sid": "DeployTargetsReadArtifacts",
            "Effect": "Allow",
            "Principal": { "AWS": roots },
            "Action": OBJECT_READ,
            "Resource": readable_objects(cfg),
            "Condition": by_role
        }),
        service_role: json!({
            "Sid": "AssumeTheDeployRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": deploy_roles
        }),
        build_role: json!({
            "Sid": "WritePackages",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": format!("{bucket}/{}/*", packages_prefix(cfg))
        }),
        developer: json!({
            "Sid": "ReadTheTargetBootstraps",
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": format!(
                "arn:{part}:ssm:{}:{}:parameter/xpipeline/{}/targets/*",
                cfg.pipeline.region, cfg.pipeline.account, cfg.pipeline.name
            )
        }),
    })
}

#[cfg(test)]
#[path = "deploy_tests.rs"]
pub(crate) mod tests;
