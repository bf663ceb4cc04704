//! `cargo xpipeline bootstrap` against the sandbox, from two empty accounts (the source one
//! holding only OrganizationAccountAccessRole): init → bootstrap → push ends Succeeded, the
//! key's ARN lands in xpipeline.toml with its comments, a second run writes nothing, a dry run
//! writes nothing, foreign statements and an existing repository's history are kept.

use serde_json::{Value, json};

use crate::support::Project;
use crate::support::sandbox::{Call, Sandbox};

const PA: &str = "123456789012";
const SA: &str = "222222222222";

/// A write call: anything that creates, puts, updates, tags or deletes.
fn is_write(c: &Call) -> bool {
    [
        "Create", "Put", "Update", "Tag", "Delete", "Attach", "GitPush",
    ]
    .iter()
    .any(|w| c.action.starts_with(w))
}

fn writes(sb: &Sandbox) -> Vec<String> {
    sb.calls()
        .iter()
        .filter(|c| is_write(c))
        .map(|c| format!("{}:{} ({})", c.service, c.action, c.account))
        .collect()
}

fn empty_accounts(sb: &Sandbox, body: Value) -> Value {
    sb.control("POST", "empty-accounts", Some(&body))
}

/// A project with the file `init` writes for the two accounts (no key given), committed.
fn init(sb: &Sandbox, extra: &[&str]) -> Project {
    let p = Project::new("hello", "main");
    p.cmd()
        .args(["init", "--pipeline-account", PA, "--source-account", SA])
        .args(["--region", "eu-west-1"])
        .args(extra)
        .envs(sb.env())
        .run()
        .success();
    p.commit_all("declare the pipeline");
    p
}

fn bootstrap(p: &Project, sb: &Sandbox, args: &[&str]) -> crate::support::Output {
    p.cmd().arg("bootstrap").args(args).envs(sb.env()).run()
}

