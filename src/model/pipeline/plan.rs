//! The live pipeline compared with the declaration (`Plan`, the result of `plan`), and the
//! reconcile decision `push` takes from it (`decide`: create, leave, update and/or tag, or
//! refuse a pipeline this tool did not create). Pure: the live side comes in as a `Live`
//! read by `aws::pipeline`.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_codepipeline::types::PipelineDeclaration;
use serde::Serialize;
use serde_json::Value;

use super::declare;
use super::declared_by::{DECLARED_BY_TAG, DeclaredBy};
use super::diff::{self, Change};
use super::stages::{StageChange, whole_stages};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::text::count;
use crate::{MANAGED_BY_TAG, MANAGED_BY_VALUE};

/// The live pipeline as GetPipeline and ListTagsForResource answered.
#[derive(Debug, Clone)]
pub struct Live {
    pub arn: String,
    pub version: Option<i32>,
    /// The declaration as the API's JSON (`declare::to_json`).
    pub declaration: Value,
    pub tags: BTreeMap<String, String>,
}

/// The live pipeline compared with the declaration. Read-only; the result of `plan`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub pipeline: String,
    pub exists: bool,
    /// It carries managed-by=cargo-xpipeline (or does not exist yet).
    pub managed: bool,
    /// The live version, when it exists.
    pub version: Option<i32>,
    pub changes: Vec<Change>,
    /// The whole stages a write adds, named (with what they deploy where, for a deploy stage);
    /// each is also one of `changes`.
    pub stages_added: Vec<StageChange>,
    /// The whole stages a write removes, named.
    pub stages_removed: Vec<StageChange>,
    /// What the live pipeline's xpipeline-declared-by tag says declared it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<DeclaredBy>,
    /// The value a write gives that tag: the commit (or `file:NAME`) being applied.
    #[serde(skip)]
    pub declaring: Option<String>,
    /// How many of `changes` (the first ones) need UpdatePipeline; the rest are tags.
    #[serde(skip)]
    pub structural: usize,
    #[serde(skip)]
    pub arn: Option<String>,
    #[serde(skip)]
    pub summary: Vec<String>,
    #[serde(skip)]
    pub declared: PipelineDeclaration,
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

