//! Loading and validating xpipeline.toml through the real binary: one test per rule, each
//! asserting the message and position a user sees, and that nothing reached the network.

use crate::support::{Project, valid_config};

/// A project whose xpipeline.toml is the valid one with `from` replaced by `to`.
fn with_edit(from: &str, to: &str) -> Project {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1");
    assert!(text.contains(from), "the valid config holds {from:?}");
    p.write("xpipeline.toml", &text.replacen(from, to, 1));
    p
}

/// Run `status` (it validates before any network call) and expect exit 2 with `message` at
/// `line:col`. The endpoint is an unroutable port: a network call would fail differently.
#[track_caller]
fn expect_problem(p: &Project, position: &str, message: &str) -> String {
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "status"])
        .run()
        .code(2);
    let expected = format!("xpipeline.toml:{position}: {message}");
    assert!(
        out.stderr.contains(&expected),
        "expected {expected:?} in:\n{}",
        out.stderr
    );
    out.stderr
}

#[test]
fn a_valid_file_loads() {
    let p = with_edit("", "");
    // Valid: the command gets past loading (and stops at the not-yet-built part or the network).
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "plan"])
        .run();
    assert_ne!(
        out.code, 2,
        "a valid file must not be a usage error:\n{}",
        out.stderr
    );
}

#[test]
fn two_faults_are_both_reported_with_line_and_column() {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1")
        .replacen("account = \"111111111111\"", "account = \"12345\"", 1)
        .replacen("region = \"eu-west-1\"", "regoin = \"eu-west-1\"", 1);
    p.write("xpipeline.toml", &text);
    let err = expect_problem(
        &p,
        "3:11",
        "pipeline.account must be 12 digits (an AWS account id), found \"12345\"",
    );
    assert!(
        err.contains(
            "xpipeline.toml:4:1: unknown key `regoin` in [pipeline]; did you mean `region`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("account = \"12345\"\n  |           ^^^^^^^"),
        "the offending text is shown: {err}"
    );
    assert!(err.contains("2 problems; nothing was done"), "{err}");
    assert!(
        !err.contains("missing required key pipeline.region"),
        "a typo is not also reported as missing: {err}"
    );
}

#[test]
fn source_account_must_be_12_digits() {
    let p = with_edit("account = \"222222222222\"", "account = \"2222\"");
    expect_problem(&p, "12:11", "source.account must be 12 digits");
}

#[test]
fn an_account_written_as_a_number_asks_for_quotes() {
    let p = with_edit("account = \"222222222222\"", "account = 222222222222");
    expect_problem(
        &p,
        "12:11",
        "source.account must be a string, found an integer (put it in quotes)",
    );
}

#[test]
fn source_and_pipeline_accounts_must_differ() {
    let p = with_edit("account = \"222222222222\"", "account = \"111111111111\"");
    expect_problem(&p, "12:11", "source.account is the pipeline account");
}

#[test]
fn region_must_look_like_a_region() {
    let p = with_edit("region = \"eu-west-1\"", "region = \"europe\"");
    expect_problem(
        &p,
        "4:10",
        "pipeline.region must be an AWS region such as \"eu-west-1\", found \"europe\"",
    );
}

#[test]
fn pipeline_name_follows_codepipeline_rules() {
    let p = with_edit("name = \"demo-app-pipeline\"", "name = \"demo app\"");
    expect_problem(
        &p,
        "2:8",
        "pipeline.name must be 1 to 100 of A-Z a-z 0-9 . @ _ -, found \"demo app\"",
    );
}

#[test]
fn a_role_arn_must_parse() {
    let p = with_edit(
        "service-role-arn = \"arn:aws:iam::111111111111:role/demo-app-codepipeline\"",
        "service-role-arn = \"demo-app-codepipeline\"",
    );
    expect_problem(
        &p,
        "5:20",
        "pipeline.service-role-arn is not an ARN (expected arn:aws:iam::ACCOUNT:role/NAME)",
    );
}

#[test]
fn a_role_arn_must_be_an_iam_role() {
    let p = with_edit(
        "arn:aws:iam::222222222222:role/demo-app-cross-account",
        "arn:aws:iam::222222222222:user/alice",
    );
    expect_problem(
        &p,
        "15:12",
        "source.role-arn must name a role (arn:aws:iam::ACCOUNT:role/NAME), found \"user/alice\"",
    );
}

