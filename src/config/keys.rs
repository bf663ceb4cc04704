//! Every key of xpipeline.toml, declared once. This table drives the schema walk (unknown
//! keys, "did you mean", "belongs in [x]", values of the wrong kind, missing required keys)
//! the file `init` writes (order, comments, the commented-out examples) and the JSON Schema
//! (`json_schema.rs`: types, patterns, enums, ranges, defaults). A new key is one entry here,
//! its field in `model.rs` and its rule in `validate.rs` (then regenerate
//! `xpipeline.schema.json` with `cargo xpipeline schema`); the tests below hold the table,
//! `init`'s flags and `xpipeline.toml.example` together.

/// The kind of value a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A table of the keys declared under its path.
    Table,
    Str,
    Int,
    /// A table of string values under keys the user chooses ([build.env], [tags]).
    StrMap,
}

/// One key of xpipeline.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// The dotted path: `pipeline`, `pipeline.name`, `build.env`.
    pub path: &'static str,
    pub kind: Kind,
    /// A missing required key (or table) is reported by the schema walk.
    pub required: bool,
    /// The comment `init` writes with it (one `#` line per line of text).
    pub doc: &'static str,
    /// What `init` writes, commented out, when no flag sets it: the value as TOML text, or for
    /// a `StrMap` one `name = "value"` entry.
    pub example: &'static str,
    /// For a required key `init` may not know: how to find the value (written above it).
    pub unset_doc: &'static str,
    /// The `init` flag (without `--`) that sets it.
    pub flag: Option<&'static str>,
    /// For the JSON Schema (`json_schema.rs`): the values a string may take...
    pub values: &'static [&'static str],
    /// ...or the regular expression it matches (ECMA 262, anchored); `""`: none.
    pub pattern: &'static str,
    /// The range of an integer.
    pub range: Option<(i64, i64)>,
    /// The default when the key is absent, as JSON text; `""`: none.
    pub default: &'static str,
}

impl Key {
    /// The last segment of the path: what is written in the file.
    pub(crate) fn name(&self) -> &'static str {
        self.path.rsplit('.').next().unwrap_or(self.path)
    }

    /// The path of the table it is in; `""` for the top level.
    pub(crate) fn parent(&self) -> &'static str {
        self.path.rsplit_once('.').map_or("", |(p, _)| p)
    }
}

const fn key(path: &'static str, kind: Kind, required: bool, doc: &'static str) -> Key {
    Key {
        path,
        kind,
        required,
        doc,
        example: "",
        unset_doc: "",
        flag: None,
        values: &[],
        pattern: "",
        range: None,
        default: "",
    }
}

impl Key {
    const fn one_of(self, values: &'static [&'static str], default: &'static str) -> Key {
        Key {
            values,
            default,
            ..self
        }
    }

    const fn pattern(self, pattern: &'static str) -> Key {
        Key { pattern, ..self }
    }

    const fn range(self, min: i64, max: i64, default: &'static str) -> Key {
        Key {
            range: Some((min, max)),
            default,
            ..self
        }
    }
}

/// The patterns of the JSON Schema: the rules of `names.rs` and `arns.rs` that a regular
/// expression can say (account and region agreement cannot be: validation tells those).
const ACCOUNT: &str = "^[0-9]{12}$";
const ROLE_ARN: &str = "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$";

const fn table(path: &'static str, required: bool, doc: &'static str) -> Key {
    key(path, Kind::Table, required, doc)
}

/// A required string, set by an `init` flag.
const fn req(path: &'static str, flag: &'static str, doc: &'static str) -> Key {
    Key {
        flag: Some(flag),
        ..key(path, Kind::Str, true, doc)
    }
}

/// An optional value, written commented out as `example` unless `flag` sets it.
const fn opt(
    path: &'static str,
    kind: Kind,
    flag: Option<&'static str>,
    example: &'static str,
    doc: &'static str,
) -> Key {
    Key {
        flag,
        example,
        ..key(path, kind, false, doc)
    }
}

