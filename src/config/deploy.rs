//! The rules of the `[[deploy]]` entries, each problem at the span of its value: names, the
//! target account, the roles (the execution role in the deploy role's account: AWS refuses a
//! cross-account pass role), the capabilities and modes CloudFormation takes, and the limits
//! CodePipeline enforces on what they render to. Pure, like `validate.rs`, whose `Checker` it
//! shares.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::arns::{self, Region, Rule};
use super::model::{
    Approval, Deploy, DeployMode, default_deploy_role_name, default_execution_role_name,
};
use super::names::{is_pipeline_name, is_region};
use super::schema::{Entry, Values};
use super::validate::Checker;
use crate::model::arn::{account_of, is_account};
use crate::model::pipeline::declare::{ACTION_CONFIGURATION_MAX, parameter_overrides};

/// What the entries are checked against: the pipeline's name, account, region and partition,
/// when those are valid.
pub(super) struct Pipeline<'a> {
    pub name: Option<&'a str>,
    pub region: Option<&'a str>,
    pub partition: &'a str,
}

/// The stage names the pipeline itself uses.
const RESERVED_STAGES: [&str; 2] = ["Source", "Build"];
/// IAM's limit on a role name.
const ROLE_NAME_MAX: usize = 64;
const CAPABILITIES: [&str; 3] = [
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
];

/// Every `[[deploy]]` entry checked; the entries when all are valid (checked by the caller
/// through the diagnostics).
pub(super) fn deploys(c: &mut Checker<'_>, values: &Values, p: &Pipeline<'_>) -> Vec<Deploy> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in values.entries("deploy") {
        if let Some(d) = deploy(c, entry, p, &mut seen) {
            out.push(d);
        }
    }
    out
}

fn deploy(
    c: &mut Checker<'_>,
    entry: &Entry,
    p: &Pipeline<'_>,
    seen: &mut BTreeSet<String>,
) -> Option<Deploy> {
    let v = |key: &str| entry.values.str(key);
    let name = c.rule(v("deploy.name"), is_pipeline_name, |t| {
        format!("deploy.name must be 1 to 100 of A-Z a-z 0-9 . @ _ - (a stage name), found {t:?}")
    });
    if let Some(n) = &name {
        let text = n.get_ref();
        if RESERVED_STAGES.iter().any(|r| r.eq_ignore_ascii_case(text)) {
            c.err(n, format!("deploy.name {text:?} is the name of the pipeline's own stage; choose another (Staging, Prod, ...)"));
        } else if !seen.insert(text.to_ascii_lowercase()) {
            c.err(n, format!("deploy.name {text:?} is used by an earlier [[deploy]]: stage names must be unique"));
        }
    }
    let account_v = v("deploy.account");
    let account = account_v.as_ref().and_then(|a| {
        c.check(a, is_account(a.get_ref()), |t| {
            format!("deploy.account must be 12 digits (an AWS account id), found {t:?}")
        })
        .then(|| a.get_ref().clone())
    });
    let stack = c.rule(v("deploy.stack"), is_stack_name, |t| {
        format!("deploy.stack must be a letter followed by letters, digits and -, at most 128 (CloudFormation's stack name rule), found {t:?}")
    });
    let template = c.rule(v("deploy.template"), is_artifact_file, |t| {
        format!("deploy.template must be a relative path of a file in the build's output artifact, found {t:?}")
    });
    let template_configuration = c.rule(v("deploy.template-configuration"), is_artifact_file, |t| {
        format!("deploy.template-configuration must be a relative path of a file in the build's output artifact, found {t:?}")
    });
    let outputs_file = c.rule(v("deploy.outputs-file"), is_output_name, |t| {
        format!("deploy.outputs-file must be a file name (letters, digits, . _ -), found {t:?}")
    });
    if let (Some(r), Some(pipeline_region)) = (v("deploy.region"), p.region) {
        if is_region(r.get_ref()) && r.get_ref() != pipeline_region {
            c.err(&r, format!(
                "deploy.region {:?} is not the pipeline's region {pipeline_region:?}: a deploy into another region needs an artifact store there, which cargo-xpipeline does not create yet; deploy in {pipeline_region:?} or leave the key out",
                r.get_ref()
            ));
        } else if !is_region(r.get_ref()) {
            c.err(
                &r,
                format!(
                    "deploy.region must be an AWS region such as \"eu-west-1\", found {:?}",
                    r.get_ref()
                ),
            );
        }
    }
    let mode = c
        .one_of(
            &v("deploy.mode"),
            "deploy.mode",
            &[
                ("change-set", DeployMode::ChangeSet),
                ("direct", DeployMode::Direct),
            ],
        )
        .unwrap_or(DeployMode::ChangeSet);
    let capabilities = capabilities(c, &entry.values);
    let roles = roles(c, &entry.values, p, account.as_deref(), name.as_ref());
    let execution_policies = execution_policies(c, &entry.values, p.partition);
    let parameters = parameters(c, &entry.values);
    let approval = approval(c, &entry.values, mode);

    let (role_arn, execution_role_arn) = roles?;
    Some(Deploy {
        name: name?.into_inner(),
        account: account?,
        stack: stack?.into_inner(),
        template: template?.into_inner(),
        template_configuration: template_configuration.map(Spanned::into_inner),
        capabilities,
        mode,
        role_arn,
        execution_role_arn,
        execution_policies,
        outputs_file: outputs_file.map(Spanned::into_inner),
        parameters,
        approval,
    })
}

