//! The walk of a parsed xpipeline.toml against the key table (`keys.rs`): every unknown key,
//! every value of the wrong kind and every missing required key is reported at once (serde
//! alone stops at the first one), and the values of the right kind are collected, each with
//! its span, for the rules of `validate.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Diagnostics;
use super::keys::{self, Key, Kind};

/// A value of the kind its key declares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Table,
    Str(String),
    Int(i64),
    Map(Vec<(Spanned<String>, Spanned<String>)>),
    List(Vec<Spanned<String>>),
}

/// The values of the file by key path, each with the span of its text; the entries of an
/// array of tables (`[[deploy]]`) each have their own.
#[derive(Debug, Default)]
pub(super) struct Values {
    values: BTreeMap<&'static str, Spanned<Value>>,
    arrays: BTreeMap<&'static str, Vec<Entry>>,
}

/// One table of an array of tables: its values.
#[derive(Debug)]
pub(super) struct Entry {
    pub values: Values,
}

impl Values {
    fn get(&self, path: &str, kind: Kind) -> Option<&Spanned<Value>> {
        debug_assert!(
            keys::get(path).is_some_and(|k| k.kind == kind),
            "{path} is not a {kind:?} key of src/config/keys.rs"
        );
        self.values.get(path)
    }

    pub(super) fn str(&self, path: &str) -> Option<Spanned<String>> {
        let v = self.get(path, Kind::Str)?;
        match v.get_ref() {
            Value::Str(s) => Some(Spanned::new(v.span(), s.clone())),
            _ => None,
        }
    }

    pub(super) fn int(&self, path: &str) -> Option<Spanned<i64>> {
        let v = self.get(path, Kind::Int)?;
        match v.get_ref() {
            Value::Int(n) => Some(Spanned::new(v.span(), *n)),
            _ => None,
        }
    }

    /// The span of the table at `path` when it is in the file (even with no key in it).
    pub(super) fn table(&self, path: &str) -> Option<Range<usize>> {
        self.get(path, Kind::Table).map(Spanned::span)
    }

    /// The strings of a `StrList` key, `None` when it is absent.
    pub(super) fn list(&self, path: &str) -> Option<Spanned<&[Spanned<String>]>> {
        let v = self.get(path, Kind::StrList)?;
        match v.get_ref() {
            Value::List(items) => Some(Spanned::new(v.span(), items.as_slice())),
            _ => None,
        }
    }

    /// The tables of a `TableArray` key, in file order; none when it is absent.
    pub(super) fn entries(&self, path: &str) -> &[Entry] {
        debug_assert!(
            keys::get(path).is_some_and(|k| k.kind == Kind::TableArray),
            "{path} is not an array of tables in src/config/keys.rs"
        );
        self.arrays.get(path).map_or(&[], Vec::as_slice)
    }

    /// The entries of a `StrMap` key; none when it is absent.
    pub(super) fn map(&self, path: &str) -> &[(Spanned<String>, Spanned<String>)] {
        match self.get(path, Kind::StrMap).map(Spanned::get_ref) {
            Some(Value::Map(entries)) => entries,
            _ => &[],
        }
    }
}

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
        Kind::Table | Kind::StrMap => "a table",
        Kind::StrList => "an array of strings",
        Kind::TableArray => "an array of tables",
    }
}

/// The closest known key, when it is close enough to be a likely typo.
fn did_you_mean<'a>(
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Walk the file against the key table: report what is unknown, of the wrong kind or missing,
/// and collect the rest.
pub(super) fn walk(doc: &DeTable<'_>, diags: &mut Diagnostics) -> Values {
    let mut walk = Walk {
        diags,
        values: Values::default(),
        reported: BTreeSet::new(),
    };
    walk.table(doc, "");
    walk.missing();
    walk.values
}

/// Walk one table of an array of tables at `path`: its own values, its own missing keys.
fn walk_entry(
    table: &DeTable<'_>,
    path: &str,
    span: Range<usize>,
    diags: &mut Diagnostics,
) -> Entry {
    let mut walk = Walk {
        diags,
        values: Values::default(),
        reported: BTreeSet::new(),
    };
    walk.table(table, path);
    for k in keys::children(path).filter(|k| k.required && k.kind != Kind::Table) {
        if !walk.values.values.contains_key(k.path) && !walk.reported.contains(k.path) {
            walk.diags.push(
                span.start..span.start,
                format!("missing required key {} in this [[{path}]]", k.name()),
            );
        }
    }
    Entry {
        values: walk.values,
    }
}

