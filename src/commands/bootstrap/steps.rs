//! The steps of bootstrap, in the order AWS's checks accept: the roles with their trust
//! policies (a policy naming a role fails until the role exists), then the key (it is named
//! by the role policies), the roles' own policies, the bucket, the build project and the
//! repository. Each step reads first and writes only what differs; with --dry-run it writes
//! nothing and tells what it would write. With trigger = "events", the EventBridge wiring
//! comes last (steps/events.rs).

mod events;
mod targets;

use serde_json::Value;

use crate::aws::bootstrap::{self as ops, codebuild, codecommit, iam, kms, s3};
use crate::aws::retry::Retrying;
use crate::config::{self, Config, Trigger};
use crate::error::{Error, Result};
use crate::model::bootstrap::{Change, Manual, Report, Side};
use crate::model::build;
use crate::model::policies::{
    self, BUCKET_RETIRED_SIDS, Document, Kind, Policies, ROLE_POLICY_NAME,
};
use crate::ui::Ui;

pub struct Run<'u> {
    dry_run: bool,
    cfg: Config,
    ui: &'u Ui,
    pipeline: ops::PipelineClients,
    source: ops::SourceClients,
    /// One per `[[deploy]]` account, in file order.
    targets: Vec<ops::TargetClients>,
    /// The roles of the target accounts (steps/targets.rs manages them, not the steps here).
    target_roles: Vec<String>,
    /// The role the build project runs as.
    build_role: String,
    /// The project exists already (bootstrap leaves it as it is).
    project_exists: bool,
    pub report: Report,
}

impl<'u> Run<'u> {
    pub fn new(
        dry_run: bool,
        cfg: Config,
        ui: &'u Ui,
        pipeline: ops::PipelineClients,
        source: ops::SourceClients,
        targets: Vec<ops::TargetClients>,
    ) -> Self {
        let report = Report {
            dry_run,
            pipeline_account: cfg.pipeline.account.clone(),
            source_account: cfg.source.account.clone(),
            target_accounts: targets.iter().map(|t| t.account.clone()).collect(),
            ..Report::default()
        };
        let target_roles = policies::deploy::targets(&cfg)
            .iter()
            .flat_map(|t| t.role_arns())
            .collect();
        Run {
            targets,
            target_roles,
            dry_run,
            build_role: policies::build_role_arn(&cfg),
            cfg,
            ui,
            pipeline,
            source,
            project_exists: false,
            report,
        }
    }

    pub async fn all(&mut self) -> Result<()> {
        let pa = self.cfg.pipeline.account.clone();
        if let Some(p) =
            codebuild::project(&self.pipeline.codebuild, &self.cfg.build.project, &pa).await?
        {
            self.project_exists = true;
            if let Some(role) = p.service_role {
                self.build_role = role;
            }
        }
        let docs = self.documents();
        let ours = |d: &&Document, kind: Kind| d.kind == kind && !is_target(&self.target_roles, d);
        let trusts: Vec<Document> = docs
            .documents
            .iter()
            .filter(|d| ours(d, Kind::TrustPolicy))
            .cloned()
            .collect();
        // 1. The roles and their trust: nothing else can name them before they exist.
        for d in &trusts {
            self.role(d).await?;
        }
        // 2. The key (its policy names the source role); a new key's ARN goes into the file.
        self.key().await?;
        let docs = self.documents();
        // 3. The roles' own policies (they name the key).
        let roles = self.target_roles.clone();
        for d in docs
            .documents
            .iter()
            .filter(|d| d.kind == Kind::RolePolicy && !is_target(&roles, d))
        {
            self.role_policy(d).await?;
        }
        // 4. The bucket, 5. the build project, 6. the repository.
        self.bucket(&docs).await?;
        self.project().await?;
        self.repository().await?;
        // 7. trigger = "events": the bus permission and the rules in both accounts.
        if self.cfg.pipeline.trigger == Trigger::Events {
            self.events().await?;
        }
        // 8. The [[deploy]] accounts: their roles, then their markers (steps/targets.rs).
        self.targets(&docs).await?;
        Ok(())
    }

    fn documents(&self) -> Policies {
        policies::render(&self.cfg, &self.build_role)
    }

