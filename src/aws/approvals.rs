//! Manual approvals, the ops: the approval actions of the declaration with the change set of
//! their stage (GetPipeline), the approvals waiting with their tokens (GetPipelineState), and
//! the answer (PutApprovalResult). Each returns model values or an `Error`; none prints.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{
    ActionCategory, ApprovalResult, ApprovalStatus, PipelineDeclaration,
};

use crate::aws::error::{approval_call, error_parts};
use crate::error::{Error, Result};
use crate::model::arn::{account_of, pipeline_arn};
use crate::model::execution::ActionStatus;
use crate::model::execution::approval::{
    CLOUDFORMATION, ChangeSetRef, DeployAction, Gate, Gates, MANUAL, Waiting,
};

/// The approval actions of a declaration, each with the change set its stage creates before
/// it (a CloudFormation action with ActionMode CHANGE_SET_REPLACE). Pure.
pub fn gates_of(p: &PipelineDeclaration, arn: Option<&str>, region: &str) -> Gates {
    let pipeline_account = account_of(p.role_arn()).unwrap_or_default().to_owned();
    let pipeline_arn = arn
        .map(str::to_owned)
        .unwrap_or_else(|| pipeline_arn(region, &pipeline_account, p.name()));
    let mut gates = Vec::new();
    let mut deploys = Vec::new();
    for stage in p.stages() {
        for a in stage.actions() {
            let Some(t) = a.action_type_id() else {
                continue;
            };
            if t.provider() != CLOUDFORMATION {
                continue;
            }
            deploys.push(DeployAction {
                stage: stage.name().to_owned(),
                action: a.name().to_owned(),
                stack: a
                    .configuration()
                    .and_then(|c| c.get("StackName"))
                    .cloned()
                    .unwrap_or_default(),
                account: a
                    .role_arn()
                    .and_then(account_of)
                    .unwrap_or(&pipeline_account)
                    .to_owned(),
                region: a.region().unwrap_or(region).to_owned(),
            });
        }
        let change_set = stage.actions().iter().find_map(|a| {
            let cfg = a.configuration()?;
            let cf = a.action_type_id()?.provider() == CLOUDFORMATION
                && cfg.get("ActionMode").map(String::as_str) == Some("CHANGE_SET_REPLACE");
            cf.then(|| ChangeSetRef {
                stack: cfg.get("StackName").cloned().unwrap_or_default(),
                change_set: cfg.get("ChangeSetName").cloned().unwrap_or_default(),
                account: a
                    .role_arn()
                    .and_then(account_of)
                    .unwrap_or(&pipeline_account)
                    .to_owned(),
                region: a.region().unwrap_or(region).to_owned(),
            })
        });
        for a in stage.actions() {
            let Some(t) = a.action_type_id() else {
                continue;
            };
            if *t.category() != ActionCategory::Approval || t.provider() != MANUAL {
                continue;
            }
            let cfg = a.configuration();
            let get = |k: &str| cfg.and_then(|c| c.get(k)).cloned();
            gates.push(Gate {
                stage: stage.name().to_owned(),
                action: a.name().to_owned(),
                external_link: get("ExternalEntityLink"),
                custom_data: get("CustomData"),
                notification_arn: get("NotificationArn"),
                change_set: change_set.clone(),
            });
        }
    }
    Gates {
        pipeline_arn,
        gates,
        deploys,
    }
}

/// The approval actions of the live pipeline (GetPipeline).
pub async fn declared(client: &Client, pipeline: &str, region: &str) -> Result<Gates> {
    let out = client
        .get_pipeline()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            approval_call(
                &format!("GetPipeline {pipeline}"),
                code.as_deref(),
                &message,
            )
        })?;
    let arn = out.metadata().and_then(|m| m.pipeline_arn());
    out.pipeline()
        .map(|p| gates_of(p, arn, region))
        .ok_or_else(|| Error::op(format!("GetPipeline {pipeline} returned no declaration")))
}

