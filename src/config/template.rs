//! The xpipeline.toml `init` writes, rendered from the key table (`keys.rs`): its order, its
//! comments and the commented-out example of every key no flag set. Pure: values in, text out.

use std::collections::BTreeMap;

use super::keys::{self, Key, Kind};

/// What `init` knows of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// Written as `key = value`.
    Set(String),
    /// A key `init` could not fill: written commented out as `key = placeholder`,
    /// under the key's `unset_doc` (how to find the value).
    Unknown { placeholder: String },
}

/// One `[[deploy]]` entry `init` writes (`--deploy NAME=ACCOUNT`, `--approve NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeployEntry {
    pub name: String,
    pub account: String,
    pub stack: String,
    pub template: String,
    /// Written with a `[deploy.approval]` table.
    pub approval: bool,
}

const HEADER: &str = "\
# xpipeline.toml: the cross-account pipeline of this workspace, read by `cargo xpipeline`.
# The pipeline runs in the pipeline (tools) account; the CodeCommit repository lives in the
# source account. `cargo xpipeline push` makes the live pipeline match this file.
";

/// A TOML basic string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `text` as `#` comment lines.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str(&format!("# {line}\n"));
    }
}

/// The file: every key of the table, set from `values` (by key path) or commented out, each
/// explained. A table none of whose keys is set, and that is optional, is written wholly
/// commented out.
#[cfg(test)]
pub(crate) fn render(values: &BTreeMap<&str, Value>) -> String {
    render_with(values, &[])
}

/// The file with `deploys` as its `[[deploy]]` entries (none: one commented-out example).
pub(crate) fn render_with(values: &BTreeMap<&str, Value>, deploys: &[DeployEntry]) -> String {
    debug_assert!(
        values
            .keys()
            .all(|p| keys::get(p).is_some_and(|k| matches!(k.kind, Kind::Str | Kind::Int))),
        "init sets only keys of src/config/keys.rs that take a value"
    );
    // The examples are written for the aws partition; China and GovCloud get theirs.
    let partition = match values.get("pipeline.region") {
        Some(Value::Set(region)) => crate::model::arn::partition_of(region),
        _ => "aws",
    };
    // taplo-based editors (Even Better TOML) complete and check the file with this schema.
    let directive = format!("#:schema {}\n", super::json_schema::SCHEMA_URL);
    let mut blocks = vec![directive + HEADER];
    for top in keys::children("") {
        if top.kind == Kind::TableArray && top.path == "deploy" && !deploys.is_empty() {
            for (i, d) in deploys.iter().enumerate() {
                blocks.push(deploy_entry(top, d, i == 0, values, partition));
            }
        } else {
            table(top, values, partition, &mut blocks);
        }
    }
    blocks.join("\n")
}

/// The text of a value `init` knows: a string, or for a key of `values` its value.
fn known(values: &BTreeMap<&str, Value>, key: &str) -> String {
    match values.get(key) {
        Some(Value::Set(v)) => v.clone(),
        _ => String::new(),
    }
}

