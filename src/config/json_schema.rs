//! The JSON Schema of xpipeline.toml, generated from the key table (`keys.rs`): every key with
//! its type, pattern, enum, default and description, `additionalProperties: false` on every
//! table. Editors that read TOML through a JSON Schema (taplo, Even Better TOML) use it for
//! completion and checks; `cargo xpipeline schema` prints it and `xpipeline.schema.json` is
//! the committed copy (a test keeps the two equal). Validation (`validate.rs`) stays the
//! authority: the schema cannot say that two accounts or regions must agree.

use serde_json::{Map, Value, json};

use super::keys::{self, Key, Kind};

/// Where the schema of this version is published; `init` writes it in the `#:schema`
/// directive that taplo-based editors follow.
pub(crate) const SCHEMA_URL: &str = concat!(
    "https://raw.githubusercontent.com/cargo-xpipeline/cargo-xpipeline/v",
    env!("CARGO_PKG_VERSION"),
    "/xpipeline.schema.json"
);

/// The schema as pretty-printed JSON, with a final newline.
pub(crate) fn render() -> String {
    let mut root = table("");
    let root_map = root.as_object_mut().expect("a table is an object");
    root_map.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    root_map.insert("$id".into(), json!(SCHEMA_URL));
    root_map.insert("title".into(), json!("xpipeline.toml"));
    root_map.insert(
        "description".into(),
        json!(
            "cargo-xpipeline: a cross-account AWS CodePipeline + CodeCommit setup declared in one file"
        ),
    );
    let mut text = serde_json::to_string_pretty(&root).expect("the schema is JSON");
    text.push('\n');
    text
}

/// The schema of the table at `path` (`""`: the file).
fn table(path: &str) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for k in keys::children(path) {
        properties.insert(k.name().to_owned(), property(k));
        if k.required {
            required.push(json!(k.name()));
        }
    }
    let mut t = Map::new();
    t.insert("type".into(), json!("object"));
    t.insert("properties".into(), Value::Object(properties));
    t.insert("additionalProperties".into(), json!(false));
    if !required.is_empty() {
        t.insert("required".into(), Value::Array(required));
    }
    Value::Object(t)
}

fn property(k: &Key) -> Value {
    let mut p = match k.kind {
        Kind::Table => table(k.path),
        Kind::Str => json!({ "type": "string" }),
        Kind::Int => json!({ "type": "integer" }),
        Kind::StrMap => json!({
            "type": "object",
            "additionalProperties": { "type": "string" }
        }),
        Kind::StrList => json!({ "type": "array", "items": { "type": "string" } }),
        Kind::TableArray => json!({ "type": "array", "items": table(k.path) }),
    };
    let map = p.as_object_mut().expect("every property is an object");
    if !k.doc.is_empty() {
        map.insert("description".into(), json!(k.doc.replace('\n', " ")));
    }
    // A list's enum and pattern are its items'.
    let item = if k.kind == Kind::StrList {
        map.get_mut("items")
            .and_then(Value::as_object_mut)
            .expect("a list has items")
    } else {
        map
    };
    if !k.values.is_empty() {
        item.insert("enum".into(), json!(k.values));
    }
    if !k.pattern.is_empty() {
        item.insert("pattern".into(), json!(k.pattern));
    }
    let map = p.as_object_mut().expect("every property is an object");
    if let Some((min, max)) = k.range {
        map.insert("minimum".into(), json!(min));
        map.insert("maximum".into(), json!(max));
    }
    if !k.default.is_empty() {
        let default: Value = serde_json::from_str(k.default).expect("a default is JSON text");
        map.insert("default".into(), default);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../../xpipeline.schema.json");

    #[test]
    fn the_committed_schema_is_the_one_the_key_table_makes() {
        assert!(
            COMMITTED == render(),
            "xpipeline.schema.json and src/config/keys.rs disagree: run \
             `cargo run -q -- xpipeline schema > xpipeline.schema.json` and commit it"
        );
    }

    #[test]
    fn every_key_is_in_the_schema_with_its_kind() {
        let schema: Value = serde_json::from_str(&render()).unwrap();
        for k in keys::KEYS {
            let pointer = format!("/properties/{}", k.path.replace('.', "/properties/")).replace(
                "/properties/deploy/properties/",
                "/properties/deploy/items/properties/",
            );
            let p = schema
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("{} is not in the schema", k.path));
            let kind = match k.kind {
                Kind::Table | Kind::StrMap => "object",
                Kind::StrList | Kind::TableArray => "array",
                Kind::Str => "string",
                Kind::Int => "integer",
            };
            assert_eq!(p["type"], kind, "{}", k.path);
            if k.kind == Kind::Table {
                assert_eq!(p["additionalProperties"], false, "{}", k.path);
            }
        }
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["required"],
            json!(["pipeline", "artifacts", "source", "build"])
        );
        let trigger = &schema["properties"]["pipeline"]["properties"]["trigger"];
        assert_eq!(trigger["enum"], json!(["push", "poll", "events"]));
        assert_eq!(trigger["default"], "push");
        let duration = &schema["properties"]["push"]["properties"]["duration-seconds"];
        assert_eq!(
            (&duration["minimum"], &duration["maximum"]),
            (&json!(900), &json!(43200))
        );
    }

    #[test]
    fn every_enum_default_is_one_of_its_values() {
        for k in keys::KEYS.iter().filter(|k| !k.values.is_empty()) {
            let default: Value = serde_json::from_str(k.default).unwrap();
            let defaults = match default {
                Value::Array(items) => items,
                one => vec![one],
            };
            for d in defaults {
                let d = d.as_str().expect("a string default");
                assert!(k.values.contains(&d), "{}", k.path);
            }
        }
    }
}
