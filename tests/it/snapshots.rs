//! Snapshots of the text a user reads, from the real binary against the local sandbox:
//! `status` (the overview and one execution), `plan` (a pipeline to create, changes, no
//! changes), `policies`, the watch's plain stderr lines while `push` follows an execution to
//! Succeeded, and what a failed execution prints (exit 3). They pin today's wording and layout
//! so that a change to either shows in review. What differs from run to run (timestamps,
//! durations, ids, commits, ports, temp paths, sizes) is replaced by a `[LABEL]` first.

use crate::status::fixture;
use crate::support::sandbox::{Sandbox, Scenario};
use crate::support::{Output, Project, valid_config};

const PIPELINE: &str = "demo-app-pipeline";

/// Long enough that every action is seen in progress by at least one tick of the watch
/// (ticks come 1 to 2.5 s apart around a change), so that the watch's lines are the same
/// from run to run.
const STAGE_SECONDS: f64 = 3.0;

/// Replaces what varies between runs by labels: first the values a test knows (longest
/// first), then any RFC 3339 timestamp, UUID, duration (`3s`, `1m05s`, `0.05s`) and byte size
/// (`(431 B)`). Plain string scanning; no regex dependency for this.
#[derive(Default)]
struct Redact {
    known: Vec<(String, String)>,
}

impl Redact {
    fn new(sandbox: Option<&Sandbox>, project: &Project) -> Redact {
        let mut r = Redact::default();
        if let Some(sandbox) = sandbox {
            r = r
                .known(sandbox.endpoint(), "[ENDPOINT]")
                .known(sandbox.dir().display().to_string(), "[SANDBOX-DIR]");
        }
        r.known(project.path().display().to_string(), "[PROJECT]")
    }

    fn known(mut self, value: impl Into<String>, label: &str) -> Redact {
        let value = value.into();
        assert!(!value.is_empty(), "nothing to redact for {label}");
        self.known.push((value, label.to_owned()));
        self
    }

    /// A commit: its full id as `[NAME]`, its 12-character short form as `[NAME:12]`.
    fn commit(self, id: &str, name: &str) -> Redact {
        self.known(id, &format!("[{name}]"))
            .known(&id[..12], &format!("[{name}:12]"))
    }

    /// The executions of `pipeline`, oldest first: `[EXECUTION-1]`, `[EXECUTION-2]`, ...
    fn executions(mut self, sandbox: &Sandbox, pipeline: &str) -> Redact {
        for (i, e) in sandbox.executions(pipeline).iter().enumerate() {
            let id = e["pipelineExecutionId"].as_str().expect("an execution id");
            self = self.known(id, &format!("[EXECUTION-{}]", i + 1));
        }
        self
    }

    fn apply(&self, text: &str) -> String {
        let mut known = self.known.clone();
        known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        let mut s = text.to_owned();
        for (value, label) in &known {
            s = s.replace(value.as_str(), label);
        }
        let s = replace_matches(&s, "[TIME]", timestamp_at);
        let s = replace_matches(&s, "[UUID]", uuid_at);
        let s = replace_matches(&s, "[DURATION]", duration_at);
        let s = replace_matches(&s, "[CLOCK]", agent_clock_at);
        let s = replace_matches(&s, "([SIZE])", size_at);
        // Which build phases a tick happens to see depends on timing: their lines are left
        // out here (tests/it/build_logs.rs checks them).
        s.split_inclusive('\n')
            .filter(|l| !(l.starts_with("[TIME] ") && l.contains(" phase ") && !l.contains('│')))
            .collect()
    }

    /// Exit code, stdout and stderr, redacted, as one snapshot.
    fn output(&self, out: &Output) -> String {
        snapshot(out, |text| self.apply(text))
    }
}

/// Exit code, stdout and stderr (each through `show`) as one snapshot.
fn snapshot(out: &Output, show: impl Fn(&str) -> String) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code,
        show(&out.stdout),
        show(&out.stderr)
    )
}

/// CodeBuild's agent clock in a log line: `2026/11/26 09:59:44.707`.
fn agent_clock_at(b: &[u8]) -> Option<usize> {
    let shape = b"dddd/dd/dd dd:dd:dd.ddd";
    (b.len() >= shape.len()
        && shape.iter().zip(b).all(|(s, c)| match s {
            b'd' => c.is_ascii_digit(),
            _ => s == c,
        }))
    .then_some(shape.len())
}

