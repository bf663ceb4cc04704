//! Validation of a parsed xpipeline.toml: every rule of DESIGN.md, all problems collected with
//! the span of the offending value. Pure: text in, `Config` or diagnostics out.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::Diagnostics;
use super::model::*;
use crate::model::arn::{is_account, parse_arn, partition_of};

pub fn is_region(s: &str) -> bool {
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

pub fn is_pipeline_name(s: &str) -> bool {
    (1..=100).contains(&s.len()) && chars_in(s, ".@-")
}

/// Why a CodeCommit repository name is refused, if it is.
pub fn repository_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() || s.len() > 100 {
        Some("must be 1 to 100 characters")
    } else if !chars_in(s, ".-") {
        Some("may hold only letters, digits, '.', '_' and '-'")
    } else if s.to_ascii_lowercase().ends_with(".git") {
        Some("must not end in .git")
    } else {
        None
    }
}

pub fn is_branch(s: &str) -> bool {
    !s.is_empty() && git2::Reference::is_valid_name(&format!("refs/heads/{s}"))
}

/// S3 bucket naming rules (general purpose buckets).
pub fn bucket_problem(s: &str) -> Option<&'static str> {
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

pub fn is_build_project(s: &str) -> bool {
    (2..=255).contains(&s.len()) && s.as_bytes()[0].is_ascii_alphanumeric() && chars_in(s, "-")
}

pub fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && chars_in(s, "+=,.@-")
}

pub fn is_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len()) && chars_in(s, "+=,.@:/-")
}

pub fn is_env_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_') && chars_in(s, "")
}

pub fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) && !r.contains('@'))
}

/// Collects problems while turning the raw file into a `Config`.
struct Checker<'d> {
    diags: &'d mut Diagnostics,
    /// Keys already reported by the schema walk: not reported again as missing.
    reported: &'d std::collections::BTreeSet<String>,
}

