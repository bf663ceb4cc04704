//! bootstrap's last step with `[[deploy]]` entries: in each target account, the deploy and
//! execution roles bootstrap manages (trust, inline policy merged by Sid, the declared managed
//! policies attached), then the bootstrap marker in the target and its mirror in the pipeline
//! account, written last so that a marker never claims what a failed run did not apply. The
//! pipeline account's grants to the targets (key, bucket, service and build roles) are
//! statements of its own documents, applied by the earlier steps.
//!
//! Roles given in xpipeline.toml (`role-arn`, `execution-role-arn` other than the defaults) are
//! the team's: bootstrap does not create or change them; a missing one is listed to do by hand
//! with the statements it must hold (`policies` prints them all).

use super::{Run, is_target};
use crate::aws::bootstrap::{iam, ssm};
use crate::error::Result;
use crate::model::bootstrap::Manual;
use crate::model::policies::deploy::{Target, marker_name, mirror_name, targets};
use crate::model::policies::{self, Document, Kind, Policies};
use crate::model::targets::{Marker, expected};

impl Run<'_> {
    pub(super) async fn targets(&mut self, docs: &Policies) -> Result<()> {
        for t in targets(&self.cfg) {
            let mine: Vec<&Document> = docs
                .documents
                .iter()
                .filter(|d| d.account == t.account && is_target(&self.target_roles, d))
                .collect();
            for d in &mine {
                let arn = d.resource.clone().unwrap_or_default();
                if !self.manages(&t, &arn) {
                    if d.kind == Kind::TrustPolicy {
                        self.given_role(&t.account, &arn, docs).await?;
                    }
                    continue;
                }
                match d.kind {
                    Kind::TrustPolicy => self.role(d).await?,
                    Kind::RolePolicy => self.role_policy(d).await?,
                    Kind::ManagedPolicies => self.managed_policies(d).await?,
                    _ => {}
                }
            }
            self.marker(&t).await?;
        }
        Ok(())
    }

    /// Whether `arn` is one of the roles bootstrap creates in the target (the default names).
    fn manages(&self, t: &Target, arn: &str) -> bool {
        let deploy = t.deploy_roles.iter().map(|r| (&r.arn, r.managed));
        let exec = t.execution_roles.iter().map(|r| (&r.arn, r.managed));
        deploy.chain(exec).any(|(a, managed)| a == arn && managed)
    }

    /// A role given in xpipeline.toml: left alone when it exists, else listed to do by hand.
    async fn given_role(&mut self, account: &str, arn: &str, docs: &Policies) -> Result<()> {
        if iam::role(self.iam(account), arn, account).await?.is_some() {
            return Ok(());
        }
        let statements: Vec<serde_json::Value> = docs
            .documents
            .iter()
            .filter(|d| d.resource.as_deref() == Some(arn))
            .map(|d| serde_json::json!({ "attachTo": d.attach_to, "document": d.document }))
            .collect();
        self.ui.warn(format_args!(
            "the role {arn} that xpipeline.toml names does not exist in account {account}: bootstrap creates only the default roles"
        ));
        self.report.manual.push(Manual {
            account: account.to_owned(),
            resource: arn.to_owned(),
            reason: "the role is given in xpipeline.toml and does not exist: create it with these documents (or remove role-arn / execution-role-arn to let bootstrap create the default one)".into(),
            statements: Some(serde_json::Value::Array(statements)),
        });
        Ok(())
    }

    /// The declared managed policies attached; none is detached (the team may add its own).
    async fn managed_policies(&mut self, d: &Document) -> Result<()> {
        let arn = d.resource.clone().unwrap_or_default();
        let account = d.account.clone();
        let attached = iam::attached_policies(self.iam(&account), &arn, &account).await?;
        let wanted: Vec<String> = d.document["PolicyArns"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for p in wanted.iter().filter(|p| !attached.contains(p)) {
            if !self.dry_run {
                iam::attach_policy(self.iam(&account), &arn, &account, p).await?;
            }
            self.change(
                &account,
                "role",
                &arn,
                format!("managed policy {p} attached"),
            );
        }
        Ok(())
    }

    /// The marker in the target account and its mirror in the pipeline account, written when
    /// they differ from what this run applied.
    async fn marker(&mut self, t: &Target) -> Result<()> {
        let key = policies::key_arn(&self.cfg);
        let want = expected(&self.cfg, t, &key);
        let pa = self.cfg.pipeline.account.clone();
        let target_ssm = self
            .target_clients(&t.account)
            .map(|c| c.ssm.clone())
            .unwrap_or_else(|| self.pipeline.ssm.clone());
        let places = [
            (target_ssm, t.account.clone(), marker_name(&self.cfg)),
            (
                self.pipeline.ssm.clone(),
                pa,
                mirror_name(&self.cfg, &t.account),
            ),
        ];
        for (client, account, name) in places {
            let live = ssm::value(&client, &name, &account).await?;
            let same = live
                .as_deref()
                .and_then(|v| serde_json::from_str::<Marker>(v).ok())
                .is_some_and(|m| m == want);
            if same {
                continue;
            }
            if !self.dry_run {
                ssm::put(&client, &name, &want.text(), &account, live.is_some()).await?;
            }
            let verb = if live.is_some() { "updated" } else { "created" };
            self.change(
                &account,
                "parameter",
                &name,
                format!(
                    "{verb}: bootstrap of target account {} at version {}",
                    t.account, want.version
                ),
            );
        }
        Ok(())
    }

    fn target_clients(&self, account: &str) -> Option<&crate::aws::bootstrap::TargetClients> {
        self.targets.iter().find(|c| c.account == account)
    }
}
