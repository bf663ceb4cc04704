//! Our statements merged into a live policy, by Sid: a statement of ours that is missing is
//! added, one that differs is replaced where it stands, a retired one of ours is removed, and
//! every other statement is written back byte for byte as AWS returned it. Two documents that
//! differ only in what AWS rewrites (a one-element list for a string, the order of a list) are
//! the same: bootstrap makes no write call for them.

use serde_json::Value;
use serde_json::value::RawValue;

/// The policy to write, and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
}

impl Merged {
    /// "adds A, B; corrects C; removes D".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (verb, sids) in [
            ("adds", &self.added),
            ("corrects", &self.replaced),
            ("removes", &self.removed),
        ] {
            if !sids.is_empty() {
                parts.push(format!("{verb} {}", sids.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// The same policy once AWS's rewrites are undone: one-element lists as their element, lists
/// in a stable order.
fn normal(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => normal(&items[0]),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normal).collect();
            items.sort_by_key(|i| i.to_string());
            Value::Array(items)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

/// Whether two policy fragments mean the same.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normal(a) == normal(b)
}

/// `ours` (a whole document whose statements all have a Sid) merged into the live policy
/// `live` (its text as AWS returned it; `None` when there is none). `None` when nothing would
/// change; an error when the live policy is not a JSON policy document.
pub fn merge(live: Option<&str>, ours: &Value, retired: &[&str]) -> Result<Option<Merged>, String> {
    let our_statements = ours["Statement"].as_array().cloned().unwrap_or_default();
    let sid = |s: &Value| s["Sid"].as_str().map(str::to_owned);
    let Some(live) = live.filter(|t| !t.trim().is_empty()) else {
        return Ok(Some(Merged {
            text: pretty(ours),
            added: our_statements.iter().filter_map(sid).collect(),
            replaced: vec![],
            removed: vec![],
        }));
    };
    let top: serde_json::Map<String, Value> =
        serde_json::from_str(live).map_err(|e| format!("the policy is not a JSON object: {e}"))?;
    // The statements again, unparsed: the ones that are not ours are written back as they are.
    let raw: std::collections::BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(live).map_err(|e| e.to_string())?;
    let raw_statements: Vec<Box<RawValue>> = match raw.get("Statement") {
        None => vec![],
        Some(r) if r.get().trim_start().starts_with('[') => {
            serde_json::from_str(r.get()).map_err(|e| e.to_string())?
        }
        Some(r) => vec![r.clone()],
    };

    let mut out: Vec<String> = Vec::new();
    let mut merged = Merged {
        text: String::new(),
        added: vec![],
        replaced: vec![],
        removed: vec![],
    };
    let mut seen = Vec::new();
    for r in &raw_statements {
        let v: Value = serde_json::from_str(r.get()).map_err(|e| e.to_string())?;
        let live_sid = sid(&v);
        match live_sid.as_deref() {
            Some(s) if retired.contains(&s) => merged.removed.push(s.to_owned()),
            Some(s) if !seen.iter().any(|x| x == s) => {
                match our_statements.iter().find(|o| o["Sid"] == s) {
                    Some(o) => {
                        seen.push(s.to_owned());
                        if equivalent(o, &v) {
                            out.push(r.get().to_owned());
                        } else {
                            merged.replaced.push(s.to_owned());
                            out.push(compact(o));
                        }
                    }
                    None => out.push(r.get().to_owned()),
                }
            }
            _ => out.push(r.get().to_owned()),
        }
    }
    for o in &our_statements {
        if let Some(s) = sid(o).filter(|s| !seen.contains(s)) {
            merged.added.push(s);
            out.push(compact(o));
        }
    }
    if merged.added.is_empty() && merged.replaced.is_empty() && merged.removed.is_empty() {
        return Ok(None);
    }
    // The document's other members (Version, Id) as they were, the statements after them.
    let mut text = String::from("{");
    let version = top
        .get("Version")
        .cloned()
        .unwrap_or_else(|| ours["Version"].clone());
    text.push_str(&format!("\n  \"Version\": {version}"));
    for (k, r) in &raw {
        if k != "Version" && k != "Statement" {
            text.push_str(&format!(",\n  {}: {}", Value::String(k.clone()), r.get()));
        }
    }
    text.push_str(",\n  \"Statement\": [");
    for (i, s) in out.iter().enumerate() {
        text.push_str(if i == 0 { "\n    " } else { ",\n    " });
        text.push_str(s);
    }
    text.push_str("\n  ]\n}");
    merged.text = text;
    Ok(Some(merged))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ours() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::2:role/r"}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"}
        ]})
    }

    const FOREIGN: &str = r#"{ "Sid" : "Theirs",   "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::9:root"},"Action":"kms:Decrypt","Resource":"*" }"#;

    #[test]
    fn no_live_policy_is_ours_whole() {
        let m = merge(None, &ours(), &[]).unwrap().unwrap();
        assert_eq!(m.added, ["A", "B"]);
        assert_eq!(serde_json::from_str::<Value>(&m.text).unwrap(), ours());
    }

    #[test]
    fn foreign_statements_are_kept_byte_for_byte_and_ours_added() {
        let live = format!(
            r#"{{"Version":"2012-10-17","Id":"key-consolepolicy-3","Statement":[{FOREIGN}]}}"#
        );
        let m = merge(Some(&live), &ours(), &[]).unwrap().unwrap();
        assert_eq!(m.added, ["A", "B"]);
        assert!(m.text.contains(FOREIGN), "{}", m.text);
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["Id"], "key-consolepolicy-3");
        assert_eq!(v["Statement"].as_array().unwrap().len(), 3);
        // Merging again changes nothing.
        assert_eq!(merge(Some(&m.text), &ours(), &[]).unwrap(), None);
    }

    #[test]
    fn a_statement_of_ours_that_differs_is_corrected_in_place() {
        let live = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"A","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::2:role/r"}},"Action":"kms:Decrypt","Resource":"*","Condition":{{"StringEquals":{{"sts:ExternalId":"x"}}}}}},{FOREIGN}]}}"#
        );
        let m = merge(Some(&live), &ours(), &[]).unwrap().unwrap();
        assert_eq!(
            (m.replaced.as_slice(), m.added.as_slice()),
            (&["A".to_owned()][..], &["B".to_owned()][..])
        );
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["Statement"][0], ours()["Statement"][0]);
        assert_eq!(m.summary(), "adds B; corrects A");
    }

    #[test]
    fn what_aws_rewrites_is_no_change_and_retired_sids_go() {
        let live = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"B","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"]},"Action":["kms:*"],"Resource":"*"},
            {"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::2:role/r"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":["*"]}]}"#;
        assert_eq!(merge(Some(live), &ours(), &[]).unwrap(), None);
        let with_old = live.replace("\"Sid\":\"B\"", "\"Sid\":\"Old\"");
        let m = merge(Some(&with_old), &ours(), &["Old"]).unwrap().unwrap();
        assert_eq!(
            (m.removed.clone(), m.added.clone()),
            (vec!["Old".to_owned()], vec!["B".to_owned()])
        );
    }

    #[test]
    fn a_single_statement_object_and_garbage() {
        let live = format!(r#"{{"Version":"2012-10-17","Statement":{FOREIGN}}}"#);
        let m = merge(Some(&live), &ours(), &[]).unwrap().unwrap();
        assert!(m.text.contains(FOREIGN));
        assert!(merge(Some("not json"), &ours(), &[]).is_err());
    }
}