/// Every key, in the order `init` writes them (a table before its keys).
pub(crate) const KEYS: &[Key] = &[
    table("pipeline", true, ""),
    req(
        "pipeline.name",
        "name",
        "The CodePipeline name: 1-100 of A-Z a-z 0-9 . @ _ -",
    )
    .pattern("^[A-Za-z0-9.@_-]{1,100}$"),
    req(
        "pipeline.account",
        "pipeline-account",
        "The pipeline (tools) account: 12 digits.",
    )
    .pattern(ACCOUNT),
    req(
        "pipeline.region",
        "region",
        "One region for the pipeline, the repository, the bucket and the key.",
    )
    .pattern("^[a-z]{2}(-[a-z]+)+-[0-9]+$"),
    req(
        "pipeline.service-role-arn",
        "service-role-arn",
        "The role CodePipeline runs as, in the pipeline account. It must be allowed to\n\
         sts:AssumeRole source.role-arn.",
    )
    .pattern(ROLE_ARN),
    opt(
        "pipeline.type",
        Kind::Str,
        Some("type"),
        "\"V2\"",
        "Pipeline type: \"V2\" (default) or \"V1\".",
    )
    .one_of(&["V2", "V1"], "\"V2\""),
    opt(
        "pipeline.execution-mode",
        Kind::Str,
        Some("execution-mode"),
        "\"SUPERSEDED\"",
        "V2 only: \"SUPERSEDED\" (default), \"QUEUED\" or \"PARALLEL\".",
    )
    .one_of(&["SUPERSEDED", "QUEUED", "PARALLEL"], "\"SUPERSEDED\""),
    opt(
        "pipeline.trigger",
        Kind::Str,
        Some("trigger"),
        "\"push\"",
        "What starts an execution: \"push\" (default: `cargo xpipeline push` starts it for the exact\n\
         commit it pushed), \"poll\" (CodePipeline polls the branch) or \"events\" (EventBridge rules in both\n\
         accounts, which `cargo xpipeline bootstrap` creates).",
    )
    .one_of(&["push", "poll", "events"], "\"push\""),
    table("artifacts", true, ""),
    req(
        "artifacts.bucket",
        "bucket",
        "The S3 artifact bucket in the pipeline account; its policy must let the source role in.",
    )
    .pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
    // Not required by the file: `bootstrap` creates the key when it is unset and writes its
    // ARN here; `plan` and `push` need it (`config::require_kms_key`).
    Key {
        unset_doc: "Not known yet: the ARN of a customer managed KMS key in the pipeline account (an\n\
                    alias will not do: aliases do not resolve across accounts). `cargo xpipeline bootstrap`\n\
                    creates one and writes its ARN here; for an existing key find it with\n  \
                    aws kms describe-key --key-id alias/YOUR-ALIAS --query KeyMetadata.Arn --output text",
        ..opt(
            "artifacts.kms-key-arn",
            Kind::Str,
            Some("kms-key-arn"),
            "\"arn:aws:kms:REGION:PIPELINE-ACCOUNT:key/KEY-ID\"",
            "The customer managed KMS key that encrypts the artifacts, in the pipeline account and\n\
             region; its key policy must let the source account use it.",
        )
        .pattern(
            "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$",
        )
    },
    table("source", true, ""),
    req(
        "source.account",
        "source-account",
        "The source (CodeCommit) account: 12 digits.",
    )
    .pattern(ACCOUNT),
    req(
        "source.repository",
        "repository",
        "The CodeCommit repository in the source account.",
    )
    .pattern("^[A-Za-z0-9._-]{1,100}$"),
    req("source.branch", "branch", "The branch the pipeline builds.").pattern("^[^\\s~^:?*\\[\\\\]+$"),
    req(
        "source.role-arn",
        "source-role-arn",
        "The role in the source account that the Source action assumes, and that `push` assumes\n\
         to git-push (unless [push] role-arn says otherwise).",
    )
    .pattern(ROLE_ARN),
    opt(
        "source.external-id",
        Kind::Str,
        Some("external-id"),
        "\"...\"",
        "Sent as sts:ExternalId when assuming the source role, if the role's trust policy asks for one.",
    )
    .pattern("^[A-Za-z0-9_+=,.@:/-]{2,1224}$"),
    opt(
        "source.git-endpoint",
        Kind::Str,
        Some("git-endpoint"),
        "\"https://...\"",
        "The CodeCommit git endpoint, for a VPC endpoint, a FIPS host or an emulator.\n\
         Default: the AWS endpoint override if one is set, else https://git-codecommit.REGION.amazonaws.com",
    )
    .pattern("^https?://[^/@\\s][^@\\s]*$"),
    table("build", true, ""),
    req(
        "build.project",
        "build-project",
        "The CodeBuild project in the pipeline account that builds the source.",
    )
    .pattern("^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$"),
    opt(
        "build.env",
        Kind::StrMap,
        None,
        "RUST_LOG = \"info\"",
        "Plain environment variables for the build action.",
    ),
    table(
        "push",
        false,
        "How `push` reaches the source account (all optional).",
    ),
    opt(
        "push.role-arn",
        Kind::Str,
        None,
        "\"arn:aws:iam::SOURCE-ACCOUNT:role/NAME\"",
        "default: source.role-arn",
    )
    .pattern(ROLE_ARN),
    opt(
        "push.session-name",
        Kind::Str,
        None,
        "\"xpipeline-alice\"",
        "default: xpipeline-<local user>",
    )
    .pattern("^[A-Za-z0-9_+=,.@-]{2,64}$"),
    opt(
        "push.duration-seconds",
        Kind::Int,
        None,
        "3600",
        "900..43200; 1 hour at most when you are yourself in a role",
    )
    .range(900, 43200, "3600"),
    opt(
        "push.mfa-serial",
        Kind::Str,
        None,
        "\"arn:aws:iam::PIPELINE-ACCOUNT:mfa/alice\"",
        "prompts for the code, or --mfa-code",
    )
    .pattern("^arn:aws[a-z-]*:iam::[0-9]{12}:mfa/.+$"),
    opt(
        "tags",
        Kind::StrMap,
        None,
        "team = \"platform\"",
        "Tags for the pipeline; managed-by = \"cargo-xpipeline\" is always added.",
    ),
];