#[test]
fn a_role_arn_of_another_service_is_refused() {
    let p = with_edit(
        "arn:aws:iam::111111111111:role/demo-app-codepipeline",
        "arn:aws:s3:::demo-app-codepipeline",
    );
    expect_problem(
        &p,
        "5:20",
        "pipeline.service-role-arn must be a iam ARN, found a s3 ARN",
    );
}

#[test]
fn the_source_role_must_be_in_the_source_account() {
    let p = with_edit(
        "arn:aws:iam::222222222222:role/demo-app-cross-account",
        "arn:aws:iam::333333333333:role/demo-app-cross-account",
    );
    expect_problem(
        &p,
        "15:12",
        "source.role-arn is in account 333333333333 but source.account is 222222222222",
    );
}

#[test]
fn the_service_role_must_be_in_the_pipeline_account() {
    let p = with_edit(
        "arn:aws:iam::111111111111:role/demo-app-codepipeline",
        "arn:aws:iam::222222222222:role/demo-app-codepipeline",
    );
    expect_problem(
        &p,
        "5:20",
        "pipeline.service-role-arn is in account 222222222222 but pipeline.account is 111111111111",
    );
}

#[test]
fn the_kms_key_must_be_in_the_pipeline_region() {
    let p = with_edit("arn:aws:kms:eu-west-1:", "arn:aws:kms:us-east-1:");
    expect_problem(
        &p,
        "9:15",
        "artifacts.kms-key-arn is in region \"us-east-1\" but pipeline.region is eu-west-1",
    );
}

#[test]
fn the_kms_key_must_be_in_the_pipeline_account() {
    let p = with_edit(
        "arn:aws:kms:eu-west-1:111111111111:",
        "arn:aws:kms:eu-west-1:222222222222:",
    );
    expect_problem(
        &p,
        "9:15",
        "artifacts.kms-key-arn is in account 222222222222 but pipeline.account is 111111111111",
    );
}

#[test]
fn a_kms_alias_is_refused_with_the_reason() {
    let p = with_edit("key/1234abcd-12ab-34cd-56ef-1234567890ab", "alias/demo");
    expect_problem(
        &p,
        "9:15",
        "artifacts.kms-key-arn is a KMS alias; give the key ARN",
    )
    .contains("aliases do not resolve across accounts")
    .then_some(())
    .expect("the reason is given");
}

#[test]
fn an_arn_of_the_wrong_partition_is_refused() {
    let p = with_edit(
        "arn:aws:iam::222222222222:role/",
        "arn:aws-cn:iam::222222222222:role/",
    );
    expect_problem(
        &p,
        "15:12",
        "source.role-arn is in partition aws-cn but pipeline.region is in partition aws",
    );
}

#[test]
fn repository_must_not_end_in_git() {
    let p = with_edit("repository = \"demo-app\"", "repository = \"demo-app.git\"");
    expect_problem(
        &p,
        "13:14",
        "source.repository must not end in .git (CodeCommit naming rules)",
    );
}

#[test]
fn repository_characters_are_checked() {
    let p = with_edit("repository = \"demo-app\"", "repository = \"demo app\"");
    expect_problem(
        &p,
        "13:14",
        "source.repository may hold only letters, digits, '.', '_' and '-'",
    );
}

#[test]
fn branch_must_be_a_valid_git_ref() {
    let p = with_edit("branch = \"main\"", "branch = \"feature..x\"");
    expect_problem(
        &p,
        "14:10",
        "source.branch is not a valid git branch name, found \"feature..x\"",
    );
}

#[test]
fn bucket_follows_s3_rules() {
    let p = with_edit(
        "bucket = \"demo-app-artifacts-111111111111\"",
        "bucket = \"Demo_Bucket\"",
    );
    expect_problem(
        &p,
        "8:10",
        "artifacts.bucket may hold only lowercase letters, digits, '.' and '-'",
    );
}

#[test]
fn build_project_follows_codebuild_rules() {
    let p = with_edit("project = \"demo-app-build\"", "project = \"-build\"");
    expect_problem(
        &p,
        "18:11",
        "build.project must be 2 to 255 of A-Z a-z 0-9 - _",
    );
}