struct Walk<'d> {
    diags: &'d mut Diagnostics,
    values: Values,
    /// Keys already reported (a value of the wrong kind, or the key a typo most likely
    /// meant): not reported again as missing.
    reported: BTreeSet<String>,
}

impl Walk<'_> {
    fn table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            let Some(field) = keys::children(prefix).find(|k| k.name() == name) else {
                self.unknown(name, key.span(), prefix);
                continue;
            };
            let span = value.span();
            let collected = match (field.kind, value.get_ref()) {
                (Kind::Table, DeValue::Table(t)) => {
                    self.table(t, field.path);
                    Value::Table
                }
                (Kind::StrMap, DeValue::Table(t)) => Value::Map(self.str_map(t, field.path)),
                (Kind::StrList, DeValue::Array(items)) => {
                    Value::List(self.str_list(items, field.path))
                }
                (Kind::TableArray, DeValue::Array(items)) => {
                    let mut entries = Vec::new();
                    for item in items.iter() {
                        match item.get_ref() {
                            DeValue::Table(t) => {
                                entries.push(walk_entry(t, field.path, item.span(), self.diags))
                            }
                            other => self.diags.push(
                                item.span(),
                                format!(
                                    "each {} must be a table ([[{}]]), found {}",
                                    field.path,
                                    field.path,
                                    kind_name(other)
                                ),
                            ),
                        }
                    }
                    self.values.arrays.insert(field.path, entries);
                    Value::Table
                }
                (Kind::Str, DeValue::String(s)) => Value::Str(s.to_string()),
                (Kind::Int, DeValue::Integer(n)) => {
                    match i64::from_str_radix(n.as_str(), n.radix()) {
                        Ok(n) => Value::Int(n),
                        Err(_) => {
                            self.diags.push(
                                span,
                                format!("{} must fit in 64 bits, found {n}", field.path),
                            );
                            self.reported.insert(field.path.to_owned());
                            continue;
                        }
                    }
                }
                (_, other) => {
                    self.wrong_kind(field, other, span);
                    continue;
                }
            };
            self.values
                .values
                .insert(field.path, Spanned::new(span, collected));
        }
    }

    fn unknown(&mut self, name: &str, span: Range<usize>, prefix: &str) {
        let mut msg = if prefix.is_empty() {
            format!("unknown table or key `{name}`")
        } else {
            format!("unknown key `{name}` in [{prefix}]")
        };
        if let Some(hint) = did_you_mean(name, keys::children(prefix).map(Key::name)) {
            msg.push_str(&format!("; did you mean `{hint}`?"));
            self.reported.insert(join(prefix, hint));
        } else if let Some(home) = keys::homes_of(name).find(|h| *h != prefix) {
            msg.push_str(&format!("; `{name}` belongs in [{home}]"));
        } else {
            let known: Vec<&str> = keys::children(prefix).map(Key::name).collect();
            msg.push_str(&format!("; expected one of: {}", known.join(", ")));
        }
        self.diags.push(span, msg);
    }

    fn wrong_kind(&mut self, field: &Key, found: &DeValue<'_>, span: Range<usize>) {
        let mut msg = format!(
            "{} must be {}, found {}",
            field.path,
            expected(field.kind),
            kind_name(found)
        );
        if field.kind == Kind::Str && matches!(found, DeValue::Integer(_)) {
            msg.push_str(" (put it in quotes)");
        }
        if field.kind == Kind::TableArray {
            msg.push_str(&format!(" (write each entry under [[{}]])", field.path));
        }
        self.diags.push(span, msg);
        self.reported.insert(field.path.to_owned());
    }

    /// The strings of an array; the items of another kind are reported.
    fn str_list(&mut self, items: &[Spanned<DeValue<'_>>], path: &str) -> Vec<Spanned<String>> {
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                other => self.diags.push(
                    item.span(),
                    format!("{path} must hold strings, found {}", kind_name(other)),
                ),
            }
        }
        out
    }

    /// The string entries of a table of user-chosen keys; the others are reported.
    fn str_map(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
    ) -> Vec<(Spanned<String>, Spanned<String>)> {
        let mut entries = Vec::new();
        for (key, value) in table.iter() {
            match value.get_ref() {
                DeValue::String(s) => entries.push((
                    Spanned::new(key.span(), key.get_ref().to_string()),
                    Spanned::new(value.span(), s.to_string()),
                )),
                other => self.diags.push(
                    value.span(),
                    format!(
                        "{path}.{} must be a string, found {}",
                        key.get_ref(),
                        kind_name(other)
                    ),
                ),
            }
        }
        entries
    }

    /// Report the required tables, then the required keys, that are absent. A key of a missing
    /// table is reported at the top of the file, one of a present table at its header.
    fn missing(&mut self) {
        for t in keys::children("").filter(|k| k.required && k.kind == Kind::Table) {
            if !self.values.values.contains_key(t.path) {
                self.diags.push(
                    0..0,
                    format!(
                        "missing table [{}]; `cargo xpipeline init` writes a complete file",
                        t.path
                    ),
                );
            }
        }
        for k in keys::KEYS
            .iter()
            .filter(|k| k.required && k.kind != Kind::Table && !keys::in_array(k.path))
        {
            if self.values.values.contains_key(k.path) || self.reported.contains(k.path) {
                continue;
            }
            let at = self
                .values
                .values
                .get(k.parent())
                .map_or(0, |t| t.span().start);
            self.diags.push(
                at..at,
                format!("missing required key {} in [{}]", k.path, k.parent()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(table: &str) -> impl Iterator<Item = &'static str> + '_ {
        keys::children(table).map(Key::name)
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("regoin", names("pipeline")), Some("region"));
        assert_eq!(did_you_mean("acount", names("pipeline")), Some("account"));
        assert_eq!(did_you_mean("zzz", names("pipeline")), None);
    }

    fn walked(text: &str) -> (Values, Vec<String>) {
        let mut diags = Diagnostics::new("x.toml", text);
        let (doc, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty(), "{errors:?}");
        let values = walk(doc.get_ref(), &mut diags);
        let messages = diags.sorted().iter().map(|d| d.message.clone()).collect();
        (values, messages)
    }

    #[test]
    fn values_are_collected_with_their_spans() {
        let text = "[push]\nduration-seconds = 0x10\nrole-arn = \"r\"\n[tags]\na = \"b\"\n";
        let (values, _) = walked(text);
        let d = values.int("push.duration-seconds").unwrap();
        assert_eq!((*d.get_ref(), &text[d.span()]), (16, "0x10"));
        let r = values.str("push.role-arn").unwrap();
        assert_eq!(&text[r.span()], "\"r\"");
        let tags = values.map("tags");
        assert_eq!(tags.len(), 1);
        assert_eq!(
            (tags[0].0.get_ref().as_str(), &text[tags[0].0.span()]),
            ("a", "a")
        );
        assert!(values.map("build.env").is_empty());
        assert_eq!(values.str("push.session-name"), None);
    }

    #[test]
    fn missing_tables_come_before_missing_keys_and_typos_are_not_missing() {
        let (_, messages) = walked("[source]\nacount = \"1\"\n");
        assert_eq!(
            messages,
            [
                "missing table [pipeline]; `cargo xpipeline init` writes a complete file",
                "missing table [artifacts]; `cargo xpipeline init` writes a complete file",
                "missing table [build]; `cargo xpipeline init` writes a complete file",
                "missing required key pipeline.name in [pipeline]",
                "missing required key pipeline.account in [pipeline]",
                "missing required key pipeline.region in [pipeline]",
                "missing required key pipeline.service-role-arn in [pipeline]",
                "missing required key artifacts.bucket in [artifacts]",
                "missing required key source.repository in [source]",
                "missing required key source.branch in [source]",
                "missing required key source.role-arn in [source]",
                "missing required key build.project in [build]",
                "unknown key `acount` in [source]; did you mean `account`?",
            ]
        );
    }

    #[test]
    fn wrong_kinds_are_reported_once() {
        let (values, messages) = walked("[pipeline]\nname = 3\n[build]\nenv = 1\n");
        assert_eq!(values.str("pipeline.name"), None);
        assert!(messages.contains(
            &"pipeline.name must be a string, found an integer (put it in quotes)".to_owned()
        ));
        assert!(messages.contains(&"build.env must be a table, found an integer".to_owned()));
        assert!(
            !messages
                .iter()
                .any(|m| m.contains("missing required key pipeline.name"))
        );
    }
}
