//! Tests of the target-account documents: golden files (snapshots/) and the properties each
//! must keep.

use serde_json::Value;

use super::*;
use crate::config::Deploy;
use crate::model::policies::{Policies, build_role_arn, render};

const STAGING: &str = "333333333333";
const PROD: &str = "444444444444";
const SERVICE_ROLE: &str = "arn:aws:iam::111111111111:role/hello-codepipeline";
const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The example without its `[[deploy]]` entries (each test declares its own).
fn base() -> Config {
    let mut c = crate::config::parse(
        include_str!("../../../xpipeline.toml.example"),
        "x",
        "x".into(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    c.deploy.clear();
    c
}

/// An entry with the defaults the configuration fills in.
pub(crate) fn entry(cfg: &Config, name: &str, account: &str, stack: &str) -> Deploy {
    Deploy::with_defaults(&cfg.pipeline.name, name, account, stack)
}

/// Staging and prod, as the example.
fn two_targets() -> Config {
    let mut c = base();
    c.deploy = vec![
        entry(&c, "Staging", STAGING, "hello-staging"),
        entry(&c, "Prod", PROD, "hello-prod"),
    ];
    c
}

fn rendered(c: &Config) -> Policies {
    render(c, &build_role_arn(c))
}

fn statement<'a>(d: &'a Document, sid: &str) -> &'a Value {
    d.statement(sid)
        .unwrap_or_else(|| panic!("{sid} in {}", d.attach_to))
}

#[test]
fn golden_target_documents() {
    let mut c = two_targets();
    // A second stack in prod, and an explicit execution role there: grouped, not repeated.
    let mut other = entry(&c, "ProdApi", PROD, "hello-api");
    other.execution_role_arn = format!("arn:aws:iam::{PROD}:role/team-api-execution");
    other.execution_policies = vec!["arn:aws:iam::444444444444:policy/api-stack".into()];
    c.deploy.push(other);
    let json = serde_json::to_string_pretty(&rendered(&c)).unwrap();
    insta::assert_snapshot!("policies_deploy_targets", json);
    let text = rendered(&c).to_string();
    assert!(
        text.contains("# target account 444444444444: trust policy of arn:aws:iam::444444444444:role/team-api-execution [given in xpipeline.toml"),
        "{text}"
    );
}

#[test]
fn without_deploy_entries_nothing_changes() {
    let c = base();
    let p = rendered(&c);
    assert!(p.target_accounts.is_empty());
    assert!(pipeline_side(&c).is_none());
    let json = serde_json::to_value(&p).unwrap();
    assert!(json.get("targetAccounts").is_none());
}