/// One `[[deploy]]` entry of `--deploy`: the keys `init` chose set, each under its doc (the
/// array's doc over the first); `execution-policies` commented out with a least-privilege
/// example, since only the user knows what the stack needs; the optional keys commented out
/// in one column, the roles with the defaults they stand for; `[deploy.parameters]` as an
/// example; `[deploy.approval]` a table when `--approve` named the stage.
fn deploy_entry(
    array: &Key,
    d: &DeployEntry,
    first: bool,
    values: &BTreeMap<&str, Value>,
    partition: &str,
) -> String {
    let mut out = String::new();
    if first {
        comment(&mut out, array.doc);
    }
    out.push_str(&format!("[[{}]]\n", array.path));
    let pipeline = known(values, "pipeline.name");
    let mut optional = Vec::new();
    for k in keys::children(array.path) {
        let set = match k.name() {
            "name" => Some(&d.name),
            "account" => Some(&d.account),
            "stack" => Some(&d.stack),
            "template" => Some(&d.template),
            _ => None,
        };
        match (set, k.kind) {
            (Some(v), _) => {
                comment(&mut out, k.doc);
                out.push_str(&format!("{} = {}\n", k.name(), quote(v)));
            }
            (None, Kind::StrList | Kind::Str | Kind::Int) if k.required => {
                comment(&mut out, k.doc);
                comment(
                    &mut out,
                    &format!(
                        "REQUIRED, not set yet: the file does not load until you choose them, e.g. a\n\
                         policy of account {} that allows what stack {} creates:",
                        d.account, d.stack
                    ),
                );
                let example = format!(
                    "[\"arn:{partition}:iam::{}:policy/{}-resources\"]",
                    d.account, d.stack
                );
                out.push_str(&format!("# {} = {example}\n", k.name()));
            }
            (None, Kind::StrList | Kind::Str | Kind::Int) => {
                let example = match k.name() {
                    "role-arn" => quote(&format!(
                        "arn:{partition}:iam::{}:role/{}",
                        d.account,
                        super::model::default_deploy_role_name(&pipeline)
                    )),
                    "execution-role-arn" => quote(&format!(
                        "arn:{partition}:iam::{}:role/{}",
                        d.account,
                        super::model::default_execution_role_name(&pipeline)
                    )),
                    "region" => quote(&known(values, "pipeline.region")),
                    _ => example(k, partition),
                };
                optional.push((format!("# {} = {example}", k.name()), k.doc));
            }
            _ => {}
        }
    }
    in_columns(&optional, &mut out);
    for inner in keys::children(array.path) {
        match inner.kind {
            Kind::StrMap => {
                out.push_str(&format!("# [{}]\n# {}\n", inner.path, inner.example));
            }
            Kind::Table => {
                let scalars: Vec<&Key> = keys::children(inner.path).collect();
                if d.approval {
                    comment(&mut out, inner.doc);
                    out.push_str(&format!("[{}]\n", inner.path));
                    // One key set: the approval is there whatever reads the file.
                    let text = format!(
                        "Review the change set of stack {} in account {} before it runs",
                        d.stack, d.account
                    );
                    let lines: Vec<(String, &str)> = scalars
                        .iter()
                        .filter(|k| k.name() != "comment")
                        .map(|k| (format!("# {} = {}", k.name(), example(k, partition)), k.doc))
                        .collect();
                    if let Some(k) = scalars.iter().find(|k| k.name() == "comment") {
                        comment(&mut out, k.doc);
                        out.push_str(&format!("comment = {}\n", quote(&text)));
                    }
                    in_columns(&lines, &mut out);
                } else {
                    out.push_str(&format!(
                        "# [{}]  (a manual approval before the change set runs: `init --approve {}`)\n",
                        inner.path, d.name
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The example of `k`, in `partition`.
fn example(k: &Key, partition: &str) -> String {
    k.example
        .replace("\"arn:aws:", &format!("\"arn:{partition}:"))
}

/// The block of `t` (its header and keys) and then those of the tables within it.
fn table(t: &Key, values: &BTreeMap<&str, Value>, partition: &str, blocks: &mut Vec<String>) {
    let mut out = String::new();
    comment(&mut out, t.doc);
    if t.kind == Kind::StrMap {
        out.push_str(&format!("# [{}]\n# {}\n", t.path, t.example));
        blocks.push(out);
        return;
    }
    let set = |k: &Key| values.contains_key(k.path);
    let scalars: Vec<&Key> = keys::children(t.path)
        .filter(|k| matches!(k.kind, Kind::Str | Kind::Int | Kind::StrList))
        .collect();
    // `init` writes no deploy entry: the array is an example, commented out.
    if t.kind == Kind::TableArray || (!t.required && !scalars.iter().any(|k| set(k))) {
        commented_table(t, &scalars, partition, &mut out);
    } else {
        out.push_str(&format!("[{}]\n", t.path));
        for k in scalars {
            comment(&mut out, k.doc);
            match values.get(k.path) {
                Some(Value::Set(v)) if k.kind == Kind::Int => {
                    out.push_str(&format!("{} = {v}\n", k.name()))
                }
                Some(Value::Set(v)) => out.push_str(&format!("{} = {}\n", k.name(), quote(v))),
                Some(Value::Unknown { placeholder }) => {
                    comment(&mut out, k.unset_doc);
                    out.push_str(&format!("# {} = {}\n", k.name(), quote(placeholder)));
                }
                None => out.push_str(&format!("# {} = {}\n", k.name(), example(k, partition))),
            }
        }
    }
    blocks.push(out);
    for inner in keys::children(t.path).filter(|k| matches!(k.kind, Kind::Table | Kind::StrMap)) {
        table(inner, values, partition, blocks);
    }
}

/// Commented-out `key = example` lines, each with its doc after it, the docs in one column.
fn in_columns(lines: &[(String, &str)], out: &mut String) {
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;
    for (line, doc) in lines {
        out.push_str(&format!("{line:width$}# {}\n", doc.replace('\n', " ")));
    }
}

/// `# [t]` and each key's example, its doc as a comment after it, the comments in one column.
fn commented_table(t: &Key, scalars: &[&Key], partition: &str, out: &mut String) {
    if t.kind == Kind::TableArray {
        out.push_str(&format!("# [[{}]]\n", t.path));
    } else {
        out.push_str(&format!("# [{}]\n", t.path));
    }
    let lines: Vec<String> = scalars
        .iter()
        .map(|k| format!("# {} = {}", k.name(), example(k, partition)))
        .collect();
    let width = lines.iter().map(String::len).max().unwrap_or(0) + 1;
    for (line, k) in lines.iter().zip(scalars) {
        out.push_str(&format!("{line:width$}# {}\n", k.doc.replace('\n', " ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, PipelineType};

    pub(super) fn values() -> BTreeMap<&'static str, Value> {
        let set = |k, v: &str| (k, Value::Set(v.to_owned()));
        BTreeMap::from([
            set("pipeline.name", "demo-app-pipeline"),
            set("pipeline.account", "111111111111"),
            set("pipeline.region", "eu-west-1"),
            set(
                "pipeline.service-role-arn",
                "arn:aws:iam::111111111111:role/demo-app-codepipeline",
            ),
            set("artifacts.bucket", "demo-app-artifacts-111111111111"),
            set(
                "artifacts.kms-key-arn",
                "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
            set("source.account", "222222222222"),
            set("source.repository", "demo-app"),
            set("source.branch", "trunk"),
            set(
                "source.role-arn",
                "arn:aws:iam::222222222222:role/demo-app-cross-account",
            ),
            set("build.project", "demo-app-build"),
        ])
    }

    fn parse(text: &str) -> Result<config::Config, config::Diagnostics> {
        config::parse(text, "xpipeline.toml", "xpipeline.toml".into())
    }

    #[test]
    fn examples_follow_the_partition_of_the_region() {
        let mut values = BTreeMap::new();
        values.insert("pipeline.region", Value::Set("cn-north-1".into()));
        let text = render(&values);
        assert!(
            text.contains("\"arn:aws-cn:iam::SOURCE-ACCOUNT:role/NAME\""),
            "{text}"
        );
        assert!(!text.contains("\"arn:aws:"), "{text}");
    }

    #[test]
    fn rendered_file_loads_with_the_given_values() {
        let text = render(&values());
        let cfg = parse(&text).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(cfg.source.repository, "demo-app");
        assert_eq!(cfg.source.branch, "trunk");
        assert_eq!(cfg.pipeline.pipeline_type, PipelineType::V2);
        assert_eq!(cfg.push.role_arn, cfg.source.role_arn);
        assert!(text.starts_with("#:schema https://"));
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("# xpipeline.toml: ")
        );
        assert!(
            text.contains("\n# [tags]\n# team = \"platform\"\n"),
            "{text}"
        );
        // The deploy example is there, commented out, and is not an entry.
        assert!(text.contains("\n# [[deploy]]\n# name = "), "{text}");
        assert!(cfg.deploy.is_empty());
    }

    #[test]
    fn an_unknown_key_is_written_commented_with_how_to_find_it() {
        let mut v = values();
        v.insert(
            "artifacts.kms-key-arn",
            Value::Unknown {
                placeholder: "arn:aws:kms:eu-west-1:111111111111:key/KEY-ID".into(),
            },
        );
        let text = render(&v);
        assert!(text.contains("# kms-key-arn = \"arn:aws:kms:eu-west-1:111111111111:key/KEY-ID\""));
        assert!(text.contains("aws kms describe-key"));
        // Valid as it is: bootstrap creates the key and writes its ARN in.
        assert!(text.contains("cargo xpipeline bootstrap"));
        assert_eq!(parse(&text).unwrap().artifacts.kms_key_arn, None);
    }

    #[test]
    fn every_key_is_in_the_file_set_or_commented() {
        let text = render(&values());
        for k in keys::KEYS {
            let line = match k.kind {
                Kind::Table if k.required => format!("[{}]", k.path),
                Kind::Table | Kind::StrMap => format!("# [{}]", k.path),
                Kind::TableArray => format!("# [[{}]]", k.path),
                _ if values().contains_key(k.path) => format!("{} = ", k.name()),
                _ => format!("# {} = {}", k.name(), k.example),
            };
            assert!(text.contains(&line), "{} as {line:?} in:\n{text}", k.path);
        }
    }

    #[test]
    fn an_optional_table_with_a_value_is_written_as_a_table() {
        let mut v = values();
        v.insert("push.duration-seconds", Value::Set("900".into()));
        let text = render(&v);
        assert!(text.contains("\n[push]\n"), "{text}");
        assert!(text.contains("\nduration-seconds = 900\n"), "{text}");
        assert!(
            text.contains("\n# session-name = \"xpipeline-alice\"\n"),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap().push.duration_seconds, Some(900));
    }

    #[test]
    fn comments_of_a_commented_table_share_one_column() {
        let text = render(&values());
        let columns: Vec<usize> = text
            .lines()
            .skip_while(|l| *l != "# [push]")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.find(" # ").expect("a trailing comment") + 1)
            .collect();
        assert_eq!(columns.len(), 4);
        assert!(
            columns.iter().all(|c| *c == columns[0]),
            "{columns:?}\n{text}"
        );
    }

    #[test]
    fn values_with_quotes_and_backslashes_round_trip() {
        for s in ["a\"b", "c:\\x", "it's \"both\""] {
            let doc: toml::Table = toml::from_str(&format!("k = {}", quote(s))).unwrap();
            assert_eq!(doc["k"].as_str(), Some(s));
        }
    }
}

#[cfg(test)]
mod deploy_tests {
    use super::tests::values;
    use super::*;
    use crate::config::{self, DeployMode};

    fn entry(name: &str, account: &str, approval: bool) -> DeployEntry {
        DeployEntry {
            name: name.into(),
            account: account.into(),
            stack: format!("demo-app-{}", name.to_ascii_lowercase()),
            template: "packaged.yaml".into(),
            approval,
        }
    }

    fn two() -> String {
        render_with(
            &values(),
            &[
                entry("Staging", "333333333333", false),
                entry("Prod", "444444444444", true),
            ],
        )
    }

    fn parse(text: &str) -> Result<config::Config, config::Diagnostics> {
        config::parse(text, "xpipeline.toml", "xpipeline.toml".into())
    }

    #[test]
    fn deploy_entries_wait_for_their_execution_policies() {
        let text = two();
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("missing required key execution-policies in this [[deploy]]"),
            "{e}"
        );
        assert!(
            text.contains(
                "# REQUIRED, not set yet: the file does not load until you choose them, e.g. a\n\
                 # policy of account 444444444444 that allows what stack demo-app-prod creates:\n\
                 # execution-policies = [\"arn:aws:iam::444444444444:policy/demo-app-prod-resources\"]\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn deploy_entries_load_once_the_policies_are_chosen() {
        let text = two().replace("# execution-policies = ", "execution-policies = ");
        let cfg = parse(&text).unwrap_or_else(|d| panic!("{d}\n{text}"));
        let names: Vec<&str> = cfg.deploy.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["Staging", "Prod"]);
        let (staging, prod) = (&cfg.deploy[0], &cfg.deploy[1]);
        assert_eq!(staging.account, "333333333333");
        assert_eq!(staging.stack, "demo-app-staging");
        assert_eq!(staging.template, "packaged.yaml");
        assert_eq!(staging.mode, DeployMode::ChangeSet);
        assert_eq!(staging.approval, None);
        assert_eq!(
            prod.approval.as_ref().and_then(|a| a.comment.as_deref()),
            Some(
                "Review the change set of stack demo-app-prod in account 444444444444 before it runs"
            )
        );
        // The defaults the commented role lines show are the ones the loader fills in.
        assert_eq!(
            prod.role_arn,
            "arn:aws:iam::444444444444:role/demo-app-pipeline-deploy"
        );
        assert!(text.contains(&format!("# role-arn = \"{}\"", prod.role_arn)));
        assert!(text.contains(&format!(
            "# execution-role-arn = \"{}\"",
            prod.execution_role_arn
        )));
        // Every optional key of an entry is there, commented out, and so are the tables.
        for k in keys::children("deploy") {
            let line = match k.kind {
                Kind::StrMap | Kind::Table => format!("# [{}]", k.path),
                _ => format!("{} = ", k.name()),
            };
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        for k in keys::children("deploy.approval") {
            let line = match k.name() {
                "comment" => "\ncomment = ".to_owned(),
                _ => format!("\n# {} = ", k.name()),
            };
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert_eq!(text.matches("\n[deploy.approval]\n").count(), 1, "{text}");
        assert!(text.contains("`init --approve Staging`"), "{text}");
        // The array's doc once, above the first entry.
        assert_eq!(text.matches("# Deploy stages, after Build").count(), 1);
    }

    #[test]
    fn without_deploy_entries_the_example_is_commented_out() {
        let text = render_with(&values(), &[]);
        assert!(text.contains("\n# [[deploy]]\n"), "{text}");
        assert!(!text.contains("\n[[deploy]]\n"), "{text}");
    }
}
