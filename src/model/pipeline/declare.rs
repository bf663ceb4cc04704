//! The pipeline xpipeline.toml declares — a list of stages, each a list of actions — as the
//! SDK type CreatePipeline/UpdatePipeline take, and any pipeline declaration as the JSON of
//! the API, which is what the diff compares. Pure: data in, data out.

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
    PipelineDeclaration, PipelineType, StageDeclaration,
};
use serde_json::{Map, Value, json};

use crate::config::{Config, PipelineType as CfgType, Trigger};
use crate::error::{Error, Result};

pub mod deploy;

pub const SOURCE_STAGE: &str = "Source";
pub const BUILD_STAGE: &str = "Build";
pub const SOURCE_ARTIFACT: &str = "SourceArtifact";
pub const BUILD_ARTIFACT: &str = "BuildArtifact";
pub const BUILD_NAMESPACE: &str = "BuildVariables";
/// So that `#{SourceVariables.CommitId}` may be used in `[deploy.parameters]`.
pub const SOURCE_NAMESPACE: &str = "SourceVariables";

/// The pipeline declared by `cfg`, ready for CreatePipeline or UpdatePipeline.
pub fn declare(cfg: &Config) -> Result<PipelineDeclaration> {
    let store = ArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location(&cfg.artifacts.bucket)
        .encryption_key(
            EncryptionKey::builder()
                // `plan` and `push` checked that it is set (config::require_kms_key).
                .id(cfg.artifacts.kms_key_arn.as_deref().unwrap_or_default())
                .r#type(EncryptionKeyType::Kms)
                .build()
                .map_err(built)?,
        )
        .build()
        .map_err(built)?;

    let mut pipeline = PipelineDeclaration::builder()
        .name(&cfg.pipeline.name)
        .role_arn(&cfg.pipeline.service_role_arn)
        .artifact_store(store)
        .set_stages(Some(stages(cfg)?))
        .pipeline_type(match cfg.pipeline.pipeline_type {
            CfgType::V1 => PipelineType::V1,
            CfgType::V2 => PipelineType::V2,
        });
    if let Some(mode) = cfg.pipeline.execution_mode {
        pipeline = pipeline.execution_mode(ExecutionMode::from(mode.as_str()));
    }
    pipeline.build().map_err(built)
}

/// The declared stages, in order. Each stage is one entry: a new stage kind is a new entry.
/// The `[[deploy]]` stages follow Build in file order.
pub fn stages(cfg: &Config) -> Result<Vec<StageDeclaration>> {
    let mut stages = vec![
        (SOURCE_STAGE, vec![source_action(cfg)?]),
        (BUILD_STAGE, vec![build_action(cfg)?]),
    ];
    for d in &cfg.deploy {
        stages.push((d.name.as_str(), deploy::actions(d)?));
    }
    stages
        .into_iter()
        .map(|(name, actions)| {
            StageDeclaration::builder()
                .name(name)
                .set_actions(Some(actions))
                .build()
                .map_err(built)
        })
        .collect()
}

/// The Source action: CodeCommit in the source account, through source.role-arn.
fn source_action(cfg: &Config) -> Result<ActionDeclaration> {
    let poll = if cfg.pipeline.trigger == Trigger::Poll {
        "true"
    } else {
        "false"
    };
    ActionDeclaration::builder()
        .name(SOURCE_STAGE)
        .action_type_id(type_id(ActionCategory::Source, "CodeCommit")?)
        .run_order(1)
        .role_arn(&cfg.source.role_arn)
        .configuration("RepositoryName", &cfg.source.repository)
        .configuration("BranchName", &cfg.source.branch)
        .configuration("PollForSourceChanges", poll)
        .output_artifacts(
            OutputArtifact::builder()
                .name(SOURCE_ARTIFACT)
                .build()
                .map_err(built)?,
        )
        .namespace(SOURCE_NAMESPACE)
        .build()
        .map_err(built)
}

/// The Build action: CodeBuild's project of build.project, with [build.env].
fn build_action(cfg: &Config) -> Result<ActionDeclaration> {
    let mut build = ActionDeclaration::builder()
        .name(BUILD_STAGE)
        .action_type_id(type_id(ActionCategory::Build, "CodeBuild")?)
        .run_order(1)
        .configuration("ProjectName", &cfg.build.project)
        .input_artifacts(
            InputArtifact::builder()
                .name(SOURCE_ARTIFACT)
                .build()
                .map_err(built)?,
        )
        .output_artifacts(
            OutputArtifact::builder()
                .name(BUILD_ARTIFACT)
                .build()
                .map_err(built)?,
        )
        .namespace(BUILD_NAMESPACE);
    if let Some(env) = codebuild_env(cfg) {
        build = build.configuration("EnvironmentVariables", env);
    }
    build.build().map_err(built)
}

