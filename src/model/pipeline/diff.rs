//! The structural diff between the declared and the live pipeline, after normalising what AWS
//! fills in or hides: default runOrder 1, empty lists and maps, absent pipelineType (V1) and
//! executionMode (SUPERSEDED), an action region equal to the pipeline's, a manual approval's
//! timeout of AWS's default 7 days, masked `****` values, version and metadata; the JSON
//! strings of CodeBuild's EnvironmentVariables and CloudFormation's ParameterOverrides are
//! compared as what they say. Pure: JSON in (see `declare::to_json`), a list of changes out.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// AWS shows secret configuration values as this.
pub const MASK: &str = "****";

/// A manual approval's timeout when none is declared: 7 days (CodePipeline's quotas).
pub const APPROVAL_DEFAULT_TIMEOUT_MINUTES: i64 = 7 * 24 * 60;

/// One difference: at `path`, the live pipeline has `old` and the declaration says `new`.
/// `old` is `None` for something added, `new` is `None` for something removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Change {
    /// The name of the stage when the change adds or removes a whole stage.
    pub fn whole_stage(&self) -> Option<&str> {
        (self.element() == Some("stage"))
            .then(|| self.path.strip_prefix("stages[")?.strip_suffix(']'))
            .flatten()
    }

    /// "stage" or "action" when the path names a whole stage or action.
    fn element(&self) -> Option<&'static str> {
        if !self.path.ends_with(']') {
            None
        } else if self
            .path
            .rfind(".actions[")
            .is_some_and(|i| !self.path[i..].contains("]."))
        {
            Some("action")
        } else if self.path.starts_with("stages[") && !self.path.contains("].") {
            Some("stage")
        } else {
            None
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new, self.element()) {
            (None, Some(_), Some(what)) => write!(f, "{}: {what} added", self.path),
            (Some(_), None, Some(what)) => write!(f, "{}: {what} removed", self.path),
            (old, new, _) => write!(f, "{}: {} -> {}", self.path, shown(old), shown(new)),
        }
    }
}