/// Replace every match (at a word start) of `matcher`, which returns the match's length.
fn replace_matches(text: &str, label: &str, matcher: fn(&[u8]) -> Option<usize>) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
        match at_word_start.then(|| matcher(&bytes[i..])).flatten() {
            Some(n) if !bytes.get(i + n).is_some_and(u8::is_ascii_alphanumeric) => {
                out.extend_from_slice(label.as_bytes());
                i += n;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("only ASCII spans are replaced")
}

/// `s` starts with `template`, where `9` is any digit and `f` any lowercase hex digit.
fn fits(s: &[u8], template: &str) -> bool {
    s.len() >= template.len()
        && template.bytes().zip(s).all(|(t, &c)| match t {
            b'9' => c.is_ascii_digit(),
            b'f' => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            _ => t == c,
        })
}

fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `2026-11-26T09:27:10Z`, with optional fractional seconds.
fn timestamp_at(s: &[u8]) -> Option<usize> {
    const T: &str = "9999-99-99T99:99:99";
    if !fits(s, T) {
        return None;
    }
    let mut n = T.len();
    if s.get(n) == Some(&b'.') {
        n += 1 + digits(&s[n + 1..]);
    }
    (s.get(n) == Some(&b'Z')).then_some(n + 1)
}

fn uuid_at(s: &[u8]) -> Option<usize> {
    const T: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    fits(s, T).then_some(T.len())
}

/// `3s`, `0.05s`, `1m05s`, `2h03m`.
fn duration_at(s: &[u8]) -> Option<usize> {
    let mut n = digits(s);
    if n == 0 {
        return None;
    }
    if s.get(n) == Some(&b'.') && digits(&s[n + 1..]) > 0 {
        n += 1 + digits(&s[n + 1..]);
    }
    match s.get(n) {
        Some(b's') => Some(n + 1),
        Some(b'm') if fits(&s[n + 1..], "99s") => Some(n + 4),
        Some(b'h') if fits(&s[n + 1..], "99m") => Some(n + 4),
        _ => None,
    }
}

/// `(431 B)`, `(3.40 KiB)`: indicatif's HumanBytes in parentheses.
fn size_at(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'(') {
        return None;
    }
    let mut n = 1 + digits(&s[1..]);
    if n == 1 {
        return None;
    }
    if s.get(n) == Some(&b'.') {
        n += 1 + digits(&s[n + 1..]);
    }
    ["B)", "KiB)", "MiB)", "GiB)"]
        .iter()
        .find(|unit| s.get(n) == Some(&b' ') && s[n + 1..].starts_with(unit.as_bytes()))
        .map(|unit| n + 1 + unit.len())
}

/// `cargo xpipeline ARGS` against the sandbox, as local user `dev` (the STS session name
/// `xpipeline-dev` that push prints comes from it).
fn run(p: &Project, sandbox: &Sandbox, args: &[&str]) -> Output {
    p.cmd()
        .args(args)
        .envs(sandbox.env())
        .env("USER", "dev")
        .run()
}

/// A project declaring the seeded scenario (with a build variable and a tag), committed.
fn project(s: &Scenario) -> (Project, String) {
    let p = Project::new("demo-app", "main");
    p.write("xpipeline.toml", &declaration(s, &s.build_project));
    let commit = p.commit_all("Declare the pipeline");
    (p, commit)
}

fn declaration(s: &Scenario, build_project: &str) -> String {
    let text = s.config(PIPELINE).replace(
        &format!("project = \"{}\"", s.build_project),
        &format!("project = \"{build_project}\""),
    );
    format!("{text}\n[build.env]\nRUST_LOG = \"info\"\n\n[tags]\nteam = \"platform\"\n")
}

/// The commit on branch main of the sandbox's repository, and the pipeline created out of
/// band (AWS starts an execution of that commit).
fn created_pipeline(sandbox: &Sandbox, s: &Scenario, p: &Project) {
    let repo = sandbox.repo_dir(&s.source_account, &s.repository);
    p.git(&["push", "-q", repo.to_str().unwrap(), "HEAD:main"]);
    fixture::create_pipeline(sandbox, s, PIPELINE);
}

