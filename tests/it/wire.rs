//! The git transport of `push` (and `fetch`) against the sandbox and small fake servers: a
//! stalled endpoint gives up within XPIPELINE_GIT_TIMEOUT and says whether anything reached
//! the remote, throttling is retried, a server-side hook's refusal is reported with its text
//! (made terminal-safe) and changes nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::Project;
use crate::support::sandbox::{Sandbox, Scenario};

fn project(sc: &Scenario) -> Project {
    let p = Project::new("wire-app", "main");
    p.write("xpipeline.toml", &sc.config("wire-pipeline"));
    p.commit_all("declare the pipeline");
    p
}

fn head(sb: &Sandbox, sc: &Scenario) -> Option<String> {
    sb.branch_head(&sc.source_account, &sc.repository, "main")
}

/// A git endpoint that accepts connections; `advertise` answers the GET with an empty
/// repository's ref advertisement, and every other request is read and never answered.
fn silent_endpoint(advertise: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            if advertise && first.starts_with("GET ") {
                let refs = format!(
                    "{} capabilities^{{}}\0report-status side-band-64k\n",
                    "0".repeat(40)
                );
                let adv = format!(
                    "001f# service=git-receive-pack\n0000{:04x}{refs}0000",
                    refs.len() + 4
                );
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-receive-pack-advertisement\r\nContent-Length: {}\r\n\r\n{adv}",
                    adv.len()
                );
            }
            // Held open, never answered (the POST's body is left unread too).
            held.push((stream, reader));
        }
    });
    port
}

fn push_to(p: &Project, sb: &Sandbox, endpoint: &str) -> crate::support::Output {
    p.cmd()
        .args(["push", "--no-watch", "--git-endpoint", endpoint])
        .envs(sb.env())
        .env("XPIPELINE_GIT_TIMEOUT", "2")
        .run()
}

#[test]
fn an_endpoint_that_never_answers_gives_up_within_the_timeout_and_nothing_was_pushed() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let port = silent_endpoint(false);
    let started = Instant::now();
    let out = push_to(&p, &sb, &format!("http://127.0.0.1:{port}/v1/repos/x"))
        .code(1)
        .stderr_has("did not answer for 2s (XPIPELINE_GIT_TIMEOUT)")
        .stderr_has("nothing was pushed");
    // The AWS calls before it take a few seconds on the sandbox; the git wait is 2 s.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert!(!out.stderr.contains("unknown"), "{}", out.stderr);
}

#[test]
fn a_push_whose_answer_never_comes_says_the_outcome_is_unknown_and_how_to_check() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let port = silent_endpoint(true);
    push_to(&p, &sb, &format!("http://127.0.0.1:{port}/v1/repos/x"))
        .code(1)
        .stderr_has("nothing moved for 2s (XPIPELINE_GIT_TIMEOUT)")
        .stderr_has("whether the update of main reached the remote is unknown")
        .stderr_has("cargo xpipeline push --dry-run");
}

#[test]
fn a_bad_git_timeout_is_a_usage_error() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .env("XPIPELINE_GIT_TIMEOUT", "soon")
        .run()
        .code(2)
        .stderr_has("XPIPELINE_GIT_TIMEOUT=\"soon\" is not a whole number from 1 to 3600");
}

#[test]
fn a_throttled_git_endpoint_is_retried_and_the_push_lands() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    let commit = p.git(&["rev-parse", "HEAD"]);
    sb.control(
        "POST",
        "git-throttle",
        Some(&serde_json::json!({"times": 2, "status": 429})),
    );
    let out = p
        .cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .success()
        .stderr_has("asked to slow down (HTTP 429 to the GET): attempt 2 of 4")
        .stderr_has("attempt 3 of 4");
    assert!(!out.stderr.contains("attempt 4"), "{}", out.stderr);
    assert_eq!(head(&sb, &sc).as_deref(), Some(commit.as_str()));
}

#[test]
fn a_git_endpoint_that_stays_throttled_stops_and_says_nothing_was_pushed() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    sb.control(
        "POST",
        "git-throttle",
        Some(&serde_json::json!({"times": 10, "status": 503})),
    );
    p.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has("still throttling (HTTP 503) after 4 attempts: nothing was pushed");
    assert_eq!(head(&sb, &sc), None);
}

