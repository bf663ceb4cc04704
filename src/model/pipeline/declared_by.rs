//! Which declaration the live pipeline holds: the tag `xpipeline-declared-by`, set by every
//! reconcile that writes to the commit whose xpipeline.toml it applied (or to `file:NAME` when
//! `--config` named a file), what the tag says, and how that reads next to the local branch.
//! Pure: where the commit stands locally (`Reach`) is found by `git::commit::reach`.

use std::fmt;

use serde::Serialize;

use crate::model::text::short_commit;

/// The tag naming the commit whose declaration the pipeline holds.
pub const DECLARED_BY_TAG: &str = "xpipeline-declared-by";

/// The tag value for a declaration read from a file given with `--config`: `file:` and the
/// file name, kept to the characters AWS allows in tag values, at most 256 characters.
pub fn file_tag_value(file_name: &str) -> String {
    let name: String = file_name
        .chars()
        .map(|c| match c {
            'a'..='z'
            | 'A'..='Z'
            | '0'..='9'
            | ' '
            | '_'
            | '.'
            | ':'
            | '/'
            | '='
            | '+'
            | '-'
            | '@' => c,
            _ => '_',
        })
        .take(256 - "file:".len())
        .collect();
    format!("file:{name}")
}

/// What the pipeline's tag says declared it, and, when looked at, where that commit stands
/// in the local repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclaredBy {
    /// The commit whose xpipeline.toml the pipeline holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Or the file given with `--config` (no commit declares the pipeline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The commit compared with the local branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
}

/// Where the declaring commit stands with respect to a local branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Local {
    pub branch: String,
    pub reach: Reach,
}

/// Whether a branch's history contains a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reach {
    OnBranch,
    /// The repository has the commit, but not in the branch's history.
    NotOnBranch,
    /// The repository does not have the commit at all.
    NotInRepository,
}

impl DeclaredBy {
    /// The meaning of a tag value.
    pub fn parse(value: &str) -> DeclaredBy {
        let (commit, file) = match value.strip_prefix("file:") {
            Some(name) => (None, Some(name.to_owned())),
            None => (Some(value.to_owned()), None),
        };
        DeclaredBy {
            commit,
            file,
            local: None,
        }
    }

    /// The tag value it was read from.
    pub fn value(&self) -> String {
        match (&self.commit, &self.file) {
            (Some(c), _) => c.clone(),
            (None, f) => format!("file:{}", f.as_deref().unwrap_or_default()),
        }
    }

    /// The same, compared with `branch` (`None`: not looked at).
    pub fn on(mut self, branch: &str, reach: Option<Reach>) -> DeclaredBy {
        self.local = reach.map(|reach| Local {
            branch: branch.to_owned(),
            reach,
        });
        self
    }

    /// Why the declaration is not one the local branch holds, when it is not: said by `plan`.
    pub fn foreign(&self) -> Option<String> {
        if let Some(file) = &self.file {
            return Some(format!(
                "the live pipeline was declared by the file {file} given with --config, not by \
                 a commit: the next push applies the declaration of the commit it pushes"
            ));
        }
        let commit = short_commit(self.commit.as_deref()?);
        let local = self.local.as_ref()?;
        let branch = &local.branch;
        let why = match local.reach {
            Reach::OnBranch => return None,
            Reach::NotOnBranch => format!("which branch {branch} does not contain"),
            Reach::NotInRepository => "which this repository does not have".to_owned(),
        };
        Some(format!(
            "the live pipeline was declared by commit {commit}, {why}: it was pushed from \
             another branch or clone, or {branch} was rewritten since; pushing {branch} \
             applies {branch}'s declaration"
        ))
    }
}

impl fmt::Display for DeclaredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            return write!(f, "the file {file} (--config), not a commit");
        }
        write!(f, "{}", short_commit(self.commit.as_deref().unwrap_or("?")))?;
        match &self.local {
            None => Ok(()),
            Some(Local { branch, reach }) => match reach {
                Reach::OnBranch => write!(f, " ({branch})"),
                Reach::NotOnBranch => write!(f, " (not on {branch})"),
                Reach::NotInRepository => write!(f, " (not in this repository)"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "5d8e9c1a0b2f5d8e9c1a0b2f5d8e9c1a0b2f5d8e";

    #[test]
    fn a_commit_reads_with_where_it_stands() {
        let d = DeclaredBy::parse(SHA);
        assert_eq!(d.commit.as_deref(), Some(SHA));
        assert_eq!(d.to_string(), "5d8e9c1a0b2f");
        assert_eq!(d.foreign(), None, "not looked at: nothing to say");
        let on = d.clone().on("main", Some(Reach::OnBranch));
        assert_eq!(on.to_string(), "5d8e9c1a0b2f (main)");
        assert_eq!(on.foreign(), None);
        let off = d.clone().on("main", Some(Reach::NotOnBranch));
        assert_eq!(off.to_string(), "5d8e9c1a0b2f (not on main)");
        let why = off.foreign().unwrap();
        assert!(
            why.contains("commit 5d8e9c1a0b2f, which branch main does not contain"),
            "{why}"
        );
        let gone = d.on("main", Some(Reach::NotInRepository));
        assert_eq!(gone.to_string(), "5d8e9c1a0b2f (not in this repository)");
        assert!(
            gone.foreign()
                .unwrap()
                .contains("which this repository does not have")
        );
        assert_eq!(
            serde_json::to_value(&off).unwrap(),
            serde_json::json!({"commit": SHA, "local": {"branch": "main", "reach": "notOnBranch"}})
        );
    }

    #[test]
    fn a_file_given_with_config_is_named_and_kept_to_tag_characters() {
        assert_eq!(
            file_tag_value("ci.xpipeline.toml"),
            "file:ci.xpipeline.toml"
        );
        assert_eq!(file_tag_value("a#b(c).toml"), "file:a_b_c_.toml");
        assert_eq!(file_tag_value(&"x".repeat(400)).len(), 256);
        let d = DeclaredBy::parse("file:ci.toml");
        assert_eq!(d.commit, None);
        assert_eq!(d.to_string(), "the file ci.toml (--config), not a commit");
        assert!(d.foreign().unwrap().contains("not by a commit"));
    }
}
