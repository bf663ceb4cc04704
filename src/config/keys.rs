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
    /// An array of strings (`values` or `pattern` apply to each).
    StrList,
    /// An array of tables (`[[deploy]]`), each one of the keys declared under its path.
    TableArray,
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
    Key {
        example: "[[deploy]]",
        ..key(
            "deploy",
            Kind::TableArray,
            false,
            "Deploy stages, after Build in file order: one [[deploy]] per CloudFormation stack in a target\n\
             account. `cargo xpipeline bootstrap` creates the roles in each target account.",
        )
    },
    Key {
        example: "\"Staging\"",
        ..key("deploy.name", Kind::Str, true, "The stage name.")
    }
    .pattern("^[A-Za-z0-9.@_-]{1,100}$"),
    Key {
        example: "\"333333333333\"",
        ..key(
            "deploy.account",
            Kind::Str,
            true,
            "The target account the stack is deployed into: 12 digits.",
        )
    }
    .pattern(ACCOUNT),
    Key {
        example: "\"hello-staging\"",
        ..key(
            "deploy.stack",
            Kind::Str,
            true,
            "The CloudFormation stack: a letter, then letters, digits and -, at most 128.",
        )
    }
    .pattern("^[A-Za-z][A-Za-z0-9-]{0,127}$"),
    Key {
        example: "\"packaged.yaml\"",
        ..key(
            "deploy.template",
            Kind::Str,
            true,
            "The template: a file of the build's output artifact.",
        )
    },
    opt(
        "deploy.template-configuration",
        Kind::Str,
        None,
        "\"staging.json\"",
        "A template configuration file of the build's output artifact (parameters, tags, policy).",
    ),
    opt(
        "deploy.capabilities",
        Kind::StrList,
        None,
        "[\"CAPABILITY_NAMED_IAM\", \"CAPABILITY_AUTO_EXPAND\"]",
        "What the template may do: CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND.",
    )
    .one_of(
        &["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        "[\"CAPABILITY_NAMED_IAM\", \"CAPABILITY_AUTO_EXPAND\"]",
    ),
    opt(
        "deploy.mode",
        Kind::Str,
        None,
        "\"change-set\"",
        "\"change-set\" (default: a change set, the approval if any, then its execution) or \"direct\"\n\
         (the stack created or updated in one step, no approval).",
    )
    .one_of(&["change-set", "direct"], "\"change-set\""),
    opt(
        "deploy.region",
        Kind::Str,
        None,
        "\"eu-west-1\"",
        "Only the pipeline's region for now (the artifact store is there).",
    )
    .pattern("^[a-z]{2}(-[a-z]+)+-[0-9]+$"),
    opt(
        "deploy.role-arn",
        Kind::Str,
        None,
        "\"arn:aws:iam::333333333333:role/hello-pipeline-deploy\"",
        "The role CodePipeline assumes to deploy, in the target account; default PIPELINE-deploy,\n\
         which bootstrap creates.",
    )
    .pattern(ROLE_ARN),
    opt(
        "deploy.execution-role-arn",
        Kind::Str,
        None,
        "\"arn:aws:iam::333333333333:role/hello-pipeline-cfn-execution\"",
        "The role CloudFormation runs as, in the deploy role's account (AWS refuses to pass a role\n\
         of another account); default PIPELINE-cfn-execution, which bootstrap creates.",
    )
    .pattern(ROLE_ARN),
    Key {
        example: "[\"arn:aws:iam::aws:policy/AmazonSSMFullAccess\"]",
        ..key(
            "deploy.execution-policies",
            Kind::StrList,
            true,
            "The managed policies of the execution role: what the stack's resources need, and no\n\
             more (there is no administrator default).",
        )
    }
    .pattern("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$"),
    opt(
        "deploy.outputs-file",
        Kind::Str,
        None,
        "\"outputs.json\"",
        "A JSON file of the stack's outputs, written into the stage's output artifact.",
    ),
    opt(
        "deploy.parameters",
        Kind::StrMap,
        None,
        "CommitId = \"#{SourceVariables.CommitId}\"",
        "Template parameters (ParameterOverrides); #{SourceVariables.CommitId} is the built commit.",
    ),
    table(
        "deploy.approval",
        false,
        "A manual approval between the change set and its execution (change-set mode only).",
    ),
    opt(
        "deploy.approval.notification-arn",
        Kind::Str,
        None,
        "\"arn:aws:sns:eu-west-1:111111111111:approvals\"",
        "An SNS topic told when the approval waits.",
    )
    .pattern("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$"),
    opt(
        "deploy.approval.external-link",
        Kind::Str,
        None,
        "\"https://staging.example.com\"",
        "A link for the approver to review.",
    )
    .pattern("^https?://.+$"),
    opt(
        "deploy.approval.comment",
        Kind::Str,
        None,
        "\"Check staging first\"",
        "What the approver is asked.",
    ),
    opt(
        "deploy.approval.timeout-minutes",
        Kind::Int,
        None,
        "1440",
        "5..86400; default 10080 (7 days), after which the approval fails.",
    )
    .range(5, 86400, "10080"),
];

/// Whether the key at `path` is inside an array of tables (and so may be set once per entry).
pub(crate) fn in_array(path: &str) -> bool {
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('.') {
        if get(parent).is_some_and(|k| k.kind == Kind::TableArray) {
            return true;
        }
        p = parent;
    }
    false
}

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
#[path = "keys_tests.rs"]
mod tests;
