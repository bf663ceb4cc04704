//! AWS and git naming rules for the values of xpipeline.toml: pure predicates, each saying
//! whether (or why not) a name is one AWS would accept.

pub(crate) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn chars_in(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

pub(crate) fn is_pipeline_name(s: &str) -> bool {
    (1..=100).contains(&s.len()) && chars_in(s, ".@-")
}

/// Why a CodeCommit repository name is refused, if it is.
pub(crate) fn repository_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() || s.len() > 100 {
        Some("must be 1 to 100 characters")
    } else if s == "." || s == ".." {
        Some("must not be . or ..")
    } else if !chars_in(s, ".-") {
        Some("may hold only letters, digits, '.', '_' and '-'")
    } else if s.to_ascii_lowercase().ends_with(".git") {
        Some("must not end in .git")
    } else {
        None
    }
}

/// A branch name git accepts: `refs/heads/<s>` follows git's check-ref-format rules. Written
/// out rather than asked of libgit2, whose first use initialises OpenSSL and reads the whole
/// CA bundle (20 ms of every offline command).
pub(crate) fn is_branch(s: &str) -> bool {
    !s.is_empty() && is_ref_name(&format!("refs/heads/{s}"))
}

/// git check-ref-format: no component empty, starting with `.` or ending with `.lock`; no
/// `..`, `@{`, control character, space, `~ ^ : ? * [ \`; not ending in `/` or `.`; not `@`.
fn is_ref_name(r: &str) -> bool {
    let bad_char = |c: char| c.is_ascii_control() || " ~^:?*[\\".contains(c);
    r != "@"
        && !r.contains("..")
        && !r.contains("@{")
        && !r.ends_with('.')
        && !r.chars().any(bad_char)
        && r.split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
}

/// S3 bucket naming rules (general purpose buckets).
pub(crate) fn bucket_problem(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    if !(3..=63).contains(&b.len()) {
        Some("must be 3 to 63 characters")
    } else if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
    {
        Some("may hold only lowercase letters, digits, '.' and '-'")
    } else if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        Some("must start and end with a letter or digit")
    } else if s.contains("..") {
        Some("must not contain two adjacent periods")
    } else if s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok()) {
        Some("must not be formatted as an IP address")
    } else {
        None
    }
}

pub(crate) fn is_build_project(s: &str) -> bool {
    (2..=255).contains(&s.len()) && s.as_bytes()[0].is_ascii_alphanumeric() && chars_in(s, "-")
}

pub(crate) fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && chars_in(s, "+=,.@-")
}

pub(crate) fn is_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len()) && chars_in(s, "+=,.@:/-")
}

pub(crate) fn is_env_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_') && chars_in(s, "")
}

/// A KMS key id as AWS writes it: a UUID (`1234abcd-12ab-34cd-56ef-1234567890ab`), or for a
/// multi-Region key `mrk-` and 32 hex digits. Lower-case hex, as AWS returns it.
pub(crate) fn is_kms_key_id(s: &str) -> bool {
    let hex = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if let Some(mrk) = s.strip_prefix("mrk-") {
        return mrk.len() == 32 && hex(mrk);
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g))
}

pub(crate) fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) && !r.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arn::is_account;

    #[test]
    fn names_follow_aws_rules() {
        assert!(is_account("123456789012"));
        assert!(!is_account("12345"));
        assert!(!is_account("12345678901a"));
        assert!(is_region("eu-west-1") && is_region("us-gov-west-1") && is_region("cn-north-1"));
        assert!(!is_region("eu-west") && !is_region("EU-west-1") && !is_region("mars"));
        assert!(
            is_pipeline_name("a.b@c_d-e")
                && !is_pipeline_name("a b")
                && !is_pipeline_name(&"x".repeat(101))
        );
        assert_eq!(
            repository_problem("hello.git"),
            Some("must not end in .git")
        );
        assert!(repository_problem("he llo").is_some());
        assert!(repository_problem("hello_world.rs-1").is_none());
        assert!(is_branch("feature/x") && is_branch("trunk"));
        assert!(!is_branch("a..b") && !is_branch("bad~name") && !is_branch(""));
        assert!(bucket_problem("my-bucket").is_none());
        assert!(bucket_problem("My_Bucket").is_some());
        assert!(bucket_problem("192.168.1.1").is_some());
        assert!(
            is_session_name("xpipeline-alice") && !is_session_name("a") && !is_session_name("a b")
        );
        assert!(is_external_id("ext:id/1") && !is_external_id("x"));
        assert!(is_build_project("hello-build") && !is_build_project("-x"));
        assert!(is_env_name("RUST_LOG") && !is_env_name("1X") && !is_env_name("A-B"));
        assert!(is_kms_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_kms_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(!is_kms_key_id("1234abcd-..."));
        assert!(!is_kms_key_id("1234ABCD-12AB-34CD-56EF-1234567890AB"));
        assert!(!is_kms_key_id("mrk-1234"));
        assert!(!is_kms_key_id("1234abcd-12ab-34cd-56ef"));
        assert!(is_http_url(
            "https://git-codecommit.eu-west-1.amazonaws.com"
        ));
        assert!(is_http_url("http://127.0.0.1:5000"));
        assert!(
            !is_http_url("https://user:pw@host")
                && !is_http_url("ftp://x")
                && !is_http_url("https://")
        );
    }

    #[test]
    fn branch_names_follow_git_as_libgit2_judges_them() {
        let corpus = [
            "main",
            "feature/x",
            "release-1.2",
            "a..b",
            "bad~name",
            "",
            "a b",
            "x^y",
            "a:b",
            "q?",
            "st*r",
            "br[acket",
            "back\\slash",
            ".hidden",
            "dir/.hidden",
            "x.lock",
            "dir/x.lock",
            "x.lock/y",
            "ends.",
            "ends/",
            "/starts",
            "a//b",
            "@",
            "a@{b",
            "a@b",
            "tab\there",
            "del\u{7f}",
            "ünïcode",
            "-dash",
            "x/y/z",
            "a.b",
            "..",
            "a/..",
            "HEAD",
        ];
        for name in corpus {
            assert_eq!(
                is_branch(name),
                !name.is_empty() && git2::Reference::is_valid_name(&format!("refs/heads/{name}")),
                "{name:?}"
            );
        }
    }
}