/// The approval actions waiting for an answer, with their tokens (GetPipelineState).
pub async fn waiting(client: &Client, pipeline: &str) -> Result<Vec<Waiting>> {
    let out = client
        .get_pipeline_state()
        .name(pipeline)
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            approval_call(
                &format!("GetPipelineState {pipeline}"),
                code.as_deref(),
                &message,
            )
        })?;
    let mut found = Vec::new();
    for st in out.stage_states() {
        let execution = st
            .latest_execution()
            .map(|e| e.pipeline_execution_id().to_owned());
        for a in st.action_states() {
            let Some(last) = a.latest_execution() else {
                continue;
            };
            let running = last.status().map(|s| ActionStatus::from(s.as_str()))
                == Some(ActionStatus::InProgress);
            if let (true, Some(token)) = (running, last.token()) {
                found.push(Waiting {
                    stage: st.stage_name().unwrap_or_default().to_owned(),
                    action: a.action_name().unwrap_or_default().to_owned(),
                    execution_id: execution.clone(),
                    token: token.to_owned(),
                });
            }
        }
    }
    Ok(found)
}

/// PutApprovalResult: approve or reject `w` with `summary`; when AWS recorded it.
pub async fn answer(
    client: &Client,
    pipeline: &str,
    w: &Waiting,
    approve: bool,
    summary: &str,
) -> Result<Option<f64>> {
    let status = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    let result = ApprovalResult::builder()
        .summary(summary)
        .status(status)
        .build()
        .map_err(|e| Error::op(format!("cannot build the approval result: {e}")))?;
    let out = client
        .put_approval_result()
        .pipeline_name(pipeline)
        .stage_name(&w.stage)
        .action_name(&w.action)
        .result(result)
        .token(&w.token)
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            approval_call(
                &format!("PutApprovalResult of {pipeline}/{}/{}", w.stage, w.action),
                code.as_deref(),
                &message,
            )
        })?;
    Ok(out.approved_at().map(|t| t.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::types::{
        ActionDeclaration, ActionOwner, ActionTypeId, StageDeclaration,
    };

    fn action(
        name: &str,
        category: ActionCategory,
        provider: &str,
        cfg: &[(&str, &str)],
    ) -> ActionDeclaration {
        ActionDeclaration::builder()
            .name(name)
            .action_type_id(
                ActionTypeId::builder()
                    .category(category)
                    .owner(ActionOwner::Aws)
                    .provider(provider)
                    .version("1")
                    .build()
                    .unwrap(),
            )
            .set_configuration(Some(
                cfg.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .role_arn("arn:aws:iam::444444444444:role/hello-deploy")
            .build()
            .unwrap()
    }

    #[test]
    fn an_approval_knows_its_link_and_the_change_set_of_its_stage() {
        let stage = StageDeclaration::builder()
            .name("Prod")
            .actions(action(
                "CreateChangeSet",
                ActionCategory::Deploy,
                "CloudFormation",
                &[
                    ("ActionMode", "CHANGE_SET_REPLACE"),
                    ("StackName", "hello-prod"),
                    ("ChangeSetName", "xpipeline-hello-prod"),
                ],
            ))
            .actions(action(
                "Approve",
                ActionCategory::Approval,
                "Manual",
                &[
                    ("ExternalEntityLink", "https://review"),
                    ("CustomData", "Look"),
                ],
            ))
            .build()
            .unwrap();
        let p = PipelineDeclaration::builder()
            .name("hello")
            .role_arn("arn:aws:iam::111111111111:role/hello-codepipeline")
            .stages(stage)
            .build()
            .unwrap();
        let g = gates_of(&p, None, "eu-west-1");
        assert_eq!(
            g.pipeline_arn,
            "arn:aws:codepipeline:eu-west-1:111111111111:hello"
        );
        assert_eq!(g.gates.len(), 1);
        assert_eq!(g.deploys.len(), 1);
        assert_eq!(
            g.deploy("Prod", "CreateChangeSet").unwrap().stack,
            "hello-prod"
        );
        let gate = &g.gates[0];
        assert_eq!(gate.external_link.as_deref(), Some("https://review"));
        assert_eq!(gate.custom_data.as_deref(), Some("Look"));
        assert_eq!(
            gate.change_set,
            Some(ChangeSetRef {
                stack: "hello-prod".into(),
                change_set: "xpipeline-hello-prod".into(),
                account: "444444444444".into(),
                region: "eu-west-1".into(),
            })
        );
    }
}
