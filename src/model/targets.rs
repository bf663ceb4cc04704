//! The bootstrap marker of a target account: what `bootstrap` writes (an SSM parameter in the
//! target, its mirror in the pipeline account) and how `push` judges the mirrors it reads. Pure.
//!
//! The marker carries the version of the target documents (`TARGET_BOOTSTRAP_VERSION`) and a
//! digest of the documents applied: a newer tool (its documents changed) or a changed
//! declaration (a new stack, another execution policy) both make the bootstrap stale.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::model::policies::deploy::{
    TARGET_BOOTSTRAP_VERSION, Target, mirror_name, target_documents, targets,
};

/// The marker's JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    pub version: u32,
    pub pipeline_account: String,
    /// The first deploy role of the target (the default one unless the file names another).
    pub deploy_role: String,
    pub execution_role: String,
    /// A digest of the target's documents as applied (hex, 16 characters).
    #[serde(default)]
    pub documents: String,
}

impl Marker {
    pub fn text(&self) -> String {
        serde_json::to_string(self).expect("a marker serialises")
    }
}

/// The marker bootstrap writes for `target` when the artifact key is `key`.
pub fn expected(cfg: &Config, target: &Target, key: &str) -> Marker {
    let docs: Vec<_> = target_documents(cfg, key)
        .into_iter()
        .filter(|d| d.account == target.account)
        .collect();
    let text = serde_json::to_string(&docs).expect("documents serialise");
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Marker {
        version: TARGET_BOOTSTRAP_VERSION,
        pipeline_account: cfg.pipeline.account.clone(),
        deploy_role: target
            .deploy_roles
            .first()
            .map(|r| r.arn.clone())
            .unwrap_or_default(),
        execution_role: target
            .execution_roles
            .first()
            .map(|r| r.arn.clone())
            .unwrap_or_default(),
        documents: hex,
    }
}

/// How a target's bootstrap stands, as its mirror in the pipeline account tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// No mirror: never bootstrapped (or by a tool without `[[deploy]]`).
    Missing,
    /// Bootstrapped by an older version of the documents.
    Older(u32),
    /// Bootstrapped for another declaration (stacks, roles or policies changed since).
    Changed,
    /// The mirror is not a marker.
    Unreadable,
}

/// One target that needs `bootstrap`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub account: String,
    pub parameter: String,
    pub standing: Standing,
}

/// The mirrors' names, one per target, in file order.
pub fn mirror_names(cfg: &Config) -> Vec<String> {
    targets(cfg)
        .iter()
        .map(|t| mirror_name(cfg, &t.account))
        .collect()
}

/// Each target judged by its mirror's value (`found` maps a parameter name to its value).
pub fn judge(cfg: &Config, key: &str, found: &dyn Fn(&str) -> Option<String>) -> Vec<Stale> {
    let mut out = Vec::new();
    for t in targets(cfg) {
        let parameter = mirror_name(cfg, &t.account);
        let want = expected(cfg, &t, key);
        let standing = match found(&parameter) {
            None => Standing::Missing,
            Some(text) => match serde_json::from_str::<Marker>(&text) {
                Err(_) => Standing::Unreadable,
                Ok(m) if m.version < want.version => Standing::Older(m.version),
                Ok(m)
                    if m.documents != want.documents
                        || m.pipeline_account != want.pipeline_account =>
                {
                    Standing::Changed
                }
                Ok(_) => Standing::Current,
            },
        };
        if standing != Standing::Current {
            out.push(Stale {
                account: t.account,
                parameter,
                standing,
            });
        }
    }
    out
}

