//! Bootstrap's last step with trigger = "events": the cross-account EventBridge wiring
//! (model::policies::events), receiver first: the pipeline bus's permission for the source
//! account, the pipeline account's rule that starts the pipeline, then the source account's
//! rule that forwards the branch updates. The roles both rules are sent as were made with the
//! other roles (steps 1 and 3). Each part is read first and written only when it differs.

use serde_json::Value;

use super::Run;
use crate::aws::bootstrap::events::{self as ops, RuleTarget};
use crate::error::Result;
use crate::model::arn::pipeline_arn;
use crate::model::policies::{equivalent, events};

impl Run<'_> {
    pub(super) async fn events(&mut self) -> Result<()> {
        let cfg = self.cfg.clone();
        let (pa, sa) = (&cfg.pipeline.account, &cfg.source.account);
        self.bus_permission().await?;
        let pipeline = pipeline_arn(&cfg.pipeline.region, pa, &cfg.pipeline.name);
        let on = format!(
            "on the updates of branch {} of {}",
            cfg.source.branch, cfg.source.repository
        );
        self.rule(
            pa,
            &events::start_name(&cfg),
            &pipeline,
            &events::start_role_arn(&cfg),
            format!("starts the pipeline {} {on}", cfg.pipeline.name),
        )
        .await?;
        self.rule(
            sa,
            &events::forward_name(&cfg),
            &events::default_bus_arn(&cfg, pa),
            &events::forward_role_arn(&cfg),
            format!("forwards to the default event bus of account {pa} {on}"),
        )
        .await
    }

    fn events_client(&self, account: &str) -> aws_sdk_eventbridge::Client {
        if account == self.cfg.source.account {
            self.source.events.clone()
        } else {
            self.pipeline.events.clone()
        }
    }

    /// The pipeline bus's statement letting the source account put events (PutPermission).
    async fn bus_permission(&mut self) -> Result<()> {
        let pa = self.cfg.pipeline.account.clone();
        let c = self.events_client(&pa);
        let sid = events::bus_statement_id(&self.cfg);
        let ours = events::bus_statement(&self.cfg);
        let live = ops::bus_policy(&c, &pa).await?;
        let current = live
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|p| match &p["Statement"] {
                Value::Array(all) => all.iter().find(|s| s["Sid"] == sid.as_str()).cloned(),
                one if one["Sid"] == sid.as_str() => Some(one.clone()),
                _ => None,
            });
        let action = match current {
            Some(s) if equivalent(&s, &ours) => return Ok(()),
            Some(_) => format!("resource policy: corrects {sid}"),
            None => format!("resource policy: adds {sid}"),
        };
        if !self.dry_run {
            ops::put_permission(&c, &sid, &self.cfg.source.account, &pa).await?;
        }
        let bus = events::default_bus_arn(&self.cfg, &pa);
        self.change(&pa, "event bus", &bus, action);
        Ok(())
    }

    /// A rule on the default bus of `account` with our pattern, enabled, and its one target
    /// `target` sent as `role`.
    async fn rule(
        &mut self,
        account: &str,
        name: &str,
        target: &str,
        role: &str,
        what: String,
    ) -> Result<()> {
        let c = self.events_client(account);
        let arn = events::rule_arn(&self.cfg, account, name);
        let pattern = events::event_pattern(&self.cfg);
        let live = ops::rule(&c, name, account).await?;
        let same_pattern = |r: &ops::Rule| {
            r.pattern
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .is_some_and(|p| equivalent(&p, &pattern))
        };
        let action = match &live {
            None => Some(format!("created (enabled): {what}")),
            Some(r) if !(r.enabled && same_pattern(r)) => {
                Some("event pattern and state corrected (enabled)".to_owned())
            }
            Some(_) => None,
        };
        if let Some(action) = action {
            if !self.dry_run {
                let description = format!("{what} (cargo-xpipeline)");
                let text = serde_json::to_string(&pattern).unwrap_or_default();
                ops::put_rule(&c, name, &text, &description, live.is_none(), account).await?;
            }
            self.change(account, "rule", &arn, action);
        }
        let want = RuleTarget {
            id: events::TARGET_ID.to_owned(),
            arn: target.to_owned(),
            role_arn: Some(role.to_owned()),
        };
        if !live.is_some_and(|r| r.targets.contains(&want)) {
            if !self.dry_run {
                ops::put_target(&c, name, &want, account).await?;
            }
            self.change(
                account,
                "rule",
                &arn,
                format!("target {target}, sent as {role}"),
            );
        }
        Ok(())
    }
}
