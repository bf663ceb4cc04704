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

/// The managed policies attached to the role (ListAttachedRolePolicies, every page); none when
/// there is no role yet.
pub async fn attached_policies(c: &Client, arn: &str, account: &str) -> Result<Vec<String>> {
    let (name, _) = role_name_and_path(arn);
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .list_attached_role_policies()
            .role_name(&name)
            .set_marker(marker.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if code_of(&e).as_deref() == Some("NoSuchEntity") => return Ok(out),
            Err(e) => {
                return Err(failed(
                    &format!("iam:ListAttachedRolePolicies of {arn}"),
                    account,
                    &e,
                ));
            }
        };
        out.extend(
            page.attached_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.policy_arn),
        );
        match page.marker.filter(|_| page.is_truncated) {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

/// AttachRolePolicy of the managed policy `policy`.
pub async fn attach_policy(c: &Client, arn: &str, account: &str, policy: &str) -> Result<()> {
    let (name, _) = role_name_and_path(arn);
    c.attach_role_policy()
        .role_name(&name)
        .policy_arn(policy)
        .send()
        .await
        .map_err(|e| {
            failed(
                &format!("iam:AttachRolePolicy {policy} to {arn}"),
                account,
                &e,
            )
        })?;
    Ok(())
}
