//! Tests of the policy documents: the golden files (snapshots/) and the properties each
//! document must keep.
use super::*;

fn cfg(extra: &str) -> Config {
    let text = format!(
        "{}{extra}",
        include_str!("../../../xpipeline.toml.example")
            .split("\n# Optional. How `push`")
            .next()
            .unwrap()
    );
    crate::config::parse(&text, "x", "x".into()).unwrap_or_else(|d| panic!("{d}"))
}

fn rendered(extra: &str) -> Policies {
    let c = cfg(extra);
    render(&c, &build_role_arn(&c))
}

fn events() -> Policies {
    let mut c = cfg("");
    c.pipeline.trigger = Trigger::Events;
    render(&c, &build_role_arn(&c))
}

fn doc<'a>(p: &'a Policies, kind: Kind, resource: &str) -> &'a Document {
    p.find(kind, resource)
        .unwrap_or_else(|| panic!("{kind:?} of {resource}"))
}

const SOURCE_ROLE: &str = "arn:aws:iam::222222222222:role/hello-cross-account";
const SERVICE_ROLE: &str = "arn:aws:iam::111111111111:role/hello-codepipeline";
const BUILD_ROLE: &str = "arn:aws:iam::111111111111:role/codebuild-hello-build-service-role";
const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// Golden files: every document, as `policies --output json` prints it, one file per
/// configuration (src/model/policies/snapshots/).
#[test]
fn golden_documents() {
    for (name, extra) in [
        ("policies_example", ""),
        (
            "policies_separate_push_role_with_mfa",
            "\n[push]\nrole-arn = \"arn:aws:iam::222222222222:role/pusher\"\nmfa-serial = \"arn:aws:iam::111111111111:mfa/alice\"\n",
        ),
    ] {
        let json = serde_json::to_string_pretty(&rendered(extra)).unwrap();
        insta::assert_snapshot!(name, json);
    }
    let json = serde_json::to_string_pretty(&events()).unwrap();
    insta::assert_snapshot!("policies_trigger_events", json);
}

#[test]
fn whoever_pushes_may_follow_the_build_and_read_its_log() {
    let p = rendered("");
    let push = &p
        .documents
        .iter()
        .find(|d| d.attach_to.starts_with("the developers"))
        .unwrap();
    let stmt = |sid: &str| {
        push.document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        stmt("FollowTheBuild")["Resource"],
        "arn:aws:codebuild:eu-west-1:111111111111:project/hello-build"
    );
    assert_eq!(
        stmt("ReadTheBuildLog")["Resource"],
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/codebuild/hello-build:*"
    );
}

#[test]
fn the_statement_trusting_the_service_role_has_no_external_id_but_push_keeps_it() {
    let p = rendered("");
    let trust = doc(&p, Kind::TrustPolicy, SOURCE_ROLE);
    let pipeline = trust.statement("ThePipelineAssumesThisRole").unwrap();
    assert_eq!(pipeline["Principal"]["AWS"], SERVICE_ROLE);
    assert!(pipeline.get("Condition").is_none(), "{pipeline}");
    let push = trust.statement("DevelopersPush").unwrap();
    assert_eq!(
        push["Condition"]["StringEquals"]["sts:ExternalId"],
        "hello-external-id"
    );
}

#[test]
fn the_key_policy_keeps_the_iam_delegation_and_lets_the_source_role_in() {
    let p = rendered("");
    let key = doc(&p, Kind::KeyPolicy, KEY);
    let delegation = key.statement(DELEGATION_SID).unwrap();
    assert_eq!(
        delegation["Principal"]["AWS"],
        "arn:aws:iam::111111111111:root"
    );
    assert_eq!(
        key.statement("SourceAccountRoleUsesTheKey").unwrap()["Principal"]["AWS"],
        SOURCE_ROLE
    );
}

#[test]
fn the_build_role_gets_the_bucket_and_the_key() {
    let p = rendered("");
    let perms = doc(&p, Kind::RolePolicy, BUILD_ROLE);
    let key = perms.statement("ArtifactKey").unwrap();
    assert_eq!(key["Resource"], KEY);
    assert!(key["Action"].to_string().contains("kms:Decrypt"));
    let objects = perms.statement("ArtifactObjects").unwrap();
    assert_eq!(
        objects["Resource"],
        "arn:aws:s3:::hello-pipeline-artifacts/*"
    );
    assert!(objects["Action"].to_string().contains("s3:GetObject"));
    assert!(objects["Action"].to_string().contains("s3:PutObject"));
    let trust = doc(&p, Kind::TrustPolicy, BUILD_ROLE);
    assert_eq!(
        trust.document["Statement"][0]["Principal"]["Service"],
        "codebuild.amazonaws.com"
    );
}

#[test]
fn the_service_role_can_stop_the_build_and_assumes_exactly_the_source_role() {
    let p = rendered("");
    let perms = doc(&p, Kind::RolePolicy, SERVICE_ROLE);
    assert_eq!(
        perms.statement("AssumeTheSourceRole").unwrap()["Resource"],
        SOURCE_ROLE
    );
    let build = perms.statement("Build").unwrap();
    assert!(build["Action"].to_string().contains("codebuild:StopBuild"));
    assert_eq!(
        build["Resource"],
        "arn:aws:codebuild:eu-west-1:111111111111:project/hello-build"
    );
}

#[test]
fn the_bucket_grants_the_source_role_only_what_its_own_policy_allows() {
    let p = rendered("");
    let bucket = doc(
        &p,
        Kind::BucketPolicy,
        "arn:aws:s3:::hello-pipeline-artifacts",
    );
    let source = doc(&p, Kind::RolePolicy, SOURCE_ROLE);
    let granted = &bucket
        .statement("SourceAccountRoleWritesArtifacts")
        .unwrap()["Action"];
    assert_eq!(
        granted,
        &source.statement("WriteArtifacts").unwrap()["Action"]
    );
    assert!(!bucket.document.to_string().contains("s3:ListBucket"));
    for retired in BUCKET_RETIRED_SIDS {
        assert!(bucket.statement(retired).is_none());
    }
}

/// No `*` action except the key policy's delegation to the account (AWS's own default
/// statement, without which the account could not manage its key), and no `*` resource
/// outside key policies (where it means "this key").
#[test]
fn least_privilege_holds_for_every_document() {
    for p in [
        rendered(""),
        rendered("\n[push]\nrole-arn = \"arn:aws:iam::222222222222:role/pusher\"\n"),
        events(),
    ] {
        for d in &p.documents {
            let Some(statements) = d.document["Statement"].as_array() else {
                assert_eq!(d.kind, Kind::EventRule, "{}", d.attach_to);
                continue;
            };
            for s in statements {
                let sid = s["Sid"].as_str().expect("every statement has a Sid");
                if s["Effect"] == "Deny" || sid == DELEGATION_SID {
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
}

#[test]
fn an_unset_key_is_named_for_what_bootstrap_will_create() {
    let mut c = cfg("");
    c.artifacts.kms_key_arn = None;
    let p = render(&c, &build_role_arn(&c));
    let key = &p.documents[0];
    assert_eq!(key.kind, Kind::KeyPolicy);
    assert!(
        key.attach_to.contains("alias/hello-pipeline-artifacts"),
        "{}",
        key.attach_to
    );
    assert_eq!(
        key.resource.as_deref(),
        Some("arn:aws:kms:eu-west-1:111111111111:key/CREATED-BY-BOOTSTRAP")
    );
}
