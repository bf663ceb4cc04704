//! SSM Parameter Store: the bootstrap marker of a target account (`/xpipeline/<pipeline>/bootstrap`
//! in the target, its mirror `/xpipeline/<pipeline>/targets/<account>` in the pipeline
//! account): read one, write one, and the mirrors `push` reads in one call.

use std::collections::BTreeMap;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterType, Tag};

use super::{code_of, failed, managed_by};
use crate::aws::error::error_parts;
use crate::config::Config;
use crate::error::{Error, Result};

/// GetParameters takes at most this many names per call.
const GET_PARAMETERS_MAX: usize = 10;

/// The value of the String parameter `name`, or `None` when there is none.
pub async fn value(c: &Client, name: &str, account: &str) -> Result<Option<String>> {
    match c.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e) if code_of(&e).as_deref() == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(failed(&format!("ssm:GetParameter of {name}"), account, &e)),
    }
}

/// PutParameter of a String: a new one tagged managed-by=cargo-xpipeline, an existing one
/// overwritten (AWS refuses tags together with Overwrite).
pub async fn put(c: &Client, name: &str, text: &str, account: &str, exists: bool) -> Result<()> {
    let mut call = c
        .put_parameter()
        .name(name)
        .value(text)
        .r#type(ParameterType::String)
        .description("cargo-xpipeline: what bootstrap applied for the pipeline's deploy stages");
    if exists {
        call = call.overwrite(true);
    } else {
        let (k, v) = managed_by();
        let tag = Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("key and value are set");
        call = call.tags(tag);
    }
    call.send()
        .await
        .map_err(|e| failed(&format!("ssm:PutParameter of {name}"), account, &e))?;
    Ok(())
}

/// `push`: the values of those of the mirrors `names` that exist in the pipeline account
/// (GetParameters, ten names a call). A refusal names the statement that grants the read.
pub async fn mirrors(
    c: &Client,
    names: &[String],
    cfg: &Config,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for chunk in names.chunks(GET_PARAMETERS_MAX) {
        let got = c
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                let (code, message) = error_parts(&e);
                let said = code.as_deref().map_or(message.clone(), |c| format!("{c}: {message}"));
                let text = format!(
                    "ssm:GetParameters of the target accounts' bootstrap markers ({}) in account {} failed: {said}",
                    chunk.join(", "),
                    cfg.pipeline.account
                );
                if code.as_deref() == Some("AccessDeniedException") {
                    Error::op_hint(text, "push reads each target account's bootstrap marker: the identity that pushes needs ssm:GetParameters on them (statement ReadTheTargetBootstraps of `cargo xpipeline policies`)")
                } else {
                    Error::op(text)
                }
            })?;
        for p in got.parameters.unwrap_or_default() {
            if let (Some(n), Some(v)) = (p.name, p.value) {
                out.insert(n, v);
            }
        }
    }
    Ok(out)
}
