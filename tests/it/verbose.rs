//! `-v` and `-vv` against the sandbox: one line per AWS call, matched one to one against the
//! sandbox's own log of the requests it received; `-vv` with `RUST_LOG=trace` shows the SDK's
//! tracing and not one of the secrets the sandbox issued.

use crate::support::Project;
use crate::support::sandbox::{
    Call, Sandbox, Scenario, assume_role, issued_secrets, xml_tag as tag,
};

fn project(sc: &Scenario) -> Project {
    let p = Project::new("verbose-app", "main");
    p.write("xpipeline.toml", &sc.config("verbose-pipeline"));
    p.commit_all("declare the pipeline");
    p
}

/// The `aws: SERVICE OPERATION ...` lines of stderr.
fn call_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("aws: ")).collect()
}

/// The sandbox's calls made through the SDK (not git, not the test's own control requests).
fn sdk_calls(sb: &Sandbox) -> Vec<Call> {
    sb.calls()
        .into_iter()
        .filter(|c| !c.action.starts_with("Git"))
        .collect()
}

#[test]
fn v_prints_one_line_per_aws_call_matching_the_sandbox_log() {
    let sb = Sandbox::start_with_stage_seconds(0.2);
    let sc = sb.seed();
    let p = project(&sc);
    sb.clear_calls();
    let out = p.cmd().args(["-v", "push"]).envs(sb.env()).run().success();

    let lines = call_lines(&out.stderr);
    let calls = sdk_calls(&sb);
    assert!(
        calls.len() >= 5,
        "a push makes several calls: {calls:?}\n{}",
        out.stderr
    );
    assert_eq!(
        lines.len(),
        calls.len(),
        "one line per call the sandbox received\nlines:\n{}\ncalls: {calls:#?}",
        lines.join("\n")
    );
    // CodeCommit's GetRepository and GetBranch run beside the git push, so their lines may
    // come in either order: match each line to the call it reports.
    let mut pending: Vec<_> = calls.iter().collect();
    for line in &lines {
        // `aws: STS GetCallerIdentity account 123456789012 eu-west-1: 200 in 3 ms, request ...`
        let operation = line.split_whitespace().nth(2).unwrap_or_default();
        let at = pending
            .iter()
            .position(|c| {
                c.action == operation
                    && line.contains(&format!(": {} in ", c.status))
                    // The account whose credentials signed it: the source role's for CodeCommit.
                    && line.contains(&format!(" account {} ", c.account))
            })
            .unwrap_or_else(|| panic!("{line} matches no call left: {pending:#?}"));
        pending.remove(at);
        assert!(line.contains(" eu-west-1: "), "{line}");
        assert!(line.contains(", request "), "{line} names its request id");
    }
    // The account is known from GetCallerIdentity on.
    let first = lines[0];
    assert!(
        first.starts_with("aws: STS GetCallerIdentity account "),
        "{first}"
    );
    let source = lines
        .iter()
        .filter(|l| l.starts_with("aws: CodeCommit "))
        .collect::<Vec<_>>();
    assert_eq!(source.len(), 2, "GetRepository and GetBranch: {source:?}");
    assert!(
        source
            .iter()
            .all(|l| l.contains(&format!(" account {} ", sc.source_account))),
        "{source:?}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| !l.starts_with("aws: CodeCommit "))
            .all(|l| l.contains(&format!(" account {} ", calls[0].account))),
        "every other line names the signing account {}:\n{}",
        calls[0].account,
        lines.join("\n")
    );
    // The git transfer is not an AWS API call; the results stay on stdout.
    assert!(!out.stdout.contains("aws: "), "{}", out.stdout);
    // Its two HTTP requests get a line each: the ref advertisement and the pack.
    let repo = format!("{}/v1/repos/{}", sb.endpoint(), sc.repository);
    let git: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("git: "))
        .collect();
    assert_eq!(git.len(), 2, "{}", out.stderr);
    assert!(
        git[0].starts_with(&format!(
            "git: GET {repo}/info/refs?service=git-receive-pack: ok in "
        )),
        "{}",
        git[0]
    );
    assert!(
        git[1].starts_with(&format!("git: POST {repo}/git-receive-pack: ok in ")),
        "{}",
        git[1]
    );
    assert!(!out.stdout.contains("git: "), "{}", out.stdout);
}