impl Checker<'_> {
    fn err(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.diags.push(span, msg);
    }

    fn required(&mut self, v: &S, key: &str, table_span: Range<usize>) -> Option<Spanned<String>> {
        match v {
            Some(v) => Some(v.clone()),
            None if self.reported.contains(key) => None,
            None => {
                let (table, _) = key.split_once('.').unwrap_or((key, ""));
                self.err(
                    table_span,
                    format!("missing required key {key} in [{table}]"),
                );
                None
            }
        }
    }

    fn check(&mut self, v: &Spanned<String>, ok: bool, msg: impl FnOnce(&str) -> String) -> bool {
        if !ok {
            let text = msg(v.get_ref());
            self.err(v.span(), text);
        }
        ok
    }

    /// An ARN of `service` whose resource starts with `kind/`, in `account` (and `region`,
    /// for regional services).
    #[expect(
        clippy::too_many_arguments,
        reason = "each argument is one fact about the ARN"
    )]
    fn arn(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        service: &str,
        kind: &str,
        account: Option<(&str, &str)>,
        // None: a global service, the ARN has no region. Some(None): region unknown, not checked.
        region: Option<Option<&str>>,
        partition: &str,
    ) -> bool {
        let text = v.get_ref();
        let example = match service {
            "iam" => format!("arn:{partition}:iam::ACCOUNT:{kind}/NAME"),
            _ => format!("arn:{partition}:{service}:REGION:ACCOUNT:{kind}/ID"),
        };
        let Some(arn) = parse_arn(text) else {
            self.err(
                v.span(),
                format!("{key} is not an ARN (expected {example}), found {text:?}"),
            );
            return false;
        };
        let mut ok = true;
        if arn.service != service {
            self.err(
                v.span(),
                format!("{key} must be a {service} ARN, found a {} ARN", arn.service),
            );
            return false;
        }
        if service == "kms" && arn.resource.starts_with("alias/") {
            self.err(
                v.span(),
                format!(
                    "{key} is a KMS alias; give the key ARN ({example}): aliases do not resolve across accounts, so the source account could not use it"
                ),
            );
            return false;
        }
        let Some(name) = arn
            .resource
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('/'))
        else {
            self.err(
                v.span(),
                format!(
                    "{key} must name a {kind} ({example}), found {:?}",
                    arn.resource
                ),
            );
            return false;
        };
        if name.is_empty() {
            self.err(v.span(), format!("{key} has an empty {kind} name"));
            ok = false;
        }
        if arn.partition != partition {
            self.err(
                v.span(),
                format!(
                    "{key} is in partition {} but pipeline.region is in partition {partition}",
                    arn.partition
                ),
            );
            ok = false;
        }
        if let Some((want, want_key)) = account {
            if arn.account != want {
                self.err(
                    v.span(),
                    format!(
                        "{key} is in account {} but {want_key} is {want}",
                        arn.account
                    ),
                );
                ok = false;
            }
        }
        match region {
            Some(Some(want)) if arn.region != want => {
                self.err(
                    v.span(),
                    format!(
                        "{key} is in region {:?} but pipeline.region is {want}",
                        arn.region
                    ),
                );
                ok = false;
            }
            None if !arn.region.is_empty() => {
                self.err(
                    v.span(),
                    format!(
                        "{key}: {service} ARNs have no region, found {:?}",
                        arn.region
                    ),
                );
                ok = false;
            }
            _ => {}
        }
        ok
    }

    fn one_of<T: Copy>(&mut self, v: &S, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let v = v.as_ref()?;
        match choices.iter().find(|(name, _)| *name == v.get_ref()) {
            Some((_, t)) => Some(*t),
            None => {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
                self.err(
                    v.span(),
                    format!(
                        "{key} must be one of {}, found {:?}",
                        names.join(", "),
                        v.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn str_map(
        &mut self,
        map: &Option<BTreeMap<Spanned<String>, Spanned<String>>>,
        key: &str,
        key_ok: impl Fn(&str) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in map.iter().flatten() {
            if let Some(problem) = key_ok(k.get_ref()) {
                self.err(k.span(), format!("{key}: {problem}"));
            }
            out.insert(k.get_ref().clone(), v.get_ref().clone());
        }
        out
    }
}

fn table_span<T>(t: &Option<Spanned<T>>) -> Range<usize> {
    t.as_ref().map_or(0..0, |t| t.span().start..t.span().start)
}

/// Turn the raw file into settings, pushing every problem into `diags`.
pub fn validate(
    raw: RawConfig,
    path: std::path::PathBuf,
    diags: &mut Diagnostics,
    reported: &std::collections::BTreeSet<String>,
) -> Option<Config> {
    let mut c = Checker { diags, reported };
    let missing_table = |c: &mut Checker<'_>, name: &str| {
        c.err(
            0..0,
            format!("missing table [{name}]; `cargo xpipeline init` writes a complete file"),
        );
    };
    for (present, name) in [
        (raw.pipeline.is_some(), "pipeline"),
        (raw.artifacts.is_some(), "artifacts"),
        (raw.source.is_some(), "source"),
        (raw.build.is_some(), "build"),
    ] {
        if !present {
            missing_table(&mut c, name);
        }
    }
    let p_span = table_span(&raw.pipeline);
    let a_span = table_span(&raw.artifacts);
    let s_span = table_span(&raw.source);
    let b_span = table_span(&raw.build);
    let p = raw.pipeline.map(Spanned::into_inner).unwrap_or_default();
    let a = raw.artifacts.map(Spanned::into_inner).unwrap_or_default();
    let s = raw.source.map(Spanned::into_inner).unwrap_or_default();
    let b = raw.build.map(Spanned::into_inner).unwrap_or_default();
    let push = raw.push.map(Spanned::into_inner).unwrap_or_default();

    // [pipeline]
    let name = c.required(&p.name, "pipeline.name", p_span.clone());
    if let Some(v) = &name {
        c.check(v, is_pipeline_name(v.get_ref()), |t| {
            format!("pipeline.name must be 1 to 100 of A-Z a-z 0-9 . @ _ -, found {t:?}")
        });
    }
    let account = c.required(&p.account, "pipeline.account", p_span.clone());
    let account_ok = account.as_ref().is_some_and(|v| {
        c.check(v, is_account(v.get_ref()), |t| {
            format!("pipeline.account must be 12 digits (an AWS account id), found {t:?}")
        })
    });
    let region = c.required(&p.region, "pipeline.region", p_span.clone());
    let region_ok = region.as_ref().is_some_and(|v| {
        c.check(v, is_region(v.get_ref()), |t| {
            format!("pipeline.region must be an AWS region such as \"eu-west-1\", found {t:?}")
        })
    });
    let partition = region.as_ref().map_or("aws", |r| partition_of(r.get_ref()));
    let pipeline_account = account
        .as_ref()
        .filter(|_| account_ok)
        .map(|v| v.get_ref().as_str());
    let pipeline_region = region
        .as_ref()
        .filter(|_| region_ok)
        .map(|v| v.get_ref().as_str());
    let service_role = c.required(
        &p.service_role_arn,
        "pipeline.service-role-arn",
        p_span.clone(),
    );
    if let Some(v) = &service_role {
        c.arn(
            v,
            "pipeline.service-role-arn",
            "iam",
            "role",
            pipeline_account.map(|a| (a, "pipeline.account")),
            None,
            partition,
        );
    }
    let pipeline_type = c
        .one_of(
            &p.pipeline_type,
            "pipeline.type",
            &[("V2", PipelineType::V2), ("V1", PipelineType::V1)],
        )
        .unwrap_or(PipelineType::V2);
    let execution_mode = c.one_of(
        &p.execution_mode,
        "pipeline.execution-mode",
        &[
            ("SUPERSEDED", ExecutionMode::Superseded),
            ("QUEUED", ExecutionMode::Queued),
            ("PARALLEL", ExecutionMode::Parallel),
        ],
    );
    if let (Some(v), PipelineType::V1) = (&p.execution_mode, pipeline_type) {
        if execution_mode.is_some_and(|m| m != ExecutionMode::Superseded) {
            c.err(
                v.span(),
                "pipeline.execution-mode QUEUED and PARALLEL need pipeline.type = \"V2\"",
            );
        }
    }
    let trigger = c
        .one_of(
            &p.trigger,
            "pipeline.trigger",
            &[
                ("push", Trigger::Push),
                ("poll", Trigger::Poll),
                ("events", Trigger::Events),
            ],
        )
        .unwrap_or(Trigger::Push);

    // [artifacts]
    let bucket = c.required(&a.bucket, "artifacts.bucket", a_span.clone());
    if let Some(v) = &bucket {
        if let Some(problem) = bucket_problem(v.get_ref()) {
            c.err(
                v.span(),
                format!(
                    "artifacts.bucket {problem} (S3 bucket naming rules), found {:?}",
                    v.get_ref()
                ),
            );
        }
    }
    let kms = c.required(&a.kms_key_arn, "artifacts.kms-key-arn", a_span.clone());
    if let Some(v) = &kms {
        c.arn(
            v,
            "artifacts.kms-key-arn",
            "kms",
            "key",
            pipeline_account.map(|a| (a, "pipeline.account")),
            Some(pipeline_region),
            partition,
        );
    }

    // [source]
    let source_account = c.required(&s.account, "source.account", s_span.clone());
    let source_account_ok = source_account.as_ref().is_some_and(|v| {
        c.check(v, is_account(v.get_ref()), |t| {
            format!("source.account must be 12 digits (an AWS account id), found {t:?}")
        })
    });
    if let (Some(sa), Some(pa)) = (&source_account, pipeline_account) {
        if source_account_ok && sa.get_ref() == pa {
            c.err(
                sa.span(),
                "source.account is the pipeline account; a cross-account pipeline needs the repository in another account",
            );
        }
    }
    let src_acct = source_account
        .as_ref()
        .filter(|_| source_account_ok)
        .map(|v| v.get_ref().as_str());
    let repository = c.required(&s.repository, "source.repository", s_span.clone());
    if let Some(v) = &repository {
        if let Some(problem) = repository_problem(v.get_ref()) {
            c.err(
                v.span(),
                format!(
                    "source.repository {problem} (CodeCommit naming rules), found {:?}",
                    v.get_ref()
                ),
            );
        }
    }
    let branch = c.required(&s.branch, "source.branch", s_span.clone());
    if let Some(v) = &branch {
        c.check(v, is_branch(v.get_ref()), |t| {
            format!("source.branch is not a valid git branch name, found {t:?}")
        });
    }
    let role = c.required(&s.role_arn, "source.role-arn", s_span.clone());
    if let Some(v) = &role {
        c.arn(
            v,
            "source.role-arn",
            "iam",
            "role",
            src_acct.map(|a| (a, "source.account")),
            None,
            partition,
        );
    }
    if let Some(v) = &s.external_id {
        c.check(v, is_external_id(v.get_ref()), |_| {
            "source.external-id must be 2 to 1224 of letters, digits and + = , . @ : / - _"
                .to_owned()
        });
    }
    if let Some(v) = &s.git_endpoint {
        c.check(v, is_http_url(v.get_ref()), |t| {
            format!("source.git-endpoint must be an http:// or https:// URL without credentials, found {t:?}")
        });
    }

    // [build]
    let project = c.required(&b.project, "build.project", b_span.clone());
    if let Some(v) = &project {
        c.check(v, is_build_project(v.get_ref()), |t| {
            format!("build.project must be 2 to 255 of A-Z a-z 0-9 - _, starting with a letter or digit, found {t:?}")
        });
    }
    let env = c.str_map(&b.env, "build.env", |k| {
        (!is_env_name(k)).then(|| {
            format!(
                "{k:?} is not a variable name (letters, digits and _, not starting with a digit)"
            )
        })
    });

    // [push]
    let push_role = match &push.role_arn {
        Some(v) => {
            c.arn(
                v,
                "push.role-arn",
                "iam",
                "role",
                src_acct.map(|a| (a, "source.account")),
                None,
                partition,
            );
            Some(v.get_ref().clone())
        }
        None => None,
    };
    if let Some(v) = &push.session_name {
        c.check(v, is_session_name(v.get_ref()), |t| {
            format!("push.session-name must be 2 to 64 of letters, digits and + = , . @ - _, found {t:?}")
        });
    }
    if let Some(v) = &push.duration_seconds {
        if !(900..=43200).contains(v.get_ref()) {
            c.err(
                v.span(),
                format!("push.duration-seconds must be between 900 and 43200 (15 minutes to 12 hours), found {}", v.get_ref()),
            );
        }
    }
    if let Some(v) = &push.mfa_serial {
        c.arn(
            v,
            "push.mfa-serial",
            "iam",
            "mfa",
            pipeline_account.map(|a| (a, "pipeline.account")),
            None,
            partition,
        );
    }

    // [tags]
    let tags = c.str_map(&raw.tags, "tags", |k| {
        if k.is_empty() || k.len() > 128 {
            Some(format!("tag key {k:?} must be 1 to 128 characters"))
        } else if k.starts_with("aws:") {
            Some(format!("tag key {k:?}: the aws: prefix is reserved by AWS"))
        } else if k == crate::MANAGED_BY_TAG {
            Some(format!("tag key {k:?} is set by cargo-xpipeline itself"))
        } else {
            None
        }
    });
    for (k, v) in raw.tags.iter().flatten() {
        if v.get_ref().len() > 256 {
            c.err(
                v.span(),
                format!(
                    "tags.{}: a tag value must be at most 256 characters",
                    k.get_ref()
                ),
            );
        }
    }

    if !c.diags.is_empty() {
        return None;
    }
    let take = |v: Option<Spanned<String>>| v.map(Spanned::into_inner).unwrap_or_default();
    let source_role = take(role);
    Some(Config {
        path,
        pipeline: Pipeline {
            name: take(name),
            account: take(account),
            region: take(region),
            service_role_arn: take(service_role),
            pipeline_type,
            execution_mode,
            trigger,
        },
        artifacts: Artifacts {
            bucket: take(bucket),
            kms_key_arn: take(kms),
        },
        source: Source {
            account: take(source_account),
            repository: take(repository),
            branch: take(branch),
            role_arn: source_role.clone(),
            external_id: s.external_id.map(Spanned::into_inner),
            git_endpoint: s.git_endpoint.map(Spanned::into_inner),
        },
        build: Build {
            project: take(project),
            env,
        },
        push: Push {
            role_arn: push_role.unwrap_or(source_role),
            session_name: push.session_name.map(Spanned::into_inner),
            duration_seconds: push.duration_seconds.map(|d| *d.get_ref() as i32),
            mfa_serial: push.mfa_serial.map(Spanned::into_inner),
        },
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
