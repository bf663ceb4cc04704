//! Hints for a failed call that reads or starts executions (status, the watch, push's start).

use crate::error::Error;

/// The error to report for a failed execution call, with a hint where one helps.
/// `what` names the call and may quote an id given on the command line: it is made safe as
/// the message is (`error_parts`).
pub fn execution_call(what: &str, code: Option<&str>, message: &str) -> Error {
    let what = &crate::model::text::safe(what);
    match code {
        Some(super::credentials::NO_CREDENTIALS | super::credentials::SSO_EXPIRED) => {
            super::base_credentials_error(code, message, true, None)
        }
        Some("PipelineNotFoundException") => Error::op_hint(
            format!("{what}: {message}"),
            "check pipeline.name and the region, or run `cargo xpipeline push` to create the pipeline",
        ),
        Some("PipelineExecutionNotFoundException") => Error::op_hint(
            format!("{what}: {message}"),
            "list the recent executions with `cargo xpipeline status`",
        ),
        Some(c @ ("ExpiredToken" | "ExpiredTokenException" | "RequestExpired")) => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the base credentials expired: refresh them (`aws sso login`, or export new keys); \
             `cargo xpipeline status --watch` then picks the watch up again",
        ),
        Some(c) if c.contains("AccessDenied") || c == "UnauthorizedOperation" => Error::op_hint(
            format!("{what}: {c}: {message}"),
            "the pipeline-account credentials need codepipeline:GetPipeline, GetPipelineState, \
             GetPipelineExecution, ListPipelineExecutions, ListActionExecutions and \
             StartPipelineExecution on the pipeline (see `cargo xpipeline policies`)",
        ),
        Some(c) => Error::op(format!("{what}: {c}: {message}")),
        None => Error::op(format!("{what}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pipeline_or_execution_says_where_to_look() {
        let e = execution_call("GetPipeline p", Some("PipelineNotFoundException"), "none");
        assert!(e.parts().1.contains("check pipeline.name"), "{e}");
        let e = execution_call(
            "GetPipelineExecution e",
            Some("PipelineExecutionNotFoundException"),
            "none",
        );
        assert!(e.parts().1.contains("cargo xpipeline status"), "{e}");
        let e = execution_call("x", Some("AccessDeniedException"), "no");
        assert!(e.parts().1.contains("ListActionExecutions"), "{e}");
        assert_eq!(execution_call("x", None, "boom").to_string(), "x: boom");
    }
}
