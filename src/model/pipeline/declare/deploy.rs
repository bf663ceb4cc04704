//! The stage of one `[[deploy]]` entry: CloudFormation actions in the target account, through
//! its deploy role, reading the template from the build's artifact. `change-set` mode is
//! CHANGE_SET_REPLACE, the optional manual approval, then CHANGE_SET_EXECUTE (so an approver
//! sees the real change set); `direct` mode is one CREATE_UPDATE. Pure.

use super::{BUILD_ARTIFACT, built, parameter_overrides, type_id};
use crate::config::{Deploy, DeployMode};
use crate::error::Result;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, InputArtifact, OutputArtifact,
};

pub const CREATE_CHANGE_SET: &str = "CreateChangeSet";
pub const APPROVE: &str = "Approve";
pub const EXECUTE_CHANGE_SET: &str = "ExecuteChangeSet";
pub const DEPLOY: &str = "Deploy";

/// The change set the CHANGE_SET_REPLACE action creates and CHANGE_SET_EXECUTE executes.
pub fn change_set_name(stack: &str) -> String {
    format!("xpipeline-{stack}")
}

/// The output artifact that holds `outputs-file`: the stage name without its
/// non-alphanumerics, then `Outputs` (artifact names take no spaces or dots).
pub fn outputs_artifact(stage: &str) -> String {
    let base: String = stage.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{base}Outputs")
}

/// The actions of the stage of `d`, in run order.
pub fn actions(d: &Deploy) -> Result<Vec<ActionDeclaration>> {
    match d.mode {
        DeployMode::Direct => Ok(vec![direct(d)?]),
        DeployMode::ChangeSet => {
            let mut actions = vec![create_change_set(d)?];
            if d.approval.is_some() {
                actions.push(approve(d)?);
            }
            let order = actions.len() as i32 + 1;
            actions.push(execute_change_set(d, order)?);
            Ok(actions)
        }
    }
}

/// The configuration both modes share that says what to deploy: the template, its
/// configuration, the capabilities, the execution role, the parameters.
fn template_configuration(d: &Deploy) -> Vec<(&'static str, String)> {
    let mut c = vec![("TemplatePath", format!("{BUILD_ARTIFACT}::{}", d.template))];
    if !d.capabilities.is_empty() {
        c.push(("Capabilities", d.capabilities.join(",")));
    }
    c.push(("RoleArn", d.execution_role_arn.clone()));
    if let Some(file) = &d.template_configuration {
        c.push(("TemplateConfiguration", format!("{BUILD_ARTIFACT}::{file}")));
    }
    if let Some(p) = parameter_overrides(&d.parameters) {
        c.push(("ParameterOverrides", p));
    }
    c
}