#[test]
fn from_two_empty_accounts_init_bootstrap_push_ends_succeeded() {
    let sb = Sandbox::start_with_stage_seconds(0.2);
    empty_accounts(&sb, json!({}));
    let p = init(&sb, &[]);
    let before = p.read("xpipeline.toml");

    // A dry run reads both accounts, lists everything it would create, and writes nothing.
    sb.clear_calls();
    let dry = bootstrap(&p, &sb, &["--dry-run"]).success();
    assert_eq!(writes(&sb), Vec::<String>::new(), "{}", dry.stderr);
    assert_eq!(p.read("xpipeline.toml"), before);
    for created in [
        "role arn:aws:iam::123456789012:role/hello-codepipeline: created",
        "role arn:aws:iam::123456789012:role/codebuild-hello-build-service-role: created",
        "role arn:aws:iam::222222222222:role/hello-cross-account: created",
        "created (symmetric, customer managed) with alias alias/hello-pipeline-artifacts",
        "bucket hello-artifacts-123456789012: created in eu-west-1",
        "project hello-build: created",
        "repository hello: created",
    ] {
        assert!(
            dry.stdout.contains(created),
            "dry run lacks {created:?}:\n{}",
            dry.stdout
        );
    }
    assert!(
        dry.stdout.contains("(dry run: nothing was written)"),
        "{}",
        dry.stdout
    );

    // For real: every change told on stderr as it is made, the key's ARN written back.
    let out = bootstrap(&p, &sb, &[]).success();
    assert!(
        out.stderr
            .contains("assuming arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("changed: role arn:aws:iam::222222222222:role/hello-cross-account: created"),
        "{}",
        out.stderr
    );
    let after = p.read("xpipeline.toml");
    let key_line = after
        .lines()
        .find(|l| l.starts_with("kms-key-arn = \"arn:aws:kms:eu-west-1:123456789012:key/"))
        .unwrap_or_else(|| panic!("no key written:\n{after}"));
    // Comments and layout kept: the file is the one init wrote, the placeholder replaced by the key.
    let expected = before
        .lines()
        .filter(|l| {
            !(l.starts_with("# Not known yet")
                || l.starts_with("# alias will not do")
                || l.starts_with("# creates one and writes")
                || l.starts_with("#   aws kms describe-key"))
        })
        .map(|l| {
            if l.starts_with("# kms-key-arn = ") {
                key_line
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(after.trim_end(), expected.trim_end());

    // A second run finds nothing to change and makes no write call.
    sb.clear_calls();
    let again = bootstrap(&p, &sb, &[]).success();
    assert!(
        again.stdout.starts_with("nothing to change"),
        "{}",
        again.stdout
    );
    assert_eq!(writes(&sb), Vec::<String>::new(), "{}", again.stderr);

    // --output json: one document with camelCase keys.
    let json_out = bootstrap(&p, &sb, &["--output", "json"]).success();
    let v: Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(v["changes"], json!([]));
    assert_eq!(v["dryRun"], false);
    assert_eq!(v["pipelineAccount"], PA);

    // And the pipeline those resources carry builds the pushed commit.
    p.commit_all("the key bootstrap created");
    let push = p.cmd().arg("push").envs(sb.env()).run();
    let push = push.success();
    assert!(
        push.stdout.contains("Succeeded"),
        "{}\n{}",
        push.stdout,
        push.stderr
    );
}

#[test]
fn existing_resources_keep_their_statements_and_history() {
    let sb = Sandbox::start();
    let v = empty_accounts(
        &sb,
        json!({"existing": {"bucket": "hello-artifacts-123456789012", "repository": "hello"}}),
    );
    let existing = &v["existing"];
    let key = existing["key_arn"].as_str().unwrap();
    let p = init(&sb, &["--kms-key-arn", key]);
    let out = bootstrap(&p, &sb, &[]).success();
    assert!(
        out.stdout.contains(&format!(
            "key {key}: key policy: adds Enable IAM User Permissions, SourceAccountRoleUsesTheKey"
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("repository hello"), "{}", out.stdout);
    let policies = sb.control(
        "POST",
        "policies",
        Some(&json!({"key": key, "bucket": "hello-artifacts-123456789012"})),
    );
    // The foreign statements, byte for byte, next to ours.
    let theirs = |policy: &str| {
        let start = policy.find("{ \"Sid\" : \"TheirAudit\"").unwrap();
        policy[start..]
            .split_once('}')
            .map(|(s, _)| s.to_owned())
            .unwrap()
    };
    for (name, written) in [
        ("key_policy", "key_policy"),
        ("bucket_policy", "bucket_policy"),
    ] {
        let live = policies[name].as_str().unwrap();
        let original = existing[written].as_str().unwrap();
        assert!(live.contains(&theirs(original)), "{name}:\n{live}");
        assert!(live.contains("\"theirs\""), "{name} keeps its Id:\n{live}");
    }
    let key_policy: Value = serde_json::from_str(policies["key_policy"].as_str().unwrap()).unwrap();
    assert_eq!(key_policy["Statement"].as_array().unwrap().len(), 3);
    // The repository's history is untouched.
    assert_eq!(
        sb.branch_head(SA, "hello", "main").as_deref(),
        existing["commit"].as_str()
    );
    // The key was given: the file is left as it was.
    assert!(
        !out.stdout.contains("file xpipeline.toml"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_source_account_must_be_reachable_and_the_flag_named() {
    let sb = Sandbox::start();
    empty_accounts(&sb, json!({}));
    let p = init(&sb, &[]);
    sb.clear_calls();
    bootstrap(
        &p,
        &sb,
        &[
            "--source-admin-role-arn",
            "arn:aws:iam::123456789012:role/Admin",
        ],
    )
    .code(2)
    .stderr_has(
        "--source-admin-role-arn must be the ARN of a role in the source account 222222222222",
    );
    assert!(sb.calls().is_empty(), "refused before any call");
    bootstrap(
        &p,
        &sb,
        &[
            "--source-admin-role-arn",
            "arn:aws:iam::222222222222:role/NotThere",
        ],
    )
    .code(1)
    .stderr_has(
        "cannot assume the source account's admin role arn:aws:iam::222222222222:role/NotThere",
    )
    .stderr_has("--source-profile NAME");
    assert_eq!(writes(&sb), Vec::<String>::new());
}

/// The executions of `pipeline` that built `commit`.
fn runs_of(sb: &Sandbox, pipeline: &str, commit: &str) -> Vec<Value> {
    sb.executions(pipeline)
        .into_iter()
        .filter(|e| e["artifactRevisions"][0]["revisionId"] == commit)
        .collect()
}

/// A commit made in the source account without `cargo xpipeline push` (as in the console).
fn commit_in_source(sb: &Sandbox) -> String {
    let v = sb.control(
        "POST",
        "commit",
        Some(&json!({"account": SA, "repository": "hello", "branch": "main"})),
    );
    v["commit"].as_str().unwrap().to_owned()
}

#[test]
fn with_trigger_events_bootstrap_wires_both_accounts_and_a_branch_update_starts_the_pipeline() {
    const BUS: &str = "arn:aws:events:eu-west-1:123456789012:event-bus/default";
    const START_RULE: &str =
        "arn:aws:events:eu-west-1:123456789012:rule/hello-pipeline-events-start";
    let sb = Sandbox::start_with_stage_seconds(0.2);
    empty_accounts(&sb, json!({}));
    let p = init(&sb, &["--trigger", "events"]);

    let dry = bootstrap(&p, &sb, &["--dry-run"]).success();
    for wiring in [
        "role arn:aws:iam::123456789012:role/hello-pipeline-events-start: created",
        "role arn:aws:iam::222222222222:role/hello-pipeline-events-forward: created",
        "event bus arn:aws:events:eu-west-1:123456789012:event-bus/default: resource policy: adds SourceAccount222222222222SendsEvents",
        "rule arn:aws:events:eu-west-1:123456789012:rule/hello-pipeline-events-start: created (enabled): starts the pipeline hello-pipeline on the updates of branch main of hello",
        "rule arn:aws:events:eu-west-1:123456789012:rule/hello-pipeline-events-start: target arn:aws:codepipeline:eu-west-1:123456789012:hello-pipeline, sent as arn:aws:iam::123456789012:role/hello-pipeline-events-start",
        "rule arn:aws:events:eu-west-1:222222222222:rule/hello-pipeline-events-forward: created (enabled): forwards to the default event bus of account 123456789012",
        "rule arn:aws:events:eu-west-1:222222222222:rule/hello-pipeline-events-forward: target arn:aws:events:eu-west-1:123456789012:event-bus/default, sent as arn:aws:iam::222222222222:role/hello-pipeline-events-forward",
    ] {
        assert!(
            dry.stdout.contains(wiring),
            "dry run lacks {wiring:?}:\n{}",
            dry.stdout
        );
    }
    assert!(!dry.stderr.contains("does not create"), "{}", dry.stderr);

    bootstrap(&p, &sb, &[]).success();
    sb.clear_calls();
    let again = bootstrap(&p, &sb, &[]).success();
    assert!(
        again.stdout.starts_with("nothing to change"),
        "{}",
        again.stdout
    );
    assert_eq!(writes(&sb), Vec::<String>::new(), "{}", again.stderr);

    // The first push creates the pipeline after its commit: the creation's run builds it.
    p.commit_all("the key bootstrap created");
    let push = p
        .cmd()
        .args(["push", "--output", "json"])
        .envs(sb.env())
        .run()
        .success();
    let doc: Value = serde_json::from_str(&push.stdout).unwrap();
    assert_eq!(doc["execution"]["status"], "Succeeded", "{}", push.stderr);
    assert_eq!(doc["execution"]["trigger"], "CreatePipeline");
    // The next push: its own git push is the branch update; the forwarded event starts the
    // execution.
    p.write("NEXT", "next\n");
    p.commit_all("next");
    let push = p
        .cmd()
        .args(["push", "--output", "json"])
        .envs(sb.env())
        .run()
        .success();
    let doc: Value = serde_json::from_str(&push.stdout).unwrap();
    assert_eq!(doc["execution"]["status"], "Succeeded", "{}", push.stderr);
    assert_eq!(doc["execution"]["trigger"], "CloudWatchEvent");

    // A plain branch update in the source account, not through push, starts it too.
    let moved = commit_in_source(&sb);
    let runs = runs_of(&sb, "hello-pipeline", &moved);
    assert_eq!(runs.len(), 1, "{}", sb.log());
    assert_eq!(
        runs[0]["trigger"],
        json!({"triggerType": "CloudWatchEvent", "triggerDetail": START_RULE})
    );

    // Without the bus's permission the same update starts nothing (silently, as on AWS)...
    sb.control(
        "POST",
        "policy",
        Some(&json!({"arn": BUS, "document": null})),
    );
    let lost = commit_in_source(&sb);
    assert_eq!(runs_of(&sb, "hello-pipeline", &lost), Vec::<Value>::new());
    let deliveries = sb.control("GET", "deliveries", None);
    let last = deliveries.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "forward");
    assert!(
        last["reason"].as_str().unwrap().contains(&format!(
            "is not authorized to perform: events:PutEvents on resource: {BUS}"
        )),
        "{last}"
    );
    // ...and bootstrap puts it back, and only it.
    let repair = bootstrap(&p, &sb, &[]).success();
    assert!(
        repair.stdout.starts_with("bootstrap made 1 change"),
        "{}",
        repair.stdout
    );
    assert!(
        repair.stdout.contains(&format!(
            "event bus {BUS}: resource policy: adds SourceAccount222222222222SendsEvents"
        )),
        "{}",
        repair.stdout
    );
    let back = commit_in_source(&sb);
    assert_eq!(runs_of(&sb, "hello-pipeline", &back).len(), 1);
}