/// The most characters CodePipeline takes in one action configuration value.
pub const ACTION_CONFIGURATION_MAX: usize = 1000;

/// [build.env] as CodeBuild's `EnvironmentVariables` action configuration: a JSON list string.
pub fn codebuild_env(cfg: &Config) -> Option<String> {
    environment_variables(&cfg.build.env)
}

/// `env` rendered as the `EnvironmentVariables` configuration value (what `validate` measures
/// against `ACTION_CONFIGURATION_MAX` before any call).
pub fn environment_variables(env: &std::collections::BTreeMap<String, String>) -> Option<String> {
    if env.is_empty() {
        return None;
    }
    let list: Vec<Value> = env
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value, "type": "PLAINTEXT"}))
        .collect();
    Some(Value::Array(list).to_string())
}

/// `[deploy.parameters]` rendered as the CloudFormation action's `ParameterOverrides`
/// configuration value: a compact JSON object (what `validate` measures against
/// `ACTION_CONFIGURATION_MAX`).
pub fn parameter_overrides(
    parameters: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    (!parameters.is_empty()).then(|| json!(parameters).to_string())
}

fn type_id(category: ActionCategory, provider: &str) -> Result<ActionTypeId> {
    ActionTypeId::builder()
        .category(category)
        .owner(ActionOwner::Aws)
        .provider(provider)
        .version("1")
        .build()
        .map_err(built)
}

fn built(e: aws_smithy_types::error::operation::BuildError) -> Error {
    Error::op(format!("cannot build the pipeline declaration: {e}"))
}

/// A pipeline declaration as the JSON the CodePipeline API speaks (camelCase keys; absent
/// fields left out). Both sides of the diff go through here.
pub fn to_json(p: &PipelineDeclaration) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), p.name().into());
    o.insert("roleArn".into(), p.role_arn().into());
    if let Some(store) = p.artifact_store() {
        o.insert("artifactStore".into(), store_json(store));
    }
    if let Some(stores) = p.artifact_stores() {
        let m: Map<String, Value> = stores
            .iter()
            .map(|(region, s)| (region.clone(), store_json(s)))
            .collect();
        o.insert("artifactStores".into(), Value::Object(m));
    }
    o.insert(
        "stages".into(),
        p.stages().iter().map(stage_json).collect::<Vec<_>>().into(),
    );
    if let Some(v) = p.version() {
        o.insert("version".into(), v.into());
    }
    if let Some(m) = p.execution_mode() {
        o.insert("executionMode".into(), m.as_str().into());
    }
    if let Some(t) = p.pipeline_type() {
        o.insert("pipelineType".into(), t.as_str().into());
    }
    if let Some(vars) = &p.variables {
        let list: Vec<Value> = vars
            .iter()
            .map(|v| {
                let mut m = Map::new();
                m.insert("name".into(), v.name().into());
                opt(&mut m, "defaultValue", v.default_value());
                opt(&mut m, "description", v.description());
                Value::Object(m)
            })
            .collect();
        o.insert("variables".into(), list.into());
    }
    if let Some(triggers) = &p.triggers {
        o.insert("triggers".into(), debug_list(triggers));
    }
    Value::Object(o)
}