/// A CloudFormation action of `d` named `name` at `order`, through the deploy role, with
/// `configuration`; the outputs file, when declared and `outputs`, as an output artifact.
fn cloudformation(
    d: &Deploy,
    name: &str,
    order: i32,
    configuration: Vec<(&'static str, String)>,
    input: bool,
    outputs: bool,
) -> Result<ActionDeclaration> {
    let mut a = ActionDeclaration::builder()
        .name(name)
        .action_type_id(type_id(ActionCategory::Deploy, "CloudFormation")?)
        .run_order(order)
        .role_arn(&d.role_arn);
    for (k, v) in configuration {
        a = a.configuration(k, v);
    }
    if input {
        a = a.input_artifacts(
            InputArtifact::builder()
                .name(BUILD_ARTIFACT)
                .build()
                .map_err(built)?,
        );
    }
    if let (true, Some(file)) = (outputs, &d.outputs_file) {
        a = a.configuration("OutputFileName", file).output_artifacts(
            OutputArtifact::builder()
                .name(outputs_artifact(&d.name))
                .build()
                .map_err(built)?,
        );
    }
    a.build().map_err(built)
}

fn create_change_set(d: &Deploy) -> Result<ActionDeclaration> {
    let mut c = vec![
        ("ActionMode", "CHANGE_SET_REPLACE".to_owned()),
        ("StackName", d.stack.clone()),
        ("ChangeSetName", change_set_name(&d.stack)),
    ];
    c.extend(template_configuration(d));
    cloudformation(d, CREATE_CHANGE_SET, 1, c, true, false)
}

fn execute_change_set(d: &Deploy, order: i32) -> Result<ActionDeclaration> {
    let c = vec![
        ("ActionMode", "CHANGE_SET_EXECUTE".to_owned()),
        ("StackName", d.stack.clone()),
        ("ChangeSetName", change_set_name(&d.stack)),
    ];
    cloudformation(d, EXECUTE_CHANGE_SET, order, c, false, true)
}

fn direct(d: &Deploy) -> Result<ActionDeclaration> {
    let mut c = vec![
        ("ActionMode", "CREATE_UPDATE".to_owned()),
        ("StackName", d.stack.clone()),
    ];
    c.extend(template_configuration(d));
    cloudformation(d, DEPLOY, 1, c, true, true)
}

/// The manual approval between the change set and its execution (run order 2).
fn approve(d: &Deploy) -> Result<ActionDeclaration> {
    let approval = d.approval.clone().unwrap_or_default();
    let mut a = ActionDeclaration::builder()
        .name(APPROVE)
        .action_type_id(type_id(ActionCategory::Approval, "Manual")?)
        .run_order(2);
    for (k, v) in [
        ("NotificationArn", &approval.notification_arn),
        ("ExternalEntityLink", &approval.external_link),
        ("CustomData", &approval.comment),
    ] {
        if let Some(v) = v {
            a = a.configuration(k, v);
        }
    }
    if let Some(t) = approval.timeout_minutes {
        a = a.timeout_in_minutes(i32::try_from(t).unwrap_or(i32::MAX));
    }
    a.build().map_err(built)
}

/// One line of the summary of a pipeline about to be created.
pub fn summary(d: &Deploy) -> String {
    let how = match (d.mode, &d.approval) {
        (DeployMode::Direct, _) => "CREATE_UPDATE".to_owned(),
        (DeployMode::ChangeSet, None) => "change set, executed".to_owned(),
        (DeployMode::ChangeSet, Some(_)) => "change set, approval, executed".to_owned(),
    };
    format!(
        "stage {:<9} CloudFormation stack {} in account {} ({how}) as {}",
        d.name, d.stack, d.account, d.role_arn
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::super::tests::cfg;
    use super::super::{declare, to_json};
    use super::*;
    use crate::config::Approval;

    pub(crate) fn deploy(name: &str, account: &str) -> Deploy {
        let stack = format!("hello-{}", name.to_ascii_lowercase());
        Deploy::with_defaults("hello-pipeline", name, account, &stack)
    }

    /// The stages after Build, as the API's JSON, pretty-printed for a golden file.
    fn deploy_stages(deploys: Vec<Deploy>) -> String {
        let mut c = cfg();
        c.deploy = deploys;
        let v = to_json(&declare(&c).unwrap());
        let stages = v["stages"].as_array().unwrap();
        assert_eq!(stages[0]["name"], "Source");
        assert_eq!(stages[1]["name"], "Build");
        serde_json::to_string_pretty(&Value::Array(stages[2..].to_vec())).unwrap()
    }

    #[test]
    fn change_set_with_approval() {
        let mut prod = deploy("Prod", "444444444444");
        prod.approval = Some(Approval {
            notification_arn: Some("arn:aws:sns:eu-west-1:111111111111:approvals".into()),
            external_link: Some("https://example.com/release".into()),
            comment: Some("Review the change set".into()),
            timeout_minutes: Some(60),
        });
        insta::assert_snapshot!(deploy_stages(vec![prod]));
    }

    #[test]
    fn change_set_without_approval() {
        insta::assert_snapshot!(deploy_stages(vec![deploy("Staging", "333333333333")]));
    }

    #[test]
    fn direct_with_outputs_parameters_and_template_configuration() {
        let mut d = deploy("Dev-1", "333333333333");
        d.mode = DeployMode::Direct;
        d.outputs_file = Some("outputs.json".into());
        d.template_configuration = Some("dev.json".into());
        d.parameters = BTreeMap::from([
            ("Commit".into(), "#{SourceVariables.CommitId}".into()),
            ("Stage".into(), "dev \"one\"".into()),
        ]);
        insta::assert_snapshot!(deploy_stages(vec![d]));
    }

    #[test]
    fn deploy_stages_follow_build_in_file_order_and_source_has_its_namespace() {
        let mut c = cfg();
        c.deploy = vec![
            deploy("Staging", "333333333333"),
            deploy("Prod", "444444444444"),
        ];
        let v = to_json(&declare(&c).unwrap());
        let names: Vec<&str> = v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Source", "Build", "Staging", "Prod"]);
        assert_eq!(v["stages"][0]["actions"][0]["namespace"], "SourceVariables");
        // Without approval the execution runs second; no action names a region.
        let staging = &v["stages"][2]["actions"];
        assert_eq!(staging[1]["name"], EXECUTE_CHANGE_SET);
        assert_eq!(staging[1]["runOrder"], 2);
        assert!(
            staging
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a.get("region").is_none())
        );
    }

    #[test]
    fn execute_change_set_carries_the_outputs_file() {
        let mut d = deploy("Prod.eu", "444444444444");
        d.outputs_file = Some("out.json".into());
        d.approval = Some(Approval::default());
        let actions: Vec<Value> = actions(&d)
            .unwrap()
            .iter()
            .map(super::super::action_json)
            .collect();
        assert_eq!(actions[0].get("outputArtifacts"), None);
        assert_eq!(actions[0]["configuration"].get("OutputFileName"), None);
        assert_eq!(actions[2]["configuration"]["OutputFileName"], "out.json");
        assert_eq!(
            actions[2]["outputArtifacts"],
            json!([{"name": "ProdeuOutputs"}])
        );
        assert_eq!(actions[2]["runOrder"], 3);
        // An approval declared with nothing in it has no configuration at all.
        assert_eq!(actions[1].get("configuration"), None);
        assert_eq!(actions[1].get("timeoutInMinutes"), None);
    }

    #[test]
    fn parameter_overrides_are_compact_json() {
        let mut d = deploy("Staging", "333333333333");
        assert_eq!(parameter_overrides(&d.parameters), None);
        d.parameters.insert("A".into(), "1".into());
        d.parameters.insert("B".into(), "x y".into());
        assert_eq!(
            parameter_overrides(&d.parameters).unwrap(),
            r#"{"A":"1","B":"x y"}"#
        );
    }

    /// What GetPipeline answers for the declared deploy stages, AWS's way: every default
    /// spelled out, empty lists, the pipeline's region named, the approval's default timeout,
    /// ParameterOverrides respelled.
    fn as_aws_returns_it(declared: &Value) -> Value {
        let mut live = declared.clone();
        live["version"] = 3.into();
        for stage in live["stages"].as_array_mut().unwrap() {
            for a in stage["actions"].as_array_mut().unwrap() {
                let a = a.as_object_mut().unwrap();
                a.entry("inputArtifacts").or_insert(json!([]));
                a.entry("outputArtifacts").or_insert(json!([]));
                a.entry("configuration").or_insert(json!({}));
                a.insert("region".into(), "eu-west-1".into());
                if a["actionTypeId"]["category"] == "Approval" {
                    a.entry("timeoutInMinutes").or_insert(10080.into());
                }
                if let Some(p) = a["configuration"].get_mut("ParameterOverrides") {
                    let v: Value = serde_json::from_str(p.as_str().unwrap()).unwrap();
                    *p = serde_json::to_string_pretty(&v).unwrap().into();
                }
            }
        }
        live
    }

    fn with_every_kind() -> crate::config::Config {
        let mut c = cfg();
        let mut staging = deploy("Staging", "333333333333");
        staging
            .parameters
            .insert("Commit".into(), "#{SourceVariables.CommitId}".into());
        staging.parameters.insert("Env".into(), "staging".into());
        staging.outputs_file = Some("outputs.json".into());
        let mut prod = deploy("Prod", "444444444444");
        prod.approval = Some(Approval::default());
        let mut direct = deploy("Dev", "333333333333");
        direct.mode = DeployMode::Direct;
        c.deploy = vec![direct, staging, prod];
        c
    }

    #[test]
    fn an_unchanged_deploy_declaration_is_no_change() {
        use crate::model::pipeline::diff::diff;
        let declared = to_json(&declare(&with_every_kind()).unwrap());
        let live = as_aws_returns_it(&declared);
        assert_eq!(diff(&declared, &live, "eu-west-1"), vec![]);
    }

    #[test]
    fn deploy_changes_name_the_field() {
        use crate::model::pipeline::diff::diff;
        let declared = to_json(&declare(&with_every_kind()).unwrap());
        let mut live = as_aws_returns_it(&declared);
        live["stages"][3]["actions"][0]["configuration"]["ParameterOverrides"] =
            r##"{"Env": "prod", "Commit": "#{SourceVariables.CommitId}"}"##.into();
        live["stages"][4]["actions"][1]["timeoutInMinutes"] = 60.into();
        live["stages"][4]["actions"][2]["roleArn"] = "arn:aws:iam::444444444444:role/other".into();
        let text: Vec<String> = diff(&declared, &live, "eu-west-1")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            [
                r#"stages[Staging].actions[CreateChangeSet].configuration.ParameterOverrides.Env: "prod" -> "staging""#,
                r#"stages[Prod].actions[Approve].timeoutInMinutes: 60 -> (absent)"#,
                r#"stages[Prod].actions[ExecuteChangeSet].roleArn: "arn:aws:iam::444444444444:role/other" -> "arn:aws:iam::444444444444:role/hello-pipeline-deploy""#,
            ]
        );
    }

    #[test]
    fn summary_names_stack_account_and_mode() {
        let mut d = deploy("Prod", "444444444444");
        d.approval = Some(Approval::default());
        let line = summary(&d);
        assert!(
            line.contains("hello-prod in account 444444444444"),
            "{line}"
        );
        assert!(line.contains("approval"), "{line}");
    }
}
