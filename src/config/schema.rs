//! The keys xpipeline.toml may hold and the kind of value each takes. The loader walks the
//! parsed file against this table first, so that every unknown key and every value of the
//! wrong kind is reported at once (serde alone stops at the first one).

use std::collections::BTreeSet;

use toml::de::{DeTable, DeValue};

use super::Diagnostics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Table(&'static [Field]),
    /// A table of string values under user-chosen keys ([build.env], [tags]).
    StrMap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub kind: Kind,
}

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

pub const PIPELINE: &[Field] = &[
    f("name", Kind::Str),
    f("account", Kind::Str),
    f("region", Kind::Str),
    f("service-role-arn", Kind::Str),
    f("type", Kind::Str),
    f("execution-mode", Kind::Str),
    f("trigger", Kind::Str),
];
pub const ARTIFACTS: &[Field] = &[f("bucket", Kind::Str), f("kms-key-arn", Kind::Str)];
pub const SOURCE: &[Field] = &[
    f("account", Kind::Str),
    f("repository", Kind::Str),
    f("branch", Kind::Str),
    f("role-arn", Kind::Str),
    f("external-id", Kind::Str),
    f("git-endpoint", Kind::Str),
];
pub const BUILD: &[Field] = &[f("project", Kind::Str), f("env", Kind::StrMap)];
pub const PUSH: &[Field] = &[
    f("role-arn", Kind::Str),
    f("session-name", Kind::Str),
    f("duration-seconds", Kind::Int),
    f("mfa-serial", Kind::Str),
];
pub const ROOT: &[Field] = &[
    f("pipeline", Kind::Table(PIPELINE)),
    f("artifacts", Kind::Table(ARTIFACTS)),
    f("source", Kind::Table(SOURCE)),
    f("build", Kind::Table(BUILD)),
    f("push", Kind::Table(PUSH)),
    f("tags", Kind::StrMap),
];

fn kind_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Int => "an integer",
        Kind::Table(_) | Kind::StrMap => "a table",
    }
}

fn matches(kind: Kind, v: &DeValue<'_>) -> bool {
    matches!(
        (kind, v),
        (Kind::Str, DeValue::String(_))
            | (Kind::Int, DeValue::Integer(_))
            | (Kind::Table(_) | Kind::StrMap, DeValue::Table(_))
    )
}

/// The closest known key, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Which table a key belongs in, when it was written in another one.
fn home_of(key: &str) -> Option<&'static str> {
    ROOT.iter().find_map(|t| match t.kind {
        Kind::Table(fields) if fields.iter().any(|f| f.key == key) => Some(t.key),
        _ => None,
    })
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Check every key of `table` against `fields`, report the unknown ones and the values of the
/// wrong kind, and drop them so that what remains deserializes.
///
/// `reported` receives the paths of keys already reported (a value of the wrong kind, or the
/// key a typo most likely meant), so that they are not reported again as missing.
pub fn check_table(
    table: &mut DeTable<'_>,
    fields: &[Field],
    prefix: &str,
    diags: &mut Diagnostics,
    reported: &mut BTreeSet<String>,
) {
    let mut drop = Vec::new();
    for (key, value) in table.iter_mut() {
        let name: &str = key.get_ref();
        let path = join(prefix, name);
        let Some(field) = fields.iter().find(|f| f.key == name) else {
            let mut msg = if prefix.is_empty() {
                format!("unknown table or key `{name}`")
            } else {
                format!("unknown key `{name}` in [{prefix}]")
            };
            if let Some(hint) = did_you_mean(name, fields.iter().map(|f| f.key)) {
                msg.push_str(&format!("; did you mean `{hint}`?"));
                reported.insert(join(prefix, hint));
            } else if let Some(home) = home_of(name).filter(|h| *h != prefix) {
                msg.push_str(&format!("; `{name}` belongs in [{home}]"));
            } else {
                let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
                msg.push_str(&format!("; expected one of: {}", known.join(", ")));
            }
            diags.push(key.span(), msg);
            drop.push(key.clone());
            continue;
        };
        if !matches(field.kind, value.get_ref()) {
            let mut msg = format!(
                "{path} must be {}, found {}",
                expected(field.kind),
                kind_name(value.get_ref())
            );
            if field.kind == Kind::Str && matches!(value.get_ref(), DeValue::Integer(_)) {
                msg.push_str(" (put it in quotes)");
            }
            diags.push(value.span(), msg);
            reported.insert(path);
            drop.push(key.clone());
            continue;
        }
        let span = value.span();
        match (field.kind, value.get_mut()) {
            (Kind::Table(inner), DeValue::Table(t)) => {
                check_table(t, inner, &path, diags, reported)
            }
            (Kind::StrMap, DeValue::Table(t)) => check_str_map(t, &path, span, diags),
            _ => {}
        }
    }
    for key in drop {
        table.remove(&key);
    }
}

fn check_str_map(
    table: &mut DeTable<'_>,
    path: &str,
    _span: std::ops::Range<usize>,
    diags: &mut Diagnostics,
) {
    let mut drop = Vec::new();
    for (key, value) in table.iter() {
        if !matches!(value.get_ref(), DeValue::String(_)) {
            diags.push(
                value.span(),
                format!(
                    "{path}.{} must be a string, found {}",
                    key.get_ref(),
                    kind_name(value.get_ref())
                ),
            );
            drop.push(key.clone());
        }
    }
    for key in drop {
        table.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            did_you_mean("regoin", PIPELINE.iter().map(|f| f.key)),
            Some("region")
        );
        assert_eq!(
            did_you_mean("acount", PIPELINE.iter().map(|f| f.key)),
            Some("account")
        );
        assert_eq!(did_you_mean("zzz", PIPELINE.iter().map(|f| f.key)), None);
    }

    #[test]
    fn knows_where_a_misplaced_key_belongs() {
        assert_eq!(home_of("kms-key-arn"), Some("artifacts"));
        assert_eq!(home_of("project"), Some("build"));
        assert_eq!(home_of("nope"), None);
    }
}
