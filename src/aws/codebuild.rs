//! CodeBuild, the op: BatchGetBuilds of the builds behind Build actions, as
//! `model::execution::Build` (phases, failed phase contexts, where the log is). Never prints.

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{Build as SdkBuild, BuildPhase};

use crate::aws::error::{build_call, classify_error, error_parts};
use crate::aws::executions::CallFailure;
use crate::model::execution::{Build, LogsAt, Phase};

/// BatchGetBuilds of `ids` (at most 100, one call): the builds found, in any order. A build
/// AWS does not know (`buildsNotFound`) is left out.
pub async fn builds(client: &Client, ids: &[String]) -> Result<Vec<Build>, CallFailure> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = client
        .batch_get_builds()
        .set_ids(Some(ids.iter().take(100).cloned().collect()))
        .send()
        .await
        .map_err(|e| {
            let (code, message) = error_parts(&e);
            CallFailure {
                kind: classify_error(&e),
                error: build_call(
                    &format!("BatchGetBuilds of {}", ids.join(", ")),
                    code.as_deref(),
                    &message,
                ),
            }
        })?;
    Ok(out.builds().iter().map(build_of).collect())
}

fn phase_of(p: &BuildPhase) -> Phase {
    Phase {
        kind: p
            .phase_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        status: p.phase_status().map(|s| s.as_str().to_owned()),
        start: p.start_time().map(|t| t.as_secs_f64()),
        end: p.end_time().map(|t| t.as_secs_f64()),
        contexts: p
            .contexts()
            .iter()
            .map(|c| {
                (
                    c.status_code().unwrap_or_default().to_owned(),
                    c.message().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    }
}

/// The SDK's build as the model's. The log is where `logs.groupName`/`streamName` say
/// (they honour the project's logsConfig); absent until the build has a stream.
pub fn build_of(b: &SdkBuild) -> Build {
    let logs = b.logs().and_then(|l| {
        Some(LogsAt {
            group: l.group_name().filter(|g| !g.is_empty())?.to_owned(),
            stream: l.stream_name().filter(|s| !s.is_empty())?.to_owned(),
        })
    });
    Build {
        id: b.id().unwrap_or_default().to_owned(),
        status: b
            .build_status()
            .map_or("IN_PROGRESS".to_owned(), |s| s.as_str().to_owned()),
        current_phase: b.current_phase().unwrap_or_default().to_owned(),
        complete: b.build_complete(),
        phases: b.phases().iter().map(phase_of).collect(),
        logs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codebuild::types::{BuildPhaseType, LogsLocation, PhaseContext, StatusType};

    #[test]
    fn a_failed_build_maps_with_its_phase_context_and_log() {
        let b = SdkBuild::builder()
            .id("p:1")
            .build_status(StatusType::Failed)
            .current_phase("COMPLETED")
            .build_complete(true)
            .phases(
                BuildPhase::builder()
                    .phase_type(BuildPhaseType::Build)
                    .phase_status(StatusType::Failed)
                    .contexts(
                        PhaseContext::builder()
                            .status_code("COMMAND_EXECUTION_ERROR")
                            .message("exit status 101")
                            .build(),
                    )
                    .build(),
            )
            .logs(
                LogsLocation::builder()
                    .group_name("/aws/codebuild/p")
                    .stream_name("1")
                    .build(),
            )
            .build();
        let m = build_of(&b);
        assert_eq!(m.status, "FAILED");
        assert!(m.complete);
        assert_eq!(
            m.logs,
            Some(LogsAt {
                group: "/aws/codebuild/p".into(),
                stream: "1".into()
            })
        );
        let f = m.failed_phase().unwrap();
        assert_eq!(f.phase, "BUILD");
        assert_eq!(f.code.as_deref(), Some("COMMAND_EXECUTION_ERROR"));
        let early = build_of(
            &SdkBuild::builder()
                .id("p:2")
                .logs(LogsLocation::builder().build())
                .build(),
        );
        assert_eq!(early.logs, None);
        assert_eq!(early.status, "IN_PROGRESS");
    }
}
