//! What `bootstrap` did (or, with --dry-run, would do): one `Change` per write, in the order
//! made, and the statements to add by hand where bootstrap may not write. Serves the text
//! and the JSON result. Pure.

use std::fmt;

use serde::Serialize;

/// Which of the two accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Pipeline,
    Source,
    /// A `[[deploy]]` account.
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Pipeline => "pipeline",
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// One write to AWS (or to xpipeline.toml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub side: Side,
    pub account: String,
    /// "role", "key", "alias", "bucket", "project", "repository", "file".
    pub kind: &'static str,
    /// Its ARN or name.
    pub resource: String,
    /// What changed, e.g. "created", "trust policy: adds DevelopersPush".
    pub action: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} (account {}, {})",
            self.kind, self.resource, self.action, self.account, self.side
        )
    }
}

/// What bootstrap may not change, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manual {
    pub account: String,
    pub resource: String,
    pub reason: String,
    /// The statements (a policy document) to add, when that is the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements: Option<serde_json::Value>,
}

/// The result of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub pipeline_account: String,
    pub source_account: String,
    /// The `[[deploy]]` accounts, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_accounts: Vec<String>,
    pub changes: Vec<Change>,
    pub manual: Vec<Manual>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut accounts = format!(
            "pipeline account {}, source account {}",
            self.pipeline_account, self.source_account
        );
        match self.target_accounts.as_slice() {
            [] => {}
            [one] => accounts.push_str(&format!(", target account {one}")),
            more => accounts.push_str(&format!(", target accounts {}", more.join(", "))),
        }
        if self.changes.is_empty() {
            write!(f, "nothing to change ({accounts})")?;
        } else {
            let verb = if self.dry_run { "would make" } else { "made" };
            writeln!(
                f,
                "bootstrap {verb} {} ({accounts}):",
                crate::model::text::count(self.changes.len(), "change", "changes")
            )?;
            for (i, c) in self.changes.iter().enumerate() {
                write!(f, "  {c}")?;
                if i + 1 < self.changes.len() {
                    writeln!(f)?;
                }
            }
            if self.dry_run {
                write!(f, "\n(dry run: nothing was written)")?;
            }
        }
        for m in &self.manual {
            write!(
                f,
                "\n\nto do by hand in account {}: {}: {}",
                m.account, m.resource, m.reason
            )?;
            if let Some(s) = &m.statements {
                let pretty = serde_json::to_string_pretty(s).map_err(|_| fmt::Error)?;
                write!(f, "\n{pretty}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_change_says_so_and_changes_are_listed_in_order() {
        let mut r = Report {
            pipeline_account: "111111111111".into(),
            source_account: "222222222222".into(),
            ..Report::default()
        };
        assert_eq!(
            r.to_string(),
            "nothing to change (pipeline account 111111111111, source account 222222222222)"
        );
        r.dry_run = true;
        r.changes.push(Change {
            side: Side::Source,
            account: "222222222222".into(),
            kind: "repository",
            resource: "hello".into(),
            action: "created".into(),
        });
        let text = r.to_string();
        assert!(text.starts_with("bootstrap would make 1 change"), "{text}");
        assert!(text.contains("  repository hello: created (account 222222222222, source)"));
        assert!(text.ends_with("(dry run: nothing was written)"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["dryRun"], true);
        assert_eq!(json["changes"][0]["side"], "source");
        assert!(json.get("targetAccounts").is_none());
        r.target_accounts = vec!["333333333333".into(), "444444444444".into()];
        r.changes[0].side = Side::Target;
        let text = r.to_string();
        assert!(
            text.contains(
                "source account 222222222222, target accounts 333333333333, 444444444444)"
            ),
            "{text}"
        );
        assert!(text.contains("(account 222222222222, target)"), "{text}");
    }
}