fn capabilities(c: &mut Checker<'_>, values: &Values) -> Vec<String> {
    let Some(list) = values.list("deploy.capabilities") else {
        return vec![
            "CAPABILITY_NAMED_IAM".into(),
            "CAPABILITY_AUTO_EXPAND".into(),
        ];
    };
    let mut out: Vec<String> = Vec::new();
    for cap in *list.get_ref() {
        let text = cap.get_ref();
        if !CAPABILITIES.contains(&text.as_str()) {
            c.err(cap, format!("deploy.capabilities: {text:?} is not a capability CloudFormation knows; expected one of {}", CAPABILITIES.join(", ")));
        } else if out.contains(text) {
            c.err(
                cap,
                format!("deploy.capabilities: {text:?} is listed twice"),
            );
        } else {
            out.push(text.clone());
        }
    }
    out
}

/// The deploy role and the execution role, defaults filled in; `None` when one is wrong.
fn roles(
    c: &mut Checker<'_>,
    values: &Values,
    p: &Pipeline<'_>,
    account: Option<&str>,
    name: Option<&Spanned<String>>,
) -> Option<(String, String)> {
    let role_v = values.str("deploy.role-arn");
    let exec_v = values.str("deploy.execution-role-arn");
    let rule = |account| Rule {
        service: "iam",
        kind: "role",
        partition: p.partition,
        account,
        region: Region::Global,
    };
    let mut ok = true;
    if let Some(r) = &role_v {
        ok &= arns::check(
            c.diags(),
            r,
            "deploy.role-arn",
            &rule(account.map(|a| (a, "deploy.account"))),
        );
    }
    if let Some(e) = &exec_v {
        ok &= arns::check(c.diags(), e, "deploy.execution-role-arn", &rule(None));
    }
    // The role names bootstrap gives them, when they are not given.
    let default = |role: &str| -> Option<String> {
        let pipeline = p.name?;
        let account = account?;
        Some(format!("arn:{}:iam::{account}:role/{role}", p.partition))
            .filter(|_| !pipeline.is_empty())
    };
    let pipeline = p.name.unwrap_or_default();
    let mut role = role_v.as_ref().map(|r| r.get_ref().clone());
    let mut exec = exec_v.as_ref().map(|e| e.get_ref().clone());
    for (given, role_name, key) in [
        (
            &mut role,
            default_deploy_role_name(pipeline),
            "deploy.role-arn",
        ),
        (
            &mut exec,
            default_execution_role_name(pipeline),
            "deploy.execution-role-arn",
        ),
    ] {
        if given.is_none() {
            if role_name.len() > ROLE_NAME_MAX {
                if let Some(n) = name {
                    c.err(n, format!(
                        "the default role name {role_name:?} is over IAM's limit of {ROLE_NAME_MAX} characters (the pipeline name is long): set {key} in this [[deploy]]"
                    ));
                }
                ok = false;
            }
            *given = default(&role_name);
        }
    }
    if let (Some(role), Some(exec), Some(e)) = (&role, &exec, &exec_v) {
        let (ra, ea) = (account_of(role), account_of(exec));
        if ok && ra.is_some() && ra != ea {
            c.err(e, format!(
                "deploy.execution-role-arn is in account {}, the deploy role in {}: the deploy role passes the execution role to CloudFormation, and AWS refuses to pass a role of another account (\"Cross-account pass role is not allowed\"); use a role in {}",
                ea.unwrap_or("?"), ra.unwrap_or("?"), ra.unwrap_or("?")
            ));
            ok = false;
        }
    }
    ok.then_some(role.zip(exec)).flatten()
}