#[test]
fn duration_seconds_is_in_range() {
    let p = with_edit("[build]", "[push]\nduration-seconds = 60\n\n[build]");
    expect_problem(
        &p,
        "18:20",
        "push.duration-seconds must be between 900 and 43200 (15 minutes to 12 hours), found 60",
    );
}

#[test]
fn session_name_follows_sts_rules() {
    let p = with_edit("[build]", "[push]\nsession-name = \"a b\"\n\n[build]");
    expect_problem(
        &p,
        "18:16",
        "push.session-name must be 2 to 64 of letters, digits and + = , . @ - _, found \"a b\"",
    );
}

#[test]
fn external_id_follows_sts_rules() {
    let p = with_edit(
        "role-arn = \"arn:aws:iam::222222222222:role/demo-app-cross-account\"",
        "role-arn = \"arn:aws:iam::222222222222:role/demo-app-cross-account\"\nexternal-id = \"x\"",
    );
    expect_problem(
        &p,
        "16:15",
        "source.external-id must be 2 to 1224 of letters, digits and + = , . @ : / - _",
    );
}

#[test]
fn mfa_serial_must_be_an_mfa_device_of_the_pipeline_account() {
    let p = with_edit(
        "[build]",
        "[push]\nmfa-serial = \"arn:aws:iam::222222222222:mfa/alice\"\n\n[build]",
    );
    expect_problem(
        &p,
        "18:14",
        "push.mfa-serial is in account 222222222222 but pipeline.account is 111111111111",
    );
}

#[test]
fn push_role_must_be_in_the_source_account() {
    let p = with_edit(
        "[build]",
        "[push]\nrole-arn = \"arn:aws:iam::111111111111:role/pusher\"\n\n[build]",
    );
    expect_problem(
        &p,
        "18:12",
        "push.role-arn is in account 111111111111 but source.account is 222222222222",
    );
}

#[test]
fn enumerated_values_list_the_choices() {
    let p = with_edit(
        "region = \"eu-west-1\"",
        "region = \"eu-west-1\"\ntrigger = \"cron\"",
    );
    expect_problem(
        &p,
        "5:11",
        "pipeline.trigger must be one of \"push\", \"poll\", \"events\", found \"cron\"",
    );
}

#[test]
fn execution_mode_needs_v2() {
    let p = with_edit(
        "region = \"eu-west-1\"",
        "region = \"eu-west-1\"\ntype = \"V1\"\nexecution-mode = \"QUEUED\"",
    );
    expect_problem(
        &p,
        "6:18",
        "pipeline.execution-mode QUEUED and PARALLEL need pipeline.type = \"V2\"",
    );
}

#[test]
fn git_endpoint_must_be_a_url_without_credentials() {
    let p = with_edit(
        "role-arn = \"arn:aws:iam::222222222222:role/demo-app-cross-account\"",
        "role-arn = \"arn:aws:iam::222222222222:role/demo-app-cross-account\"\ngit-endpoint = \"https://user:secret@example.com\"",
    );
    expect_problem(
        &p,
        "16:16",
        "source.git-endpoint must be an http:// or https:// URL without credentials",
    );
}

#[test]
fn unknown_key_with_no_close_match_lists_the_keys() {
    let p = with_edit("[build]", "[build]\ncolour = \"red\"");
    expect_problem(
        &p,
        "18:1",
        "unknown key `colour` in [build]; expected one of: project, env",
    );
}

#[test]
fn a_key_in_the_wrong_table_says_where_it_belongs() {
    let p = with_edit("[build]", "[build]\nbranch = \"main\"");
    expect_problem(
        &p,
        "18:1",
        "unknown key `branch` in [build]; `branch` belongs in [source]",
    );
}

#[test]
fn unknown_table_is_reported() {
    let p = with_edit("[build]", "[pipelines]\nx = 1\n\n[build]");
    expect_problem(
        &p,
        "17:2",
        "unknown table or key `pipelines`; did you mean `pipeline`?",
    );
}

#[test]
fn missing_table_and_key_are_reported() {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1");
    let text = text
        .split("[build]")
        .next()
        .unwrap()
        .replace("repository = \"demo-app\"\n", "");
    p.write("xpipeline.toml", &text);
    let err = expect_problem(
        &p,
        "11:1",
        "missing required key source.repository in [source]",
    );
    assert!(err.contains("missing table [build]"), "{err}");
}