impl Plan {
    /// Compare the declaration of `cfg` with the live pipeline (`None`: it does not exist).
    /// `declaring` names where `cfg` comes from (a commit, or `file:NAME`): the value of the
    /// xpipeline-declared-by tag that a write sets. That tag differing is no change by itself
    /// (a push of a commit that declares the same pipeline writes nothing); only its absence
    /// from a pipeline that exists is.
    pub fn compare(cfg: &Config, live: Option<Live>, declaring: Option<&str>) -> Result<Plan> {
        let declared = declare::declare(cfg)?;
        let declared_json = declare::to_json(&declared);
        let region = cfg.pipeline.region.as_str();
        let mut wanted_tags = declared_tags(cfg);
        let declaring = declaring.map(str::to_owned);
        let name = cfg.pipeline.name.clone();
        let summary = declare::summary(cfg);
        Ok(match live {
            None => {
                if let Some(d) = &declaring {
                    wanted_tags.insert(DECLARED_BY_TAG.to_owned(), d.clone());
                }
                let changes = [
                    diff::creation(&declared_json, region),
                    diff::tag_changes(&wanted_tags, &BTreeMap::new()),
                ]
                .concat();
                let (stages_added, stages_removed) =
                    whole_stages(&changes, &declared_json, &Value::Null);
                Plan {
                    pipeline: name,
                    exists: false,
                    managed: true,
                    version: None,
                    changes,
                    stages_added,
                    stages_removed,
                    declared_by: None,
                    declaring,
                    structural: 0,
                    arn: None,
                    summary,
                    declared,
                    tags: wanted_tags,
                }
            }
            Some(live) => {
                let mut changes = diff::diff(&declared_json, &live.declaration, region);
                let structural = changes.len();
                let (stages_added, stages_removed) =
                    whole_stages(&changes, &declared_json, &live.declaration);
                changes.extend(diff::tag_changes(&wanted_tags, &live.tags));
                let live_declared_by = live.tags.get(DECLARED_BY_TAG);
                if let Some(d) = &declaring {
                    wanted_tags.insert(DECLARED_BY_TAG.to_owned(), d.clone());
                    if live_declared_by.is_none() {
                        changes.extend(diff::tag_changes(
                            &BTreeMap::from([(DECLARED_BY_TAG.to_owned(), d.clone())]),
                            &live.tags,
                        ));
                    }
                }
                Plan {
                    pipeline: name,
                    exists: true,
                    managed: live.tags.get(MANAGED_BY_TAG).map(String::as_str)
                        == Some(MANAGED_BY_VALUE),
                    version: live.version,
                    changes,
                    stages_added,
                    stages_removed,
                    declared_by: live_declared_by.map(|v| DeclaredBy::parse(v)),
                    declaring,
                    structural,
                    arn: Some(live.arn),
                    summary,
                    declared,
                    tags: wanted_tags,
                }
            }
        })
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.exists {
            writeln!(
                f,
                "pipeline {} does not exist: push would create it",
                self.pipeline
            )?;
            let lines: Vec<String> = self.summary.iter().map(|l| format!("  {l}")).collect();
            return write!(f, "{}", lines.join("\n"));
        }
        let version = self
            .version
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default();
        if self.changes.is_empty() {
            return write!(f, "pipeline {}{version}: no changes", self.pipeline);
        }
        write!(
            f,
            "pipeline {}{version}: {}",
            self.pipeline,
            changes(self.changes.len())
        )?;
        for line in self.lines() {
            write!(f, "\n  {line}")?;
        }
        if !self.managed {
            write!(
                f,
                "\nit was not created by cargo-xpipeline (no tag {MANAGED_BY_TAG}={MANAGED_BY_VALUE}): \
                 push refuses to change it unless given --adopt"
            )?;
        }
        Ok(())
    }
}

impl Plan {
    /// The changes as lines: the stages added (`+ stage Staging (deploy hello-staging to
    /// 333333333333)`) and removed (`- stage Prod ...`) first, then every other change as
    /// `path: old -> new`.
    pub fn lines(&self) -> Vec<String> {
        let added = self.stages_added.iter().map(|s| format!("+ {s}"));
        let removed = self.stages_removed.iter().map(|s| format!("- {s}"));
        let rest = self
            .changes
            .iter()
            .filter(|c| c.whole_stage().is_none())
            .map(ToString::to_string);
        added.chain(removed).chain(rest).collect()
    }
}

/// "1 change", "3 changes".
pub fn changes(n: usize) -> String {
    count(n, "change", "changes")
}

/// The tags the pipeline should carry: [tags] plus managed-by, which always wins.
pub fn declared_tags(cfg: &Config) -> BTreeMap<String, String> {
    let mut tags = cfg.tags.clone();
    tags.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
    tags
}

/// What `push` may do to the pipeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Take over a pipeline of the same name that lacks the managed-by tag.
    pub adopt: bool,
    /// Compute and show the changes, write nothing.
    pub dry_run: bool,
}

/// What reconciling takes, from a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// CreatePipeline (with its tags).
    Create,
    /// Nothing differs: no write call at all.
    Nothing,
    /// UpdatePipeline when the declaration differs, TagResource when tags do.
    Change { update: bool, tag: bool },
}

/// The step a plan calls for, or the refusal to change a pipeline this tool did not create.
pub fn decide(plan: &Plan, opts: Options) -> Result<Step> {
    if !plan.exists {
        return Ok(Step::Create);
    }
    if plan.changes.is_empty() {
        return Ok(Step::Nothing);
    }
    if !plan.managed && !opts.adopt {
        return Err(Error::op_hint(
            format!(
                "pipeline {} exists but was not created by cargo-xpipeline (it has no tag \
                 {MANAGED_BY_TAG}={MANAGED_BY_VALUE}); refusing to change it. It differs from \
                 xpipeline.toml by {}:{}",
                plan.pipeline,
                changes(plan.changes.len()),
                plan.lines()
                    .iter()
                    .map(|l| format!("\n  {l}"))
                    .collect::<String>()
            ),
            "pass --adopt to take it over and apply these changes, or choose another \
             pipeline.name in xpipeline.toml",
        ));
    }
    // A write names the declaration it applies: with UpdatePipeline goes a TagResource
    // whenever the tag would change.
    let update = plan.structural > 0;
    let retag = plan.declaring.is_some()
        && plan.declared_by.as_ref().map(DeclaredBy::value) != plan.declaring;
    Ok(Step::Change {
        update,
        tag: plan.structural < plan.changes.len() || (update && retag),
    })
}

