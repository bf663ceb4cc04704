//! The watch's deploy stages: an approval that starts waiting (told once, with the command
//! that answers it; with --no-wait-approval the watch stops there) and, at the end, a failed
//! CloudFormation action explained (the failing resource from DescribeStackEvents in the
//! target account when it can be reached, the known cause and its fix). The declaration is
//! read once (GetPipeline), only when the execution reaches an approval or a deploy failed.
//! Neither ever stops the watch: what cannot be read is left out.

use std::collections::BTreeSet;

use aws_sdk_codepipeline::Client;

use crate::aws::{self, approvals, cloudformation, target};
use crate::model::arn::pipeline_arn;
use crate::model::execution::approval::{CLOUDFORMATION, Gates, MANUAL, Pending};
use crate::model::execution::deploy::{DeployFailure, DeployTarget, first_failure};
use crate::model::execution::{ActionStatus, Snapshot, View};
use crate::model::target::Access;
use crate::settings::Settings;

/// The deploy stages followed by one watch.
pub struct Deploys {
    sdk: aws::Sdk,
    settings: Settings,
    access: Access,
    pipeline_account: String,
    /// --no-wait-approval: stop following when an approval waits.
    pub stop_at_gate: bool,
    declared: Option<Gates>,
    /// The approval runs told already: stage, action, start.
    told: BTreeSet<(String, String, i64)>,
}

impl Deploys {
    pub fn new(
        sdk: &aws::Sdk,
        settings: &Settings,
        pipeline_account: &str,
        access: Access,
        stop_at_gate: bool,
    ) -> Self {
        Deploys {
            sdk: sdk.clone(),
            settings: settings.clone(),
            access,
            pipeline_account: pipeline_account.to_owned(),
            stop_at_gate,
            declared: None,
            told: BTreeSet::new(),
        }
    }

    /// The pipeline's approval and deploy actions, read once (GetPipeline); without them a
    /// waiting approval is still told, by its ARN.
    async fn declared(&mut self, client: &Client, pipeline: &str) -> Gates {
        if let Some(g) = &self.declared {
            return g.clone();
        }
        let region = &self.settings.region;
        let g = approvals::declared(client, pipeline, region)
            .await
            .unwrap_or_else(|_| Gates {
                pipeline_arn: pipeline_arn(region, &self.pipeline_account, pipeline),
                ..Gates::default()
            });
        self.declared = Some(g.clone());
        g
    }

    /// The approvals that started waiting since the last tick, described; `any` is whether
    /// one waits at all (told before or not).
    pub async fn waiting(&mut self, client: &Client, s: &Snapshot) -> (Vec<Pending>, bool) {
        let waiting: Vec<(String, String, i64)> = s
            .latest_runs()
            .values()
            .filter(|r| {
                r.provider.as_deref() == Some(MANUAL) && r.status == ActionStatus::InProgress
            })
            .map(|r| {
                (
                    r.stage.clone(),
                    r.action.clone(),
                    r.start.unwrap_or(0.0) as i64,
                )
            })
            .collect();
        let any = !waiting.is_empty();
        let new: Vec<_> = waiting
            .into_iter()
            .filter(|k| !self.told.contains(k))
            .collect();
        if new.is_empty() {
            return (Vec::new(), any);
        }
        let gates = self.declared(client, &s.pipeline).await;
        let out = new
            .iter()
            .map(|(stage, action, _)| Pending::of(&gates, stage, action, Some(&s.execution_id)))
            .collect();
        self.told.extend(new);
        (out, any)
    }

    /// Each failed CloudFormation action of the view, explained.
    pub async fn explain(&mut self, client: &Client, s: &Snapshot, view: &mut View) {
        let failed: Vec<(String, String, Option<String>)> = s
            .latest_runs()
            .values()
            .filter(|r| {
                r.provider.as_deref() == Some(CLOUDFORMATION) && r.status == ActionStatus::Failed
            })
            .map(|r| {
                (
                    r.stage.clone(),
                    r.action.clone(),
                    r.result.error.as_ref().map(|e| e.message.clone()),
                )
            })
            .collect();
        if failed.is_empty() {
            return;
        }
        let gates = self.declared(client, &s.pipeline).await;
        for (stage, action, message) in failed {
            let d = gates.deploy(&stage, &action);
            let t = DeployTarget {
                stack: d.map(|d| d.stack.clone()),
                account: d.map(|d| d.account.clone()),
                region: d
                    .map(|d| d.region.clone())
                    .or_else(|| Some(self.settings.region.clone())),
                profile: d
                    .and_then(|d| self.access.profile(&d.account))
                    .map(str::to_owned),
            };
            let events = match d {
                Some(d) if !d.stack.is_empty() => {
                    self.stack_events(&d.account, &d.region, &d.stack).await
                }
                _ => Vec::new(),
            };
            let stack = t.stack.clone().unwrap_or_default();
            let event = first_failure(&stack, &events);
            view.attach_deploy_failure(
                &stage,
                &action,
                DeployFailure::of(&t, event, message.as_deref()),
            );
        }
    }

    /// DescribeStackEvents in the target account; nothing when it cannot be reached or read.
    async fn stack_events(
        &self,
        account: &str,
        region: &str,
        stack: &str,
    ) -> Vec<crate::model::execution::deploy::StackEvent> {
        let in_account = target::in_account(
            &self.sdk,
            &self.settings,
            &self.access,
            &self.pipeline_account,
            account,
            region,
        );
        let Ok(sdk) = in_account.await else {
            return Vec::new();
        };
        let cf = aws::client!(aws_sdk_cloudformation, &sdk);
        cloudformation::stack_events(&cf, account, stack)
            .await
            .unwrap_or_default()
    }
}
