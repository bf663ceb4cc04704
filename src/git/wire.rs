//! git's smart-HTTP exchange over hyper 1 and rustls (the SDK's HTTP stack and root store):
//! one GET of the ref advertisement, one POST of a request body, each bounded by a connect
//! timeout and a stall timeout (no byte moving either way for that long), 429/503 and "Rate
//! exceeded" retried with the one jittered backoff, redirects never followed. Basic auth goes
//! only to the endpoint the password was signed for (the only host ever asked).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::ExposeSecret;

use crate::git::sign::GitCredentials;

/// How many times a throttled request is sent in all.
pub const ATTEMPTS: u32 = 4;

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A 3xx: `host[:port]` of its Location (or "an unnamed location").
    Redirected(String),
    /// Any other status that is not 200, with the start of the body (terminal-safe).
    Status(u16, String),
    /// No connection within the timeout, or refused.
    Connect(String),
    /// Nothing moved for the stall timeout; `sent` bytes of the request body had gone.
    Stalled { after: Duration, sent: usize },
    /// The connection broke after the request started.
    Broken(String),
}

/// Progress of one exchange: request body bytes sent, response bytes read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Moved {
    pub sent: usize,
    pub received: usize,
}

/// What the transport tells while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Moved(Moved),
    /// A throttled answer: waiting `wait` before attempt `attempt` (2..=ATTEMPTS).
    Retrying {
        status: u16,
        attempt: u32,
        wait: Duration,
    },
}

/// One git endpoint, as signed for.
pub struct Wire {
    /// Its own small runtime: the git ops are synchronous and run off the command's runtime
    /// (in `spawn_blocking`); the pooled connection lives as long as the `Wire`.
    rt: tokio::runtime::Runtime,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Upload>,
    base: String,
    authorization: http::HeaderValue,
    timeout: Duration,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wire").field("base", &self.base).finish()
    }
}

impl Wire {
    /// `base` is the repository URL (`https://host/v1/repos/name`, or http:// for a local
    /// stand-in); `timeout` bounds the connection and every stall.
    pub fn new(base: &str, creds: &GitCredentials, timeout: Duration) -> Result<Wire, Failure> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| Failure::Connect(format!("no root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Connect(format!("cannot start the async runtime: {e}")))?;
        let mut authorization = http::HeaderValue::from_str(&format!(
            "Basic {}",
            base64(
                format!(
                    "{}:{}",
                    creds.username().expose_secret(),
                    creds.password().expose_secret()
                )
                .as_bytes()
            )
        ))
        .map_err(|_| Failure::Connect("the signed credentials are not a valid header".into()))?;
        authorization.set_sensitive(true);
        Ok(Wire {
            rt,
            client,
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            timeout,
        })
    }

    /// Run an exchange of this endpoint to its end.
    pub fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// `GET info/refs?service=<service>`.
    pub async fn advertisement(
        &self,
        service: &str,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Failure> {
        let path = format!("info/refs?service={service}");
        self.retrying(http::Method::GET, &path, None, Vec::new(), on)
            .await
    }

    /// `POST <service>` with `body`.
    pub async fn post(
        &self,
        service: &str,
        body: Vec<u8>,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Failure> {
        let ctype = format!("application/x-{service}-request");
        self.retrying(http::Method::POST, service, Some(&ctype), body, on)
            .await
    }

    async fn retrying(
        &self,
        method: http::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Failure> {
        let body = Bytes::from(body);
        let mut attempt = 1;
        loop {
            let out = self
                .once(method.clone(), path, content_type, body.clone(), on)
                .await;
            match out {
                Err(Failure::Status(status, text))
                    if attempt < ATTEMPTS && throttled(status, &text) =>
                {
                    attempt += 1;
                    let wait = Duration::from_secs_f64(crate::aws::retry::backoff(
                        attempt - 1,
                        crate::aws::retry::random_unit(),
                    ));
                    on(Event::Retrying {
                        status,
                        attempt,
                        wait,
                    });
                    tokio::time::sleep(wait).await;
                }
                out => return out,
            }
        }
    }

    async fn once(
        &self,
        method: http::Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Failure> {
        let watch = Arc::new(Watch::new());
        let mut req = http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header(
                http::header::USER_AGENT,
                super::pktline::AGENT.replace('=', " "),
            )
            .header("Git-Protocol", "version=0");
        if let Some(ct) = content_type {
            req = req
                .header(http::header::CONTENT_TYPE, ct)
                .header(http::header::ACCEPT, ct.replace("-request", "-result"));
        }
        let mut req = req
            .body(Upload::new(body, watch.clone()))
            .map_err(|e| Failure::Connect(format!("bad request: {e}")))?;
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, self.authorization.clone());

        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| {
                if watch.sent() == 0 && e.is_connect() {
                    Failure::Connect(error_chain(&e))
                } else {
                    Failure::Broken(error_chain(&e))
                }
            })?;
            watch.touch();
            let status = resp.status();
            if status.is_redirection() {
                let to = resp
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .map(location_host)
                    .unwrap_or_else(|| "an unnamed location".into());
                return Err(Failure::Redirected(to));
            }
            let mut body = resp.into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Failure::Broken(error_chain(&e)))?;
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                    watch.received(data.len());
                }
            }
            if status != http::StatusCode::OK {
                let text = String::from_utf8_lossy(&out[..out.len().min(300)]).into_owned();
                return Err(Failure::Status(
                    status.as_u16(),
                    crate::model::text::safe(text.trim()),
                ));
            }
            Ok(out)
        };
        tokio::pin!(exchange);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                out = &mut exchange => {
                    on(Event::Moved(watch.moved()));
                    return out;
                }
                _ = tick.tick() => {
                    on(Event::Moved(watch.moved()));
                    if watch.idle() >= self.timeout {
                        // `sent` 0: nothing of the body went (a connection that never
                        // opened, or a server that never read).
                        return Err(Failure::Stalled { after: self.timeout, sent: watch.sent() });
                    }
                }
            }
        }
    }
}