/// The message of a push stopped by stale targets: each account and why, then the command.
pub fn stale_message(cfg: &Config, stale: &[Stale]) -> (String, String) {
    let lines: Vec<String> = stale
        .iter()
        .map(|s| {
            let why = match &s.standing {
                Standing::Missing => format!("never bootstrapped (no parameter {} in the pipeline account)", s.parameter),
                Standing::Older(v) => format!("bootstrapped by an older cargo-xpipeline (version {v} of the target documents, now {TARGET_BOOTSTRAP_VERSION})"),
                Standing::Changed => "bootstrapped for another declaration (its stacks, roles or execution policies changed since)".into(),
                Standing::Unreadable => format!("its marker {} is not one cargo-xpipeline wrote", s.parameter),
                Standing::Current => "current".into(),
            };
            format!("target account {}: {why}", s.account)
        })
        .collect();
    let accounts: Vec<&str> = stale.iter().map(|s| s.account.as_str()).collect();
    let message = format!(
        "the deploy stages of pipeline {} need a bootstrap of {} first; nothing was pushed\n  {}",
        cfg.pipeline.name,
        if accounts.len() == 1 {
            format!("target account {}", accounts[0])
        } else {
            format!("target accounts {}", accounts.join(", "))
        },
        lines.join("\n  ")
    );
    let hint = format!(
        "run `cargo xpipeline bootstrap` (it reaches each target through its OrganizationAccountAccessRole, or --target-admin-role-arn ARN, or --target-profile {}=PROFILE), commit, and push again",
        accounts[0]
    );
    (message, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::policies::deploy::targets;

    fn cfg() -> Config {
        let mut c = crate::config::parse(
            include_str!("../../xpipeline.toml.example"),
            "x",
            "x".into(),
        )
        .unwrap();
        let e = crate::model::policies::deploy::tests::entry;
        c.deploy = vec![
            e(&c, "Staging", "333333333333", "s"),
            e(&c, "Prod", "444444444444", "p"),
        ];
        c
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:111111111111:key/k";

    #[test]
    fn a_current_marker_passes_and_every_other_one_is_named() {
        let c = cfg();
        let t = targets(&c);
        let staging = expected(&c, &t[0], KEY);
        assert_eq!(staging.version, TARGET_BOOTSTRAP_VERSION);
        assert_eq!(
            staging.deploy_role,
            "arn:aws:iam::333333333333:role/hello-pipeline-deploy"
        );
        let json: serde_json::Value = serde_json::from_str(&staging.text()).unwrap();
        assert_eq!(json["pipelineAccount"], "111111111111");
        assert_eq!(
            json["executionRole"],
            "arn:aws:iam::333333333333:role/hello-pipeline-cfn-execution"
        );
        let staging_text = staging.text();
        let found = |name: &str| {
            name.ends_with("/333333333333")
                .then(|| staging_text.clone())
        };
        let stale = judge(&c, KEY, &found);
        assert_eq!(
            stale,
            vec![Stale {
                account: "444444444444".into(),
                parameter: "/xpipeline/hello-pipeline/targets/444444444444".into(),
                standing: Standing::Missing,
            }]
        );
        let (m, h) = stale_message(&c, &stale);
        assert!(m.starts_with("the deploy stages of pipeline hello-pipeline need a bootstrap of target account 444444444444 first; nothing was pushed"), "{m}");
        assert!(m.contains("never bootstrapped (no parameter /xpipeline/hello-pipeline/targets/444444444444 in the pipeline account)"), "{m}");
        assert!(h.contains("cargo xpipeline bootstrap"), "{h}");
        assert!(h.contains("--target-profile 444444444444=PROFILE"), "{h}");

        // An older version, another declaration, and something else entirely.
        let mut old = staging.clone();
        old.version = 0;
        let old_text = old.text();
        let stale = judge(&c, KEY, &|_: &str| Some(old_text.clone()));
        assert_eq!(stale[0].standing, Standing::Older(0));
        let changed = judge(
            &c,
            "arn:aws:kms:eu-west-1:111111111111:key/other",
            &|n: &str| n.ends_with("/333333333333").then(|| staging_text.clone()),
        );
        assert_eq!(changed[0].standing, Standing::Changed);
        let junk = judge(&c, KEY, &|_: &str| Some("v1".into()));
        assert_eq!(junk[0].standing, Standing::Unreadable);
    }

    #[test]
    fn the_digest_follows_the_declaration() {
        let c = cfg();
        let before = expected(&c, &targets(&c)[0], KEY);
        let mut more = c.clone();
        more.deploy[0].stack = "another".into();
        let after = expected(&more, &targets(&more)[0], KEY);
        assert_ne!(before.documents, after.documents);
        assert_eq!(before.documents.len(), 16);
        // Another target's change leaves this one's digest alone.
        let mut prod = c.clone();
        prod.deploy[1].stack = "another".into();
        assert_eq!(expected(&prod, &targets(&prod)[0], KEY), before);
    }
}
