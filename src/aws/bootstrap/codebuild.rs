//! CodeBuild: the build project. Read it (its role and key, which bootstrap then grants),
//! and create it when it does not exist: source and artifacts from CodePipeline, encrypted
//! with the artifact key, the S3 cache in the artifact bucket. A project whose new role
//! CodeBuild cannot assume yet is retried. An existing project is left as it is.

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{
    ArtifactsType, CacheType, ComputeType, EnvironmentType, ProjectArtifacts, ProjectCache,
    ProjectEnvironment, ProjectSource, SourceType, Tag,
};

use super::{OnRetry, failed, managed_by};
use crate::aws::retry::{IAM_PROPAGATION, is_invalid_principal, retry_while};
use crate::error::{Error, Result};
use crate::model::build::Project;

/// A project as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub service_role: Option<String>,
    pub encryption_key: Option<String>,
}

/// The project `name`, or `None`.
pub async fn project(c: &Client, name: &str, account: &str) -> Result<Option<Live>> {
    let out = c
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|e| {
            failed(
                &format!("codebuild:BatchGetProjects of {name}"),
                account,
                &e,
            )
        })?;
    Ok(out
        .projects
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.name.as_deref() == Some(name))
        .map(|p| Live {
            service_role: p.service_role,
            encryption_key: p.encryption_key,
        }))
}

fn built(e: aws_sdk_codebuild::error::BuildError) -> Error {
    Error::op(format!("cannot build a CodeBuild request: {e}"))
}

/// CreateProject from `spec`, tagged managed-by=cargo-xpipeline.
pub async fn create(
    c: &Client,
    spec: &Project,
    account: &str,
    on_retry: OnRetry<'_>,
) -> Result<()> {
    let source = ProjectSource::builder()
        .r#type(SourceType::Codepipeline)
        .build()
        .map_err(built)?;
    let artifacts = ProjectArtifacts::builder()
        .r#type(ArtifactsType::Codepipeline)
        .build()
        .map_err(built)?;
    let environment = ProjectEnvironment::builder()
        .r#type(EnvironmentType::from(spec.environment_type))
        .image(spec.image)
        .compute_type(ComputeType::from(spec.compute_type))
        .build()
        .map_err(built)?;
    let cache = ProjectCache::builder()
        .r#type(CacheType::S3)
        .location(&spec.cache_location)
        .build()
        .map_err(built)?;
    let (k, v) = managed_by();
    let tag = Tag::builder().key(k).value(v).build();
    retry_while(IAM_PROPAGATION, is_invalid_principal, on_retry, || {
        c.create_project()
            .name(&spec.name)
            .description(&spec.description)
            .source(source.clone())
            .artifacts(artifacts.clone())
            .environment(environment.clone())
            .cache(cache.clone())
            .service_role(&spec.service_role)
            .encryption_key(&spec.encryption_key)
            .tags(tag.clone())
            .send()
    })
    .await
    .map_err(|e| {
        failed(
            &format!("codebuild:CreateProject of {}", spec.name),
            account,
            &e,
        )
    })?;
    Ok(())
}
