//! Editing xpipeline.toml in place: `bootstrap` writes the ARN of the key it created into
//! artifacts.kms-key-arn, keeping every comment and the layout of the file (toml_edit). Where
//! `init` left the key commented out with how to find it, the real line takes the place of that
//! placeholder, so the file reads as if `init` had been given `--kms-key-arn`. Pure: text in,
//! text out.

use toml_edit::{DocumentMut, Item, Table, value};

use super::keys;

const KEY: &str = "kms-key-arn";

/// `text` with `artifacts.kms-key-arn = arn`, or why that cannot be done.
pub(crate) fn with_kms_key_arn(text: &str, arn: &str) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("cannot edit it: {e}"))?;
    let artifacts = doc
        .get("artifacts")
        .and_then(Item::as_table)
        .ok_or("it has no [artifacts] table")?;
    if artifacts.contains_key(KEY) {
        return Err("artifacts.kms-key-arn is already set".to_owned());
    }
    let after = artifacts.position();
    let key = keys::get("artifacts.kms-key-arn").expect("the key table declares kms-key-arn");
    let doc_lines = comment_lines(key.doc);
    let unset_lines = comment_lines(key.unset_doc);

    // What follows the last key of [artifacts] (init's placeholder, if any) is the prefix of
    // the next table in the file.
    let mut prefix = doc_lines.join("");
    if let Some(path) = after.and_then(|at| next_table(doc.as_table(), at, &mut Vec::new())) {
        let next = table_mut(doc.as_table_mut(), &path).expect("found above");
        let old = next
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_owned();
        let lines: Vec<&str> = old.split_inclusive('\n').collect();
        let placeholder = lines
            .iter()
            .position(|l| l.starts_with(&format!("# {KEY} = ")));
        if let Some(at) = placeholder {
            // The comments above the placeholder are the key's own (init's doc); the lines
            // saying how to find the value are no longer true.
            prefix = lines[..at]
                .iter()
                .filter(|l| !unset_lines.iter().any(|u| u == *l))
                .copied()
                .collect();
            let rest: String = lines[at + 1..].concat();
            next.decor_mut().set_prefix(rest);
        }
    }
    let artifacts = doc["artifacts"]
        .as_table_mut()
        .expect("checked to be a table above");
    artifacts.insert(KEY, value(arn));
    if let Some(mut k) = artifacts.key_mut(KEY) {
        k.leaf_decor_mut().set_prefix(prefix);
    }
    Ok(doc.to_string())
}

/// `text` as the `# ` lines init writes for it.
fn comment_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// The dotted path of the table that comes first in the file after position `at`.
fn next_table(t: &Table, at: isize, path: &mut Vec<String>) -> Option<Vec<String>> {
    let mut all = Vec::new();
    tables(t, path, &mut all);
    all.into_iter()
        .filter(|(p, _)| *p > at)
        .min_by_key(|(p, _)| *p)
        .map(|(_, path)| path)
}

/// Every table under `t` with its position in the file.
fn tables(t: &Table, path: &mut Vec<String>, out: &mut Vec<(isize, Vec<String>)>) {
    for (name, item) in t.iter() {
        if let Some(inner) = item.as_table() {
            path.push(name.to_owned());
            if let Some(p) = inner.position() {
                out.push((p, path.clone()));
            }
            tables(inner, path, out);
            path.pop();
        }
    }
}

fn table_mut<'t>(t: &'t mut Table, path: &[String]) -> Option<&'t mut Table> {
    path.iter()
        .try_fold(t, |t, name| t.get_mut(name).and_then(Item::as_table_mut))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::template::{Value, render};

    const ARN: &str = "arn:aws:kms:eu-west-1:111111111111:key/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab";

    fn values(kms: Value) -> BTreeMap<&'static str, Value> {
        let set = |v: &str| Value::Set(v.to_owned());
        BTreeMap::from([
            ("pipeline.name", set("hello-pipeline")),
            ("pipeline.account", set("111111111111")),
            ("pipeline.region", set("eu-west-1")),
            (
                "pipeline.service-role-arn",
                set("arn:aws:iam::111111111111:role/hello-codepipeline"),
            ),
            ("artifacts.bucket", set("hello-artifacts-111111111111")),
            ("artifacts.kms-key-arn", kms),
            ("source.account", set("222222222222")),
            ("source.repository", set("hello")),
            ("source.branch", set("main")),
            (
                "source.role-arn",
                set("arn:aws:iam::222222222222:role/hello-cross-account"),
            ),
            ("build.project", set("hello-build")),
        ])
    }

    #[test]
    fn the_file_init_wrote_reads_as_if_init_had_been_given_the_key() {
        let before = render(&values(Value::Unknown {
            placeholder: "arn:aws:kms:eu-west-1:111111111111:key/KEY-ID".into(),
        }));
        let after = with_kms_key_arn(&before, ARN).unwrap();
        assert_eq!(after, render(&values(Value::Set(ARN.into()))));
    }

    #[test]
    fn a_hand_written_file_keeps_every_comment_and_gets_the_key_with_its_doc() {
        let before = "# my pipeline, edited by hand\n[pipeline]\nname = \"p\" # trailing note\n\n[artifacts]\n# where\nbucket = \"b\"\n\n# the source side\n[source]\naccount = \"222222222222\"\n";
        let after = with_kms_key_arn(before, ARN).unwrap();
        let expected = before.replace(
            "bucket = \"b\"\n",
            &format!(
                "bucket = \"b\"\n{}kms-key-arn = \"{ARN}\"\n",
                comment_lines(keys::get("artifacts.kms-key-arn").unwrap().doc).concat()
            ),
        );
        assert_eq!(after, expected);
    }

    #[test]
    fn the_last_table_and_an_already_set_key() {
        let after = with_kms_key_arn("[artifacts]\nbucket = \"b\"\n", ARN).unwrap();
        assert!(
            after.ends_with(&format!("kms-key-arn = \"{ARN}\"\n")),
            "{after}"
        );
        let set = with_kms_key_arn(&after, ARN).unwrap_err();
        assert!(set.contains("already set"), "{set}");
        assert!(with_kms_key_arn("[pipeline]\n", ARN).is_err());
    }
}