fn execution_policies(c: &mut Checker<'_>, values: &Values, partition: &str) -> Vec<String> {
    let Some(list) = values.list("deploy.execution-policies") else {
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        c.err(&list, "deploy.execution-policies must name at least one managed policy: the execution role gets only what it lists (there is no administrator default)");
    }
    let mut out = Vec::new();
    for arn in *list.get_ref() {
        let text = arn.get_ref();
        if is_policy_arn(text, partition) {
            out.push(text.clone());
        } else {
            c.err(arn, format!(
                "deploy.execution-policies: {text:?} is not a managed policy ARN (arn:{partition}:iam::aws:policy/NAME or arn:{partition}:iam::ACCOUNT:policy/NAME)"
            ));
        }
    }
    out
}

fn parameters(c: &mut Checker<'_>, values: &Values) -> BTreeMap<String, String> {
    let entries = values.map("deploy.parameters");
    for (k, _) in entries {
        let name = k.get_ref();
        c.check(k, is_parameter_name(name), |_| {
            format!("deploy.parameters: {name:?} is not a CloudFormation parameter name (1 to 255 letters and digits)")
        });
    }
    let map: BTreeMap<String, String> = entries
        .iter()
        .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
        .collect();
    let n = parameter_overrides(&map).map_or(0, |j| j.chars().count());
    if let (true, Some((key, _))) = (
        n > ACTION_CONFIGURATION_MAX,
        entries
            .iter()
            .max_by_key(|(_, v)| v.get_ref().chars().count()),
    ) {
        c.err(key, format!(
            "deploy.parameters renders as a ParameterOverrides action configuration of {n} characters, over CodePipeline's limit of {ACTION_CONFIGURATION_MAX}; move values into deploy.template-configuration (a file of the artifact) instead"
        ));
    }
    map
}

fn approval(c: &mut Checker<'_>, values: &Values, mode: DeployMode) -> Option<Approval> {
    // An empty [deploy.approval] is an approval with AWS's defaults.
    let table = values.table("deploy.approval")?;
    let notification_arn = values.str("deploy.approval.notification-arn");
    if let Some(n) = &notification_arn {
        c.check(
            n,
            n.get_ref().split(':').nth(2) == Some("sns") && n.get_ref().split(':').count() >= 6,
            |t| format!("deploy.approval.notification-arn must be an SNS topic ARN, found {t:?}"),
        );
    }
    let external_link = c.rule(
        values.str("deploy.approval.external-link"),
        super::names::is_http_url,
        |t| {
            format!("deploy.approval.external-link must be an http:// or https:// URL, found {t:?}")
        },
    );
    let comment = values.str("deploy.approval.comment");
    if let Some(cm) = &comment {
        let n = cm.get_ref().chars().count();
        c.check(cm, n <= ACTION_CONFIGURATION_MAX, |_| {
            format!("deploy.approval.comment is {n} characters, over CodePipeline's limit of {ACTION_CONFIGURATION_MAX} on CustomData")
        });
    }
    let timeout = values.int("deploy.approval.timeout-minutes");
    if let Some(t) = &timeout {
        if !(5..=86400).contains(t.get_ref()) {
            let text = format!(
                "deploy.approval.timeout-minutes must be between 5 and 86400 (60 days), found {}",
                t.get_ref()
            );
            c.err(t, text);
        }
    }
    if mode == DeployMode::Direct {
        c.err(&Spanned::new(table, ()), "[deploy.approval] needs deploy.mode = \"change-set\": in direct mode the stack is updated in one step, with no change set for an approver to see");
    }
    Some(Approval {
        notification_arn: notification_arn.map(Spanned::into_inner),
        external_link: external_link.map(Spanned::into_inner),
        comment: comment.map(Spanned::into_inner),
        timeout_minutes: timeout.map(|t| *t.get_ref()),
    })
}

fn is_stack_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A relative path inside the artifact: no `::` (the artifact separator), no `..`, not absolute.
fn is_artifact_file(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 250
        && !s.starts_with('/')
        && !s.contains("::")
        && !s.split('/').any(|part| part.is_empty() || part == "..")
        && !s.chars().any(char::is_control)
}

fn is_output_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && s != "."
        && s != ".."
}

