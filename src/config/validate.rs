//! The rules of xpipeline.toml (README.md "Configuration", xpipeline.toml.example) applied to the values the schema walk collected,
//! every problem reported with the span of the offending value, and the `Config` assembled
//! when there is none. Pure: values in, `Config` or diagnostics out. The name rules are in
//! `names.rs`, the ARN rule in `arns.rs`; which keys exist and which are required is
//! `keys.rs`'s business.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

use super::Diagnostics;
use super::arns::{self, Region, Rule};
use super::model::*;
use super::names::*;
use super::schema::Values;
use crate::model::arn::{is_account, partition_of};
use crate::model::pipeline::declare::{ACTION_CONFIGURATION_MAX, environment_variables};

/// The longest branch name CodePipeline's CodeCommit source takes.
const BRANCH_MAX: usize = 256;

/// [build.env] rendered as the action's `EnvironmentVariables` value fits CodePipeline's limit
/// on a configuration value; reported at the variable with the longest value.
fn env_fits(c: &mut Checker<'_>, entries: &[(Spanned<String>, Spanned<String>)]) {
    let Some((key, value)) = entries
        .iter()
        .max_by_key(|(_, v)| v.get_ref().chars().count())
    else {
        return;
    };
    let env: BTreeMap<String, String> = entries
        .iter()
        .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
        .collect();
    let n = environment_variables(&env).map_or(0, |j| j.chars().count());
    if n > ACTION_CONFIGURATION_MAX {
        c.err(
            key,
            format!(
                "build.env renders as an EnvironmentVariables action configuration of {n} characters, over CodePipeline's limit of {ACTION_CONFIGURATION_MAX}; the longest value is {:?}'s ({} characters): shorten it, or set it in the buildspec or the build project",
                key.get_ref(),
                value.get_ref().chars().count()
            ),
        );
    }
}

/// Collects problems while turning the values into a `Config`.
pub(super) struct Checker<'d> {
    diags: &'d mut Diagnostics,
}

impl Checker<'_> {
    pub(super) fn diags(&mut self) -> &mut Diagnostics {
        self.diags
    }

    pub(super) fn err(&mut self, v: &Spanned<impl Sized>, msg: impl Into<String>) {
        self.diags.push(v.span(), msg);
    }

    /// Report `msg(text)` on `v` unless `ok`; returns `ok`.
    pub(super) fn check(
        &mut self,
        v: &Spanned<String>,
        ok: bool,
        msg: impl FnOnce(&str) -> String,
    ) -> bool {
        if !ok {
            let text = msg(v.get_ref());
            self.err(v, text);
        }
        ok
    }

    /// `v`, after reporting `msg(text)` on it when `ok(text)` is false.
    pub(super) fn rule(
        &mut self,
        v: Option<Spanned<String>>,
        ok: fn(&str) -> bool,
        msg: impl FnOnce(&str) -> String,
    ) -> Option<Spanned<String>> {
        if let Some(s) = &v {
            self.check(s, ok(s.get_ref()), msg);
        }
        v
    }

    /// `v`, after reporting under `key` what `problem` finds wrong with it, naming the `rules`.
    fn named(
        &mut self,
        v: Option<Spanned<String>>,
        key: &str,
        rules: &str,
        problem: fn(&str) -> Option<&'static str>,
    ) -> Option<Spanned<String>> {
        if let Some(s) = &v {
            if let Some(problem) = problem(s.get_ref()) {
                let text = format!("{key} {problem} ({rules}), found {:?}", s.get_ref());
                self.err(s, text);
            }
        }
        v
    }

    fn arn(&mut self, v: &Option<Spanned<String>>, key: &str, rule: Rule<'_>) {
        if let Some(v) = v {
            arns::check(self.diags, v, key, &rule);
        }
    }

    /// A 12-digit account id at `key`, when it is one.
    fn account<'v>(&mut self, v: &'v Option<Spanned<String>>, key: &str) -> Option<&'v str> {
        let v = v.as_ref()?;
        let ok = self.check(v, is_account(v.get_ref()), |t| {
            format!("{key} must be 12 digits (an AWS account id), found {t:?}")
        });
        ok.then_some(v.get_ref().as_str())
    }

    pub(super) fn one_of<T: Copy>(
        &mut self,
        v: &Option<Spanned<String>>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let v = v.as_ref()?;
        match choices.iter().find(|(name, _)| *name == v.get_ref()) {
            Some((_, t)) => Some(*t),
            None => {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
                let text = format!(
                    "{key} must be one of {}, found {:?}",
                    names.join(", "),
                    v.get_ref()
                );
                self.err(v, text);
                None
            }
        }
    }
}