#[test]
fn a_git_request_that_fails_is_one_line_saying_why() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    // Nothing listens on port 9: the ref advertisement fails.
    let out = p
        .cmd()
        .args(["-v", "push", "--git-endpoint", "http://127.0.0.1:9"])
        .envs(sb.env())
        .run()
        .code(1);
    let git: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("git: "))
        .collect();
    assert_eq!(git.len(), 1, "{}", out.stderr);
    assert!(
        git[0].starts_with(&format!(
            "git: GET http://127.0.0.1:9/v1/repos/{}/info/refs?service=git-receive-pack: failed (",
            sc.repository
        )),
        "{}",
        git[0]
    );
    // Without -v, no such line.
    let out = p
        .cmd()
        .args(["push", "--git-endpoint", "http://127.0.0.1:9"])
        .envs(sb.env())
        .run()
        .code(1);
    assert!(!out.stderr.contains("git: "), "{}", out.stderr);
}

#[test]
fn without_v_no_call_is_shown_and_plan_v_shows_its_two_calls() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let out = p.cmd().args(["status"]).envs(sb.env()).run();
    assert!(call_lines(&out.stderr).is_empty(), "{}", out.stderr);
    let out = p.cmd().args(["plan", "-v"]).envs(sb.env()).run().success();
    let ops: Vec<&str> = call_lines(&out.stderr)
        .iter()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(ops, ["GetCallerIdentity", "GetPipeline"], "{}", out.stderr);
}

#[test]
fn a_refused_connection_is_one_line_per_attempt() {
    let p = Project::new("verbose-app", "main");
    p.write(
        "xpipeline.toml",
        &crate::support::valid_config("123456789012", "222222222222", "eu-west-1"),
    );
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = p
        .cmd()
        .args(["status", "-v"])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "2")
        .run()
        .code(1);
    let lines = call_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(": no response in ") && l.contains(", attempt 2")),
        "{}",
        out.stderr
    );
}

#[test]
fn vv_with_rust_log_trace_shows_the_sdk_tracing_and_no_secret() {
    let sb = Sandbox::start_with_stage_seconds(0.2);
    let sc = sb.seed();
    let p = project(&sc);
    // Temporary base credentials, as in CI (OIDC) or SSO: every SDK request then carries the
    // session token, which the SDK's trace-level request dump would show.
    // The seeded developer role: the service role trusts CodePipeline only.
    let developer = format!(
        "arn:aws:iam::{}:role/xpipeline-demo-developer",
        sc.pipeline_account
    );
    let base = assume_role(&sb, &developer, 3600);
    let out = p
        .cmd()
        .args(["-vv", "push"])
        .envs(sb.env())
        .env("AWS_ACCESS_KEY_ID", tag(&base, "AccessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", tag(&base, "SecretAccessKey"))
        .env("AWS_SESSION_TOKEN", tag(&base, "SessionToken"))
        .env("RUST_LOG", "trace")
        .run()
        .success();
    // The SDK's own tracing is there (its orchestrator's spans and events)...
    assert!(
        out.stderr.contains("aws_smithy_runtime"),
        "-vv shows the SDK's tracing:\n{}",
        &out.stderr[..out.stderr.len().min(3000)]
    );
    // ...and the -v lines too.
    assert!(!call_lines(&out.stderr).is_empty());

    // Every key id, secret and token the sandbox's STS issued, and the base secret.
    let secrets = issued_secrets(&sb);
    assert!(
        secrets.len() >= 6,
        "the base role and push's role: {secrets:?}"
    );
    // The trace did contain the signed requests, redacted.
    assert!(
        out.stderr.contains("x-amz-security-token"),
        "no request dump to check"
    );
    for text in [&out.stdout, &out.stderr] {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "-vv output holds a credential ({}…)",
                &s[..8]
            );
        }
        assert!(
            !text.contains("ASIA"),
            "something like a temporary key id is shown"
        );
        assert!(!has_git_password(text), "a signed git password is shown");
    }
}

/// `<YYYYMMDDTHHMMSS>Z<64 hex>`, the shape of a CodeCommit git password.
fn has_git_password(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(80)).any(|i| {
        let w = &b[i..i + 80];
        w[..8].iter().all(u8::is_ascii_digit)
            && w[8] == b'T'
            && w[9..15].iter().all(u8::is_ascii_digit)
            && w[15] == b'Z'
            && w[16..80].iter().all(|c| c.is_ascii_hexdigit())
    })
}
