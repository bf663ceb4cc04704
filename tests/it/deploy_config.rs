//! `[[deploy]]` entries through the real binary: each rule's message at the line and column a
//! user sees, exit 2, nothing sent (the endpoint is an unroutable port).

use crate::support::{Project, valid_config};

const STAGING: &str = r#"
[[deploy]]
name = "Staging"
account = "333333333333"
stack = "demo-staging"
template = "packaged.yaml"
execution-policies = ["arn:aws:iam::aws:policy/AmazonSSMFullAccess"]
"#;

/// A project whose xpipeline.toml is the valid one followed by `deploy`.
fn with_deploy(deploy: &str) -> Project {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1") + deploy;
    p.write("xpipeline.toml", &text);
    p
}

/// `line:col` (1-based) of the first `needle` in xpipeline.toml.
fn position(p: &Project, needle: &str) -> String {
    let text = p.read("xpipeline.toml");
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in the file"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
    format!("{line}:{col}")
}

/// Exit 2 with `message` at the position of `at`.
#[track_caller]
fn expect_problem(p: &Project, at: &str, message: &str) -> String {
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "status"])
        .run()
        .code(2);
    let expected = format!("xpipeline.toml:{}: {message}", position(p, at));
    assert!(
        out.stderr.contains(&expected),
        "expected {expected:?} in:\n{}",
        out.stderr
    );
    out.stderr
}

#[test]
fn a_deploy_entry_with_its_defaults_loads() {
    let p = with_deploy(STAGING);
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "status"])
        .run();
    assert_ne!(out.code, 2, "a valid file must load:\n{}", out.stderr);
}

#[test]
fn an_execution_role_in_another_account_is_refused_with_the_reason() {
    let p = with_deploy(&format!(
        "{STAGING}execution-role-arn = \"arn:aws:iam::444444444444:role/cfn\"\n"
    ));
    expect_problem(
        &p,
        "\"arn:aws:iam::444444444444:role/cfn\"",
        "deploy.execution-role-arn is in account 444444444444, the deploy role in 333333333333: the deploy role passes the execution role to CloudFormation, and AWS refuses to pass a role of another account (\"Cross-account pass role is not allowed\"); use a role in 333333333333",
    );
}

#[test]
fn the_deploy_role_must_be_in_the_target_account() {
    let p = with_deploy(&format!(
        "{STAGING}role-arn = \"arn:aws:iam::444444444444:role/deployer\"\n"
    ));
    let err = expect_problem(
        &p,
        "\"arn:aws:iam::444444444444:role/deployer\"",
        "deploy.role-arn",
    );
    assert!(err.contains("333333333333"), "{err}");
}

#[test]
fn execution_policies_are_required_per_entry() {
    let p = with_deploy(&STAGING.replace(
        "execution-policies = [\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]\n",
        "",
    ));
    expect_problem(
        &p,
        "[[deploy]]",
        "missing required key execution-policies in this [[deploy]]",
    );
    let p =
        with_deploy(&STAGING.replace("[\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]", "[]"));
    expect_problem(
        &p,
        "[]",
        "deploy.execution-policies must name at least one managed policy",
    );
    let p = with_deploy(&STAGING.replace(
        "arn:aws:iam::aws:policy/AmazonSSMFullAccess",
        "AdministratorAccess",
    ));
    expect_problem(
        &p,
        "\"AdministratorAccess\"",
        "deploy.execution-policies: \"AdministratorAccess\" is not a managed policy ARN",
    );
}

#[test]
fn an_approval_needs_change_set_mode() {
    let p = with_deploy(&format!(
        "{STAGING}mode = \"direct\"\n[deploy.approval]\ncomment = \"look\"\n"
    ));
    expect_problem(
        &p,
        "[deploy.approval]",
        "[deploy.approval] needs deploy.mode = \"change-set\"",
    );
}

#[test]
fn an_empty_approval_table_is_an_approval() {
    // Not silently dropped: in direct mode it is refused like one with keys.
    let p = with_deploy(&format!("{STAGING}mode = \"direct\"\n[deploy.approval]\n"));
    expect_problem(
        &p,
        "[deploy.approval]",
        "[deploy.approval] needs deploy.mode = \"change-set\"",
    );
}

#[test]
fn capabilities_and_mode_list_what_cloudformation_takes() {
    let p = with_deploy(&format!(
        "{STAGING}capabilities = [\"CAPABILITY_ADMIN\"]\nmode = \"yolo\"\n"
    ));
    let err = expect_problem(
        &p,
        "\"CAPABILITY_ADMIN\"",
        "deploy.capabilities: \"CAPABILITY_ADMIN\" is not a capability CloudFormation knows; expected one of CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND",
    );
    assert!(
        err.contains("deploy.mode must be one of \"change-set\", \"direct\", found \"yolo\""),
        "{err}"
    );
}

#[test]
fn another_region_is_refused_with_the_reason() {
    let p = with_deploy(&format!("{STAGING}region = \"us-east-1\"\n"));
    expect_problem(
        &p,
        "\"us-east-1\"",
        "deploy.region \"us-east-1\" is not the pipeline's region \"eu-west-1\": a deploy into another region needs an artifact store there",
    );
}

#[test]
fn parameters_over_the_action_configuration_limit_are_refused() {
    let long = "x".repeat(990);
    let p = with_deploy(&format!(
        "{STAGING}[deploy.parameters]\nShort = \"a\"\nLong = \"{long}\"\n"
    ));
    expect_problem(
        &p,
        "Long =",
        "deploy.parameters renders as a ParameterOverrides action configuration of 1013 characters, over CodePipeline's limit of 1000",
    );
}

#[test]
fn stage_names_are_unique_and_not_the_pipelines_own() {
    let p = with_deploy(&format!(
        "{STAGING}{}",
        STAGING.replace("demo-staging", "other")
    ));
    let text = p.read("xpipeline.toml");
    let second = text.rfind("name = \"Staging\"").unwrap();
    let line = text[..second].matches('\n').count() + 1;
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "status"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains(&format!(
            "xpipeline.toml:{line}:8: deploy.name \"Staging\" is used by an earlier [[deploy]]: stage names must be unique"
        )),
        "{}",
        out.stderr
    );
    let p = with_deploy(&STAGING.replace("\"Staging\"", "\"build\""));
    expect_problem(
        &p,
        "\"build\"",
        "deploy.name \"build\" is the name of the pipeline's own stage",
    );
}

#[test]
fn a_deploy_table_that_is_not_an_array_and_typos_are_reported() {
    let p = with_deploy("\n[deploy]\nname = \"Staging\"\n");
    expect_problem(
        &p,
        "[deploy]",
        "deploy must be an array of tables, found a table (write each entry under [[deploy]])",
    );
    let p = with_deploy(&STAGING.replace("stack =", "stak ="));
    expect_problem(
        &p,
        "stak",
        "unknown key `stak` in [deploy]; did you mean `stack`?",
    );
}
