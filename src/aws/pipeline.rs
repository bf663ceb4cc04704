//! The pipeline in the pipeline account, the I/O edge of `model::pipeline`: read the live
//! pipeline (GetPipeline, ListTagsForResource) into a `Live`, and the write calls
//! (CreatePipeline, UpdatePipeline, TagResource). CreatePipeline and UpdatePipeline are
//! retried while a new service role propagates; each wait reaches the caller as a
//! `Retrying`. Every function takes a client made once by `quota_aware`. Never prints:
//! `commands::reconcile` decides what the user reads.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{PipelineDeclaration, Tag};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::error::{error_parts, explain};
use crate::aws::retry::{
    IAM_PROPAGATION, QuotaIsNotThrottling, Retrying, is_iam_propagation, retry_while,
};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::arn;
use crate::model::pipeline::declare;
use crate::model::pipeline::plan::{Live, Plan};

/// Compare the live pipeline with the declaration: GetPipeline and ListTagsForResource.
/// `declaring` is what the xpipeline-declared-by tag of a write would say (`Plan::compare`).
pub async fn plan(client: &Client, cfg: &Config, declaring: Option<&str>) -> Result<Plan> {
    let live = read(client, cfg).await?;
    Plan::compare(cfg, live, declaring)
}

/// The live pipeline, or `None` when there is none of that name.
async fn read(client: &Client, cfg: &Config) -> Result<Option<Live>> {
    let name = &cfg.pipeline.name;
    let got = match client.get_pipeline().name(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_pipeline_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(sdk_error(
                &format!("reading pipeline {name}"),
                "GetPipeline",
                e,
                cfg,
            ));
        }
    };
    let live = got.pipeline().ok_or_else(|| {
        Error::op(format!(
            "reading pipeline {name}: GetPipeline returned no pipeline"
        ))
    })?;
    let arn = got
        .metadata()
        .and_then(|m| m.pipeline_arn())
        .map(str::to_owned)
        .unwrap_or_else(|| pipeline_arn(cfg));
    let tags = list_tags(client, &arn, cfg).await?;
    Ok(Some(Live {
        arn,
        version: live.version(),
        declaration: declare::to_json(live),
        tags,
    }))
}

/// The pipeline's ARN when AWS did not say it.
fn pipeline_arn(cfg: &Config) -> String {
    arn::pipeline_arn(
        &cfg.pipeline.region,
        &cfg.pipeline.account,
        &cfg.pipeline.name,
    )
}

async fn list_tags(client: &Client, arn: &str, cfg: &Config) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("reading the tags of pipeline {}", cfg.pipeline.name),
                    "ListTagsForResource",
                    e,
                    cfg,
                )
            })?;
        for t in out.tags() {
            tags.insert(t.key().to_owned(), t.value().to_owned());
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(tags),
        }
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::op(format!("cannot build tag {k}: {e}")))
        })
        .collect()
}

/// CreatePipeline with the plan's declaration and tags; the version created.
pub async fn create(
    client: &Client,
    cfg: &Config,
    plan: &Plan,
    on_retry: &mut (dyn FnMut(Retrying) + Send),
) -> Result<i32> {
    let what = format!("creating pipeline {}", cfg.pipeline.name);
    let tags = sdk_tags(&plan.tags)?;
    let out = retry_while(IAM_PROPAGATION, is_iam_propagation, on_retry, || {
        client
            .create_pipeline()
            .pipeline(plan.declared.clone())
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await
    .map_err(|e| sdk_error(&what, "CreatePipeline", e, cfg))?;
    Ok(out
        .pipeline()
        .and_then(PipelineDeclaration::version)
        .unwrap_or(1))
}

/// UpdatePipeline to the plan's declaration, from the version read; the version it made.
pub async fn update(
    client: &Client,
    cfg: &Config,
    plan: &Plan,
    on_retry: &mut (dyn FnMut(Retrying) + Send),
) -> Result<i32> {
    let what = format!("updating pipeline {}", cfg.pipeline.name);
    let mut declared = plan.declared.clone();
    declared.version = plan.version;
    let out = retry_while(IAM_PROPAGATION, is_iam_propagation, on_retry, || {
        client.update_pipeline().pipeline(declared.clone()).send()
    })
    .await
    .map_err(|e| sdk_error(&what, "UpdatePipeline", e, cfg))?;
    out.pipeline()
        .and_then(PipelineDeclaration::version)
        .ok_or_else(|| Error::op(format!("{what}: UpdatePipeline returned no version")))
}

/// TagResource with the declared tags.
pub async fn tag(client: &Client, cfg: &Config, plan: &Plan) -> Result<()> {
    let what = format!("tagging pipeline {}", cfg.pipeline.name);
    let arn = plan.arn.clone().unwrap_or_else(|| pipeline_arn(cfg));
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(sdk_tags(&plan.tags)?))
        .send()
        .await
        .map_err(|e| sdk_error(&what, "TagResource", e, cfg))?;
    Ok(())
}

fn sdk_error<E, R>(what: &str, operation: &str, err: SdkError<E, R>, cfg: &Config) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    let (code, message) = error_parts(&err);
    explain(what, operation, code.as_deref(), &message, cfg)
}

/// The client with `QuotaIsNotThrottling` added to its retry classifiers.
pub fn quota_aware(client: &Client) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_classifier(QuotaIsNotThrottling)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pipeline::declare::tests::cfg;

    /// A one-connection-at-a-time HTTP server that answers every request with `status` and
    /// `body`, counting requests.
    fn fake_endpoint(
        status: u16,
        body: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut buf = vec![0; len];
                let _ = reader.read_exact(&mut buf);
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Error\r\nContent-Type: application/x-amz-json-1.1\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, hits)
    }

    fn test_client(url: &str) -> Client {
        let conf = aws_sdk_codepipeline::Config::builder()
            .behavior_version(aws_sdk_codepipeline::config::BehaviorVersion::latest())
            .region(aws_sdk_codepipeline::config::Region::new("eu-west-1"))
            .endpoint_url(url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build();
        Client::from_conf(conf)
    }

    async fn attempts(
        client: &Client,
        hits: &std::sync::atomic::AtomicUsize,
    ) -> (usize, Option<String>) {
        let err = client
            .create_pipeline()
            .pipeline(declare::declare(&cfg()).unwrap())
            .send()
            .await
            .unwrap_err();
        (
            hits.load(std::sync::atomic::Ordering::SeqCst),
            error_parts(&err).0,
        )
    }

    #[test]
    fn limit_exceeded_is_sent_once_not_retried_as_throttling() {
        const BODY: &str = r#"{"__type":"LimitExceededException","message":"too many pipelines"}"#;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The SDK on its own retries it (this is why the classifier exists)...
        let (url, hits) = fake_endpoint(400, BODY);
        let (n, code) = rt.block_on(attempts(&test_client(&url), &hits));
        assert_eq!(code.as_deref(), Some("LimitExceededException"));
        assert_eq!(n, 3, "the plain SDK client retries LimitExceededException");
        // ...the quota-aware client does not.
        let (url, hits) = fake_endpoint(400, BODY);
        let (n, _) = rt.block_on(attempts(&quota_aware(&test_client(&url)), &hits));
        assert_eq!(n, 1, "LimitExceededException must not be retried");
        // Real throttling is still retried.
        let (url, hits) = fake_endpoint(
            400,
            r#"{"__type":"ThrottlingException","message":"slow down"}"#,
        );
        let (n, _) = rt.block_on(attempts(&quota_aware(&test_client(&url)), &hits));
        assert_eq!(n, 3, "throttling is still retried");
    }
}
