//! The local AWS sandbox (sandbox/, moto + git smart HTTP + executions) as a
//! test fixture: one server per `Sandbox`, started by the sandbox's one launcher
//! (sandbox/launch.py: a free port, a JSON ready line, gone when this test
//! process is) with its own data directory, stopped when the value is dropped.
//!
//! Only std is used to talk to the control API (HTTP/1.1, `Connection: close`).

// Test support shared by many test modules: each uses a different subset of
// these helpers, so some are unused in any one build.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const INSTALL_HINT: &str = "the local AWS sandbox needs its Python packages (moto[server], boto3): \
run `scripts/test`, or `python3 -m venv .venv && .venv/bin/pip install -r sandbox/requirements.txt` \
(the tests use .venv/bin/python when it exists; XPIPELINE_SANDBOX_PYTHON overrides)";

/// One sandbox server process.
pub struct Sandbox {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// The seeded default scenario: every name and ARN a test needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub pipeline_account: String,
    pub source_account: String,
    pub region: String,
    pub service_role_arn: String,
    pub kms_key_arn: String,
    pub bucket: String,
    pub repository: String,
    pub source_role_arn: String,
    pub build_project: String,
}

impl Scenario {
    /// A complete xpipeline.toml declaring pipeline `name` over the seeded resources.
    pub fn config(&self, name: &str) -> String {
        format!(
            r#"[pipeline]
name = "{name}"
account = "{pa}"
region = "{region}"
service-role-arn = "{service_role}"

[artifacts]
bucket = "{bucket}"
kms-key-arn = "{kms}"

[source]
account = "{sa}"
repository = "{repository}"
branch = "main"
role-arn = "{source_role}"

[build]
project = "{project}"
"#,
            pa = self.pipeline_account,
            region = self.region,
            service_role = self.service_role_arn,
            bucket = self.bucket,
            kms = self.kms_key_arn,
            sa = self.source_account,
            repository = self.repository,
            source_role = self.source_role_arn,
            project = self.build_project,
        )
    }
}

/// One API request the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Signing name: `codepipeline`, `sts`, `s3`, ... (`codecommit` for git too).
    pub service: String,
    /// Operation name (`CreatePipeline`), or `GitPush` / `GitPull` for git.
    pub action: String,
    /// Account of the access key that signed it (empty if unknown).
    pub account: String,
    /// HTTP status answered (0 if not recorded).
    pub status: u16,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("XPIPELINE_SANDBOX_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn field(v: &serde_json::Value, name: &str) -> String {
    v.get(name)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("sandbox seed answer lacks {name}: {v}"))
        .to_owned()
}

impl Sandbox {
    /// Start a sandbox on a free port and wait until it serves (at most 30 s).
    /// Panics, with the server log and how to install what is missing, if it
    /// cannot start; it never skips.
    pub fn start() -> Sandbox {
        Self::start_with_stage_seconds(1.0)
    }