fn store_json(s: &ArtifactStore) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), s.r#type().as_str().into());
    m.insert("location".into(), s.location().into());
    if let Some(k) = s.encryption_key() {
        m.insert(
            "encryptionKey".into(),
            json!({"id": k.id(), "type": k.r#type().as_str()}),
        );
    }
    Value::Object(m)
}

fn stage_json(s: &StageDeclaration) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), s.name().into());
    if let Some(b) = &s.blockers {
        let list: Vec<Value> = b
            .iter()
            .map(|b| json!({"name": b.name(), "type": b.r#type().as_str()}))
            .collect();
        m.insert("blockers".into(), list.into());
    }
    m.insert(
        "actions".into(),
        s.actions()
            .iter()
            .map(action_json)
            .collect::<Vec<_>>()
            .into(),
    );
    // Conditions and rules are rare in pipelines this tool meets; their Debug form is enough
    // to notice that they exist and differ (UpdatePipeline replaces them with the declaration).
    if let Some(c) = &s.on_failure {
        m.insert("onFailure".into(), format!("{c:?}").into());
    }
    if let Some(c) = &s.on_success {
        m.insert("onSuccess".into(), format!("{c:?}").into());
    }
    if let Some(c) = &s.before_entry {
        m.insert("beforeEntry".into(), format!("{c:?}").into());
    }
    Value::Object(m)
}

fn action_json(a: &ActionDeclaration) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), a.name().into());
    if let Some(t) = a.action_type_id() {
        m.insert(
            "actionTypeId".into(),
            json!({
                "category": t.category().as_str(),
                "owner": t.owner().as_str(),
                "provider": t.provider(),
                "version": t.version(),
            }),
        );
    }
    if let Some(n) = a.run_order() {
        m.insert("runOrder".into(), n.into());
    }
    if let Some(c) = a.configuration() {
        let c: Map<String, Value> = c
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("configuration".into(), Value::Object(c));
    }
    if let Some(c) = &a.commands {
        m.insert("commands".into(), c.clone().into());
    }
    if let Some(list) = &a.output_artifacts {
        let list: Vec<Value> = list
            .iter()
            .map(|o| {
                let mut m = Map::new();
                m.insert("name".into(), o.name().into());
                if let Some(files) = &o.files {
                    m.insert("files".into(), files.clone().into());
                }
                Value::Object(m)
            })
            .collect();
        m.insert("outputArtifacts".into(), list.into());
    }
    if let Some(list) = &a.input_artifacts {
        let list: Vec<Value> = list.iter().map(|i| json!({"name": i.name()})).collect();
        m.insert("inputArtifacts".into(), list.into());
    }
    if let Some(v) = &a.output_variables {
        m.insert("outputVariables".into(), v.clone().into());
    }
    opt(&mut m, "roleArn", a.role_arn());
    opt(&mut m, "region", a.region());
    opt(&mut m, "namespace", a.namespace());
    if let Some(t) = a.timeout_in_minutes() {
        m.insert("timeoutInMinutes".into(), t.into());
    }
    if let Some(env) = &a.environment_variables {
        let list: Vec<Value> = env
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("name".into(), e.name().into());
                m.insert("value".into(), e.value().into());
                if let Some(t) = e.r#type() {
                    m.insert("type".into(), t.as_str().into());
                }
                Value::Object(m)
            })
            .collect();
        m.insert("environmentVariables".into(), list.into());
    }
    Value::Object(m)
}

fn opt(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.into(), v.into());
    }
}

fn debug_list<T: std::fmt::Debug>(items: &[T]) -> Value {
    items
        .iter()
        .map(|t| Value::String(format!("{t:?}")))
        .collect::<Vec<_>>()
        .into()
}

