//! `cargo xpipeline push` against the sandbox: the git push with assumed-role credentials,
//! its refusals and their messages, and that nothing secret is left behind.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::support::Project;
use crate::support::sandbox::{
    Sandbox, Scenario, assume_role, body_of as body, credentials_env, issued_secrets,
    raw_http as http,
};

/// xpipeline.toml for the seeded scenario; `extra` is appended (e.g. a [push] table).
fn config(sc: &Scenario, repository: &str, extra: &str) -> String {
    let declared = format!("repository = \"{}\"", sc.repository);
    let text = sc
        .config("push-test-pipeline")
        .replace(&declared, &format!("repository = \"{repository}\""));
    format!("{text}{extra}")
}

/// A project whose xpipeline.toml points at the scenario, committed.
fn project(sc: &Scenario) -> Project {
    let p = Project::new("push-app", "main");
    p.write("xpipeline.toml", &config(sc, &sc.repository, ""));
    p.commit_all("declare the pipeline");
    p
}

fn push(p: &Project, sb: &Sandbox, args: &[&str]) -> crate::support::Output {
    p.cmd()
        .arg("push")
        .arg("--no-watch")
        .args(args)
        .envs(sb.env())
        .run()
}

/// The commit at `main` of the scenario's repository in the source account, if any.
fn head(sb: &Sandbox, sc: &Scenario) -> Option<String> {
    sb.branch_head(&sc.source_account, &sc.repository, "main")
}

#[test]
fn a_fresh_push_lands_the_commit_and_a_repush_is_a_no_op() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let commit = p.git(&["rev-parse", "HEAD"]);
    assert_eq!(head(&sb, &sc), None);

    let out = push(&p, &sb, &[]).success();
    assert!(
        out.stdout.contains(&format!("pushed {commit}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&sc.repository) && out.stdout.contains(&sc.source_account));
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
    let pushes = sb.count("GitPush");
    assert_eq!(pushes, 1, "one receive-pack request");

    let out = push(&p, &sb, &[]).success();
    assert!(out.stdout.starts_with("up to date"), "{}", out.stdout);
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
    assert_eq!(
        sb.count("GitPush"),
        pushes,
        "an up-to-date push sends nothing"
    );
}

#[test]
fn json_output_names_commit_branch_repository_and_account() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let out = push(&p, &sb, &["--output", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(v["commit"], p.git(&["rev-parse", "HEAD"]));
    assert_eq!(v["branch"], "main");
    assert_eq!(v["repository"], sc.repository.as_str());
    assert_eq!(v["account"], sc.source_account.as_str());
    assert_eq!(v["change"], "create");
    assert_eq!(v["pushed"], true);
    // One key convention across commands: camelCase.
    assert_eq!(v["localBranch"], "main");
    assert_eq!(v["dryRun"], false);
}

#[test]
fn a_diverged_branch_is_refused_and_force_moves_it() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    push(&p, &sb, &[]).success();
    let first = p.git(&["rev-parse", "HEAD"]);
    p.write("src/main.rs", "fn main() {}\n");
    let second = p.commit_all("second");
    push(&p, &sb, &[]).success();
    assert_eq!(head(&sb, &sc).as_deref(), Some(second.as_str()));

    // Behind the remote: refused, it would drop the remote's newer commit.
    p.git(&["reset", "-q", "--hard", &first]);
    push(&p, &sb, &[])
        .code(1)
        .stderr_has("ahead of the local branch")
        .stderr_has("--force");
    assert_eq!(head(&sb, &sc).as_deref(), Some(second.as_str()));

    // Rewrite history: the remote's commit is no longer in the local branch.
    p.write("src/lib.rs", "pub fn diverged() {}\n");
    let diverged = p.commit_all("diverged");
    let out = push(&p, &sb, &[])
        .code(1)
        .stderr_has("non-fast-forward")
        .stderr_has("diverged")
        .stderr_has("--force");
    assert!(
        out.stderr.contains(&second[..12]),
        "names the remote commit: {}",
        out.stderr
    );
    assert_eq!(
        head(&sb, &sc).as_deref(),
        Some(second.as_str()),
        "the remote is unchanged"
    );

    let out = push(&p, &sb, &["--force"]).success();
    assert!(out.stdout.contains("forced over"), "{}", out.stdout);
    assert_eq!(head(&sb, &sc).as_deref(), Some(diverged.as_str()));
}

#[test]
fn dry_run_pushes_nothing() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let out = push(&p, &sb, &["--dry-run"]).success();
    assert!(out.stdout.contains("would push"), "{}", out.stdout);
    assert_eq!(head(&sb, &sc), None);
    assert_eq!(sb.count("GitPush"), 0);
}

#[test]
fn branch_flag_pushes_another_local_branch_and_uncommitted_changes_warn() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    p.git(&["checkout", "-q", "-b", "feature"]);
    let feature = p.commit_all("feature work");
    p.git(&["checkout", "-q", "main"]);
    p.write("src/main.rs", "fn main() { /* not committed */ }\n");

    let out = push(&p, &sb, &["--branch", "feature"]).success();
    assert!(!out.stderr.contains("uncommitted"), "{}", out.stderr);
    assert_eq!(head(&sb, &sc).as_deref(), Some(feature.as_str()));

    push(&p, &sb, &["--force"])
        .success()
        .stderr_has("1 tracked file has uncommitted changes");
    let out = push(&p, &sb, &["--branch", "nope"]).code(2);
    assert!(
        out.stderr.contains("no local branch \"nope\""),
        "{}",
        out.stderr
    );
}

