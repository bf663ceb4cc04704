//! The key table's own tests: its order and docs, `init`'s flags, and xpipeline.toml.example
//! in step with it.

use std::collections::BTreeSet;

use clap::CommandFactory;

use super::*;

const EXAMPLE: &str = include_str!("../../xpipeline.toml.example");

#[test]
fn every_table_is_declared_before_its_keys() {
    for (i, k) in KEYS.iter().enumerate() {
        let parent = k.parent();
        if !parent.is_empty() {
            let at = KEYS.iter().position(|t| t.path == parent);
            assert!(
                at.is_some_and(
                    |at| at < i && matches!(KEYS[at].kind, Kind::Table | Kind::TableArray)
                ),
                "{}: its table {parent} must be declared above it",
                k.path
            );
        }
        assert_eq!(get(k.path), Some(k), "{} is declared twice", k.path);
        assert!(
            !k.doc.is_empty() || (k.kind == Kind::Table && k.required),
            "{} needs a doc comment",
            k.path
        );
        assert!(
            k.required || k.example.is_empty() == (k.kind == Kind::Table),
            "optional {} needs an example (and a table none)",
            k.path
        );
    }
}

#[test]
fn lookups_follow_the_paths() {
    assert_eq!(get("pipeline.name").map(Key::name), Some("name"));
    assert_eq!(get("build.env").map(Key::parent), Some("build"));
    let top: Vec<&str> = children("").map(|k| k.path).collect();
    assert_eq!(
        top,
        [
            "pipeline",
            "artifacts",
            "source",
            "build",
            "push",
            "tags",
            "deploy"
        ]
    );
    assert!(in_array("deploy.approval.comment") && in_array("deploy.name"));
    assert!(!in_array("deploy") && !in_array("push.role-arn"));
    let build: Vec<&str> = children("build").map(Key::name).collect();
    assert_eq!(build, ["project", "env"]);
    assert_eq!(homes_of("kms-key-arn").collect::<Vec<_>>(), ["artifacts"]);
    assert_eq!(
        homes_of("role-arn").collect::<Vec<_>>(),
        ["source", "push", "deploy"]
    );
    assert_eq!(homes_of("pipeline").count(), 0);
}

/// Every flag of the table is a flag of `init`, and every `init` flag that fills a key is
/// in the table.
#[test]
fn init_flags_are_the_flags_of_the_table() {
    let cargo = crate::cli::CargoCli::command();
    let cli = cargo.find_subcommand("xpipeline").expect("cargo xpipeline");
    let init = cli.find_subcommand("init").expect("an init command");
    let flags: BTreeSet<&str> = init
        .get_arguments()
        .filter_map(|a| a.get_long())
        // --deploy NAME=ACCOUNT and --approve NAME write whole [[deploy]] entries
        // (commands/init.rs), not one key.
        .filter(|f| !["force", "help", "deploy", "approve"].contains(f))
        .filter(|f| cli.get_arguments().all(|g| g.get_long() != Some(f)))
        .collect();
    let table: BTreeSet<&str> = KEYS.iter().filter_map(|k| k.flag).collect();
    // --region is the global flag: init reads it, every other command checks it.
    let mut expected = flags.clone();
    expected.insert("region");
    assert_eq!(table, expected);
}

/// The example with its commented-out keys and tables uncommented, so that a key documented
/// only in a comment counts too.
fn example_uncommented() -> String {
    EXAMPLE
        .lines()
        .map(|line| {
            let bare = line.strip_prefix('#').map(str::trim_start);
            match bare {
                Some(b) if b.starts_with('[') && b.ends_with(']') => b,
                Some(b)
                    if b.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty()
                            && k.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                    }) =>
                {
                    b
                }
                _ => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (name, value) in table {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let kind = get(&path).map(|k| k.kind);
        out.insert(path.clone());
        match (kind, value) {
            (None | Some(Kind::Table), toml::Value::Table(t)) => paths(t, &path, out),
            (Some(Kind::TableArray), toml::Value::Array(items)) => {
                for t in items.iter().filter_map(toml::Value::as_table) {
                    paths(t, &path, out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_example_documents_every_key_of_the_table_and_no_other() {
    let doc: toml::Table = example_uncommented()
        .parse()
        .unwrap_or_else(|e| panic!("xpipeline.toml.example: {e}"));
    let mut in_example = BTreeSet::new();
    paths(&doc, "", &mut in_example);
    let in_table: BTreeSet<String> = KEYS.iter().map(|k| k.path.to_owned()).collect();
    let missing: Vec<&String> = in_table.difference(&in_example).collect();
    let unknown: Vec<&String> = in_example.difference(&in_table).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "xpipeline.toml.example and src/config/keys.rs disagree\n  \
         keys of the table not in the example: {missing:?}\n  \
         keys of the example not in the table (or in the wrong table): {unknown:?}"
    );
}

#[test]
fn the_example_explains_every_key_in_a_comment_above_it() {
    let uncommented = example_uncommented();
    let lines: Vec<&str> = uncommented.lines().collect();
    let original: Vec<&str> = EXAMPLE.lines().collect();
    let mut table = String::new();
    for (i, line) in lines.iter().enumerate() {
        let header = line
            .strip_prefix("[[")
            .and_then(|l| l.strip_suffix("]]"))
            .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
        let path = if let Some(t) = header {
            table = t.to_owned();
            t.to_owned()
        } else if let Some((k, _)) = line.split_once(" = ") {
            format!("{table}.{k}")
        } else {
            continue;
        };
        let Some(key) = get(&path) else { continue };
        if key.kind == Kind::Table && key.required {
            continue;
        }
        // A comment line, not a commented-out key.
        let explained = i
            .checked_sub(1)
            .is_some_and(|j| original[j].starts_with('#') && original[j] == lines[j]);
        assert!(
            explained,
            "xpipeline.toml.example: {path} (line {}) needs a comment right above it",
            i + 1
        );
    }
}