#[test]
fn the_deploy_role_trusts_only_the_service_role_without_external_id() {
    let p = rendered(&two_targets());
    for account in [STAGING, PROD] {
        let arn = format!("arn:aws:iam::{account}:role/hello-pipeline-deploy");
        let trust = p.find(Kind::TrustPolicy, &arn).unwrap();
        assert_eq!(trust.account, account);
        let s = statement(trust, "ThePipelineAssumesThisRole");
        assert_eq!(s["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
        assert_eq!(
            s["Condition"],
            serde_json::json!({ "ArnEquals": { "aws:PrincipalArn": SERVICE_ROLE } })
        );
        assert!(!s.to_string().contains("sts:ExternalId"), "{s}");
    }
}

#[test]
fn the_execution_role_trusts_cloudformation_of_its_own_account_and_gets_its_policies() {
    let p = rendered(&two_targets());
    let arn = format!("arn:aws:iam::{STAGING}:role/hello-pipeline-cfn-execution");
    let s = statement(
        p.find(Kind::TrustPolicy, &arn).unwrap(),
        "CloudFormationAssumesTheRole",
    );
    assert_eq!(s["Principal"]["Service"], "cloudformation.amazonaws.com");
    assert_eq!(s["Condition"]["StringEquals"]["aws:SourceAccount"], STAGING);
    let managed = p.find(Kind::ManagedPolicies, &arn).unwrap();
    assert_eq!(
        managed.document["PolicyArns"],
        serde_json::json!(["arn:aws:iam::aws:policy/AmazonSSMFullAccess"])
    );
    let inline = p.find(Kind::RolePolicy, &arn).unwrap();
    assert_eq!(
        statement(inline, "ReadTheArtifacts")["Resource"],
        serde_json::json!(["arn:aws:s3:::hello-pipeline-artifacts/hello-pipeline/*"])
    );
    assert_eq!(statement(inline, "ArtifactKey")["Resource"], KEY);
}

#[test]
fn the_deploy_role_reaches_its_stacks_passes_its_execution_role_and_deletes_nothing() {
    let p = rendered(&two_targets());
    let arn = format!("arn:aws:iam::{PROD}:role/hello-pipeline-deploy");
    let d = p.find(Kind::RolePolicy, &arn).unwrap();
    assert_eq!(
        statement(d, "ChangeSetsOfTheStacks")["Resource"],
        serde_json::json!(["arn:aws:cloudformation:eu-west-1:444444444444:stack/hello-prod/*"])
    );
    let pass = statement(d, "PassTheExecutionRole");
    assert_eq!(
        pass["Resource"],
        serde_json::json!(["arn:aws:iam::444444444444:role/hello-pipeline-cfn-execution"])
    );
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        "cloudformation.amazonaws.com"
    );
    assert_eq!(
        statement(d, "UseTheSamTransform")["Resource"],
        "arn:aws:cloudformation:eu-west-1:aws:transform/Serverless-2016-10-31"
    );
    // IAM cannot bound DeleteStack to ROLLBACK_COMPLETE: no document grants it.
    for doc in &p.documents {
        assert!(
            !doc.document.to_string().contains("DeleteStack"),
            "{}",
            doc.attach_to
        );
    }
}

#[test]
fn the_pipeline_account_grants_the_target_roles_by_condition_not_by_principal() {
    let c = two_targets();
    let p = rendered(&c);
    let roles = serde_json::json!([
        "arn:aws:iam::333333333333:role/hello-pipeline-deploy",
        "arn:aws:iam::333333333333:role/hello-pipeline-cfn-execution",
        "arn:aws:iam::444444444444:role/hello-pipeline-deploy",
        "arn:aws:iam::444444444444:role/hello-pipeline-cfn-execution"
    ]);
    let roots = serde_json::json!([
        "arn:aws:iam::333333333333:root",
        "arn:aws:iam::444444444444:root"
    ]);
    let key = p.find(Kind::KeyPolicy, KEY).unwrap();
    let bucket = p
        .find(Kind::BucketPolicy, "arn:aws:s3:::hello-pipeline-artifacts")
        .unwrap();
    for s in [
        statement(key, "DeployTargetsUseTheKey"),
        statement(bucket, "DeployTargetsReadArtifacts"),
    ] {
        assert_eq!(s["Principal"]["AWS"], roots);
        assert_eq!(s["Condition"]["ArnEquals"]["aws:PrincipalArn"], roles);
    }
    let service = p.find(Kind::RolePolicy, SERVICE_ROLE).unwrap();
    assert_eq!(
        statement(service, "AssumeTheDeployRoles")["Resource"],
        serde_json::json!([
            "arn:aws:iam::333333333333:role/hello-pipeline-deploy",
            "arn:aws:iam::444444444444:role/hello-pipeline-deploy"
        ])
    );
    let build = p.find(Kind::RolePolicy, &build_role_arn(&c)).unwrap();
    assert_eq!(
        statement(build, "WritePackages")["Resource"],
        "arn:aws:s3:::hello-pipeline-artifacts/hello-pipeline/packages/*"
    );
    let developer = p
        .documents
        .iter()
        .find(|d| d.kind == Kind::IdentityPolicy)
        .unwrap();
    assert_eq!(
        statement(developer, "ReadTheTargetBootstraps")["Resource"],
        "arn:aws:ssm:eu-west-1:111111111111:parameter/xpipeline/hello-pipeline/targets/*"
    );
}

#[test]
fn a_long_pipeline_name_reads_its_artifacts_under_twenty_characters_and_its_packages_apart() {
    let mut c = two_targets();
    c.pipeline.name = "a-rather-long-pipeline-name".into();
    assert_eq!(
        readable_objects(&c),
        vec![
            "arn:aws:s3:::hello-pipeline-artifacts/a-rather-long-pipeli/*".to_owned(),
            "arn:aws:s3:::hello-pipeline-artifacts/a-rather-long-pipeline-name/packages/*"
                .to_owned(),
        ]
    );
}

#[test]
fn roles_given_in_the_file_are_not_managed_and_entries_of_one_account_share_a_target() {
    let mut c = two_targets();
    let mut api = entry(&c, "ProdApi", PROD, "hello-api");
    api.role_arn = format!("arn:aws:iam::{PROD}:role/their-deployer");
    c.deploy.push(api);
    let t = targets(&c);
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].account, PROD);
    assert_eq!(t[1].deploy_roles.len(), 2);
    assert!(t[1].deploy_roles[0].managed);
    assert!(!t[1].deploy_roles[1].managed);
    assert_eq!(t[1].execution_roles.len(), 1, "shared execution role");
    assert_eq!(marker_name(&c), "/xpipeline/hello-pipeline/bootstrap");
    assert_eq!(
        mirror_name(&c, PROD),
        "/xpipeline/hello-pipeline/targets/444444444444"
    );
}

/// Every statement has a Sid, unique in its document; no `*` action; no `*` resource outside
/// key policies (where it means "this key").
#[test]
fn least_privilege_and_sids_hold_for_every_target_document() {
    let p = rendered(&two_targets());
    for d in &p.documents {
        let Some(statements) = d.document["Statement"].as_array() else {
            assert!(
                matches!(d.kind, Kind::ManagedPolicies | Kind::EventRule),
                "{}",
                d.attach_to
            );
            continue;
        };
        let mut sids = std::collections::BTreeSet::new();
        for s in statements {
            let sid = s["Sid"].as_str().expect("every statement has a Sid");
            assert!(sids.insert(sid), "{sid} twice in {}", d.attach_to);
            if s["Effect"] == "Deny" || sid == super::super::documents::DELEGATION_SID {
                continue;
            }
            let actions = match &s["Action"] {
                Value::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            for a in actions {
                let a = a.as_str().unwrap();
                assert!(!a.ends_with(":*") && a != "*", "{sid}: {a}");
            }
            if d.kind != Kind::KeyPolicy {
                assert_ne!(s["Resource"], "*", "{sid} in {}", d.attach_to);
            }
        }
    }
}