/// A few lines that say what the declared pipeline is, for a pipeline about to be created.
pub fn summary(cfg: &Config) -> Vec<String> {
    let mode = cfg
        .pipeline
        .execution_mode
        .map_or("SUPERSEDED (default)", |m| m.as_str());
    let mut lines = vec![
        format!(
            "type {}, execution mode {mode}, trigger {}",
            cfg.pipeline.pipeline_type, cfg.pipeline.trigger
        ),
        format!("service role    {}", cfg.pipeline.service_role_arn),
        format!(
            "artifact store  s3://{} encrypted with {}",
            cfg.artifacts.bucket,
            cfg.artifacts.kms_key_arn.as_deref().unwrap_or_default()
        ),
        format!(
            "stage Source    CodeCommit {}@{} in account {} as {} (PollForSourceChanges {})",
            cfg.source.repository,
            cfg.source.branch,
            cfg.source.account,
            cfg.source.role_arn,
            cfg.pipeline.trigger == Trigger::Poll
        ),
    ];
    let env = if cfg.build.env.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = cfg.build.env.keys().map(String::as_str).collect();
        format!(" with env {}", names.join(", "))
    };
    lines.push(format!(
        "stage Build     CodeBuild {}{env}",
        cfg.build.project
    ));
    lines.extend(cfg.deploy.iter().map(deploy::summary));
    let mut tags = vec![format!(
        "{}={}",
        crate::MANAGED_BY_TAG,
        crate::MANAGED_BY_VALUE
    )];
    tags.extend(
        cfg.tags
            .iter()
            .filter(|(k, _)| k.as_str() != crate::MANAGED_BY_TAG)
            .map(|(k, v)| format!("{k}={v}")),
    );
    lines.push(format!("tags            {}", tags.join(", ")));
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::config::{Artifacts, Build, ExecutionMode as Mode, Pipeline, Push, Source, Trigger};

    /// The usual test configuration: trigger push, a V2 pipeline, the default mode.
    pub(crate) fn cfg() -> Config {
        config(Trigger::Push, CfgType::V2, None)
    }

    pub(crate) fn config(trigger: Trigger, ty: CfgType, mode: Option<Mode>) -> Config {
        Config {
            path: PathBuf::from("xpipeline.toml"),
            pipeline: Pipeline {
                name: "hello-pipeline".into(),
                account: "111111111111".into(),
                region: "eu-west-1".into(),
                service_role_arn: "arn:aws:iam::111111111111:role/hello-codepipeline".into(),
                pipeline_type: ty,
                execution_mode: mode,
                trigger,
            },
            artifacts: Artifacts {
                bucket: "hello-artifacts".into(),
                kms_key_arn: Some("arn:aws:kms:eu-west-1:111111111111:key/1234abcd".into()),
            },
            source: Source {
                account: "222222222222".into(),
                repository: "hello".into(),
                branch: "main".into(),
                role_arn: "arn:aws:iam::222222222222:role/hello-cross-account".into(),
                external_id: None,
                git_endpoint: None,
            },
            build: Build {
                project: "hello-build".into(),
                env: BTreeMap::new(),
            },
            push: Push {
                role_arn: "arn:aws:iam::222222222222:role/hello-cross-account".into(),
                session_name: None,
                duration_seconds: None,
                mfa_serial: None,
            },
            tags: BTreeMap::new(),
            deploy: Vec::new(),
        }
    }

    fn expected(poll: &str, ty: &str, mode: Option<&str>) -> Value {
        let mut v = json!({
            "name": "hello-pipeline",
            "roleArn": "arn:aws:iam::111111111111:role/hello-codepipeline",
            "artifactStore": {
                "type": "S3",
                "location": "hello-artifacts",
                "encryptionKey": {
                    "id": "arn:aws:kms:eu-west-1:111111111111:key/1234abcd",
                    "type": "KMS"
                }
            },
            "stages": [
                {
                    "name": "Source",
                    "actions": [{
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                        "runOrder": 1,
                        "roleArn": "arn:aws:iam::222222222222:role/hello-cross-account",
                        "configuration": {
                            "BranchName": "main",
                            "PollForSourceChanges": poll,
                            "RepositoryName": "hello"
                        },
                        "outputArtifacts": [{"name": "SourceArtifact"}],
                        "namespace": "SourceVariables"
                    }]
                },
                {
                    "name": "Build",
                    "actions": [{
                        "name": "Build",
                        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "runOrder": 1,
                        "configuration": {"ProjectName": "hello-build"},
                        "inputArtifacts": [{"name": "SourceArtifact"}],
                        "outputArtifacts": [{"name": "BuildArtifact"}],
                        "namespace": "BuildVariables"
                    }]
                }
            ],
            "pipelineType": ty
        });
        if let Some(mode) = mode {
            v["executionMode"] = mode.into();
        }
        v
    }

    fn rendered(cfg: &Config) -> Value {
        to_json(&declare(cfg).unwrap())
    }

    #[test]
    fn trigger_push_v2_is_the_article_pipeline_without_polling() {
        let cfg = config(Trigger::Push, CfgType::V2, None);
        assert_eq!(rendered(&cfg), expected("false", "V2", None));
    }

    #[test]
    fn trigger_poll_turns_polling_on() {
        let cfg = config(Trigger::Poll, CfgType::V2, None);
        assert_eq!(rendered(&cfg), expected("true", "V2", None));
    }

    #[test]
    fn trigger_events_leaves_polling_off() {
        let cfg = config(Trigger::Events, CfgType::V2, Some(Mode::Queued));
        assert_eq!(rendered(&cfg), expected("false", "V2", Some("QUEUED")));
    }

    #[test]
    fn type_v1_is_declared_as_v1() {
        let cfg = config(Trigger::Push, CfgType::V1, None);
        assert_eq!(rendered(&cfg), expected("false", "V1", None));
    }

    #[test]
    fn build_env_becomes_codebuild_environment_variables_json() {
        let mut cfg = config(Trigger::Push, CfgType::V2, Some(Mode::Parallel));
        cfg.build.env.insert("RUST_LOG".into(), "info".into());
        cfg.build
            .env
            .insert("CARGO_TERM_COLOR".into(), "always".into());
        let mut want = expected("false", "V2", Some("PARALLEL"));
        want["stages"][1]["actions"][0]["configuration"]["EnvironmentVariables"] = Value::String(
            r#"[{"name":"CARGO_TERM_COLOR","type":"PLAINTEXT","value":"always"},{"name":"RUST_LOG","type":"PLAINTEXT","value":"info"}]"#
                .into(),
        );
        assert_eq!(rendered(&cfg), want);
    }

    #[test]
    fn summary_names_every_part() {
        let mut cfg = config(Trigger::Push, CfgType::V2, None);
        cfg.tags.insert("team".into(), "platform".into());
        let text = summary(&cfg).join("\n");
        for part in [
            "hello-codepipeline",
            "s3://hello-artifacts",
            "key/1234abcd",
            "hello@main",
            "hello-cross-account",
            "PollForSourceChanges false",
            "CodeBuild hello-build",
            "managed-by=cargo-xpipeline, team=platform",
        ] {
            assert!(text.contains(part), "{part} missing in\n{text}");
        }
    }
}
