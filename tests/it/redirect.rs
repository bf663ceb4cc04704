//! The git credentials go only to the host they were signed for: a git endpoint that
//! redirects elsewhere never gets the other host an `Authorization` header, and `push` says
//! it was redirected.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::Project;
use crate::support::sandbox::{Sandbox, Scenario};

/// The requests a server saw: the request line and whether it carried credentials.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// A one-request-at-a-time HTTP server; `answer` gets the request line and whether it
/// carried an Authorization header, and returns the status line and extra headers.
fn server(answer: impl Fn(&str, bool) -> (String, String) + Send + 'static) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut auth = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                auth |= line.to_ascii_lowercase().starts_with("authorization:");
            }
            let request = first.trim().to_owned();
            log.lock().unwrap().push((request.clone(), auth));
            let (status, headers) = answer(&request, auth);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, seen)
}

fn project(sc: &Scenario) -> Project {
    let p = Project::new("push-app", "main");
    p.write("xpipeline.toml", &sc.config("redirect-pipeline"));
    p.commit_all("declare the pipeline");
    p
}

/// Another host, which asks for credentials as CodeCommit would.
fn other_host() -> (u16, Seen) {
    server(|_, _| {
        (
            "401 Unauthorized".into(),
            "WWW-Authenticate: Basic realm=\"other\"\r\n".into(),
        )
    })
}

fn assert_no_credentials_reached(seen: &Seen) {
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|(_, auth)| !auth),
        "the other host received credentials: {seen:?}"
    );
}

#[test]
fn a_redirect_before_authentication_sends_no_credentials_to_the_other_host() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let (other, seen) = other_host();
    let (first, _) = server(move |request, _| {
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        (
            "302 Found".into(),
            format!("Location: http://127.0.0.1:{other}{path}\r\n"),
        )
    });
    let p = project(&sc);
    let out = p
        .cmd()
        .args(["push", "--no-watch", "--git-endpoint"])
        .arg(format!("http://127.0.0.1:{first}"))
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has(&format!("redirected to 127.0.0.1:{other}"));
    assert_no_credentials_reached(&seen);
    assert!(
        !out.stderr.contains("refused the push (403)"),
        "{}",
        out.stderr
    );
    // Nothing reached the real repository.
    assert_eq!(
        sb.branch_head(&sc.source_account, &sc.repository, "main"),
        None
    );
}

#[test]
fn a_redirect_after_authentication_sends_no_credentials_to_the_other_host() {
    let sb = Sandbox::start();
    let sc = sb.seed();
    let (other, seen) = other_host();
    let (first, _) = server(move |request, auth| {
        if !auth {
            return (
                "401 Unauthorized".into(),
                "WWW-Authenticate: Basic realm=\"first\"\r\n".into(),
            );
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        (
            "302 Found".into(),
            format!("Location: http://127.0.0.1:{other}{path}\r\n"),
        )
    });
    let p = project(&sc);
    p.cmd()
        .args(["push", "--no-watch", "--git-endpoint"])
        .arg(format!("http://127.0.0.1:{first}"))
        .envs(sb.env())
        .run()
        .code(1)
        .stderr_has(&format!("redirected to 127.0.0.1:{other}"))
        .stderr_has("nothing was pushed");
    assert_no_credentials_reached(&seen);
}