    /// Like [`Sandbox::start`] with another time per pipeline stage.
    pub fn start_with_stage_seconds(stage_seconds: f64) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("xpsandbox-")
            .tempdir()
            .expect("create the sandbox temp dir");
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        std::fs::create_dir_all(&data).expect("create the sandbox data dir");
        for empty in ["aws-config", "aws-credentials"] {
            File::create(dir.path().join(empty)).expect("create an empty AWS config file");
        }
        let stderr = File::create(&log).expect("create the sandbox log");
        let py = python();
        let script = repo_root().join("sandbox/launch.py");
        let mut child = Command::new(&py)
            .arg(&script)
            .arg("--data-dir")
            .arg(&data)
            .args(["--stage-seconds", &stage_seconds.to_string()])
            .env_remove("MOTO_ACCOUNT_ID")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} for the sandbox: {e}\n{INSTALL_HINT}",
                    py.display()
                )
            });
        let stdout = child.stdout.take().expect("sandbox stdout is piped");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Forward the ready line, then keep draining so the server never blocks.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let port = match rx.recv_timeout(READY_TIMEOUT) {
            // The launcher's ready line: {"endpoint": ..., "port": PORT, ...}.
            Ok(line) => {
                let ready: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad sandbox ready line ({e}): {line}"));
                ready["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or_else(|| panic!("sandbox ready line without a port: {line}"))
            }
            Err(err) => {
                let mut status = child.try_wait().ok().flatten();
                if err == mpsc::RecvTimeoutError::Disconnected {
                    // stdout closed: the process is exiting; give it a moment.
                    let until = Instant::now() + Duration::from_secs(2);
                    while status.is_none() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(20));
                        status = child.try_wait().ok().flatten();
                    }
                }
                if status.is_none() {
                    let _ = child.kill();
                }
                let _ = child.wait();
                let text = read_log(&log);
                let hint = if text.contains("missing Python package")
                    || text.contains("No module named")
                {
                    format!("\n{INSTALL_HINT}")
                } else {
                    String::new()
                };
                let why = match (err, status) {
                    (_, Some(st)) => format!("exited with {st} before it was ready"),
                    (mpsc::RecvTimeoutError::Timeout, None) => {
                        format!("was not ready within {READY_TIMEOUT:?}")
                    }
                    (mpsc::RecvTimeoutError::Disconnected, None) => {
                        "closed its stdout before it was ready".to_owned()
                    }
                };
                panic!(
                    "sandbox ({} {}) {why}{hint}\n--- sandbox log {} ---\n{text}",
                    py.display(),
                    script.display(),
                    log.display()
                );
            }
        };
        Sandbox {
            child: Some(child),
            port,
            dir,
            log,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the AWS endpoint and the git endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's log (stderr), for assertions or debugging.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// The temp dir this sandbox owns (data, log, empty AWS config files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Environment for the binary under test: the sandbox endpoint, the
    /// `testing` key (account 123456789012), no real profile, few retries.
    pub fn env(&self) -> Vec<(String, String)> {
        let p = |name: &str| self.dir.path().join(name).display().to_string();
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_MAX_ATTEMPTS", "2".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", p("aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE", p("aws-credentials")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Seed the default scenario (idempotent).
    pub fn seed(&self) -> Scenario {
        self.seed_with(serde_json::json!({}))
    }

    /// Seed with overrides: `region`, `source_account`, `repository`, `bucket`,
    /// `build_project`, `prefix`, `service_role_name`, `source_role_name`.
    pub fn seed_with(&self, overrides: serde_json::Value) -> Scenario {
        let v = self.control("POST", "seed", Some(&overrides));
        Scenario {
            pipeline_account: field(&v, "pipeline_account"),
            source_account: field(&v, "source_account"),
            region: field(&v, "region"),
            service_role_arn: field(&v, "service_role_arn"),
            kms_key_arn: field(&v, "kms_key_arn"),
            bucket: field(&v, "bucket"),
            repository: field(&v, "repository"),
            source_role_arn: field(&v, "source_role_arn"),
            build_project: field(&v, "build_project"),
        }
    }

    /// Forget everything: AWS resources, executions, calls, git repositories.
    pub fn reset(&self) {
        self.control("POST", "reset", Some(&serde_json::json!({})));
    }

    /// Every request received so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        let v = self.control("GET", "calls", None);
        v.as_array()
            .unwrap_or_else(|| panic!("calls is not a list: {v}"))
            .iter()
            .map(|c| Call {
                service: c["service"].as_str().unwrap_or_default().to_owned(),
                action: c["action"].as_str().unwrap_or_default().to_owned(),
                account: c["account"].as_str().unwrap_or_default().to_owned(),
                status: c["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
            })
            .collect()
    }

    /// How many requests named `action` (e.g. `UpdatePipeline`, `GitPush`) were received.
    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|c| c.action == action).count()
    }

    /// Forget the calls received so far (e.g. after setting a test up).
    pub fn clear_calls(&self) {
        self.control("DELETE", "calls", None);
    }

    /// The next run of `action` in `pipeline` fails with `message` (code JobFailed).
    pub fn inject_failure(&self, pipeline: &str, action: &str, message: &str) {
        self.control(
            "POST",
            "failures",
            Some(&serde_json::json!({"pipeline": pipeline, "action": action, "message": message})),
        );
    }

    /// Let another writer's UpdatePipeline of `pipeline` land just before the next one.
    pub fn interfere(&self, pipeline: &str) {
        self.control(
            "POST",
            "interfere",
            Some(&serde_json::json!({"pipeline": pipeline})),
        );
    }

    /// Keep `action` of `pipeline` in progress (in every execution) until released.
    pub fn hold(&self, pipeline: &str, action: &str) {
        self.control(
            "POST",
            "hold",
            Some(&serde_json::json!({"pipeline": pipeline, "action": action})),
        );
    }

    pub fn release(&self, pipeline: &str, action: &str) {
        self.control(
            "POST",
            "release",
            Some(&serde_json::json!({"pipeline": pipeline, "action": action})),
        );
    }

    /// Time each pipeline stage takes from now on.
    pub fn set_stage_seconds(&self, s: f64) {
        self.control(
            "POST",
            "stage-seconds",
            Some(&serde_json::json!({ "seconds": s })),
        );
    }

    /// The commit `branch` points at in the CodeCommit `repository` of
    /// `account` (region eu-west-1), or None.
    pub fn branch_head(&self, account: &str, repository: &str, branch: &str) -> Option<String> {
        let v = self.control(
            "GET",
            &format!(
                "branch-head?account={}&repository={}&branch={}",
                encode(account),
                encode(repository),
                encode(branch)
            ),
            None,
        );
        v["commit"].as_str().map(str::to_owned)
    }

    /// The bare git repository behind `repository` of `account` (eu-west-1).
    /// Panics if the account has no such CodeCommit repository.
    pub fn repo_dir(&self, account: &str, repository: &str) -> PathBuf {
        let v = self.control(
            "GET",
            &format!(
                "repo-dir?account={}&repository={}",
                encode(account),
                encode(repository)
            ),
            None,
        );
        match v["path"].as_str() {
            Some(p) => PathBuf::from(p),
            None => panic!("account {account} has no CodeCommit repository {repository}"),
        }
    }

    /// The executions of `pipeline` in the default account and region, oldest
    /// first, as GetPipelineExecution renders them.
    pub fn executions(&self, pipeline: &str) -> Vec<serde_json::Value> {
        let v = self.control(
            "GET",
            &format!("executions?pipeline={}", encode(pipeline)),
            None,
        );
        v.as_array().cloned().unwrap_or_default()
    }

    /// One control API request; panics (with the server log) unless it answers 2xx.
    pub fn control(
        &self,
        method: &str,
        route: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let (status, text) = self.http(method, &format!("/_sandbox/{route}"), body);
        if !(200..300).contains(&status) {
            panic!(
                "sandbox control {method} {route} answered {status}: {text}\n--- sandbox log ---\n{}",
                self.log()
            );
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("sandbox control {route} answered non-JSON ({e}): {text}"))
    }

    fn http(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connect to the sandbox on port {}: {e}", self.port));
        let timeout = Some(Duration::from_secs(30));
        stream.set_read_timeout(timeout).ok();
        stream.set_write_timeout(timeout).ok();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            self.port,
            payload.len()
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("send to the sandbox: {e}"));
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("read from the sandbox: {e}"));
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("malformed HTTP answer from the sandbox: {text}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("malformed HTTP status line from the sandbox: {head}"));
        (status, body.to_owned())
    }
}

