//! KMS: the artifact key. Find the key bootstrap created earlier by its alias, create one
//! (symmetric, customer managed, with its key policy and the managed-by tag) and its alias,
//! read and put its key policy. A key policy naming a role IAM has not made visible yet is
//! retried.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};

use super::{OnRetry, code_of, failed, managed_by};
use crate::aws::retry::{IAM_PROPAGATION, is_invalid_principal, retry_while};
use crate::error::Result;

/// The name of the key policy (KMS keys have exactly one, named "default").
const POLICY_NAME: &str = "default";

/// The ARN of the key `alias` points at, or `None` when there is no such alias.
pub async fn key_of_alias(c: &Client, alias: &str, account: &str) -> Result<Option<String>> {
    match c.describe_key().key_id(alias).send().await {
        Ok(out) => Ok(out.key_metadata.and_then(|m| m.arn)),
        Err(e) if code_of(&e).as_deref() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(failed(&format!("kms:DescribeKey of {alias}"), account, &e)),
    }
}

/// CreateKey: symmetric, for encryption, with `policy`. Returns the key's ARN.
pub async fn create_key(
    c: &Client,
    account: &str,
    description: &str,
    policy: &str,
    on_retry: OnRetry<'_>,
) -> Result<String> {
    let (k, v) = managed_by();
    let tag = Tag::builder()
        .tag_key(k)
        .tag_value(v)
        .build()
        .expect("key and value are set");
    let out = retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.create_key()
            .description(description)
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .policy(policy)
            .tags(tag.clone())
            .send()
    })
    .await
    .map_err(|e| failed("kms:CreateKey", account, &e))?;
    out.key_metadata
        .and_then(|m| m.arn)
        .ok_or_else(|| crate::error::Error::op("kms:CreateKey returned no key ARN"))
}

/// CreateAlias `alias` for `key`.
pub async fn create_alias(c: &Client, alias: &str, key: &str, account: &str) -> Result<()> {
    c.create_alias()
        .alias_name(alias)
        .target_key_id(key)
        .send()
        .await
        .map_err(|e| failed(&format!("kms:CreateAlias {alias} of {key}"), account, &e))?;
    Ok(())
}

/// The key policy of `key`.
pub async fn key_policy(c: &Client, key: &str, account: &str) -> Result<String> {
    let out = c
        .get_key_policy()
        .key_id(key)
        .policy_name(POLICY_NAME)
        .send()
        .await
        .map_err(|e| failed(&format!("kms:GetKeyPolicy of {key}"), account, &e))?;
    Ok(out.policy.unwrap_or_default())
}

/// PutKeyPolicy.
pub async fn put_key_policy(
    c: &Client,
    key: &str,
    account: &str,
    policy: &str,
    on_retry: OnRetry<'_>,
) -> Result<()> {
    retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.put_key_policy()
            .key_id(key)
            .policy_name(POLICY_NAME)
            .policy(policy)
            .send()
    })
    .await
    .map_err(|e| failed(&format!("kms:PutKeyPolicy of {key}"), account, &e))?;
    Ok(())
}