#[test]
fn build_env_names_are_checked() {
    let p = with_edit(
        "project = \"demo-app-build\"",
        "project = \"demo-app-build\"\n\n[build.env]\n\"1BAD\" = \"x\"\nGOOD = 3",
    );
    let err = expect_problem(&p, "21:1", "build.env: \"1BAD\" is not a variable name");
    assert!(
        err.contains("xpipeline.toml:22:8: build.env.GOOD must be a string, found an integer"),
        "{err}"
    );
}

#[test]
fn build_env_over_the_action_configuration_limit_is_refused_at_load() {
    let p = with_edit(
        "project = \"demo-app-build\"",
        &format!(
            "project = \"demo-app-build\"\n\n[build.env]\nRUST_LOG = \"info\"\nBIG = \"{}\"",
            "v".repeat(950)
        ),
    );
    expect_problem(
        &p,
        "22:1",
        "build.env renders as an EnvironmentVariables action configuration of 1050 characters, over CodePipeline's limit of 1000; the longest value is \"BIG\"'s (950 characters)",
    );
    // Just under the limit loads.
    let p = with_edit(
        "project = \"demo-app-build\"",
        &format!(
            "project = \"demo-app-build\"\n\n[build.env]\nBIG = \"{}\"",
            "v".repeat(950)
        ),
    );
    p.cmd().arg("policies").run().success();
}

#[test]
fn a_branch_over_256_characters_is_refused() {
    let long = "b".repeat(257);
    let p = with_edit("branch = \"main\"", &format!("branch = \"{long}\""));
    expect_problem(
        &p,
        "14:10",
        "source.branch must be at most 256 characters (CodePipeline's BranchName limit), found 257",
    );
}

#[test]
fn repository_names_dot_and_dot_dot_are_refused() {
    for name in [".", ".."] {
        let p = with_edit(
            "repository = \"demo-app\"",
            &format!("repository = \"{name}\""),
        );
        expect_problem(
            &p,
            "13:14",
            "source.repository must not be . or .. (CodeCommit naming rules)",
        );
    }
}

#[test]
fn reserved_tags_are_refused() {
    let p = with_edit("[build]", "[tags]\nmanaged-by = \"me\"\n\n[build]");
    expect_problem(
        &p,
        "18:1",
        "tags: tag key \"managed-by\" is set by cargo-xpipeline itself",
    );
}

#[test]
fn invalid_toml_is_reported_with_position() {
    let p = with_edit("name = \"demo-app-pipeline\"", "name = \"demo-app-pipeline");
    let out = p.cmd().arg("status").run().code(2);
    assert!(out.stderr.contains("xpipeline.toml:2:"), "{}", out.stderr);
    assert!(out.stderr.contains("invalid TOML"), "{}", out.stderr);
}

#[test]
fn config_flag_and_manifest_path_find_the_file() {
    let p = Project::new("demo-app", "main");
    let elsewhere = tempfile::tempdir().unwrap();
    let bad = valid_config("111111111111", "222222222222", "eu-west-1").replacen(
        "\"111111111111\"",
        "\"1\"",
        1,
    );
    std::fs::write(elsewhere.path().join("custom.toml"), &bad).unwrap();
    p.write("xpipeline.toml", &bad);
    let cfg = elsewhere.path().join("custom.toml");
    let out = p
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .arg("status")
        .run()
        .code(2);
    assert!(out.stderr.contains("custom.toml:3:11:"), "{}", out.stderr);
    let out = crate::support::xpipeline(elsewhere.path())
        .arg("--manifest-path")
        .arg(p.file("Cargo.toml"))
        .arg("status")
        .run()
        .code(2);
    assert!(
        out.stderr.contains("xpipeline.toml:3:11:"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_shipped_example_is_valid() {
    let p = Project::new("demo-app", "main");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/xpipeline.toml.example"
    ))
    .unwrap();
    p.write("xpipeline.toml", &example);
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "plan"])
        .run();
    assert_ne!(
        out.code, 2,
        "xpipeline.toml.example must load:\n{}",
        out.stderr
    );
}