impl Drop for Sandbox {
    // Printing the server log when a test panics is the point here.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- sandbox log ({}) ---\n{}\n--- end of sandbox log ---",
                self.log.display(),
                read_log(&self.log)
            );
        }
    }
}

/// One HTTP/1.0 request to `endpoint`; the whole response, headers included.
pub fn raw_http(endpoint: &str, method: &str, path: &str, headers: &str, body: &str) -> String {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host).expect("the sandbox listens");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The body of a `raw_http` response.
pub fn body_of(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// AssumeRole straight against the sandbox as the pipeline account's "testing" key (its
/// signature is not checked); the AssumeRole answer (XML).
pub fn assume_role(sb: &Sandbox, role_arn: &str, seconds: u32) -> String {
    let form = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=test&DurationSeconds={seconds}&RoleArn={}",
        role_arn.replace(':', "%3A").replace('/', "%2F")
    );
    let resp = raw_http(
        &sb.endpoint(),
        "POST",
        "/",
        "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n",
        &form,
    );
    assert!(resp.contains("<AccessKeyId>"), "AssumeRole failed: {resp}");
    resp
}

/// The text of the first `<name>` element of `xml`.
pub fn xml_tag(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).expect(name) + open.len();
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_owned()
}

/// The AWS_* variables that make the binary use the credentials of an AssumeRole answer.
pub fn credentials_env(assume_role_xml: &str) -> [(String, String); 3] {
    [
        ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
        ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
        ("AWS_SESSION_TOKEN", "SessionToken"),
    ]
    .map(|(var, tag)| (var.to_owned(), xml_tag(assume_role_xml, tag)))
}

/// Every key id, secret and session token the sandbox's STS has issued (moto's state).
pub fn issued_secrets(sb: &Sandbox) -> Vec<String> {
    let data = raw_http(&sb.endpoint(), "GET", "/moto-api/data.json", "", "");
    let issued: serde_json::Value = serde_json::from_str(body_of(&data)).expect("moto's data");
    let mut secrets = Vec::new();
    for role in issued["sts"]["AssumedRole"]
        .as_array()
        .expect("assumed roles")
    {
        for k in ["access_key_id", "secret_access_key", "session_token"] {
            secrets.push(role[k].as_str().unwrap().to_owned());
        }
    }
    secrets
}
