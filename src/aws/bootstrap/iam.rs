//! IAM: the roles bootstrap manages (the service role, the build role, the source role and a
//! separate push role): read a role's trust policy and its inline policy, create a role,
//! put either policy. A policy naming a role that IAM has not made visible yet is retried.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use super::{OnRetry, code_of, decode_policy, failed, managed_by, role_name_and_path};
use crate::aws::retry::{IAM_PROPAGATION, is_invalid_principal, retry_while};
use crate::error::Result;

/// A role as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub arn: String,
    /// The trust policy, decoded JSON text.
    pub trust: String,
}

/// The role of `arn`, or `None` when there is none.
pub async fn role(c: &Client, arn: &str, account: &str) -> Result<Option<Role>> {
    let (name, _) = role_name_and_path(arn);
    match c.get_role().role_name(&name).send().await {
        Ok(out) => Ok(out.role.map(|r| Role {
            arn: r.arn,
            trust: r
                .assume_role_policy_document
                .as_deref()
                .map(decode_policy)
                .unwrap_or_default(),
        })),
        Err(e) if code_of(&e).as_deref() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(failed(&format!("iam:GetRole of {arn}"), account, &e)),
    }
}

/// CreateRole with `trust`, tagged managed-by=cargo-xpipeline.
pub async fn create_role(
    c: &Client,
    arn: &str,
    account: &str,
    description: &str,
    trust: &str,
    on_retry: OnRetry<'_>,
) -> Result<()> {
    let (name, path) = role_name_and_path(arn);
    let (k, v) = managed_by();
    let tag = Tag::builder()
        .key(k)
        .value(v)
        .build()
        .expect("key and value are set");
    retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.create_role()
            .role_name(&name)
            .path(&path)
            .description(description)
            .assume_role_policy_document(trust)
            .tags(tag.clone())
            .send()
    })
    .await
    .map_err(|e| failed(&format!("iam:CreateRole of {arn}"), account, &e))?;
    Ok(())
}

/// UpdateAssumeRolePolicy.
pub async fn put_trust(
    c: &Client,
    arn: &str,
    account: &str,
    trust: &str,
    on_retry: OnRetry<'_>,
) -> Result<()> {
    let (name, _) = role_name_and_path(arn);
    retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.update_assume_role_policy()
            .role_name(&name)
            .policy_document(trust)
            .send()
    })
    .await
    .map_err(|e| failed(&format!("iam:UpdateAssumeRolePolicy of {arn}"), account, &e))?;
    Ok(())
}

/// The inline policy `policy` of the role, decoded; `None` when the role has none by that name.
pub async fn inline_policy(
    c: &Client,
    arn: &str,
    account: &str,
    policy: &str,
) -> Result<Option<String>> {
    let (name, _) = role_name_and_path(arn);
    match c
        .get_role_policy()
        .role_name(&name)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(out) => Ok(Some(decode_policy(&out.policy_document))),
        Err(e) if code_of(&e).as_deref() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(failed(
            &format!("iam:GetRolePolicy {policy} of {arn}"),
            account,
            &e,
        )),
    }
}

/// PutRolePolicy.
pub async fn put_inline_policy(
    c: &Client,
    arn: &str,
    account: &str,
    policy: &str,
    document: &str,
) -> Result<()> {
    let (name, _) = role_name_and_path(arn);
    c.put_role_policy()
        .role_name(&name)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .map_err(|e| failed(&format!("iam:PutRolePolicy {policy} of {arn}"), account, &e))?;
    Ok(())
}