/// A 429 or 503, or a body saying "Rate exceeded": AWS asking to slow down.
pub fn throttled(status: u16, body: &str) -> bool {
    matches!(status, 429 | 503) || body.contains("Rate exceeded")
}

/// `host[:port]` of a Location (absolute, or relative: then the same host, which is named so).
fn location_host(location: &str) -> String {
    let safe = crate::model::text::safe(location);
    match safe.split_once("://") {
        Some((_, rest)) => rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
        None => format!("{safe} (on the same host)"),
    }
}

/// An error and its sources, terminal-safe.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    crate::model::text::safe(&parts.join(": "))
}

/// When something last moved, and how much did.
struct Watch {
    start: Instant,
    /// Milliseconds since `start` at the last byte moved.
    last: AtomicU64,
    sent: AtomicUsize,
    received: AtomicUsize,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            start: Instant::now(),
            last: AtomicU64::new(0),
            sent: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
        }
    }
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
    fn touch(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }
    fn sent_bytes(&self, n: usize) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        self.last.store(self.now(), Ordering::Relaxed);
    }
    fn received(&self, n: usize) {
        self.received.fetch_add(n, Ordering::Relaxed);
        self.last.store(self.now(), Ordering::Relaxed);
    }
    fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
    fn idle(&self) -> Duration {
        Duration::from_millis(self.now().saturating_sub(self.last.load(Ordering::Relaxed)))
    }
    fn moved(&self) -> Moved {
        Moved {
            sent: self.sent(),
            received: self.received.load(Ordering::Relaxed),
        }
    }
}

/// A request body handed to hyper in 64 KiB frames, each counted as it goes.
pub struct Upload {
    rest: Bytes,
    watch: Arc<Watch>,
    size: u64,
}

impl Upload {
    fn new(body: Bytes, watch: Arc<Watch>) -> Upload {
        Upload {
            size: body.len() as u64,
            rest: body,
            watch,
        }
    }
}

impl Body for Upload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.rest.len().min(64 * 1024);
        let chunk = self.rest.split_to(n);
        // Counted when hyper asks for the next frame: the one before has been written.
        self.watch.sent_bytes(n);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.size)
    }
}

/// Standard base64 (the Basic credentials), without a crate for a dozen lines.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:p\xffss"), "dXNlcjpw/3Nz");
    }

    #[test]
    fn a_location_is_named_by_its_host_only() {
        assert_eq!(
            location_host("http://127.0.0.1:9/v1/repos/x?a"),
            "127.0.0.1:9"
        );
        assert_eq!(location_host("https://u:p@evil.example/x"), "evil.example");
        assert!(location_host("/elsewhere").contains("same host"));
        assert!(!location_host("http://\x1b[31mx/").contains('\x1b'));
    }

    #[test]
    fn throttling_is_429_503_or_rate_exceeded() {
        assert!(throttled(429, ""));
        assert!(throttled(503, ""));
        assert!(throttled(400, "Rate exceeded"));
        assert!(!throttled(403, "denied"));
        assert!(!throttled(500, ""));
    }
}