fn shown(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// The changes that turn `live` into `declared`. `region` is the pipeline's region: an action
/// region equal to it is the same as none.
pub fn diff(declared: &Value, live: &Value, region: &str) -> Vec<Change> {
    let declared = normalise(declared, region);
    let live = normalise(live, region);
    let mut out = Vec::new();
    walk("", Some(&live), Some(&declared), &mut out);
    out
}

/// Everything a pipeline about to be created will have, as changes from nothing.
pub fn creation(declared: &Value, region: &str) -> Vec<Change> {
    let declared = normalise(declared, region);
    let mut out = Vec::new();
    walk(
        "",
        Some(&Value::Object(Map::new())),
        Some(&declared),
        &mut out,
    );
    out
}

/// Tags the declaration wants and the live pipeline lacks or has with another value. Tags it
/// has beyond those are left alone: the tool never removes what it did not create.
pub fn tag_changes(
    declared: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Vec<Change> {
    declared
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| Change {
            path: format!("tags.{k}"),
            old: live.get(k).map(|v| Value::String(v.clone())),
            new: Some(Value::String(v.clone())),
        })
        .collect()
}

/// The pipeline with AWS's defaults made explicit and empty things removed, so that equal
/// pipelines are equal values.
pub fn normalise(pipeline: &Value, region: &str) -> Value {
    let mut p = pipeline.clone();
    let Some(o) = p.as_object_mut() else {
        return p;
    };
    o.remove("version");
    o.remove("metadata");
    o.entry("pipelineType").or_insert_with(|| "V1".into());
    o.entry("executionMode")
        .or_insert_with(|| "SUPERSEDED".into());
    if let Some(Value::Array(stages)) = o.get_mut("stages") {
        for stage in stages.iter_mut() {
            let Some(Value::Array(actions)) = stage.get_mut("actions") else {
                continue;
            };
            for action in actions.iter_mut().filter_map(Value::as_object_mut) {
                action.entry("runOrder").or_insert_with(|| 1.into());
                if action.get("region").and_then(Value::as_str) == Some(region) {
                    action.remove("region");
                }
                let approval = action
                    .get("actionTypeId")
                    .and_then(|t| t.get("category"))
                    .and_then(Value::as_str)
                    == Some("Approval");
                if approval
                    && action.get("timeoutInMinutes").and_then(Value::as_i64)
                        == Some(APPROVAL_DEFAULT_TIMEOUT_MINUTES)
                {
                    action.remove("timeoutInMinutes");
                }
                if let Some(Value::Object(c)) = action.get_mut("configuration") {
                    if let Some(env) = c.get_mut("EnvironmentVariables") {
                        *env = structured_env(env);
                    }
                    if let Some(p) = c.get_mut("ParameterOverrides") {
                        *p = structured_object(p);
                    }
                }
            }
        }
    }
    drop_empty(&mut p);
    p
}

/// CodeBuild's EnvironmentVariables JSON list string as a map by variable name, so that
/// spelling (spaces, key order, an implied PLAINTEXT) is no change and a change names the
/// variable: `...EnvironmentVariables.RUST_LOG: "info" -> "debug"`. A PLAINTEXT variable maps
/// to its value, any other type to {type, value}. Text that is not such a list stays as it is.
fn structured_env(env: &Value) -> Value {
    let Some(Ok(Value::Array(list))) = env.as_str().map(serde_json::from_str::<Value>) else {
        return env.clone();
    };
    let mut vars = Map::new();
    for v in &list {
        let (Some(name), Some(value)) = (
            v.get("name").and_then(Value::as_str),
            v.get("value").cloned(),
        ) else {
            return env.clone();
        };
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("PLAINTEXT");
        let entry = if ty == "PLAINTEXT" {
            value
        } else {
            serde_json::json!({"type": ty, "value": value})
        };
        vars.insert(name.to_owned(), entry);
    }
    Value::Object(vars)
}

/// CloudFormation's ParameterOverrides JSON object string as that object, so that spelling
/// (spaces, key order) is no change and a change names the parameter:
/// `...ParameterOverrides.Stage: "a" -> "b"`. Text that is not a JSON object stays as it is.
fn structured_object(text: &Value) -> Value {
    match text.as_str().map(serde_json::from_str::<Value>) {
        Some(Ok(v @ Value::Object(_))) => v,
        _ => text.clone(),
    }
}

/// Remove null, empty lists and empty maps, bottom up.
fn drop_empty(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for child in m.values_mut() {
                drop_empty(child);
            }
            m.retain(|_, c| !is_empty(c));
        }
        Value::Array(a) => a.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Equal, where a masked live string stands for whatever was declared.
fn same(old: &Value, new: &Value) -> bool {
    match (old, new) {
        (Value::String(o), Value::String(_)) if o == MASK => true,
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
        }
        _ => old == new,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
    match (old, new) {
        (None, None) => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = join(path, k);
                match (k.as_str(), a.get(k), b.get(k)) {
                    ("stages" | "actions", Some(Value::Array(x)), Some(Value::Array(y))) => {
                        named_lists(&p, x, y, out);
                    }
                    ("stages" | "actions", x, y) => {
                        let empty = Vec::new();
                        let x = x.and_then(Value::as_array).unwrap_or(&empty);
                        let y = y.and_then(Value::as_array).unwrap_or(&empty);
                        named_lists(&p, x, y, out);
                    }
                    (_, x, y) => walk(&p, x, y, out),
                }
            }
        }
        (Some(o), Some(n)) if same(o, n) => {}
        (o, n) => out.push(Change {
            path: path.to_owned(),
            old: o.cloned(),
            new: n.cloned(),
        }),
    }
}

