//! `cargo xpipeline policies`: the documents both accounts need, offline.

use crate::support::{Project, valid_config};

#[test]
fn policies_print_every_document_for_both_accounts() {
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    // An unreachable endpoint: the command must not need the network.
    let out = p
        .cmd()
        .args([
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--output",
            "json",
            "policies",
        ])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let docs = v["documents"].as_array().unwrap();
    let attach: Vec<&str> = docs
        .iter()
        .map(|d| d["attachTo"].as_str().unwrap())
        .collect();
    assert!(
        attach
            .iter()
            .any(|a| a.starts_with("key policy of arn:aws:kms:eu-west-1:111111111111:key/")),
        "{attach:?}"
    );
    assert!(
        attach.contains(&"bucket policy of demo-app-artifacts-111111111111 (these statements)"),
        "{attach:?}"
    );
    assert!(
        attach.contains(&"trust policy of arn:aws:iam::222222222222:role/demo-app-cross-account"),
        "{attach:?}"
    );
    let trust = docs
        .iter()
        .find(|d| {
            d["attachTo"] == "trust policy of arn:aws:iam::222222222222:role/demo-app-cross-account"
        })
        .unwrap();
    assert_eq!(trust["account"], "222222222222");
    assert_eq!(trust["kind"], "trustPolicy");
    let pipeline = &trust["document"]["Statement"][0];
    assert_eq!(
        pipeline["Principal"]["AWS"],
        "arn:aws:iam::111111111111:role/demo-app-codepipeline"
    );
    // CodePipeline sends no external id when it assumes the role: no condition may ask for one.
    assert!(pipeline.get("Condition").is_none(), "{pipeline}");

    let text = p.cmd().arg("policies").run().success().stdout;
    assert!(text.contains("# source account 222222222222: permissions of arn:aws:iam::222222222222:role/demo-app-cross-account (inline policy cargo-xpipeline)"), "{text}");
    assert!(text.contains("\"codecommit:GitPush\""), "{text}");
}
