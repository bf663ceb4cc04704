//! S3: the artifact bucket. Whether it exists and is ours (HeadBucket with the expected
//! owner), its versioning, default encryption, public access block and policy; creating it
//! (tagged) and putting each setting. A bucket policy naming a role IAM has not made visible
//! yet is retried.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{OnRetry, code_of, failed, managed_by};
use crate::aws::retry::{IAM_PROPAGATION, is_invalid_principal, retry_while};
use crate::error::{Error, Result};

/// Whether the bucket is there for bootstrap to manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Missing,
    Ours,
    /// It exists and the pipeline account does not own it (or may not see it).
    Elsewhere,
}

/// The settings bootstrap manages, as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub versioning: bool,
    /// The default encryption: algorithm and key.
    pub encryption: Option<(String, Option<String>)>,
    /// All four public access block settings on.
    pub public_access_blocked: bool,
    pub policy: Option<String>,
}

/// HeadBucket, expecting the pipeline account as owner.
pub async fn presence(c: &Client, bucket: &str, account: &str) -> Result<Presence> {
    match c
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(_) => Ok(Presence::Ours),
        Err(e) => match status(&e) {
            Some(404) => Ok(Presence::Missing),
            Some(403) => Ok(Presence::Elsewhere),
            _ => Err(failed(&format!("s3:HeadBucket of {bucket}"), account, &e)),
        },
    }
}

fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Read every setting bootstrap manages.
pub async fn settings(c: &Client, bucket: &str, account: &str) -> Result<Settings> {
    let what = |call: &str| format!("s3:{call} of {bucket}");
    let versioning = c
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| failed(&what("GetBucketVersioning"), account, &e))?
        .status
        == Some(BucketVersioningStatus::Enabled);
    let encryption = match c.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out
            .server_side_encryption_configuration
            .and_then(|conf| conf.rules.into_iter().next())
            .and_then(|rule| rule.apply_server_side_encryption_by_default)
            .map(|d| (d.sse_algorithm.as_str().to_owned(), d.kms_master_key_id)),
        Err(e)
            if code_of(&e).as_deref() == Some("ServerSideEncryptionConfigurationNotFoundError") =>
        {
            None
        }
        Err(e) => return Err(failed(&what("GetBucketEncryption"), account, &e)),
    };
    let public_access_blocked = match c.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration.is_some_and(|p| {
            [
                p.block_public_acls,
                p.ignore_public_acls,
                p.block_public_policy,
                p.restrict_public_buckets,
            ]
            .iter()
            .all(|b| *b == Some(true))
        }),
        Err(e) if code_of(&e).as_deref() == Some("NoSuchPublicAccessBlockConfiguration") => false,
        Err(e) => return Err(failed(&what("GetPublicAccessBlock"), account, &e)),
    };
    let policy = match c.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out.policy,
        Err(e) if code_of(&e).as_deref() == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(failed(&what("GetBucketPolicy"), account, &e)),
    };
    Ok(Settings {
        versioning,
        encryption,
        public_access_blocked,
        policy,
    })
}

/// CreateBucket in `region`, then tag it managed-by=cargo-xpipeline.
pub async fn create(c: &Client, bucket: &str, region: &str, account: &str) -> Result<()> {
    let mut call = c.create_bucket().bucket(bucket);
    // us-east-1 is the one region that takes no location constraint.
    if region != "us-east-1" {
        call = call.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    call.send()
        .await
        .map_err(|e| failed(&format!("s3:CreateBucket of {bucket}"), account, &e))?;
    let (k, v) = managed_by();
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key(k).value(v).build().map_err(built)?)
        .build()
        .map_err(built)?;
    c.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| failed(&format!("s3:PutBucketTagging of {bucket}"), account, &e))?;
    Ok(())
}

fn built(e: aws_sdk_s3::error::BuildError) -> Error {
    Error::op(format!("cannot build an S3 request: {e}"))
}

/// PutBucketVersioning: Enabled.
pub async fn enable_versioning(c: &Client, bucket: &str, account: &str) -> Result<()> {
    c.put_bucket_versioning()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed(&format!("s3:PutBucketVersioning of {bucket}"), account, &e))?;
    Ok(())
}

/// PutBucketEncryption: SSE-KMS with `key`, with an S3 Bucket Key (fewer KMS calls).
pub async fn encrypt_with(c: &Client, bucket: &str, key: &str, account: &str) -> Result<()> {
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(key)
                .build()
                .map_err(built)?,
        )
        .bucket_key_enabled(true)
        .build();
    c.put_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(built)?,
        )
        .send()
        .await
        .map_err(|e| failed(&format!("s3:PutBucketEncryption of {bucket}"), account, &e))?;
    Ok(())
}

/// PutPublicAccessBlock: all four on.
pub async fn block_public_access(c: &Client, bucket: &str, account: &str) -> Result<()> {
    c.put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed(&format!("s3:PutPublicAccessBlock of {bucket}"), account, &e))?;
    Ok(())
}

/// PutBucketPolicy.
pub async fn put_policy(
    c: &Client,
    bucket: &str,
    account: &str,
    policy: &str,
    on_retry: OnRetry<'_>,
) -> Result<()> {
    retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(account)
            .policy(policy)
            .send()
    })
    .await
    .map_err(|e| failed(&format!("s3:PutBucketPolicy of {bucket}"), account, &e))?;
    Ok(())
}