/// Stages or actions, matched by name: `stages[Build]`. A different order of the same stages
/// is a change of its own (it changes what runs first); actions run by runOrder, not position.
fn named_lists(path: &str, old: &[Value], new: &[Value], out: &mut Vec<Change>) {
    let name = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let old_names: Vec<String> = old.iter().map(name).collect();
    let new_names: Vec<String> = new.iter().map(name).collect();
    for n in new {
        let key = name(n);
        let o = old.iter().find(|o| name(o) == key);
        walk(&format!("{path}[{key}]"), o, Some(n), out);
    }
    for o in old {
        let key = name(o);
        if !new_names.contains(&key) {
            walk(&format!("{path}[{key}]"), Some(o), None, out);
        }
    }
    if path.ends_with("stages") {
        let common_old: Vec<&String> = old_names.iter().filter(|n| new_names.contains(n)).collect();
        let common_new: Vec<&String> = new_names.iter().filter(|n| old_names.contains(n)).collect();
        if common_old != common_new {
            out.push(Change {
                path: format!("{path} order"),
                old: Some(old_names.into()),
                new: Some(new_names.into()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What GetPipeline returns for the declared pipeline: defaults filled, empty lists.
    fn live() -> Value {
        json!({
            "name": "p",
            "roleArn": "arn:aws:iam::111111111111:role/r",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                    "runOrder": 1,
                    "configuration": {"RepositoryName": "hello", "BranchName": "main", "PollForSourceChanges": "false"},
                    "outputArtifacts": [{"name": "SourceArtifact"}],
                    "inputArtifacts": []
                }]},
                {"name": "Build", "actions": [{
                    "name": "Build",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "runOrder": 1,
                    "configuration": {"ProjectName": "x"},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                    "outputArtifacts": []
                }]}
            ],
            "version": 7,
            "pipelineType": "V2",
            "executionMode": "SUPERSEDED",
            "variables": [],
            "triggers": []
        })
    }

    fn declared() -> Value {
        let mut d = live();
        let o = d.as_object_mut().unwrap();
        o.remove("version");
        o.remove("variables");
        o.remove("triggers");
        o.remove("executionMode");
        let stages = d["stages"].as_array_mut().unwrap();
        let src = stages[0]["actions"][0].as_object_mut().unwrap();
        src.remove("runOrder");
        src.remove("inputArtifacts");
        let build = stages[1]["actions"][0].as_object_mut().unwrap();
        build.remove("outputArtifacts");
        d
    }

    #[test]
    fn aws_defaults_and_empty_lists_are_not_changes() {
        assert_eq!(diff(&declared(), &live(), "eu-west-1"), vec![]);
    }

    #[test]
    fn version_and_metadata_are_ignored() {
        let mut l = live();
        l["version"] = 99.into();
        l["metadata"] = json!({"pipelineArn": "arn:x"});
        assert_eq!(diff(&declared(), &l, "eu-west-1"), vec![]);
    }

    #[test]
    fn absent_pipeline_type_is_v1() {
        let mut d = declared();
        d["pipelineType"] = "V1".into();
        let mut l = live();
        l.as_object_mut().unwrap().remove("pipelineType");
        assert_eq!(diff(&d, &l, "eu-west-1"), vec![]);
        // ...but V2 declared against a V1 pipeline is a change.
        let changes = diff(&declared(), &l, "eu-west-1");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to_string(), r#"pipelineType: "V1" -> "V2""#);
    }

    #[test]
    fn absent_execution_mode_is_superseded() {
        let mut l = live();
        l["executionMode"] = "QUEUED".into();
        let changes = diff(&declared(), &l, "eu-west-1");
        assert_eq!(
            changes[0].to_string(),
            r#"executionMode: "QUEUED" -> "SUPERSEDED""#
        );
    }

    #[test]
    fn empty_configuration_map_equals_absent() {
        let mut d = declared();
        d["stages"][1]["actions"][0]
            .as_object_mut()
            .unwrap()
            .remove("configuration");
        let mut l = live();
        l["stages"][1]["actions"][0]["configuration"] = json!({});
        assert_eq!(diff(&d, &l, "eu-west-1"), vec![]);
    }

    #[test]
    fn masked_values_are_not_changes() {
        let mut d = declared();
        d["stages"][0]["actions"][0]["configuration"]["OAuthToken"] = "secret".into();
        let mut l = live();
        l["stages"][0]["actions"][0]["configuration"]["OAuthToken"] = MASK.into();
        assert_eq!(diff(&d, &l, "eu-west-1"), vec![]);
    }

    #[test]
    fn action_region_of_the_pipeline_region_equals_absent() {
        let mut l = live();
        l["stages"][1]["actions"][0]["region"] = "eu-west-1".into();
        assert_eq!(diff(&declared(), &l, "eu-west-1"), vec![]);
        l["stages"][1]["actions"][0]["region"] = "us-east-1".into();
        let changes = diff(&declared(), &l, "eu-west-1");
        assert_eq!(
            changes[0].to_string(),
            r#"stages[Build].actions[Build].region: "us-east-1" -> (absent)"#
        );
    }

    #[test]
    fn environment_variables_compare_as_json() {
        let mut d = declared();
        d["stages"][1]["actions"][0]["configuration"]["EnvironmentVariables"] =
            r#"[{"name":"A","type":"PLAINTEXT","value":"1"}]"#.into();
        let mut l = live();
        l["stages"][1]["actions"][0]["configuration"]["EnvironmentVariables"] =
            r#"[ {"value": "1", "name": "A"} ]"#.into();
        assert_eq!(diff(&d, &l, "eu-west-1"), vec![]);
        // A changed value names the variable.
        l["stages"][1]["actions"][0]["configuration"]["EnvironmentVariables"] =
            r#"[{"name":"A","value":"2"},{"name":"B","value":"x","type":"PARAMETER_STORE"}]"#
                .into();
        let text: Vec<String> = diff(&d, &l, "eu-west-1")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                r#"stages[Build].actions[Build].configuration.EnvironmentVariables.A: "2" -> "1""#,
                r#"stages[Build].actions[Build].configuration.EnvironmentVariables.B: {"type":"PARAMETER_STORE","value":"x"} -> (absent)"#,
            ]
        );
    }

    #[test]
    fn changed_value_is_path_old_new() {
        let mut l = live();
        l["stages"][1]["actions"][0]["configuration"]["ProjectName"] = "old".into();
        let changes = diff(&declared(), &l, "eu-west-1");
        assert_eq!(
            changes,
            vec![Change {
                path: "stages[Build].actions[Build].configuration.ProjectName".into(),
                old: Some("old".into()),
                new: Some("x".into()),
            }]
        );
        assert_eq!(
            changes[0].to_string(),
            r#"stages[Build].actions[Build].configuration.ProjectName: "old" -> "x""#
        );
    }

    #[test]
    fn stages_and_actions_added_or_removed_are_named_as_such() {
        let mut l = live();
        let stages = l["stages"].as_array_mut().unwrap();
        stages.push(json!({"name": "Deploy", "actions": [{"name": "Deploy"}]}));
        stages[1]["actions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "Lint"}));
        let mut d = declared();
        d["stages"][0]["actions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "Mirror", "runOrder": 2}));
        let text: Vec<String> = diff(&d, &l, "eu-west-1")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                "stages[Source].actions[Mirror]: action added",
                "stages[Build].actions[Lint]: action removed",
                "stages[Deploy]: stage removed",
            ]
        );
    }

    #[test]
    fn reordered_stages_are_a_change() {
        let mut l = live();
        l["stages"].as_array_mut().unwrap().reverse();
        let changes = diff(&declared(), &l, "eu-west-1");
        assert_eq!(
            changes[0].to_string(),
            r#"stages order: ["Build","Source"] -> ["Source","Build"]"#
        );
    }

    #[test]
    fn creation_lists_everything_as_added() {
        let text: Vec<String> = creation(&declared(), "eu-west-1")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            text.contains(&"stages[Source]: stage added".to_owned()),
            "{text:?}"
        );
        assert!(text.contains(&"stages[Build]: stage added".to_owned()));
        assert!(text.contains(&r#"pipelineType: (absent) -> "V2""#.to_owned()));
    }

    #[test]
    fn tags_only_added_or_changed_never_removed() {
        let declared = BTreeMap::from([
            ("managed-by".to_owned(), "cargo-xpipeline".to_owned()),
            ("team".to_owned(), "platform".to_owned()),
        ]);
        let live = BTreeMap::from([
            ("team".to_owned(), "web".to_owned()),
            ("cost-centre".to_owned(), "42".to_owned()),
        ]);
        let text: Vec<String> = tag_changes(&declared, &live)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                r#"tags.managed-by: (absent) -> "cargo-xpipeline""#,
                r#"tags.team: "web" -> "platform""#,
            ]
        );
    }
}