#[test]
fn nothing_secret_is_left_in_the_repository_or_the_output() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let out = push(&p, &sb, &["-vv"]).success();
    p.write("CHANGES", "more\n");
    p.commit_all("more");
    let out2 = push(&p, &sb, &["-vv"]).success();

    // Every temporary key the sandbox's STS issued, with its secret and session token.
    let secrets = issued_secrets(&sb);
    assert!(
        secrets.len() >= 6,
        "both pushes assumed the role: {secrets:?}"
    );

    let mut haystacks = vec![
        ("stdout".to_owned(), out.stdout + &out2.stdout),
        ("stderr".to_owned(), out.stderr + &out2.stderr),
    ];
    for file in files(&p.path().join(".git")) {
        let bytes = std::fs::read(&file).unwrap();
        haystacks.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for (name, text) in &haystacks {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{name} holds a credential ({}…)",
                &s[..8]
            );
        }
        assert!(
            !text.contains("ASIA"),
            "{name} holds something like a temporary key id"
        );
        assert!(
            !text.contains("Authorization"),
            "{name} holds an Authorization header"
        );
        assert!(
            !has_git_password(text),
            "{name} holds a signed git password"
        );
    }
    let git_config = p.read(".git/config");
    assert!(
        !git_config.contains("remote"),
        "no remote was added: {git_config}"
    );
    assert!(!git_config.contains("credential"), "{git_config}");
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
            && w[16..80]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    })
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_role_that_cannot_be_assumed_names_the_trust_policy() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let missing = format!("arn:aws:iam::{}:role/not-there", sc.source_account);
    p.write(
        "xpipeline.toml",
        &config(
            &sc,
            &sc.repository,
            &format!("\n[push]\nrole-arn = \"{missing}\"\n"),
        ),
    );
    p.commit_all("wrong push role");
    let out = push(&p, &sb, &[])
        .code(1)
        .stderr_has(&format!("cannot assume {missing}"))
        .stderr_has("trust policy")
        .stderr_has("push.role-arn");
    assert!(out.stderr.contains("sts:AssumeRole"), "{}", out.stderr);
    assert_eq!(head(&sb, &sc), None);
}

#[test]
fn a_missing_repository_names_how_to_create_it() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    p.write("xpipeline.toml", &config(&sc, "no-such-repo", ""));
    p.commit_all("wrong repository");
    push(&p, &sb, &[])
        .code(1)
        .stderr_has(&format!(
            "repository no-such-repo not found in account {}",
            sc.source_account
        ))
        .stderr_has("create-repository")
        .stderr_has("source.repository")
        // The role's policy names only its own repository: AWS denies the API call too.
        .stderr_has("is not authorized to perform: codecommit:GetRepository");
}

#[test]
fn expired_base_credentials_say_how_to_refresh_them() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    // Temporary credentials that expire in a second (the sandbox takes any duration).
    let xml = assume_role(&sb, &sc.source_role_arn, 1);
    std::thread::sleep(Duration::from_millis(1500));
    let env: Vec<(String, String)> = sb.env().into_iter().chain(credentials_env(&xml)).collect();
    let out = p
        .cmd()
        .args(["push", "--no-watch"])
        .envs(env)
        .run()
        .code(1)
        .stderr_has("your AWS credentials have expired")
        .stderr_has("aws sso login");
    assert!(out.stderr.contains("AWS_SESSION_TOKEN"), "{}", out.stderr);
    assert_eq!(head(&sb, &sc), None);
}