    fn side(&self, account: &str) -> Side {
        if account == self.cfg.source.account {
            Side::Source
        } else if account == self.cfg.pipeline.account {
            Side::Pipeline
        } else {
            Side::Target
        }
    }

    /// Tell the change on stderr now, and keep it for the result.
    fn change(&mut self, account: &str, kind: &'static str, resource: &str, action: String) {
        let c = Change {
            side: self.side(account),
            account: account.to_owned(),
            kind,
            resource: resource.to_owned(),
            action,
        };
        let lead = if self.dry_run {
            "would change"
        } else {
            "changed"
        };
        self.ui.status(format_args!("{lead}: {c}"));
        self.report.changes.push(c);
    }

    /// What a retried call says while it waits for a new role to become visible.
    fn waiting(&self) -> impl FnMut(Retrying) + Send + 'static {
        let ui = self.ui.clone();
        move |r: Retrying| {
            ui.status(format_args!(
                "  waiting {:.0}s for IAM to make a new role visible ({:.0}s so far, at most {:.0}s)",
                r.wait.as_secs_f64(),
                r.so_far.as_secs_f64(),
                r.limit.as_secs_f64()
            ))
        }
    }

    fn iam(&self, account: &str) -> &aws_sdk_iam::Client {
        if account == self.cfg.source.account {
            &self.source.iam
        } else if let Some(t) = self
            .targets
            .iter()
            .find(|t| t.account == account && account != self.cfg.pipeline.account)
        {
            &t.iam
        } else {
            &self.pipeline.iam
        }
    }

    /// A role with its trust policy: created, or its trust statements added or corrected.
    async fn role(&mut self, d: &Document) -> Result<()> {
        let arn = d.resource.clone().unwrap_or_default();
        let account = d.account.clone();
        let live = iam::role(self.iam(&account), &arn, &account).await?;
        let merged = merge(
            live.as_ref().map(|r| r.trust.as_str()),
            &d.document,
            &[],
            &arn,
        )?;
        let Some(merged) = merged else { return Ok(()) };
        let mut wait = self.waiting();
        match live {
            None => {
                if !self.dry_run {
                    let what = format!("{} (cargo-xpipeline)", d.purpose);
                    let description: String = what.chars().take(1000).collect();
                    iam::create_role(
                        self.iam(&account),
                        &arn,
                        &account,
                        &description,
                        &merged.text,
                        &mut wait,
                    )
                    .await?;
                }
                self.change(
                    &account,
                    "role",
                    &arn,
                    "created, with its trust policy".into(),
                );
            }
            Some(_) => {
                if !self.dry_run {
                    iam::put_trust(self.iam(&account), &arn, &account, &merged.text, &mut wait)
                        .await?;
                }
                self.change(
                    &account,
                    "role",
                    &arn,
                    format!("trust policy: {}", merged.summary()),
                );
            }
        }
        Ok(())
    }

    /// The role's inline policy `cargo-xpipeline`.
    async fn role_policy(&mut self, d: &Document) -> Result<()> {
        let arn = d.resource.clone().unwrap_or_default();
        let account = d.account.clone();
        let live = iam::inline_policy(self.iam(&account), &arn, &account, ROLE_POLICY_NAME).await?;
        if let Some(merged) = merge(live.as_deref(), &d.document, &[], &arn)? {
            if !self.dry_run {
                iam::put_inline_policy(
                    self.iam(&account),
                    &arn,
                    &account,
                    ROLE_POLICY_NAME,
                    &merged.text,
                )
                .await?;
            }
            let action = match live {
                None => format!("policy {ROLE_POLICY_NAME} attached"),
                Some(_) => format!("policy {ROLE_POLICY_NAME}: {}", merged.summary()),
            };
            self.change(&account, "role", &arn, action);
        }
        Ok(())
    }

    /// The artifact key: created (with its alias, its ARN written into xpipeline.toml) when
    /// artifacts.kms-key-arn is unset, else its key policy statements added or corrected.
    async fn key(&mut self) -> Result<()> {
        let pa = self.cfg.pipeline.account.clone();
        let c = &self.pipeline.kms.clone();
        let policy = self
            .documents()
            .documents
            .into_iter()
            .find(|d| d.kind == Kind::KeyPolicy);
        let policy = policy.expect("render makes a key policy");
        if self.cfg.artifacts.kms_key_arn.is_none() {
            let alias = policies::key_alias(&self.cfg);
            match kms::key_of_alias(c, &alias, &pa).await? {
                // An earlier run created it and could not write the file: take it, and check
                // its policy below.
                Some(existing) => {
                    self.ui.status(format_args!(
                        "found the key {existing} by its alias {alias}"
                    ));
                    self.write_key(&existing)?;
                }
                None => {
                    let key = if self.dry_run {
                        policies::unknown_key_arn(&self.cfg)
                    } else {
                        let mut wait = self.waiting();
                        let text =
                            serde_json::to_string_pretty(&policy.document).unwrap_or_default();
                        let description = format!(
                            "Artifacts of pipeline {} (cargo-xpipeline)",
                            self.cfg.pipeline.name
                        );
                        let key = kms::create_key(c, &pa, &description, &text, &mut wait).await?;
                        kms::create_alias(c, &alias, &key, &pa).await?;
                        key
                    };
                    self.change(&pa, "key", &key, format!("created (symmetric, customer managed) with alias {alias} and its key policy"));
                    return self.write_key(&key);
                }
            }
        }
        let key = self.cfg.artifacts.kms_key_arn.clone().unwrap_or_default();
        let live = match kms::key_policy(c, &key, &pa).await {
            Ok(text) => text,
            Err(e) => return self.manual_or(e, &pa, &key, &policy),
        };
        if let Some(merged) = merge(Some(&live), &policy.document, &[], &key)? {
            if !self.dry_run {
                let mut wait = self.waiting();
                kms::put_key_policy(&self.pipeline.kms, &key, &pa, &merged.text, &mut wait).await?;
            }
            self.change(
                &pa,
                "key",
                &key,
                format!("key policy: {}", merged.summary()),
            );
        }
        Ok(())
    }

    /// Record the new key in the configuration and, for real, in xpipeline.toml.
    fn write_key(&mut self, key: &str) -> Result<()> {
        let shown = config::display_path(&self.cfg.path);
        if !self.dry_run {
            config::write_kms_key_arn(&self.cfg, key).map_err(|e| match e {
                Error::Operation { message, hint } => Error::Operation {
                    message: format!(
                        "{message} (the key {key} was created; a new run finds it by its alias)"
                    ),
                    hint,
                },
                other => other,
            })?;
        }
        self.cfg.artifacts.kms_key_arn = Some(key.to_owned());
        let pa = self.cfg.pipeline.account.clone();
        self.change(
            &pa,
            "file",
            &shown,
            format!("artifacts.kms-key-arn = \"{key}\""),
        );
        Ok(())
    }

    /// A refusal to read a resource bootstrap cannot then manage: the statements to add by hand.
    fn manual_or(&mut self, e: Error, account: &str, resource: &str, d: &Document) -> Result<()> {
        let denied =
            matches!(&e, Error::Operation { message, .. } if message.contains("AccessDenied"));
        if !denied {
            return Err(e);
        }
        self.ui.warn(format_args!(
            "bootstrap may not manage {resource}: add the statements shown at the end"
        ));
        self.report.manual.push(Manual {
            account: account.to_owned(),
            resource: resource.to_owned(),
            reason: format!("{e}; add these statements to its policy"),
            statements: Some(d.document.clone()),
        });
        Ok(())
    }

    /// The artifact bucket: created, versioned, encrypted with the key, public access blocked,
    /// its policy statements added or corrected.
    async fn bucket(&mut self, docs: &Policies) -> Result<()> {
        let pa = self.cfg.pipeline.account.clone();
        let bucket = self.cfg.artifacts.bucket.clone();
        let c = &self.pipeline.s3.clone();
        let policy = docs
            .documents
            .iter()
            .find(|d| d.kind == Kind::BucketPolicy)
            .expect("render makes a bucket policy");
        let live = match s3::presence(c, &bucket, &pa).await? {
            s3::Presence::Elsewhere => {
                self.ui.warn(format_args!("the bucket {bucket} exists but account {pa} does not own it (or may not see it): bootstrap leaves it alone"));
                self.report.manual.push(Manual {
                    account: pa.clone(),
                    resource: bucket.clone(),
                    reason: format!("the bucket is not account {pa}'s: choose another artifacts.bucket, or have its owner add these statements to its policy"),
                    statements: Some(policy.document.clone()),
                });
                return Ok(());
            }
            s3::Presence::Missing => {
                if !self.dry_run {
                    s3::create(c, &bucket, &self.cfg.pipeline.region, &pa).await?;
                }
                self.change(
                    &pa,
                    "bucket",
                    &bucket,
                    format!("created in {}", self.cfg.pipeline.region),
                );
                s3::Settings::default()
            }
            s3::Presence::Ours => s3::settings(c, &bucket, &pa).await?,
        };
        let key = policies::key_arn(&self.cfg);
        if !live.versioning {
            if !self.dry_run {
                s3::enable_versioning(c, &bucket, &pa).await?;
            }
            self.change(&pa, "bucket", &bucket, "versioning enabled".into());
        }
        let wanted = ("aws:kms".to_owned(), Some(key.clone()));
        if live.encryption.as_ref() != Some(&wanted) {
            if !self.dry_run {
                s3::encrypt_with(c, &bucket, &key, &pa).await?;
            }
            self.change(
                &pa,
                "bucket",
                &bucket,
                format!("default encryption: SSE-KMS with {key}"),
            );
        }
        if !live.public_access_blocked {
            if !self.dry_run {
                s3::block_public_access(c, &bucket, &pa).await?;
            }
            self.change(&pa, "bucket", &bucket, "public access blocked".into());
        }
        if let Some(merged) = merge(
            live.policy.as_deref(),
            &policy.document,
            BUCKET_RETIRED_SIDS,
            &bucket,
        )? {
            if !self.dry_run {
                let mut wait = self.waiting();
                s3::put_policy(&self.pipeline.s3, &bucket, &pa, &merged.text, &mut wait).await?;
            }
            self.change(
                &pa,
                "bucket",
                &bucket,
                format!("bucket policy: {}", merged.summary()),
            );
        }
        Ok(())
    }

    /// The build project, when it does not exist.
    async fn project(&mut self) -> Result<()> {
        if self.project_exists {
            return Ok(());
        }
        let pa = self.cfg.pipeline.account.clone();
        let key = policies::key_arn(&self.cfg);
        let spec = build::project(&self.cfg, &self.build_role, &key);
        if !self.dry_run {
            let mut wait = self.waiting();
            codebuild::create(&self.pipeline.codebuild, &spec, &pa, &mut wait).await?;
        }
        self.change(
            &pa,
            "project",
            &spec.name,
            format!(
                "created: {} ({}), role {}, cache s3://{}",
                spec.image, spec.compute_type, spec.service_role, spec.cache_location
            ),
        );
        Ok(())
    }

    /// The CodeCommit repository, when it does not exist (an existing one is never touched).
    async fn repository(&mut self) -> Result<()> {
        let sa = self.cfg.source.account.clone();
        let name = self.cfg.source.repository.clone();
        if codecommit::exists(&self.source.codecommit, &name, &sa).await? {
            return Ok(());
        }
        if !self.dry_run {
            let description = format!(
                "Built by pipeline {} (created by cargo-xpipeline)",
                self.cfg.pipeline.name
            );
            codecommit::create(&self.source.codecommit, &name, &sa, &description).await?;
        }
        self.change(
            &sa,
            "repository",
            &name,
            format!("created in {}", self.cfg.pipeline.region),
        );
        Ok(())
    }
}

/// A document of a target account's role (steps/targets.rs applies it).
fn is_target(target_roles: &[String], d: &Document) -> bool {
    d.resource
        .as_ref()
        .is_some_and(|r| target_roles.contains(r))
}

/// Our document merged into the live policy of `resource`; an unreadable live policy stops.
fn merge(
    live: Option<&str>,
    ours: &Value,
    retired: &[&str],
    resource: &str,
) -> Result<Option<policies::Merged>> {
    policies::merge(live, ours, retired).map_err(|why| {
        Error::op(format!("the policy of {resource} cannot be read as a JSON policy document ({why}); bootstrap changes nothing in it"))
    })
}
