//! The least-privilege IAM, KMS and S3 policy documents a cross-account pipeline needs, in
//! both accounts: one source of truth that `policies` prints and `bootstrap` applies. Pure:
//! `Config` in, documents out.
//!
//! documents.rs  every document, statement by statement (each statement named by its Sid)
//! merge.rs      our statements merged into a live policy by Sid, the others kept as they are
//! events.rs     the EventBridge wiring of trigger = "events": rules, their roles, the bus policy
//! deploy.rs     the `[[deploy]]` target accounts' roles and the pipeline account's grants to them

pub mod deploy;
mod documents;
pub mod events;
mod merge;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use documents::{
    BUCKET_RETIRED_SIDS, ROLE_POLICY_NAME, build_role_arn, key_alias, key_arn, render,
    unknown_key_arn,
};
pub use merge::{Merged, equivalent, merge};

/// What a document is, and so what bootstrap does with it. The names are the JSON `kind`s
/// (`keyPolicy`, ...), which read better whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// The key policy of the artifact key: bootstrap adds or corrects these statements.
    KeyPolicy,
    /// The artifact bucket's policy: bootstrap adds or corrects these statements.
    BucketPolicy,
    /// A role's trust policy: bootstrap creates the role with it, or adds or corrects these
    /// statements.
    TrustPolicy,
    /// A role's inline policy `cargo-xpipeline` (ROLE_POLICY_NAME).
    RolePolicy,
    /// For whoever runs `push`: printed only, bootstrap attaches it to no one.
    IdentityPolicy,
    /// The resource policy of the pipeline account's default event bus: bootstrap adds or
    /// corrects this statement with PutPermission.
    EventBusPolicy,
    /// An EventBridge rule and its target (not a policy: what PutRule and PutTargets take).
    EventRule,
    /// The managed policies attached to a role (`{"PolicyArns": [...]}`): bootstrap attaches
    /// the missing ones and detaches none.
    ManagedPolicies,
}

/// One policy document and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The account the document belongs in.
    pub account: String,
    pub kind: Kind,
    /// The ARN of the key, bucket or role it belongs to; none for an identity policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// What it is attached to, e.g. "key policy of arn:aws:kms:...".
    pub attach_to: String,
    /// Why it is needed, in one sentence.
    pub purpose: String,
    pub document: Value,
}

#[cfg(test)]
impl Document {
    /// The statement with this Sid.
    pub fn statement(&self, sid: &str) -> Option<&Value> {
        self.document["Statement"]
            .as_array()?
            .iter()
            .find(|s| s["Sid"] == sid)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    pub pipeline_account: String,
    pub source_account: String,
    /// The `[[deploy]]` accounts, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_accounts: Vec<String>,
    pub documents: Vec<Document>,
}

#[cfg(test)]
impl Policies {
    /// The document of `kind` attached to `resource`.
    pub fn find(&self, kind: Kind, resource: &str) -> Option<&Document> {
        self.documents
            .iter()
            .find(|d| d.kind == kind && d.resource.as_deref() == Some(resource))
    }
}

impl fmt::Display for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.documents.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let side = if d.account == self.pipeline_account {
                "pipeline"
            } else if d.account == self.source_account {
                "source"
            } else {
                "target"
            };
            writeln!(f, "# {side} account {}: {}", d.account, d.attach_to)?;
            writeln!(f, "# {}", d.purpose)?;
            let pretty = serde_json::to_string_pretty(&d.document).map_err(|_| fmt::Error)?;
            writeln!(f, "{pretty}")?;
        }
        Ok(())
    }
}
