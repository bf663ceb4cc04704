//! What `-v` and `-vv` show on stderr: one line per AWS call (`aws::calls::Call`) and per
//! HTTP request of the git transfer, and at `-vv` the SDK's own tracing through a `tracing`
//! subscriber, filtered by RUST_LOG when it is set.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use crate::aws::calls::{Call, CallSink};

/// The `-v` line of an AWS call.
pub struct CallLine<'a>(pub &'a Call);

impl fmt::Display for CallLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "aws: {} {}", c.service, c.operation)?;
        if let Some(account) = &c.account {
            write!(f, " account {account}")?;
        }
        write!(f, " {}", c.region)?;
        match c.status {
            Some(status) => write!(f, ": {status}")?,
            None => write!(f, ": no response")?,
        }
        write!(f, " in {} ms", c.duration.as_millis())?;
        if let Some(id) = &c.request_id {
            write!(f, ", request {}", crate::model::text::one_line(id))?;
        }
        if c.attempt > 1 {
            write!(f, ", attempt {}", c.attempt)?;
        }
        if let Some(why) = &c.failure {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

/// The `-v` line of one HTTP request of the git transfer:
/// `git: POST https://host/v1/repos/r/git-receive-pack: ok in 210 ms`.
pub fn git_line(
    method: &str,
    url: &str,
    elapsed: std::time::Duration,
    failure: Option<&str>,
) -> String {
    let outcome = match failure {
        None => "ok".to_owned(),
        Some(why) => format!("failed ({})", crate::model::text::one_line(why)),
    };
    format!(
        "git: {method} {}: {outcome} in {} ms",
        crate::model::text::one_line(url),
        elapsed.as_millis()
    )
}

/// Print a `-v` line on stderr.
pub fn print_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The sink for `aws::sdk_config`: with `-v` (and not `-q`) each call as a line on stderr.
pub fn call_sink(verbose: u8, quiet: bool) -> CallSink {
    if verbose == 0 || quiet {
        return Arc::new(|_| {});
    }
    Arc::new(|call: &Call| {
        let _ = writeln!(std::io::stderr().lock(), "{}", CallLine(call));
    })
}

/// At `-vv`: the tracing of the SDK, the HTTP stack and this tool on stderr, as plain lines.
/// `filter` is RUST_LOG when set; otherwise the SDK's debug events and this tool's. Installed
/// once, before any command runs; a second call (tests) changes nothing.
///
/// At trace level the SDK dumps whole requests (the Authorization header, the session token)
/// and aws-sigv4 its canonical request: every event goes through `redact` on its way out.
pub fn install_tracing(filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    const DEFAULT: &str = "info,aws_smithy_runtime=debug,aws_config=debug,cargo_xpipeline=debug";
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacting)
        .with_ansi(false)
        .try_init();
}

/// stderr, through `redact`. The fmt layer writes each event with one `write_all`.
struct Redacting;

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Markers (lower case) after which the next long run of token characters is a secret.
const SECRET_MARKERS: &[&str] = &[
    "signature=",
    "credential=",
    "security-token",
    "sessiontoken",
    "session_token",
    "secretaccesskey",
    "secret_access_key",
    "accesskeyid",
    "access_key_id",
    "password",
    // PutApprovalResult's approval token, should a request body be traced.
    "\"token\":",
];

/// `text` with what follows each secret marker (within 80 characters, the first run of 8 or
/// more key, token or signature characters with a digit or a symbol in it: not a Debug wrapper
/// such as `HeaderValue`) and every AWS access key id replaced by `***`.
pub fn redact(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let token = |b: u8| b.is_ascii_alphanumeric() || b"+/=%_-.".contains(&b);
    // Byte ranges to hide.
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for marker in SECRET_MARKERS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(marker) {
            let start = from + at + marker.len();
            let window = (start + 80).min(bytes.len());
            let mut i = start;
            while i < window {
                if token(bytes[i]) {
                    let mut j = i;
                    while j < bytes.len() && token(bytes[j]) {
                        j += 1;
                    }
                    let run = &bytes[i..j];
                    if run.len() >= 8 && !run.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_')
                    {
                        hide.push((i, j));
                        break;
                    }
                    i = j;
                } else {
                    i += 1;
                }
            }
            from = start;
        }
    }
    // Access key ids wherever they are: AKIA/ASIA and 16 more upper-case letters or digits.
    for (i, w) in bytes.windows(20).enumerate() {
        if (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            hide.push((i, i + 20));
        }
    }
    hide.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in hide {
        if end <= at {
            continue;
        }
        let start = start.max(at);
        out.push_str(&text[at..start]);
        out.push_str("***");
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn call() -> Call {
        Call {
            service: "CodePipeline".into(),
            operation: "GetPipeline".into(),
            account: Some("111111111111".into()),
            region: "eu-west-1".into(),
            status: Some(200),
            duration: Duration::from_millis(12),
            request_id: Some("5d1c-req".into()),
            attempt: 1,
            failure: None,
        }
    }

    #[test]
    fn secrets_in_sdk_traces_are_hidden() {
        let traced = r#"headers: {"authorization": HeaderValue { _private: H0("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY123456/20261126/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=29d7e56895b7c00bf11093314af9fbf50f3c033fe6f5c843d3ec9be538bb9d6d") }, "x-amz-security-token": HeaderValue { _private: H0("FQoGZXIvYXdzEJr//////////wEaDM+token==") }}"#;
        let shown = redact(traced);
        for secret in [
            "ASIAEXAMPLEKEY123456",
            "29d7e56895b7c00bf1109",
            "FQoGZXIvYXdzEJr",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("SignedHeaders=host;x-amz-date"), "{shown}");
        let canonical = "x-amz-date:20261126T095329Z\nx-amz-security-token:IQoJb3JpZ2luX2VjEPr\n";
        assert_eq!(
            redact(canonical),
            "x-amz-date:20261126T095329Z\nx-amz-security-token:***\n"
        );
        let plain = "STS.GetCallerIdentity{rpc.service=\"STS\"}: entering 'transmit' phase";
        assert_eq!(redact(plain), plain);
        let body = r#"{"pipelineName":"p","token":"0c1d2e3f-4a5b-6c7d-8e9f-001122334455"}"#;
        assert!(!redact(body).contains("0c1d2e3f"), "{}", redact(body));
        // Multi-byte text around a marker stays whole.
        assert_eq!(redact("é password é"), "é password é");
    }

    #[test]
    fn a_call_is_one_line_with_what_identifies_it() {
        assert_eq!(
            CallLine(&call()).to_string(),
            "aws: CodePipeline GetPipeline account 111111111111 eu-west-1: 200 in 12 ms, request 5d1c-req"
        );
        let retried = Call {
            account: None,
            status: None,
            request_id: None,
            attempt: 2,
            failure: Some("dispatch failure: connection refused".into()),
            ..call()
        };
        assert_eq!(
            CallLine(&retried).to_string(),
            "aws: CodePipeline GetPipeline eu-west-1: no response in 12 ms, attempt 2 (dispatch failure: connection refused)"
        );
    }
}