#[test]
fn policies_text() {
    let p = Project::new("demo-app", "main");
    p.write(
        "xpipeline.toml",
        &valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    // Nothing in it varies: no redaction. An unreachable endpoint: it needs no network.
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9", "policies"])
        .run();
    insta::assert_snapshot!("policies", snapshot(&out, str::to_owned));
}

#[test]
fn plan_text_to_create_with_changes_and_without() {
    let sandbox = Sandbox::start();
    let s = sandbox.seed();
    let (p, commit) = project(&s);
    let redact = Redact::new(Some(&sandbox), &p).commit(&commit, "COMMIT");

    let out = run(&p, &sandbox, &["plan"]);
    insta::assert_snapshot!("plan_create", redact.output(&out));

    run(&p, &sandbox, &["push", "--no-watch", "-q"]).success();
    let out = run(&p, &sandbox, &["plan"]);
    insta::assert_snapshot!("plan_no_changes", redact.output(&out));

    p.write(
        "xpipeline.toml",
        &declaration(&s, "demo-app-build-v2").replace("\"info\"", "\"debug\""),
    );
    let out = run(&p, &sandbox, &["plan"]);
    insta::assert_snapshot!("plan_changes", redact.output(&out));
}

#[test]
fn status_text_overview_and_one_execution() {
    let sandbox = Sandbox::start_with_stage_seconds(STAGE_SECONDS);
    let s = sandbox.seed();
    let (p, commit) = project(&s);
    created_pipeline(&sandbox, &s, &p);
    run(&p, &sandbox, &["status", "--watch", "-q"]).success();
    // A second execution, whose build fails: the overview then shows both and the error.
    sandbox.inject_failure(PIPELINE, "Build", "cargo test: 2 tests failed");
    fixture::start_execution(&sandbox, PIPELINE);
    run(&p, &sandbox, &["status", "--watch", "-q"]).code(3);

    let redact = Redact::new(Some(&sandbox), &p)
        .commit(&commit, "COMMIT")
        .executions(&sandbox, PIPELINE);
    let out = run(&p, &sandbox, &["status"]);
    insta::assert_snapshot!("status_overview", redact.output(&out));

    let first = &sandbox.executions(PIPELINE)[0]["pipelineExecutionId"];
    let out = run(
        &p,
        &sandbox,
        &["status", "--execution", first.as_str().unwrap()],
    );
    insta::assert_snapshot!("status_execution", redact.output(&out));
}

#[test]
fn push_following_an_execution_to_succeeded_plain_lines() {
    let sandbox = Sandbox::start_with_stage_seconds(STAGE_SECONDS);
    let s = sandbox.seed();
    let (p, first) = project(&s);
    // The first push creates the pipeline; the one snapshotted is the everyday one.
    run(&p, &sandbox, &["push", "-q"]).success();
    p.write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    let second = p.commit_all("Add the answer");
    let out = run(&p, &sandbox, &["push"]);
    let redact = Redact::new(Some(&sandbox), &p)
        .commit(&first, "COMMIT-1")
        .commit(&second, "COMMIT-2")
        .executions(&sandbox, PIPELINE);
    insta::assert_snapshot!("push_follow_succeeded", redact.output(&out));
}

#[test]
fn a_failed_execution_prints_its_error_and_exits_3() {
    let sandbox = Sandbox::start_with_stage_seconds(STAGE_SECONDS);
    sandbox.inject_failure(
        PIPELINE,
        "Build",
        "error[E0425]: cannot find value `x` in this scope",
    );
    let s = sandbox.seed();
    let (p, commit) = project(&s);
    created_pipeline(&sandbox, &s, &p);
    let out = run(&p, &sandbox, &["status", "--watch"]);
    let redact = Redact::new(Some(&sandbox), &p)
        .commit(&commit, "COMMIT")
        .executions(&sandbox, PIPELINE);
    insta::assert_snapshot!("status_watch_failed", redact.output(&out));
}

#[test]
fn the_redaction_replaces_what_varies_and_nothing_else() {
    let p = Project::new("demo-app", "main");
    let r = Redact::new(None, &p).known("abc", "[X]");
    assert_eq!(
        r.apply("2026-11-26T09:27:10Z abc Build/Build Succeeded after 1m05s, in 3s and 0.05s"),
        "[TIME] [X] Build/Build Succeeded after [DURATION], in [DURATION] and [DURATION]"
    );
    assert_eq!(
        r.apply("execution 4a967b0c-0391-4204-a2c3-fbf501449020 sent 5 objects (3.40 KiB)"),
        "execution [UUID] sent 5 objects ([SIZE])"
    );
    // Account ids, versions, error codes, regions and ARNs stay.
    assert_eq!(
        r.apply("Build│ [Container] 2026/11/26 09:59:44.707 Entering phase BUILD\n"),
        "Build│ [Container] [CLOCK] Entering phase BUILD\n"
    );
    assert_eq!(r.apply("[TIME] Build/Build phase BUILD\nnext\n"), "next\n");
    let kept = "account 123456789012 (eu-west-1), V2, version 1, E0425, s3:GetObject, 2 changes";
    assert_eq!(r.apply(kept), kept);
}
