//! The CodeCommit git password: SigV4 with the "GIT" pseudo-method, as git-remote-codecommit
//! computes it. Username `AccessKeyId` or `AccessKeyId%SessionToken`; password
//! `<YYYYMMDDTHHMMSS>Z<hex signature>` over the canonical request
//! `GIT\n<path>\n\nhost:<host>\n\nhost\n` for service `codecommit`. Key derivation and the
//! HMAC are aws-sigv4's; only the SHA-256 of the canonical request is ours (aws-sigv4 keeps its
//! helper private), through the same `sha2` crate aws-sigv4 uses.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// The signing service name of CodeCommit.
pub const SERVICE: &str = "codecommit";

/// What git sends as HTTP Basic credentials. Both halves carry secrets (the session token is
/// in the username), so neither is shown by Debug or Display.
pub struct GitCredentials {
    username: SecretString,
    password: SecretString,
}

impl GitCredentials {
    /// Sign for `host` (as connected to: with the port when the URL has one) and `path`
    /// (`/v1/repos/<name>`) at `now`.
    pub fn sign(
        key: &Credentials,
        region: &str,
        host: &str,
        path: &str,
        now: SystemTime,
    ) -> GitCredentials {
        let username = match key.session_token() {
            Some(token) => format!("{}%{token}", key.access_key_id()),
            None => key.access_key_id().to_owned(),
        };
        GitCredentials {
            username: username.into(),
            password: password(key.secret_access_key(), region, host, path, now),
        }
    }

    pub fn username(&self) -> &SecretString {
        &self.username
    }

    pub fn password(&self) -> &SecretString {
        &self.password
    }
}

impl fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitCredentials([REDACTED])")
    }
}

/// The password for `path` on `host` at `now` (whole seconds, UTC).
pub fn password(
    secret: &str,
    region: &str,
    host: &str,
    path: &str,
    now: SystemTime,
) -> SecretString {
    let now = whole_seconds(now);
    let stamp = timestamp(now);
    let date = &stamp[..8];
    let canonical = format!("GIT\n{path}\n\nhost:{host}\n\nhost\n");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{date}/{region}/{SERVICE}/aws4_request\n{:x}",
        Sha256::digest(canonical.as_bytes())
    );
    let key = generate_signing_key(secret, now, region, SERVICE);
    let signature = calculate_signature(key, string_to_sign.as_bytes());
    format!("{stamp}Z{signature}").into()
}

/// `YYYYMMDDTHHMMSS` in UTC.
fn timestamp(t: SystemTime) -> String {
    let rfc3339 = DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
    rfc3339
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | 'Z'))
        .collect()
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn at(rfc3339: &str) -> SystemTime {
        SystemTime::try_from(DateTime::from_str(rfc3339, Format::DateTime).unwrap()).unwrap()
    }

    fn sign(
        akid: &str,
        secret: &str,
        token: Option<&str>,
        region: &str,
        host: &str,
        repo: &str,
        t: &str,
    ) -> GitCredentials {
        let key = Credentials::new(akid, secret, token.map(str::to_owned), None, "test");
        GitCredentials::sign(&key, region, host, &format!("/v1/repos/{repo}"), at(t))
    }

    /// git-remote-codecommit's own vectors (test/git_url_test.py: test_sign,
    /// test_git_url_with_override, test_git_url_with_token).
    #[test]
    fn reproduces_git_remote_codecommit_vectors() {
        let c = sign(
            "access",
            "secret",
            None,
            "us-west-2",
            "git-codecommit.us-west-2.amazonaws.com",
            "test_repo",
            "2017-12-24T11:53:20Z",
        );
        assert_eq!(
            c.password().expose_secret(),
            "20171224T115320Zb6df2d758a8023b2f000a546417007b65494f3ce8ad0300fd45fcfa173f1959a"
        );
        assert_eq!(c.username().expose_secret(), "access");

        let c = sign(
            "access",
            "secret",
            None,
            "us-west-2",
            "land.called.honahlee",
            "test_repo",
            "2017-12-24T11:53:20Z",
        );
        assert_eq!(
            c.password().expose_secret(),
            "20171224T115320Za14a37a53035bbceb6e1748247b143124fe7326cdffd3d418236a592ce6158a0"
        );

        let c = sign(
            "access",
            "secret",
            Some("token"),
            "us-west-2",
            "git-codecommit.us-west-2.amazonaws.com",
            "test_repo",
            "2017-12-24T11:53:20Z",
        );
        assert_eq!(c.username().expose_secret(), "access%token");
        assert_eq!(
            c.password().expose_secret(),
            "20171224T115320Zb6df2d758a8023b2f000a546417007b65494f3ce8ad0300fd45fcfa173f1959a"
        );
    }

    /// The vector the sandbox's verifier is tested with (issue 3).
    #[test]
    fn reproduces_the_sandbox_vector() {
        let c = sign(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            "us-east-1",
            "git-codecommit.us-east-1.amazonaws.com",
            "my-repo",
            "2024-01-02T03:04:05Z",
        );
        assert_eq!(
            c.password().expose_secret(),
            "20240102T030405Z9b2df9927db1175928ac1b36007e035fc326ba00f6b14ca1893cd3b269cdc38b"
        );
    }

    #[test]
    fn sub_second_time_is_truncated_and_the_port_is_signed() {
        let secret = "secret";
        let t = at("2017-12-24T11:53:20Z") + Duration::from_millis(999);
        let with_port = password(secret, "eu-west-1", "127.0.0.1:5000", "/v1/repos/r", t);
        let without = password(secret, "eu-west-1", "127.0.0.1", "/v1/repos/r", t);
        assert!(with_port.expose_secret().starts_with("20171224T115320Z"));
        assert_ne!(with_port.expose_secret(), without.expose_secret());
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = sign(
            "AKIDEXAMPLE",
            "s3cr3t",
            Some("T0KEN"),
            "eu-west-1",
            "h",
            "r",
            "2024-01-02T03:04:05Z",
        );
        let shown = format!("{c:?} {:?} {:?}", c.username(), c.password());
        for secret in ["AKIDEXAMPLE", "T0KEN", "20240102T030405Z"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
