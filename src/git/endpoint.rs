//! Where git talks to CodeCommit. In order (README.md "Global options"): `--git-endpoint`
//! (also `XPIPELINE_GIT_ENDPOINT`), source.git-endpoint, the AWS endpoint override, else the
//! regional endpoint. The host to sign is the one connected to, with its port when the URL
//! names one.

use std::fmt;

use crate::error::{Error, Result};

/// The repository URL git pushes to, and what the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitEndpoint {
    /// `scheme://host[:port][/prefix]/v1/repos/<repository>`: no credentials, ever.
    pub url: String,
    /// `host[:port]` as sent in the Host header (a default port left out).
    pub host: String,
    /// The request path signed: `[/prefix]/v1/repos/<repository>`.
    pub path: String,
    /// Where the endpoint came from, for `-v` and error messages.
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Config,
    AwsEndpointOverride,
    Regional,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--git-endpoint / XPIPELINE_GIT_ENDPOINT",
            Origin::Config => "source.git-endpoint",
            Origin::AwsEndpointOverride => "the AWS endpoint override",
            Origin::Regional => "the regional CodeCommit endpoint",
        })
    }
}

/// Pick the endpoint and build the repository URL from it.
pub fn resolve(
    flag: Option<&str>,
    config: Option<&str>,
    aws_override: Option<&str>,
    region: &str,
    repository: &str,
) -> Result<GitEndpoint> {
    let (base, origin) = if let Some(u) = flag {
        (u.to_owned(), Origin::Flag)
    } else if let Some(u) = config {
        (u.to_owned(), Origin::Config)
    } else if let Some(u) = aws_override {
        (u.to_owned(), Origin::AwsEndpointOverride)
    } else {
        (regional(region), Origin::Regional)
    };
    parse(&base, repository, origin)
}

/// `https://git-codecommit.<region>.amazonaws.com`, `.amazonaws.com.cn` in China regions.
pub fn regional(region: &str) -> String {
    format!(
        "https://git-codecommit.{region}.{}",
        crate::model::arn::dns_suffix(region)
    )
}

fn parse(base: &str, repository: &str, origin: Origin) -> Result<GitEndpoint> {
    // Never echo what might be a password back.
    let shown = match base.split_once('@') {
        Some((_, after)) => format!("***@{after}"),
        None => base.to_owned(),
    };
    let bad = |why: &str| {
        Error::usage(format!(
            "the git endpoint {shown:?} (from {origin}) {why}; give an http:// or https:// URL such as https://git-codecommit.eu-west-1.amazonaws.com"
        ))
    };
    let (scheme, rest) = base
        .split_once("://")
        .filter(|(s, _)| matches!(*s, "http" | "https"))
        .ok_or_else(|| bad("is not an http:// or https:// URL"))?;
    let (authority, prefix) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(bad(
            "holds credentials; they come from the assumed role, never a URL",
        ));
    }
    if authority.is_empty() || prefix.contains(['?', '#']) {
        return Err(bad("has no host, or has a query or fragment"));
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let path = format!("{}/v1/repos/{repository}", prefix.trim_end_matches('/'));
    Ok(GitEndpoint {
        url: format!("{scheme}://{authority}{path}"),
        host,
        path,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_flag_config_override_regional() {
        let r = |f, c, o| resolve(f, c, o, "eu-west-1", "app").unwrap();
        assert_eq!(
            r(Some("https://a"), Some("https://b"), Some("http://c")).url,
            "https://a/v1/repos/app"
        );
        assert_eq!(
            r(None, Some("https://b"), Some("http://c")).origin,
            Origin::Config
        );
        assert_eq!(
            r(None, None, Some("http://c:5000")).url,
            "http://c:5000/v1/repos/app"
        );
        let regional = r(None, None, None);
        assert_eq!(
            regional.url,
            "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app"
        );
        assert_eq!(regional.host, "git-codecommit.eu-west-1.amazonaws.com");
        assert_eq!(regional.path, "/v1/repos/app");
    }

    #[test]
    fn china_regions_use_their_domain() {
        assert_eq!(
            regional("cn-north-1"),
            "https://git-codecommit.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn the_signed_host_keeps_a_port_but_not_a_default_one() {
        let e = resolve(Some("http://127.0.0.1:5000/"), None, None, "eu-west-1", "r").unwrap();
        assert_eq!(
            (e.host.as_str(), e.path.as_str()),
            ("127.0.0.1:5000", "/v1/repos/r")
        );
        let e = resolve(
            Some("https://Vpce-1.git-codecommit.eu-west-1.vpce.amazonaws.com:443"),
            None,
            None,
            "eu-west-1",
            "r",
        )
        .unwrap();
        assert_eq!(e.host, "vpce-1.git-codecommit.eu-west-1.vpce.amazonaws.com");
        let e = resolve(
            Some("https://proxy.example/codecommit/"),
            None,
            None,
            "eu-west-1",
            "r",
        )
        .unwrap();
        assert_eq!(e.path, "/codecommit/v1/repos/r");
    }

    #[test]
    fn credentials_or_other_schemes_are_refused() {
        let err = resolve(Some("https://AKID:pw@host"), None, None, "eu-west-1", "r").unwrap_err();
        assert!(err.to_string().contains("never a URL"), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
        assert!(resolve(Some("ssh://host"), None, None, "eu-west-1", "r").is_err());
        assert!(resolve(Some("https://"), None, None, "eu-west-1", "r").is_err());
    }
}