#[test]
fn credentials_of_another_account_are_refused_before_anything_happens() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let xml = assume_role(&sb, &sc.source_role_arn, 900);
    let env: Vec<(String, String)> = sb.env().into_iter().chain(credentials_env(&xml)).collect();
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(env)
        .run()
        .code(1)
        .stderr_has(&format!(
            "your AWS credentials are for account {}",
            sc.source_account
        ))
        .stderr_has(&format!(
            "pipeline.account in xpipeline.toml is {}",
            sc.pipeline_account
        ));
    assert_eq!(sb.count("AssumeRole"), 1, "only the test's own AssumeRole");
    assert_eq!(head(&sb, &sc), None);
}

#[test]
fn the_session_is_named_after_the_local_user_and_chained_roles_get_one_hour() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    p.write(
        "xpipeline.toml",
        &config(&sc, &sc.repository, "\n[push]\nduration-seconds = 7200\n"),
    );
    p.commit_all("two hours");

    // Base credentials that are themselves an assumed role of the pipeline account: the seeded
    // developer role (the service role trusts CodePipeline only, so nobody else may assume it).
    let developer = format!(
        "arn:aws:iam::{}:role/xpipeline-demo-developer",
        sc.pipeline_account
    );
    let xml = assume_role(&sb, &developer, 3600);
    let env: Vec<(String, String)> = sb
        .env()
        .into_iter()
        .chain(credentials_env(&xml))
        .chain([("USER".to_owned(), "Jörg Müller".to_owned())])
        .collect();
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(env)
        .run()
        .success()
        .stderr_has("capped at 3600")
        .stderr_has("role chaining");

    let push_session = assumed_roles(&sb)
        .into_iter()
        .find(|r| r["role_arn"] == sc.source_role_arn.as_str())
        .expect("push assumed the source role");
    assert_eq!(push_session["session_name"], "xpipeline-J-rg-M-ller");
    assert_eq!(
        head(&sb, &sc).as_deref(),
        Some(p.git(&["rev-parse", "HEAD"]).as_str())
    );
}

#[test]
fn an_mfa_serial_needs_a_code_from_the_flag_the_environment_or_a_terminal() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let serial = format!("arn:aws:iam::{}:mfa/alice", sc.pipeline_account);
    p.write(
        "xpipeline.toml",
        &config(
            &sc,
            &sc.repository,
            &format!("\n[push]\nmfa-serial = \"{serial}\"\n"),
        ),
    );
    p.commit_all("mfa");
    // stdin is a pipe here: no prompt.
    push(&p, &sb, &[])
        .code(2)
        .stderr_has("--mfa-code")
        .stderr_has("XPIPELINE_MFA_CODE");
    assert_eq!(head(&sb, &sc), None);
    push(&p, &sb, &["--mfa-code", "12345"])
        .code(2)
        .stderr_has("6 digits");
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .env("XPIPELINE_MFA_CODE", "123456")
        .run()
        .success();
    assert!(head(&sb, &sc).is_some());
}

#[test]
fn refused_credentials_are_tried_once_and_explained() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    for status in [403, 401] {
        let (endpoint, authorized) = refusing_git_server(status);
        let out = push(&p, &sb, &["--git-endpoint", &endpoint])
            .code(1)
            .stderr_has("Likely causes, in order")
            .stderr_has("lacks codecommit:GitPush")
            .stderr_has("KMS key")
            .stderr_has("the local clock");
        let (perm, kms, clock) = (
            out.stderr.find("lacks codecommit:GitPush").unwrap(),
            out.stderr.find("KMS key").unwrap(),
            out.stderr.find("the local clock").unwrap(),
        );
        assert!(perm < kms && kms < clock, "{}", out.stderr);
        // The clock was compared with AWS's Date header (the sandbox's clock is ours).
        assert!(
            out.stderr.contains("so probably not this"),
            "{}",
            out.stderr
        );
        let tries = authorized.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            tries, 1,
            "HTTP {status}: one attempt with credentials, no retry loop"
        );
    }
    assert_eq!(head(&sb, &sc), None);
}

/// A git endpoint that asks for credentials and refuses them with `status`; counts the
/// requests that carried credentials.
fn refusing_git_server(status: u16) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let authorized = std::sync::Arc::new(AtomicUsize::new(0));
    let count = authorized.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
            let mut with_credentials = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                with_credentials |= line.to_ascii_lowercase().starts_with("authorization:");
            }
            let reply = if with_credentials {
                count.fetch_add(1, Ordering::SeqCst);
                format!(
                    "HTTP/1.1 {status} No\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (endpoint, authorized)
}

/// What moto's STS issued: role, session name, key id, secret, token of every AssumeRole.
fn assumed_roles(sb: &Sandbox) -> Vec<serde_json::Value> {
    let data = http(&sb.endpoint(), "GET", "/moto-api/data.json", "", "");
    let v: serde_json::Value = serde_json::from_str(body(&data)).expect("moto's data");
    v["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