/// The value of a present key, or empty (only ever read when there was no problem).
fn take(v: Option<Spanned<String>>) -> String {
    v.map(Spanned::into_inner).unwrap_or_default()
}

/// Turn the values of the file into settings, pushing every problem into `diags`. `None`
/// when there is a problem (this one's or the schema walk's).
pub(super) fn validate(values: &Values, path: PathBuf, diags: &mut Diagnostics) -> Option<Config> {
    let mut c = Checker { diags };
    let v = |key: &str| values.str(key);

    // [pipeline]
    let name = c.rule(v("pipeline.name"), is_pipeline_name, |t| {
        format!("pipeline.name must be 1 to 100 of A-Z a-z 0-9 . @ _ -, found {t:?}")
    });
    let account = v("pipeline.account");
    let pipeline_account = c
        .account(&account, "pipeline.account")
        .map(|a| (a, "pipeline.account"));
    let region = v("pipeline.region");
    let region_ok = region.as_ref().is_some_and(|r| {
        c.check(r, is_region(r.get_ref()), |t| {
            format!("pipeline.region must be an AWS region such as \"eu-west-1\", found {t:?}")
        })
    });
    let partition = region.as_ref().map_or("aws", |r| partition_of(r.get_ref()));
    let pipeline_region = match &region {
        Some(r) if region_ok => Region::Is(r.get_ref()),
        _ => Region::Unknown,
    };
    let role = |kind, account| Rule {
        service: "iam",
        kind,
        partition,
        account,
        region: Region::Global,
    };
    let service_role = v("pipeline.service-role-arn");
    c.arn(
        &service_role,
        "pipeline.service-role-arn",
        role("role", pipeline_account),
    );
    let pipeline_type = c
        .one_of(
            &v("pipeline.type"),
            "pipeline.type",
            &[("V2", PipelineType::V2), ("V1", PipelineType::V1)],
        )
        .unwrap_or(PipelineType::V2);
    let mode = v("pipeline.execution-mode");
    let execution_mode = c.one_of(
        &mode,
        "pipeline.execution-mode",
        &[
            ("SUPERSEDED", ExecutionMode::Superseded),
            ("QUEUED", ExecutionMode::Queued),
            ("PARALLEL", ExecutionMode::Parallel),
        ],
    );
    if let (Some(m), PipelineType::V1) = (&mode, pipeline_type) {
        if execution_mode.is_some_and(|m| m != ExecutionMode::Superseded) {
            c.err(
                m,
                "pipeline.execution-mode QUEUED and PARALLEL need pipeline.type = \"V2\"",
            );
        }
    }
    let trigger = c
        .one_of(
            &v("pipeline.trigger"),
            "pipeline.trigger",
            &[
                ("push", Trigger::Push),
                ("poll", Trigger::Poll),
                ("events", Trigger::Events),
            ],
        )
        .unwrap_or(Trigger::Push);

    // [artifacts]
    let bucket = c.named(
        v("artifacts.bucket"),
        "artifacts.bucket",
        "S3 bucket naming rules",
        bucket_problem,
    );
    let kms = v("artifacts.kms-key-arn");
    c.arn(
        &kms,
        "artifacts.kms-key-arn",
        Rule {
            service: "kms",
            kind: "key",
            partition,
            account: pipeline_account,
            region: pipeline_region,
        },
    );

    // [source]
    let source_account = v("source.account");
    let src_acct = c.account(&source_account, "source.account");
    if let (Some(sa), Some(s), Some((pa, _))) = (&source_account, src_acct, pipeline_account) {
        if s == pa {
            c.err(
                sa,
                "source.account is the pipeline account; a cross-account pipeline needs the repository in another account",
            );
        }
    }
    let src_acct = src_acct.map(|a| (a, "source.account"));
    let repository = c.named(
        v("source.repository"),
        "source.repository",
        "CodeCommit naming rules",
        repository_problem,
    );
    let branch = c.rule(v("source.branch"), is_branch, |t| {
        format!("source.branch is not a valid git branch name, found {t:?}")
    });
    if let Some(b) = &branch {
        let n = b.get_ref().chars().count();
        c.check(b, n <= BRANCH_MAX, |_| {
            format!("source.branch must be at most {BRANCH_MAX} characters (CodePipeline's BranchName limit), found {n}")
        });
    }
    let source_role = v("source.role-arn");
    c.arn(&source_role, "source.role-arn", role("role", src_acct));
    let external_id = c.rule(v("source.external-id"), is_external_id, |_| {
        "source.external-id must be 2 to 1224 of letters, digits and + = , . @ : / - _".to_owned()
    });
    let git_endpoint = c.rule(v("source.git-endpoint"), is_http_url, |t| {
        format!("source.git-endpoint must be an http:// or https:// URL without credentials, found {t:?}")
    });

    // [build]
    let project = c.rule(v("build.project"), is_build_project, |t| {
        format!("build.project must be 2 to 255 of A-Z a-z 0-9 - _, starting with a letter or digit, found {t:?}")
    });
    for (k, _) in values.map("build.env") {
        let name = k.get_ref();
        c.check(k, is_env_name(name), |_| {
            format!("build.env: {name:?} is not a variable name (letters, digits and _, not starting with a digit)")
        });
    }
    env_fits(&mut c, values.map("build.env"));

    // [push]
    let push_role = v("push.role-arn");
    c.arn(&push_role, "push.role-arn", role("role", src_acct));
    let session_name = c.rule(v("push.session-name"), is_session_name, |t| {
        format!(
            "push.session-name must be 2 to 64 of letters, digits and + = , . @ - _, found {t:?}"
        )
    });
    let duration = values.int("push.duration-seconds");
    if let Some(d) = &duration {
        if !(900..=43200).contains(d.get_ref()) {
            let text = format!(
                "push.duration-seconds must be between 900 and 43200 (15 minutes to 12 hours), found {}",
                d.get_ref()
            );
            c.err(d, text);
        }
    }
    let mfa_serial = v("push.mfa-serial");
    c.arn(
        &mfa_serial,
        "push.mfa-serial",
        role("mfa", pipeline_account),
    );

    // [tags]
    for (k, value) in values.map("tags") {
        if let Some(problem) = tag_key_problem(k.get_ref()) {
            c.err(k, format!("tags: {problem}"));
        }
        if value.get_ref().len() > 256 {
            let text = format!(
                "tags.{}: a tag value must be at most 256 characters",
                k.get_ref()
            );
            c.err(value, text);
        }
    }

    // [[deploy]]
    let deploy = super::deploy::deploys(
        &mut c,
        values,
        &super::deploy::Pipeline {
            name: name.as_ref().map(|n| n.get_ref().as_str()),
            region: region
                .as_ref()
                .filter(|_| region_ok)
                .map(|r| r.get_ref().as_str()),
            partition,
        },
    );

    if !c.diags.is_empty() {
        return None;
    }
    let source_role = take(source_role);
    let map = |key| {
        values
            .map(key)
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
            .collect()
    };
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
            kms_key_arn: kms.map(Spanned::into_inner),
        },
        source: Source {
            account: take(source_account),
            repository: take(repository),
            branch: take(branch),
            role_arn: source_role.clone(),
            external_id: external_id.map(Spanned::into_inner),
            git_endpoint: git_endpoint.map(Spanned::into_inner),
        },
        build: Build {
            project: take(project),
            env: map("build.env"),
        },
        push: Push {
            role_arn: push_role.map_or(source_role, Spanned::into_inner),
            session_name: session_name.map(Spanned::into_inner),
            duration_seconds: duration.map(|d| *d.get_ref() as i32),
            mfa_serial: mfa_serial.map(Spanned::into_inner),
        },
        tags: map("tags"),
        deploy,
    })
}

/// Why a key of [tags] is refused, if it is.
fn tag_key_problem(k: &str) -> Option<String> {
    if k.is_empty() || k.len() > 128 {
        Some(format!("tag key {k:?} must be 1 to 128 characters"))
    } else if k.starts_with("aws:") {
        Some(format!("tag key {k:?}: the aws: prefix is reserved by AWS"))
    } else if k == crate::MANAGED_BY_TAG
        || k == crate::model::pipeline::declared_by::DECLARED_BY_TAG
    {
        Some(format!("tag key {k:?} is set by cargo-xpipeline itself"))
    } else {
        None
    }
}
