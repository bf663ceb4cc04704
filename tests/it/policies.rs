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

#[test]
fn policies_print_the_target_accounts_documents_grouped_by_account() {
    let p = Project::new("demo-app", "main");
    let mut text = valid_config("111111111111", "222222222222", "eu-west-1");
    for (name, account) in [("Staging", "333333333333"), ("Prod", "444444444444")] {
        text.push_str(&format!(
            "\n[[deploy]]\nname = \"{name}\"\naccount = \"{account}\"\nstack = \"demo-{}\"\ntemplate = \"packaged.yaml\"\nexecution-policies = [\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]\n",
            name.to_lowercase()
        ));
    }
    p.write("xpipeline.toml", &text);
    let out = p
        .cmd()
        .args(["--output", "json", "policies"])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["targetAccounts"],
        serde_json::json!(["333333333333", "444444444444"])
    );
    let accounts: Vec<&str> = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["account"].as_str().unwrap())
        .collect();
    // Pipeline, then source, then each target's documents together, in file order.
    let first_staging = accounts.iter().position(|a| *a == "333333333333").unwrap();
    let first_prod = accounts.iter().position(|a| *a == "444444444444").unwrap();
    assert!(
        accounts[first_staging..first_prod]
            .iter()
            .all(|a| *a == "333333333333"),
        "{accounts:?}"
    );
    assert!(
        accounts[first_prod..].iter().all(|a| *a == "444444444444"),
        "{accounts:?}"
    );
    assert_eq!(
        accounts.len() - first_prod,
        5,
        "deploy trust and policy, execution trust, policy and managed policies"
    );

    let text = p.cmd().arg("policies").run().success().stdout;
    for heading in [
        "# target account 333333333333: trust policy of arn:aws:iam::333333333333:role/demo-app-pipeline-deploy",
        "# target account 444444444444: managed policies attached to arn:aws:iam::444444444444:role/demo-app-pipeline-cfn-execution",
    ] {
        assert!(text.contains(heading), "lacks {heading:?}:\n{text}");
    }
    assert!(
        text.contains("\"Sid\": \"DeployTargetsUseTheKey\""),
        "{text}"
    );
}
