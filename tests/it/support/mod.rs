//! Test support: run the real binary in a temp directory (a fresh cargo project and git
//! repository per test) and look at what it printed.

#![allow(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

pub mod sandbox;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary left.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// A command line of `cargo xpipeline ...`, run in `dir` with a clean AWS environment.
pub struct Cmd {
    cmd: Command,
    stdin: Option<String>,
    terminal: bool,
}

pub fn xpipeline(dir: &Path) -> Cmd {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-xpipeline"));
    cmd.arg("xpipeline").current_dir(dir);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AWS_") || k.starts_with("XPIPELINE_") {
            cmd.env_remove(&k);
        }
    }
    // Never read the developer's own AWS files; never reach IMDS.
    cmd.env("AWS_CONFIG_FILE", dir.join(".no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join(".no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    Cmd {
        cmd,
        stdin: None,
        terminal: false,
    }
}

impl Cmd {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, a: I) -> Self {
        self.cmd.args(a);
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn envs(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.cmd.envs(vars);
        self
    }

    pub fn stdin(mut self, s: &str) -> Self {
        self.stdin = Some(s.to_owned());
        self
    }

    /// Run under a pseudo-terminal (util-linux `script`), as a person at a terminal would:
    /// stdout and stderr then arrive together, in `stdout`, with CR LF line ends.
    pub fn in_terminal(mut self) -> Self {
        self.terminal = true;
        self
    }

    /// The same command line, wrapped in `script -qefc '...' /dev/null`.
    fn wrapped_in_terminal(&self) -> Command {
        let quote = |s: &OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(self.cmd.get_program())
            .chain(self.cmd.get_args())
            .map(quote)
            .collect();
        let mut script = Command::new("script");
        script.args(["-qefc", &line.join(" "), "/dev/null"]);
        if let Some(dir) = self.cmd.get_current_dir() {
            script.current_dir(dir);
        }
        for (k, v) in self.cmd.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        script
    }

    /// Start the command, wait (up to `within`) until `ready` says so, interrupt it as Ctrl-C
    /// does (SIGINT), and return what it printed and its exit code.
    pub fn interrupt_when(mut self, within: Duration, mut ready: impl FnMut() -> bool) -> Output {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let child = self.cmd.spawn().expect("the binary starts");
        let began = Instant::now();
        while !ready() {
            assert!(
                began.elapsed() < within,
                "not ready to interrupt within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let out = child.wait_with_output().expect("the binary runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(mut self) -> Output {
        use std::io::Write;
        if self.terminal {
            self.cmd = self.wrapped_in_terminal();
        }
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::piped());
        let mut child = self.cmd.spawn().expect("the binary starts");
        let input = self.stdin.take().unwrap_or_default();
        let mut pipe = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("the binary runs");
        writer.join().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A throwaway cargo package in a git repository with one commit on `branch`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(name: &str, branch: &str) -> Project {
        let dir = tempfile::Builder::new()
            .prefix("xpipeline-test-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("src/main.rs"),
            "fn main() {\n    println!(\"hello\");\n}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".gitignore"), "/target\n").unwrap();
        let p = Project { dir };
        p.git(&["init", "-q", "-b", branch]);
        p.commit_all("initial commit");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.file(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    pub fn cmd(&self) -> Cmd {
        xpipeline(self.path())
    }

    /// Run git in the project; panics when it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// A complete, valid xpipeline.toml for the given accounts and region (no sandbox needed).
pub fn valid_config(pipeline_account: &str, source_account: &str, region: &str) -> String {
    let (pa, sa) = (pipeline_account, source_account);
    sandbox::Scenario {
        pipeline_account: pa.to_owned(),
        source_account: sa.to_owned(),
        region: region.to_owned(),
        service_role_arn: format!("arn:aws:iam::{pa}:role/demo-app-codepipeline"),
        kms_key_arn: format!("arn:aws:kms:{region}:{pa}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        bucket: format!("demo-app-artifacts-{pa}"),
        repository: "demo-app".to_owned(),
        source_role_arn: format!("arn:aws:iam::{sa}:role/demo-app-cross-account"),
        build_project: "demo-app-build".to_owned(),
    }
    .config("demo-app-pipeline")
}