/// The key at `path`.
pub(crate) fn get(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.path == path)
}

/// The keys of the table at `table` (`""`: the top level), in table order.
pub(crate) fn children(table: &str) -> impl Iterator<Item = &'static Key> + '_ {
    KEYS.iter().filter(move |k| k.parent() == table)
}

/// The tables that declare a key named `name` (for "`x` belongs in [y]").
pub(crate) fn homes_of(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    KEYS.iter()
        .filter(move |k| k.name() == name && !k.parent().is_empty())
        .map(Key::parent)
}

#[cfg(test)]
mod tests {
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
                    at.is_some_and(|at| at < i && KEYS[at].kind == Kind::Table),
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
            ["pipeline", "artifacts", "source", "build", "push", "tags"]
        );
        let build: Vec<&str> = children("build").map(Key::name).collect();
        assert_eq!(build, ["project", "env"]);
        assert_eq!(homes_of("kms-key-arn").collect::<Vec<_>>(), ["artifacts"]);
        assert_eq!(homes_of("role-arn").collect::<Vec<_>>(), ["source", "push"]);
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
            let descend = get(&path).is_none_or(|k| k.kind == Kind::Table);
            out.insert(path.clone());
            if let (true, Some(t)) = (descend, value.as_table()) {
                paths(t, &path, out);
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
            let path = if let Some(t) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
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
}