/// UpdatePipeline returned a version other than the one read plus one: another writer got in
/// between (and its change or ours may be lost). `current` is how the pipeline differs now.
pub fn changed_meanwhile(name: &str, read: i32, returned: i32, current: &[Change]) -> Error {
    let state = if current.is_empty() {
        " It now matches xpipeline.toml.".to_owned()
    } else {
        format!(
            " It now differs from xpipeline.toml by {}:{}",
            changes(current.len()),
            listed(current)
        )
    };
    Error::op_hint(
        format!(
            "pipeline {name} was changed by someone else meanwhile: UpdatePipeline made it \
             version {returned}, not {} (it was {read} when read).{state}",
            read + 1
        ),
        "find out who else changes this pipeline, then run `cargo xpipeline plan` and push again",
    )
}

fn listed(changes: &[Change]) -> String {
    changes.iter().map(|c| format!("\n  {c}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pipeline::declare::tests::cfg;

    fn live(cfg: &Config, tags: &[(&str, &str)]) -> Live {
        Live {
            arn: "arn:aws:codepipeline:eu-west-1:111111111111:hello-pipeline".into(),
            version: Some(4),
            declaration: declare::to_json(&declare::declare(cfg).unwrap()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_version_jump_is_reported_with_the_current_diff() {
        let current = vec![Change {
            path: "stages[Build].actions[Build].configuration.ProjectName".into(),
            old: Some("theirs".into()),
            new: Some("ours".into()),
        }];
        let e = changed_meanwhile("p", 3, 5, &current);
        let (msg, hint) = e.parts();
        assert!(msg.contains("changed by someone else meanwhile"), "{msg}");
        assert!(
            msg.contains("version 5, not 4 (it was 3 when read)"),
            "{msg}"
        );
        assert!(msg.contains("1 change:\n  stages[Build].actions[Build].configuration.ProjectName: \"theirs\" -> \"ours\""), "{msg}");
        assert!(hint.contains("cargo xpipeline plan"), "{hint}");
        let (msg, _) = changed_meanwhile("p", 3, 5, &[]).parts();
        assert!(msg.ends_with("It now matches xpipeline.toml."), "{msg}");
    }

    #[test]
    fn managed_by_always_wins_over_tags() {
        let mut c = cfg();
        c.tags.insert("managed-by".into(), "terraform".into());
        c.tags.insert("team".into(), "platform".into());
        let t = declared_tags(&c);
        assert_eq!(t["managed-by"], "cargo-xpipeline");
        assert_eq!(t["team"], "platform");
    }

    #[test]
    fn an_absent_pipeline_is_created() {
        let plan = Plan::compare(&cfg(), None, None).unwrap();
        assert!(!plan.exists && plan.managed);
        assert_eq!(decide(&plan, Options::default()).unwrap(), Step::Create);
        assert!(plan.to_string().starts_with(
            "pipeline hello-pipeline does not exist: push would create it\n  type V2"
        ));
    }

    #[test]
    fn an_unchanged_pipeline_needs_no_write() {
        let c = cfg();
        let plan = Plan::compare(
            &c,
            Some(live(&c, &[("managed-by", "cargo-xpipeline")])),
            None,
        )
        .unwrap();
        assert!(plan.exists && plan.changes.is_empty(), "{:?}", plan.changes);
        assert_eq!(decide(&plan, Options::default()).unwrap(), Step::Nothing);
        assert_eq!(
            plan.to_string(),
            "pipeline hello-pipeline (version 4): no changes"
        );
    }

    #[test]
    fn only_tags_differ_means_tagging_without_an_update() {
        let c = cfg();
        let plan = Plan::compare(&c, Some(live(&c, &[])), None).unwrap();
        assert!(!plan.managed);
        let e = decide(&plan, Options::default()).unwrap_err().to_string();
        assert!(e.contains("refusing to change it"), "{e}");
        assert!(e.contains("pass --adopt"), "{e}");
        let adopt = Options {
            adopt: true,
            dry_run: false,
        };
        assert_eq!(
            decide(&plan, adopt).unwrap(),
            Step::Change {
                update: false,
                tag: true
            }
        );
    }

    #[test]
    fn a_changed_declaration_needs_an_update() {
        let c = cfg();
        let mut other = cfg();
        other.build.project = "other".into();
        let plan = Plan::compare(
            &c,
            Some(live(&other, &[("managed-by", "cargo-xpipeline")])),
            None,
        )
        .unwrap();
        assert_eq!(
            decide(&plan, Options::default()).unwrap(),
            Step::Change {
                update: true,
                tag: false
            }
        );
        assert!(plan.to_string().contains(
            "stages[Build].actions[Build].configuration.ProjectName: \"other\" -> \"hello-build\""
        ), "{plan}");
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn another_commit_declaring_the_same_pipeline_writes_nothing() {
        let c = cfg();
        let tags = [("managed-by", "cargo-xpipeline"), (DECLARED_BY_TAG, A)];
        let plan = Plan::compare(&c, Some(live(&c, &tags)), Some(B)).unwrap();
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert_eq!(decide(&plan, Options::default()).unwrap(), Step::Nothing);
        assert_eq!(
            plan.declared_by.as_ref().unwrap().commit.as_deref(),
            Some(A)
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["declaredBy"], serde_json::json!({"commit": A}));
    }

    #[test]
    fn a_pipeline_naming_no_declaration_gets_the_tag_without_an_update() {
        let c = cfg();
        let plan = Plan::compare(
            &c,
            Some(live(&c, &[("managed-by", "cargo-xpipeline")])),
            Some(B),
        )
        .unwrap();
        assert_eq!(
            plan.changes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [format!("tags.{DECLARED_BY_TAG}: (absent) -> \"{B}\"")]
        );
        assert_eq!(
            decide(&plan, Options::default()).unwrap(),
            Step::Change {
                update: false,
                tag: true
            }
        );
        assert_eq!(plan.tags[DECLARED_BY_TAG], B);
    }

    #[test]
    fn an_update_also_retags_with_the_declaring_commit_unless_it_is_already_there() {
        let c = cfg();
        let mut other = cfg();
        other.build.project = "other".into();
        let from_a = [("managed-by", "cargo-xpipeline"), (DECLARED_BY_TAG, A)];
        let plan = Plan::compare(&c, Some(live(&other, &from_a)), Some(B)).unwrap();
        assert_eq!(
            plan.changes.len(),
            1,
            "the tag is no change by itself: {:?}",
            plan.changes
        );
        assert_eq!(
            decide(&plan, Options::default()).unwrap(),
            Step::Change {
                update: true,
                tag: true
            }
        );
        assert_eq!(plan.tags[DECLARED_BY_TAG], B);
        // The same commit re-applied over a hand edit: the tag already says it.
        let from_b = [("managed-by", "cargo-xpipeline"), (DECLARED_BY_TAG, B)];
        let plan = Plan::compare(&c, Some(live(&other, &from_b)), Some(B)).unwrap();
        assert_eq!(
            decide(&plan, Options::default()).unwrap(),
            Step::Change {
                update: true,
                tag: false
            }
        );
    }

    #[test]
    fn a_created_pipeline_carries_its_declaring_commit() {
        let plan = Plan::compare(&cfg(), None, Some(A)).unwrap();
        assert_eq!(plan.tags[DECLARED_BY_TAG], A);
        assert!(
            plan.changes
                .iter()
                .any(|ch| ch.path == format!("tags.{DECLARED_BY_TAG}")),
            "{:?}",
            plan.changes
        );
    }
}