fn is_parameter_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_policy_arn(s: &str, partition: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(p), Some("iam"), Some(""), Some(owner), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    p == partition
        && (owner == "aws" || is_account(owner))
        && rest.strip_prefix("policy/").is_some_and(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{Config, parse};

    const EXAMPLE: &str = include_str!("../../xpipeline.toml.example");

    fn parsed(text: &str) -> Result<Config, Vec<String>> {
        parse(text, "x.toml", PathBuf::from("x.toml"))
            .map_err(|d| d.items.iter().map(|i| i.message.clone()).collect())
    }

    /// The example without its optional deploy keys, its approval and its parameters.
    fn minimal() -> String {
        let (head, deploy) = EXAMPLE.split_once("\n[[deploy]]\n").unwrap();
        let kept: Vec<&str> = deploy
            .split("\n[deploy.parameters]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| {
                [
                    "name",
                    "account",
                    "stack",
                    "template =",
                    "execution-policies",
                ]
                .iter()
                .any(|k| l.starts_with(k))
            })
            .collect();
        format!("{head}\n[[deploy]]\n{}\n", kept.join("\n"))
    }

    #[test]
    fn the_example_entry_parses_with_every_key() {
        let cfg = parsed(EXAMPLE).unwrap();
        let [d] = cfg.deploy.as_slice() else {
            panic!("one entry: {:?}", cfg.deploy)
        };
        assert_eq!(
            (d.name.as_str(), d.account.as_str()),
            ("Staging", "333333333333")
        );
        assert_eq!(d.template_configuration.as_deref(), Some("staging.json"));
        assert_eq!(d.mode, DeployMode::ChangeSet);
        assert_eq!(d.outputs_file.as_deref(), Some("outputs.json"));
        assert_eq!(
            d.parameters.get("CommitId").map(String::as_str),
            Some("#{SourceVariables.CommitId}")
        );
        let a = d.approval.as_ref().expect("an approval");
        assert_eq!(a.timeout_minutes, Some(1440));
        assert_eq!(a.comment.as_deref(), Some("Check staging first"));
    }

    #[test]
    fn defaults_are_the_roles_bootstrap_creates_and_the_usual_capabilities() {
        let cfg = parsed(&minimal()).unwrap();
        let d = &cfg.deploy[0];
        assert_eq!(
            d.role_arn,
            "arn:aws:iam::333333333333:role/hello-pipeline-deploy"
        );
        assert_eq!(
            d.execution_role_arn,
            "arn:aws:iam::333333333333:role/hello-pipeline-cfn-execution"
        );
        assert_eq!(
            d.capabilities,
            ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        );
        assert_eq!(
            (d.mode, d.approval.is_none()),
            (DeployMode::ChangeSet, true)
        );
        assert!(d.parameters.is_empty() && d.outputs_file.is_none());
    }

    #[test]
    fn a_pipeline_name_too_long_for_the_default_roles_asks_for_them() {
        let name = "p".repeat(60);
        let text = minimal().replace("name = \"hello-pipeline\"", &format!("name = \"{name}\""));
        let errors = parsed(&text).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("over IAM's limit of 64 characters")
                    && e.contains("set deploy.role-arn")),
            "{errors:?}"
        );
        let ok = text.replace(
            "[[deploy]]\n",
            "[[deploy]]\nrole-arn = \"arn:aws:iam::333333333333:role/d\"\nexecution-role-arn = \"arn:aws:iam::333333333333:role/e\"\n",
        );
        assert!(parsed(&ok).is_ok());
    }

    #[test]
    fn an_empty_approval_table_is_an_approval_with_the_defaults() {
        let cfg = parsed(&format!("{}[deploy.approval]\n", minimal())).unwrap();
        assert_eq!(cfg.deploy[0].approval, Some(Approval::default()));
    }

    #[test]
    fn names_and_paths_follow_the_rules_aws_applies() {
        assert!(is_stack_name("hello-staging") && !is_stack_name("1abc") && !is_stack_name("a_b"));
        assert!(is_artifact_file("out/packaged.yaml"));
        for bad in ["", "/etc/x", "../x", "a//b", "a::b"] {
            assert!(!is_artifact_file(bad), "{bad:?}");
        }
        assert!(is_policy_arn(
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "aws"
        ));
        assert!(is_policy_arn(
            "arn:aws:iam::333333333333:policy/mine",
            "aws"
        ));
        assert!(!is_policy_arn(
            "arn:aws-cn:iam::aws:policy/ReadOnlyAccess",
            "aws"
        ));
        assert!(!is_policy_arn("arn:aws:iam::aws:role/x", "aws"));
        assert!(is_parameter_name("CommitId") && !is_parameter_name("commit-id"));
    }
}
