//! CodeCommit: whether the repository exists, and creating it when it does not. An existing
//! repository is never touched (its history is the team's).

use aws_sdk_codecommit::Client;

use super::{code_of, failed, managed_by};
use crate::error::Result;

/// Whether the repository exists in the source account.
pub async fn exists(c: &Client, name: &str, account: &str) -> Result<bool> {
    match c.get_repository().repository_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if code_of(&e).as_deref() == Some("RepositoryDoesNotExistException") => Ok(false),
        Err(e) => Err(failed(
            &format!("codecommit:GetRepository of {name}"),
            account,
            &e,
        )),
    }
}

/// CreateRepository, tagged managed-by=cargo-xpipeline. Returns its ARN.
pub async fn create(c: &Client, name: &str, account: &str, description: &str) -> Result<String> {
    let (k, v) = managed_by();
    let out = c
        .create_repository()
        .repository_name(name)
        .repository_description(description)
        .tags(k, v)
        .send()
        .await
        .map_err(|e| {
            failed(
                &format!("codecommit:CreateRepository of {name}"),
                account,
                &e,
            )
        })?;
    Ok(out
        .repository_metadata
        .and_then(|m| m.arn)
        .unwrap_or_else(|| name.to_owned()))
}