#[test]
fn a_server_side_hook_refusal_is_reported_with_its_text_and_the_branch_is_unchanged() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    sb.control(
        "POST",
        "git-hook",
        Some(&serde_json::json!({
            "account": sc.source_account,
            "repository": sc.repository,
            "message": "\u{1b}[2J\u{1b}]0;owned\u{7}main is protected: open a pull request",
        })),
    );
    let out = p
        .cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has("refused the update of main")
        .stderr_has("hook declined")
        .stderr_has("main is protected: open a pull request");
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stdout.contains('\u{1b}'),
        "{:?}",
        out.stderr
    );
    assert!(!out.stderr.contains('\u{7}'), "{:?}", out.stderr);
    assert_eq!(head(&sb, &sc), None);
}

#[test]
fn fetch_brings_a_commit_pushed_by_someone_else_and_writes_no_git_config() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let theirs = project(&sc);
    let first = theirs.git(&["rev-parse", "HEAD"]);
    theirs
        .cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .success();

    // Another repository with the same declaration and a file of its own: its commit is not
    // theirs (were they made in the same second, the same files would give the same commit).
    let ours = Project::new("wire-app", "main");
    ours.write("xpipeline.toml", &sc.config("wire-pipeline"));
    ours.write("OURS", "ours\n");
    ours.commit_all("declare the pipeline");
    let config_before = std::fs::read(ours.file(".git/config")).unwrap();
    ours.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has("non-fast-forward")
        .stderr_has("`cargo xpipeline fetch`, then `git rebase xpipeline/main`");
    let out = ours
        .cmd()
        .arg("fetch")
        .envs(sb.env())
        .run()
        .success()
        .stdout_has(&format!(
            "fetched main: {} (new) into xpipeline/main",
            &first[..12]
        ));
    assert!(
        out.stdout.contains("git rebase xpipeline/main"),
        "{}",
        out.stdout
    );
    assert_eq!(
        ours.git(&["rev-parse", "refs/remotes/xpipeline/main"]),
        first
    );
    assert_eq!(ours.git(&["cat-file", "-t", &first]), "commit");
    assert_eq!(
        std::fs::read(ours.file(".git/config")).unwrap(),
        config_before
    );
    ours.cmd()
        .arg("fetch")
        .envs(sb.env())
        .run()
        .success()
        .stdout_has("xpipeline/main is up to date");

    // They push again: the next fetch moves the reference and brings only what is new.
    theirs.write("src/new.rs", "pub fn f() {}\n");
    let second = theirs.commit_all("a second commit");
    theirs
        .cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .success();
    let out = ours
        .cmd()
        .args(["fetch", "--output", "json"])
        .envs(sb.env())
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["from"], first.as_str());
    assert_eq!(v["to"], second.as_str());
    assert_eq!(v["reference"], "refs/remotes/xpipeline/main");
    // The commit, two trees and the new blob: what was shared was not sent again.
    assert_eq!(v["objects"], 4, "{v}");

    // The hint can be followed: merge, push.
    ours.git(&[
        "merge",
        "--allow-unrelated-histories",
        "-m",
        "merge theirs",
        "xpipeline/main",
    ]);
    ours.cmd()
        .args(["push", "--no-watch"])
        .envs(sb.env())
        .run()
        .success();
    assert_eq!(
        head(&sb, &sc).as_deref(),
        Some(ours.git(&["rev-parse", "HEAD"]).as_str())
    );
    assert_eq!(
        std::fs::read(ours.file(".git/config")).unwrap(),
        config_before
    );
}

#[test]
fn ctrl_c_during_the_transfer_says_the_outcome_is_unknown_and_how_to_check() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let p = project(&sc);
    // The advertisement is answered; the POST with the pack is held open.
    let port = silent_endpoint(true);
    // Past the AWS calls (the source role assumed) and into the transfer.
    let mut assumed: Option<Instant> = None;
    let out = p
        .cmd()
        .args(["push", "--no-watch", "--git-endpoint"])
        .arg(format!("http://127.0.0.1:{port}/v1/repos/x"))
        .env("XPIPELINE_GIT_TIMEOUT", "120")
        .envs(sb.env())
        .interrupt_when(Duration::from_secs(60), || {
            if assumed.is_none() && sb.count("AssumeRole") >= 1 {
                assumed = Some(Instant::now());
            }
            assumed.is_some_and(|t| t.elapsed() > Duration::from_millis(1500))
        });
    // Killed by the signal, the binary would have no exit code and say nothing.
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{stderr}");
    assert!(
        stderr.contains("interrupted during the git push of main")
            && stderr.contains("whether the update reached the remote is unknown")
            && stderr.contains("cargo xpipeline push --dry-run"),
        "{stderr}"
    );
}
